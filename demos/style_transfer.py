"""Art Generation with Neural Style Transfer (Course 4, week 4, assignment 2): the costs and the optimisation
over pixels.

The course's cost functions, written with tensors so autograd differentiates them:

* content cost   J_content(C, G) = 1 / (4 n_H n_W n_C) * sum (a_C - a_G)^2 on one layer's activations;
* Gram matrix    G_A = A A^T for A = the activations unrolled to (n_C, n_H * n_W);
* style cost     J_style_layer(S, G) = 1 / (4 n_C^2 (n_H n_W)^2) * sum (G_S - G_G)^2, summed over layers
                 with weights (the course: 0.2 on each of five VGG layers);
* total cost     J = alpha * J_content + beta * J_style, alpha = 10, beta = 40 (its test: np.random.seed(3),
                 J_content and J_style drawn with randn, gives 35.34667875478276).

The course runs them on a pretrained VGG-19, which is not available here (500 MB of ImageNet weights).
Instead the image is optimised through a small convolutional net with fixed random weights: random
features still carry texture statistics (random-feature texture synthesis), so the Gram-matrix style cost
pulls the generated image towards Monet's colours and brush texture while the content cost keeps the
Louvre's layout. It will not look like the course's VGG result. Everything else is the course's recipe:
pixels on the 0..255 scale minus the VGG means, the generated image starting as 0.6 * uniform(-20, 20)
noise + 0.4 * content, Adam with lr 2.0 on the pixels. The course's per-layer unit tests
(J_content 6.76559, J_style_layer 9.19028) draw their activations with TensorFlow's RNG, which NumPy
cannot reproduce, so only the total-cost test is compared.

    python -m demos.style_transfer [--iterations 200] [--scale 0.5] [--quick]
"""
import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn, no_grad, optim
from tinygrad_dl.data import load_style_images
from tinygrad_dl.plot import plot_costs, plot_images

from .common import log, make_parser, output_dir, progress, run_and_report

NAME = "style_transfer"
ALPHA, BETA = 10, 40
MEANS = np.array([123.68, 116.779, 103.939], dtype=np.float32)  # the course's VGG means (RGB)
NOISE_RATIO = 0.6
LEARNING_RATE = 2.0
ITERATIONS = 200
COURSE = {"total_cost test (np.random.seed(3))": 35.34667875478276}


# ---------------------------------------------------------------------------------------------- the costs


def compute_content_cost(a_C, a_G):
    """1 / (4 n_H n_W n_C) * sum((a_C - a_G)^2) for activations of shape (1, n_C, n_H, n_W)."""
    _, n_C, n_H, n_W = a_G.shape
    diff = a_C - a_G
    return (diff * diff).sum() * (1.0 / (4 * n_H * n_W * n_C))


def gram_matrix(A):
    """A @ A^T for A of shape (n_C, n_H * n_W): the correlations between the channels' activations."""
    return A @ A.T


def compute_layer_style_cost(a_S, a_G):
    """1 / (4 n_C^2 (n_H n_W)^2) * sum((G_S - G_G)^2) for activations of shape (1, n_C, n_H, n_W)."""
    _, n_C, n_H, n_W = a_G.shape
    diff = gram_matrix(a_S.reshape(n_C, n_H * n_W)) - gram_matrix(a_G.reshape(n_C, n_H * n_W))
    return (diff * diff).sum() * (1.0 / (4 * n_C ** 2 * (n_H * n_W) ** 2))


def compute_style_cost(style_activations, generated_activations, weights):
    """sum over layers of weight * J_style_layer."""
    total = None
    for a_S, a_G, weight in zip(style_activations, generated_activations, weights):
        term = compute_layer_style_cost(a_S, a_G) * weight
        total = term if total is None else total + term
    return total


def total_cost(J_content, J_style, alpha=ALPHA, beta=BETA):
    return alpha * J_content + beta * J_style


def total_cost_test():
    """The notebook's test: np.random.seed(3); J_content = np.random.randn(); J_style = np.random.randn()."""
    np.random.seed(3)
    J_content, J_style = np.random.randn(), np.random.randn()
    return float(total_cost(Tensor(np.float64(J_content)), Tensor(np.float64(J_style))).item())


# -------------------------------------------------------------------------------- the random features


class RandomFeatures(nn.Module):
    """Three 3x3 conv + ReLU layers (32, 64, 128 channels) with 2x2 average pooling in between (the course
    swaps VGG's max pools for average pools too). He-normal weights, fixed: they never receive gradients.
    ``forward`` returns the activations of every layer (the style layers); the last is the content layer."""

    def __init__(self, channels=(32, 64, 128), seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        sizes = (3,) + tuple(channels)
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c_out, 3, padding="same", init="he", generator=rng)
                                    for c_in, c_out in zip(sizes[:-1], sizes[1:])])
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        activations = []
        for i, conv in enumerate(self.convs):
            if i:
                x = F.avg_pool2d(x, 2)
            x = F.relu(conv(x))
            activations.append(x)
        return activations


# ------------------------------------------------------------------------------------------- the run


def _resize(image, scale):
    """Nearest-neighbour resizing of an (H, W, 3) array (no dependency beyond NumPy)."""
    if scale == 1:
        return image
    h, w = image.shape[:2]
    rows = (np.arange(int(round(h * scale))) / scale).astype(int)
    cols = (np.arange(int(round(w * scale))) / scale).astype(int)
    return image[rows][:, cols]


def _to_net(image):
    """An (H, W, 3) uint8 image as the course feeds it: (1, 3, H, W) float32 pixels minus the VGG means."""
    return (image.astype(np.float32) - MEANS).transpose(2, 0, 1)[None].copy()


def _to_image(pixels):
    """The net's (1, 3, H, W) input back as an (H, W, 3) uint8 image."""
    return np.clip(pixels[0].transpose(1, 2, 0) + MEANS, 0, 255).astype(np.uint8)


def generate_noise_image(content, rng, noise_ratio=NOISE_RATIO):
    """The course's start: noise_ratio * uniform(-20, 20) + (1 - noise_ratio) * content."""
    noise = rng.uniform(-20, 20, content.shape).astype(np.float32)
    return noise * noise_ratio + content * (1 - noise_ratio)


def run(iterations=ITERATIONS, scale=0.5, data=None, quiet=True, out=None, seed=1, record_every=10):
    """The total-cost test, then the optimisation over pixels; returns costs and images."""
    results = {"total_cost test": total_cost_test()}
    content_image, style_image = (_resize(image, scale) for image in load_style_images(data))
    content, style = _to_net(content_image), _to_net(style_image)
    net = RandomFeatures()
    with no_grad():
        a_C = net(Tensor(content))[-1]
        style_activations = net(Tensor(style))
    weights = [1.0 / len(style_activations)] * len(style_activations)
    generated = Tensor(generate_noise_image(content, np.random.default_rng(seed)), requires_grad=True)
    optimizer = optim.Adam([generated], lr=LEARNING_RATE)
    history = {"total": {}, "content": {}, "style": {}}
    for i in progress(range(iterations + 1), iterations + 1, "pixels", quiet):
        activations = net(generated)
        J_content = compute_content_cost(a_C, activations[-1])
        J_style = compute_style_cost(style_activations, activations, weights)
        J = total_cost(J_content, J_style)
        if i % record_every == 0 or i == iterations:
            for name, value in (("total", J), ("content", J_content), ("style", J_style)):
                history[name][i] = value.item()
            log(f"iteration {i}: total cost {J.item():.6g}, content {J_content.item():.6g}, style "
                f"{J_style.item():.6g}", quiet)
        if i == iterations:
            break
        optimizer.zero_grad()
        J.backward()
        optimizer.step()
    results.update(costs=history, image_shape=content_image.shape, iterations=iterations,
                   generated=_to_image(generated.numpy()), content=content_image, style=style_image)
    if out is not None:
        results["plots"] = _plot(results, out)
    return results


def _plot(results, out):
    folder = output_dir(out)
    images = plot_images([results["content"], results["style"], results["generated"]], folder / "generated.png",
                         titles=["content: the Louvre", "style: Monet",
                                 f"generated ({results['iterations']} Adam steps)"],
                         title="Style transfer through a random-feature conv net (no VGG-19)")
    steps = sorted(results["costs"]["total"])
    weighted = {"alpha * J_content": (steps, [ALPHA * results["costs"]["content"][i] for i in steps]),
                "beta * J_style": (steps, [BETA * results["costs"]["style"][i] for i in steps])}
    costs = plot_costs(weighted, folder / "costs.png", "Style transfer: the two terms of J per Adam step (lr 2.0)",
                       ylabel="cost (J is their sum)", log_y=True)
    return [images, costs]


def results_rows(results):
    costs = results["costs"]
    first, last = min(costs["total"]), max(costs["total"])
    h, w = results["image_shape"][:2]
    return [("total_cost test (np.random.seed(3), alpha 10, beta 40)", COURSE["total_cost test (np.random.seed(3))"],
             results["total_cost test"]),
            (f"total cost at iteration {first} / {last} ({h}x{w} pixels)", None,
             f"{costs['total'][first]:.6g} / {costs['total'][last]:.6g}"),
            ("content cost (conv3) first / last", None, f"{costs['content'][first]:.6g} / {costs['content'][last]:.6g}"),
            ("style cost (3 layers, 1/3 each) first / last", None,
             f"{costs['style'][first]:.6g} / {costs['style'][last]:.6g}")]


def main(argv=None):
    parser = make_parser(NAME, "Course 4 week 4: style-transfer costs and the optimisation over pixels (random "
                               "conv features instead of VGG-19)", needs_data=True)
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="Adam steps on the pixels (course: 200)")
    parser.add_argument("--scale", type=float, default=0.5, help="image scale (1: the course's 300x400)")
    parser.add_argument("--quick", action="store_true", help="20 steps on a 75x100 image")
    args = parser.parse_args(argv)
    iterations, scale = (20, 0.25) if args.quick else (args.iterations, args.scale)
    return run_and_report(lambda: run(iterations, scale, args.data, args.quiet, args.out), results_rows,
                          "Neural style transfer (C4 W4)")


if __name__ == "__main__":
    main()
