"""Convolutional networks: tinygrad_dl against PyTorch on the CPU.

    python benchmarks/bench_cnn.py [--steps 30] [--rounds 7] [--threads 1] [--resnet-batch 8] [--skip-resnet]
                                   [--malloc shipped|tuned|default]

Run it with a Python that has torch for the comparison (torch is not a dependency of tinygrad_dl; without
it only our times are printed). Two workloads:

1. a small CNN, one training step: conv 3x3x8 -> ReLU -> max-pool 2 -> conv 3x3x16 -> ReLU -> max-pool 2 ->
   linear 10 on a (32, 1, 28, 28) float32 batch, cross-entropy, SGD (zero_grad + forward + backward + step).
   Both engines start from the same weights and batch, and their first losses are checked to agree;
2. the course's ResNet-50 (64x64x3 input, 6 classes, 23,600,006 parameters) forward + backward on a
   batch of 8: time per pass and the peak memory of the first pass, gradients included (tracemalloc for
   NumPy's arrays, and the growth of the peak resident set size for both engines).

Every measurement runs in a fresh process holding one engine only (the torch process never imports
tinygrad_dl, and ours never imports torch), and the small CNN's processes alternate round by round, so
machine load hits both alike; the table reports the median over rounds and the range of the per-round
ratios. ``--threads`` sets the BLAS / torch intra-op threads (default 1).

Every training step allocates and frees arrays of a few hundred kB to MB, and by default glibc hands such
blocks back to the kernel and page-faults them in again at the next allocation; ``import tinygrad_dl`` tells
glibc to keep them (tinygrad_dl/_malloc.py). ``--malloc`` chooses what each process's malloc does:
``shipped`` (the default) runs each engine as it ships, ours tuned and torch with glibc's defaults;
``tuned`` tunes torch's process the same way (loading ``tinygrad_dl/_malloc.py`` on its own); ``default``
runs ours with TINYGRAD_DL_TUNE_MALLOC=0, both on glibc's defaults.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0  # the small CNN: at most 2x PyTorch's time per step
ENGINES = ("tinygrad_dl", "torch")


def _early_setup(argv):
    """BLAS threads must be set before NumPy loads; mallopt before the big allocations."""
    threads = argv[argv.index("--threads") + 1] if "--threads" in argv else "1"
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = threads
    if "--malloc" in argv and argv[argv.index("--malloc") + 1] == "tuned" and "torch" in argv:
        tune_malloc()  # (our process is tuned by importing tinygrad_dl)


def tune_malloc():
    """What ``import tinygrad_dl`` does to glibc's malloc, in a process that never imports tinygrad_dl: its
    _malloc.py (which needs nothing but ``os``) is loaded on its own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tinygrad_dl_malloc", ROOT / "tinygrad_dl" / "_malloc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.tune_malloc()


if __name__ == "__main__":
    _early_setup(sys.argv)

import numpy as np  # noqa: E402  (after the thread settings)
from _training_step import training_step  # noqa: E402  (this folder: the script's own, first on sys.path)


def _torch():
    try:
        import torch
    except ImportError:  # the comparison is optional
        return None
    return torch


# --------------------------------------------------------------------------------------------------
# The small CNN. The parent writes the weights and the batch to an .npz; each child loads them.


def write_small_cnn_inputs(path):
    sys.path.insert(0, str(ROOT))
    from tinygrad_dl import nn

    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, generator=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, generator=rng), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 5 * 5, 10, generator=rng))
    batch = np.random.default_rng(1)
    np.savez(path, x=batch.standard_normal((32, 1, 28, 28)).astype(np.float32), y=batch.integers(0, 10, 32),
             **{f"w.{k}": v for k, v in model.state_dict().items()})


def our_small_cnn_step(inputs, lr=0.01):
    sys.path.insert(0, str(ROOT))
    from tinygrad_dl import Tensor, nn, optim

    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
    model.load_state_dict({k[2:]: inputs[k] for k in inputs.files if k.startswith("w.")})
    optimizer, loss_fn = optim.SGD(model.parameters(), lr=lr), nn.CrossEntropyLoss()
    x, y = Tensor(inputs["x"]), inputs["y"]
    return training_step(model, loss_fn, optimizer, x, y)


def torch_small_cnn_step(inputs, lr=0.01):
    torch = _torch()
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 8, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(8, 16, 3), tnn.ReLU(),
                           tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(16 * 5 * 5, 10))
    model.load_state_dict({k[2:]: torch.from_numpy(inputs[k]) for k in inputs.files if k.startswith("w.")})
    optimizer, loss_fn = torch.optim.SGD(model.parameters(), lr=lr), tnn.CrossEntropyLoss()
    x, y = torch.from_numpy(inputs["x"]), torch.from_numpy(inputs["y"])
    return training_step(model, loss_fn, optimizer, x, y)


def small_cnn_child(engine, inputs_path, steps):
    """In a child process: the first loss, then the time per step over ``steps`` steps after a warm-up."""
    inputs = np.load(inputs_path)
    step = (our_small_cnn_step if engine == "tinygrad_dl" else torch_small_cnn_step)(inputs)
    first_loss = step()
    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"RESULT {first_loss:.9f} {(time.perf_counter() - start) / steps * 1e3:.4f}")


def _child(args, *extra):
    command = [sys.executable, __file__, "--threads", str(args.threads), "--malloc", args.malloc] + list(extra)
    environment = dict(os.environ, TINYGRAD_DL_TUNE_MALLOC="0" if args.malloc == "default" else "1")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    if done.returncode or not lines:
        raise RuntimeError(f"benchmark child {extra} failed:\n{done.stderr[-3000:]}")
    return lines[-1].split()[1:]


def bench_small_cnn(args, engines):
    times = {engine: [] for engine in engines}
    first = {}
    with tempfile.TemporaryDirectory() as folder:
        inputs = os.path.join(folder, "small_cnn.npz")
        write_small_cnn_inputs(inputs)
        for _ in range(args.rounds):
            for engine in engines:
                loss, ms = _child(args, "--small-child", engine, "--inputs", inputs, "--steps", str(args.steps))
                first[engine] = float(loss)
                times[engine].append(float(ms))
    print(f"\nsmall CNN, one training step on (32, 1, 28, 28) float32 ({args.rounds} rounds of {args.steps} steps, "
          "one process per engine and round)")
    if len(engines) == 2:
        assert abs(first["tinygrad_dl"] - first["torch"]) < 1e-4 * abs(first["torch"]), first
        print(f"  first loss: tinygrad_dl {first['tinygrad_dl']:.6f}, torch {first['torch']:.6f}")
    for engine, values in times.items():
        print(f"  {engine:12s} median {statistics.median(values):7.2f} ms   min {min(values):7.2f} ms")
    if len(engines) == 2:
        ratios = [a / b for a, b in zip(times["tinygrad_dl"], times["torch"])]
        median = statistics.median(times["tinygrad_dl"]) / statistics.median(times["torch"])
        verdict = "within" if median <= TARGET_RATIO else "ABOVE"
        print(f"  ratio tinygrad_dl / torch: median {median:.2f}x (rounds {min(ratios):.2f}x - {max(ratios):.2f}x), "
              f"{verdict} the {TARGET_RATIO:g}x target")
    return times


# --------------------------------------------------------------------------------------------------
# ResNet-50 forward + backward


def _rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _peak_rss_kb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def resnet_child(engine, batch, repeats):
    """In a child process: build ResNet-50, time forward + backward, report the first pass's peak memory."""
    import tracemalloc

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 64, 64)).astype(np.float32)
    y = rng.integers(0, 6, batch)
    if engine == "tinygrad_dl":
        sys.path.insert(0, str(ROOT))
        from demos.resnet import resnet50
        from tinygrad_dl import Tensor, nn

        model = resnet50(generator=np.random.default_rng(0))
        loss_fn = nn.CrossEntropyLoss()

        def step():
            model.zero_grad()
            loss_fn(model(Tensor(x)), y).backward()
    else:
        torch = _torch()
        model = torch_resnet50(torch)
        loss_fn = torch.nn.CrossEntropyLoss()
        inputs, targets = torch.from_numpy(x), torch.from_numpy(y)

        def step():
            model.zero_grad()
            loss_fn(model(inputs), targets).backward()
    baseline = _rss_kb()  # the model and the batch exist; nothing of a pass yet
    tracemalloc.start()
    step()  # the first pass also allocates the gradients
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = _peak_rss_kb() - baseline
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(f"RESULT {statistics.median(times):.4f} {min(times):.4f} {traced_peak / 2**20:.1f} {rss_growth / 1024:.1f}")


def torch_resnet50(torch):
    """The course's ResNet-50 in torch, as demos/resnet.py builds it (convolutions with bias)."""
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, c_in, filters, f, stride, shortcut):
            super().__init__()
            f1, f2, f3 = filters
            self.main = tnn.Sequential(tnn.Conv2d(c_in, f1, 1, stride), tnn.BatchNorm2d(f1), tnn.ReLU(),
                                       tnn.Conv2d(f1, f2, f, 1, "same"), tnn.BatchNorm2d(f2), tnn.ReLU(),
                                       tnn.Conv2d(f2, f3, 1), tnn.BatchNorm2d(f3))
            self.shortcut = tnn.Sequential(tnn.Conv2d(c_in, f3, 1, stride), tnn.BatchNorm2d(f3)) \
                if shortcut else tnn.Identity()

        def forward(self, x):
            return torch.relu(self.main(x) + self.shortcut(x))

    layers = [tnn.ZeroPad2d(3), tnn.Conv2d(3, 64, 7, 2), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(3, 2)]
    c_in = 64
    for filters, stride, identities in (((64, 64, 256), 1, 2), ((128, 128, 512), 2, 3),
                                        ((256, 256, 1024), 2, 5), ((512, 512, 2048), 2, 2)):
        layers.append(Block(c_in, filters, 3, stride, True))
        layers += [Block(filters[2], filters, 3, 1, False) for _ in range(identities)]
        c_in = filters[2]
    layers += [tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(2048, 6)]
    return tnn.Sequential(*layers)


def bench_resnet(args, engines):
    print(f"\nResNet-50 (64x64x3 input, 6 classes), forward + backward on a batch of {args.resnet_batch}, median of "
          f"{args.repeats}")
    results = {}
    for engine in engines:
        median, fastest, traced, rss = _child(args, "--resnet-child", engine, "--resnet-batch", str(args.resnet_batch),
                                              "--repeats", str(args.repeats))
        results[engine] = float(median)
        traced_text = f"NumPy arrays {float(traced):6.1f} MB, " if engine == "tinygrad_dl" else " " * 25
        print(f"  {engine:12s} median {float(median):6.2f} s   min {float(fastest):6.2f} s   first-pass peak: "
              f"{traced_text}resident set +{float(rss):6.1f} MB")
    if len(results) == 2:
        print(f"  ratio tinygrad_dl / torch: {results['tinygrad_dl'] / results['torch']:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per round (small CNN)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (small CNN)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    parser.add_argument("--resnet-batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="ResNet-50 passes timed")
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--malloc", choices=("shipped", "tuned", "default"), default="shipped",
                        help="shipped: ours tuned, torch on glibc's defaults; tuned: both tuned; default: neither "
                             "(see the docstring)")
    parser.add_argument("--small-child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--resnet-child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch = _torch() if args.small_child != "tinygrad_dl" and args.resnet_child != "tinygrad_dl" else None
    if torch is not None:
        torch.set_num_threads(args.threads)
    if args.small_child:
        return small_cnn_child(args.small_child, args.inputs, args.steps)
    if args.resnet_child:
        return resnet_child(args.resnet_child, args.resnet_batch, args.repeats)
    engines = ENGINES if torch is not None else ENGINES[:1]
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch is not None else ", torch not found")
          + f", {args.threads} thread(s), malloc {args.malloc}")
    bench_small_cnn(args, engines)
    if not args.skip_resnet:
        bench_resnet(args, engines)
    return None


if __name__ == "__main__":
    main()
