"""Residual Networks (Course 4, week 2, assignment 2): the identity and convolutional blocks, ResNet-50.

* ``IdentityBlock`` and ``ConvolutionalBlock`` are the course's blocks as Modules (1x1 -> f x f "same" ->
  1x1 convolutions, each followed by batch norm, ReLU after the first two and after the addition of the
  shortcut; the convolutional block strides its first 1x1 convolution and its shortcut, a strided 1x1
  convolution + batch norm). Glorot-uniform kernels and zero biases as Keras; batch norm with PyTorch's
  defaults (Keras' momentum 0.99, ``momentum=0.01`` here, needs thousands of steps before its running
  averages are usable in eval mode). The convolutions keep the course's biases although the batch norm
  after each of them cancels them (their gradient is zero, as the block picture shows).
* ``resnet50()``: ZeroPad 3 -> conv 64 7x7/2 -> BN -> ReLU -> max-pool 3x3/2 -> stages of
  [64, 64, 256] (1 conv + 2 identity blocks), [128, 128, 512] (1 + 3), [256, 256, 1024] (1 + 5),
  [512, 512, 2048] (1 + 2) -> average pool 2x2 -> flatten -> linear 6. On 64x64x3 inputs it has exactly
  the course's 23,600,006 numbers, 23,546,886 of them trainable: the other 53,120 are the batch norms'
  running means and variances (buffers, not parameters).

The demo counts them, times one forward + backward pass of ResNet-50 on a batch of SIGNS images (with
the peak memory the pass needs), trains a small ResNet (same blocks, two stages) on scikit-learn's 8x8
digits, and draws the graph of one identity block with every layer collapsed into a box.

The course's identity_block / convolutional_block unit-test values come from TensorFlow's random
initialisers, which NumPy cannot reproduce; they are not compared here.

    python -m demos.resnet [--batch 8] [--epochs 8] [--quick]
"""
import time
import tracemalloc

import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn, optim, viz
from tinygrad_dl.data import load_digit_images, load_signs_images

from ._cnn import accuracy, count_parameters, train_epochs
from .common import log, make_parser, output_dir, run_and_report

NAME = "resnet"
COURSE = {"total parameters": 23_600_006, "trainable parameters": 23_546_886,
          "test accuracy after 2 epochs (2017)": "0.16 - 0.25", "test accuracy after 10 epochs (2021)": "> 0.80"}


def _conv(c_in, c_out, kernel, stride=1, padding=0, dtype=np.float32, generator=None):
    return nn.Conv2d(c_in, c_out, kernel, stride, padding, dtype=dtype, init="xavier_uniform", generator=generator)


def _bn(channels, dtype=np.float32):
    return nn.BatchNorm2d(channels, dtype=dtype)


class IdentityBlock(nn.Module):
    """The course's identity block: the input (``filters[2]`` channels) is added to the main path's output."""

    def __init__(self, f, filters, dtype=np.float32, generator=None):
        super().__init__()
        f1, f2, f3 = filters
        self.conv1, self.bn1 = _conv(f3, f1, 1, dtype=dtype, generator=generator), _bn(f1, dtype)
        self.conv2, self.bn2 = _conv(f1, f2, f, padding="same", dtype=dtype, generator=generator), _bn(f2, dtype)
        self.conv3, self.bn3 = _conv(f2, f3, 1, dtype=dtype, generator=generator), _bn(f3, dtype)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + x)


class ConvolutionalBlock(nn.Module):
    """The course's convolutional block: a strided main path, and a strided 1x1 conv + BN on the shortcut
    (so the block can change the number of channels and halve the image)."""

    def __init__(self, in_channels, f, filters, stride=2, dtype=np.float32, generator=None):
        super().__init__()
        f1, f2, f3 = filters
        self.conv1, self.bn1 = _conv(in_channels, f1, 1, stride, dtype=dtype, generator=generator), _bn(f1, dtype)
        self.conv2, self.bn2 = _conv(f1, f2, f, padding="same", dtype=dtype, generator=generator), _bn(f2, dtype)
        self.conv3, self.bn3 = _conv(f2, f3, 1, dtype=dtype, generator=generator), _bn(f3, dtype)
        self.shortcut_conv = _conv(in_channels, f3, 1, stride, dtype=dtype, generator=generator)
        self.shortcut_bn = _bn(f3, dtype)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut_bn(self.shortcut_conv(x)))


def stage(in_channels, filters, stride, identity_blocks, f=3, dtype=np.float32, generator=None):
    """One convolutional block followed by ``identity_blocks`` identity blocks."""
    blocks = [ConvolutionalBlock(in_channels, f, filters, stride, dtype, generator)]
    blocks += [IdentityBlock(f, filters, dtype, generator) for _ in range(identity_blocks)]
    return nn.Sequential(*blocks)


def resnet50(num_classes=6, in_channels=3, dtype=np.float32, generator=None):
    """The course's ResNet-50 for 64x64 images (see the module docstring)."""
    stem = nn.Sequential(nn.ZeroPad2d(3), _conv(in_channels, 64, 7, 2, dtype=dtype, generator=generator), _bn(64, dtype),
                         nn.ReLU(), nn.MaxPool2d(3, 2))
    return nn.Sequential({
        "stem": stem,
        "stage2": stage(64, (64, 64, 256), 1, 2, dtype=dtype, generator=generator),
        "stage3": stage(256, (128, 128, 512), 2, 3, dtype=dtype, generator=generator),
        "stage4": stage(512, (256, 256, 1024), 2, 5, dtype=dtype, generator=generator),
        "stage5": stage(1024, (512, 512, 2048), 2, 2, dtype=dtype, generator=generator),
        "pool": nn.AvgPool2d(2), "flatten": nn.Flatten(),
        "fc": nn.Linear(2048, num_classes, dtype=dtype, init="xavier_uniform", generator=generator)})


ResNet50 = resnet50  # the course's name for the model function


def small_resnet(num_classes=10, in_channels=1, width=16, dtype=np.float32, generator=None):
    """The same blocks at toy size for 8x8 digits: conv 3x3 -> BN -> ReLU, a stage of [w, w, 2w] at stride 1
    and one of [2w, 2w, 4w] at stride 2 (one identity block each), global average pooling, linear."""
    stem = nn.Sequential(_conv(in_channels, width, 3, padding="same", dtype=dtype, generator=generator),
                         _bn(width, dtype), nn.ReLU())
    return nn.Sequential({
        "stem": stem,
        "stage1": stage(width, (width, width, 2 * width), 1, 1, dtype=dtype, generator=generator),
        "stage2": stage(2 * width, (2 * width, 2 * width, 4 * width), 2, 1, dtype=dtype, generator=generator),
        "pool": nn.AdaptiveAvgPool2d(1), "flatten": nn.Flatten(),
        "fc": nn.Linear(4 * width, num_classes, dtype=dtype, init="xavier_uniform", generator=generator)})


# ------------------------------------------------------------------------------------------------ parts


def count(model):
    total, trainable = count_parameters(model)
    return {"total parameters": total, "trainable parameters": trainable,
            "running statistics (buffers)": total - trainable,
            "batch norm layers": sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())}


def time_forward_backward(model, batch, data=None):
    """One training-mode forward + backward pass on ``batch`` SIGNS images (random images of the same shape
    when the course data is missing): seconds and the peak memory of NumPy arrays it allocates."""
    try:
        X, y = load_signs_images(data, "test")
        X, y, source = X[:batch], y[:batch], "SIGNS test images"
    except (FileNotFoundError, ImportError):
        rng = np.random.default_rng(0)
        X, y, source = rng.random((batch, 3, 64, 64), dtype=np.float32), rng.integers(0, 6, batch), "random images"
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(Tensor(X)), y).backward()  # warm-up
    model.zero_grad()  # as a training step starts: the pass allocates fresh gradients
    tracemalloc.start()
    start = time.perf_counter()
    loss = loss_fn(model(Tensor(X)), y)
    forward = time.perf_counter() - start
    loss.backward()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grads_finite = all(np.all(np.isfinite(p.grad.data)) for p in model.parameters())
    gradient_mb = sum(p.grad.data.nbytes for p in model.parameters()) / 2 ** 20
    return {"batch": batch, "source": source, "forward seconds": forward, "forward + backward seconds": seconds,
            "peak MB": peak / 2 ** 20, "gradient MB": gradient_mb, "loss": loss.item(), "gradients finite": grads_finite,
            "output shape": model(Tensor(X[:1])).shape}


def train_small(num_epochs, quiet, width=16):
    X_train, y_train, X_test, y_test = load_digit_images()
    np.random.seed(0)
    model = small_resnet(width=width)
    optimizer = optim.Adam(model.parameters(), lr=0.003)
    costs = train_epochs(model, X_train, y_train, nn.CrossEntropyLoss(), optimizer, num_epochs, batch_size=64, seed=3,
                         label="small ResNet", quiet=quiet, print_every=1)
    return {"costs": costs, "train accuracy": accuracy(model, X_train, y_train),
            "test accuracy": accuracy(model, X_test, y_test), **count(model)}


def draw_block(out):
    """The graph of one identity block (forward and backward), each layer collapsed into one box."""
    rng = np.random.default_rng(0)
    block = IdentityBlock(3, (4, 4, 8), dtype=np.float64, generator=rng)
    x = Tensor(rng.standard_normal((2, 8, 5, 5)), name="X", requires_grad=True)  # as inside a network
    loss = (block(x) ** 2).mean()
    # the conv biases' gradients are ~1e-17 (purple): the batch norm after each conv subtracts the bias again
    title = "IdentityBlock(f=3, filters=(4, 4, 8)): one box per layer; X also feeds Add (the shortcut)"
    picture = viz.draw_graph(loss, names=dict(block.named_parameters(), X=x), backward=True, collapse=2,
                             title=title)
    folder = output_dir(out)
    paths = []
    for suffix in ("png", "svg"):
        try:
            paths.append(viz.save(picture, folder / f"identity_block.{suffix}"))
        except viz.GraphvizNotFoundError:
            path = folder / "identity_block.gv"
            path.write_text(picture.source, encoding="utf-8")
            return [path]
    return paths


def run(batch=8, epochs=8, width=16, data=None, quiet=True, out=None, time_resnet=True):
    """Parameter counts, the timed ResNet-50 pass, the small ResNet on the digits, the block picture."""
    np.random.seed(0)
    model = resnet50()
    results = {"resnet50": count(model)}
    if time_resnet:
        log(f"ResNet-50: forward + backward on {batch} images ...", quiet)
        results["pass"] = time_forward_backward(model, batch, data)
    del model
    if epochs:
        results["small"] = train_small(epochs, quiet, width)
    if out is not None:
        results["plots"] = draw_block(out)
    return results


def results_rows(results):
    counts = results["resnet50"]
    rows = [("ResNet-50 total parameters (64x64x3, 6 classes)", COURSE["total parameters"],
             counts["total parameters"]),
            ("ResNet-50 trainable parameters", COURSE["trainable parameters"], counts["trainable parameters"]),
            ("  of which batch-norm running mean/var (buffers)", 53_120, counts["running statistics (buffers)"])]
    if "pass" in results:
        p = results["pass"]
        rows += [(f"forward + backward, batch of {p['batch']} {p['source']}", None,
                  f"{p['forward + backward seconds']:.2f} s (forward {p['forward seconds']:.2f} s)"),
                 ("peak memory of NumPy arrays during the pass", None,
                  f"{p['peak MB']:.0f} MB (the new gradients: {p['gradient MB']:.0f} MB)"),
                 ("output shape / all gradients finite", None, f"{p['output shape']} / {p['gradients finite']}")]
    if "small" in results:
        s = results["small"]
        rows += [(f"small ResNet on the digits ({s['trainable parameters']} parameters): train accuracy", None,
                  s["train accuracy"]),
                 ("small ResNet on the digits: test accuracy", None, s["test accuracy"]),
                 ("(course, ResNet-50 on SIGNS after 2 / 10 epochs)", f"{COURSE['test accuracy after 2 epochs (2017)']}"
                  f" / {COURSE['test accuracy after 10 epochs (2021)']}", None)]
    return rows


def main(argv=None):
    parser = make_parser(NAME, "Course 4 week 2: residual blocks, ResNet-50 (parameter counts, one timed pass), a "
                               "small ResNet on the digits", needs_data=True)
    parser.add_argument("--batch", type=int, default=8, help="SIGNS images in the timed ResNet-50 pass")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the small ResNet on the digits (0: skip)")
    parser.add_argument("--width", type=int, default=16, help="channels of the small ResNet's first stage")
    parser.add_argument("--quick", action="store_true", help="a batch of 2 and 2 epochs")
    args = parser.parse_args(argv)
    batch, epochs = (2, 2) if args.quick else (args.batch, args.epochs)
    return run_and_report(lambda: run(batch, epochs, args.width, args.data, args.quiet, args.out), results_rows,
                          "Residual networks (C4 W2)")


if __name__ == "__main__":
    main()
