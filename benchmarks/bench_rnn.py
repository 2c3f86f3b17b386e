"""Recurrent training steps: tinygrad_dl against PyTorch on the CPU (when torch is importable).

    python benchmarks/bench_rnn.py [--rounds 11] [--threads 1]      # run with an interpreter that has torch

Three workloads, one training step each (forward, loss, backpropagation through time, SGD/Adam update):

* ``nn.LSTM``: input 32, hidden 64, batch 16, 50 steps, MSE between the last hidden state and a target,
  SGD; tinygrad_dl's layer (one fused node per sequence) against ``torch.nn.LSTM`` (its fused C++ kernel);
* the same LSTM cell written from core ops (two matmuls, slices, sigmoid/tanh, products) unrolled over the
  50 steps, in both libraries: the per-op overhead of each engine. Two rows below it time, against
  PyTorch's composed cell, the same step written by hand in NumPy (forward, backpropagation through time,
  SGD: the floor under any engine that runs these operations one NumPy call at a time) and the same lines
  on the leanest engine this file can write (``leanest_engine``: one Python object per op and nothing
  else, the floor under any engine that records the ops one at a time in Python);
* the ``nmt_dates`` attention model (Bi-LSTM 32, 10 attention steps, LSTMCell 64; batch 100, Tx 30), Adam:
  ``demos.nmt_dates.AttentionTranslator`` against the same model written in PyTorch.

Both libraries run float32 on the same number of BLAS/intra-op threads (``--threads``, default 1), timed in
the same process and interleaved round by round so machine load hits both alike; the table shows the median
time of each and the ratio per round (min-median-max). Targets: nn.LSTM <= 1.5x PyTorch, the composed cell
<= 0.6x PyTorch's composed cell.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere inside the checkout

STEPS, BATCH, INPUT, HIDDEN = 50, 16, 32, 64
TARGETS = {"nn.LSTM": 1.5, "composed LSTM cell": 0.6}


def _set_threads(count):
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(count)


# ----------------------------------------------------------------------------------------------------
# Both engines


def composed_lstm_loss(xs, w_ih, w_hh, b, h0, target):
    """The LSTM cell written from core ops and unrolled over the sequence ``xs`` from h = c = ``h0``; the mean
    squared error of the last hidden state. tinygrad_dl and PyTorch spell these ops alike, so both engines run
    these very lines."""
    H = HIDDEN
    h = c = h0
    for t in range(STEPS):
        gates = xs[t] @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid(), gates[:, 2 * H:3 * H].tanh(), \
            gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
    diff = h - target
    return (diff * diff).mean()


# ----------------------------------------------------------------------------------------------------
# tinygrad_dl


def ours_lstm_step():
    import numpy as np
    import tinygrad_dl.nn.functional as F
    from tinygrad_dl import Tensor, nn, optim
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(INPUT, HIDDEN, generator=rng)
    x = Tensor(rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32))
    target = rng.standard_normal((BATCH, HIDDEN)).astype(np.float32)
    optimizer = optim.SGD(lstm.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        _, (h, _) = lstm(x)
        F.mse_loss(h[0], target).backward()
        optimizer.step()
    return step


def ours_composed_step():
    import numpy as np
    from tinygrad_dl import Tensor, no_grad
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(HIDDEN)
    w_ih = Tensor(rng.uniform(-bound, bound, (4 * HIDDEN, INPUT)).astype(np.float32), requires_grad=True)
    w_hh = Tensor(rng.uniform(-bound, bound, (4 * HIDDEN, HIDDEN)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(4 * HIDDEN, np.float32), requires_grad=True)
    xs = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    target = rng.standard_normal((BATCH, HIDDEN)).astype(np.float32)

    def step():
        h0 = Tensor(np.zeros((BATCH, HIDDEN), np.float32))
        composed_lstm_loss(xs, w_ih, w_hh, b, h0, target).backward()
        with no_grad():
            for p in (w_ih, w_hh, b):
                p.data -= 0.01 * p.grad.data
                p.grad = None
    return step


def numpy_composed_step():
    """The composed cell's training step written by hand in NumPy (forward, backpropagation through time, SGD):
    the floor under any engine that runs the same operations one NumPy call at a time."""
    import numpy as np
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(HIDDEN)
    w_ih = rng.uniform(-bound, bound, (4 * HIDDEN, INPUT)).astype(np.float32)
    w_hh = rng.uniform(-bound, bound, (4 * HIDDEN, HIDDEN)).astype(np.float32)
    b = np.zeros(4 * HIDDEN, np.float32)
    xs = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    target = rng.standard_normal((BATCH, HIDDEN)).astype(np.float32)
    H = HIDDEN

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def step():
        h = c = np.zeros((BATCH, HIDDEN), np.float32)
        cache = []
        for t in range(STEPS):
            gates = xs[t] @ w_ih.T + h @ w_hh.T + b
            i, f, g, o = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H]), np.tanh(gates[:, 2 * H:3 * H]), \
                sigmoid(gates[:, 3 * H:])
            cache.append((h, c, i, f, g, o))
            c = f * c + i * g
            tanh_c = np.tanh(c)
            cache[-1] += (tanh_c,)
            h = o * tanh_c
        diff = h - target
        d_h, d_c = diff * (2 / diff.size), np.zeros_like(c)
        d_w_ih, d_w_hh, d_b = np.zeros_like(w_ih), np.zeros_like(w_hh), np.zeros_like(b)
        d_gates = np.empty((BATCH, 4 * H), np.float32)
        for t in reversed(range(STEPS)):
            h_prev, c_prev, i, f, g, o, tanh_c = cache[t]
            d_c = d_c + d_h * o * (1 - tanh_c * tanh_c)
            d_gates[:, :H] = d_c * g * i * (1 - i)
            d_gates[:, H:2 * H] = d_c * c_prev * f * (1 - f)
            d_gates[:, 2 * H:3 * H] = d_c * i * (1 - g * g)
            d_gates[:, 3 * H:] = d_h * tanh_c * o * (1 - o)
            d_c = d_c * f
            d_w_ih += d_gates.T @ xs[t]
            d_w_hh += d_gates.T @ h_prev
            d_b += d_gates.sum(axis=0)
            d_h = d_gates @ w_hh
        for p, d in ((w_ih, d_w_ih), (w_hh, d_w_hh), (b, d_b)):
            p -= 0.01 * d
    return step


# ----------------------------------------------------------------------------------------------------
# The leanest engine: a floor under any engine that records each op as a Python object


def leanest_engine():
    """A reverse-mode engine cut to the bone, just big enough to run ``composed_lstm_loss``: one object per op
    (its array, its inputs, its backward function, a creation number), no checks, no broadcasting beyond the
    bias, no dtypes, no hooks, no name scopes. An engine that records ops one at a time in Python and makes one
    NumPy call per op does at least this much work, so its time is a floor under tinygrad_dl's composed cell."""
    import itertools

    import numpy as np
    counter = itertools.count()

    class Lean:
        __slots__ = ("data", "grad", "inputs", "backward_fn", "saved", "number")
        __array_ufunc__ = None  # ndarray @ Lean: NumPy steps aside for Lean.__rmatmul__

        def __init__(self, data, inputs=(), backward_fn=None, saved=None):
            self.data, self.grad, self.inputs, self.backward_fn, self.saved = data, None, inputs, backward_fn, saved
            self.number = next(counter)

        def __matmul__(self, other):
            return Lean(self.data @ other.data, (self, other), matmul_backward)

        def __rmatmul__(self, array):  # a constant array @ self
            return Lean(array @ self.data, (Lean(array), self), matmul_backward)

        def __add__(self, other):
            return Lean(self.data + other.data, (self, other), add_backward)

        def __mul__(self, other):
            return Lean(self.data * other.data, (self, other), mul_backward)

        def __sub__(self, array):  # minus a constant array
            return Lean(self.data - array, (self,), pass_backward)

        def __getitem__(self, index):
            return Lean(self.data[index], (self,), slice_backward, index)

        @property
        def T(self):
            return Lean(self.data.T, (self,), transpose_backward)

        def sigmoid(self):
            return Lean(1 / (1 + np.exp(-self.data)), (self,), sigmoid_backward)

        def tanh(self):
            return Lean(np.tanh(self.data), (self,), tanh_backward)

        def mean(self):
            return Lean(self.data.mean(), (self,), mean_backward)

        def backward(self):
            nodes, seen, stack = [], set(), [self]
            while stack:
                node = stack.pop()
                if node.backward_fn is not None and node not in seen:
                    seen.add(node)
                    nodes.append(node)
                    stack.extend(node.inputs)
            nodes.sort(key=lambda n: n.number, reverse=True)  # consumers before the nodes they read
            self.grad = np.ones((), self.data.dtype)
            for node in nodes:
                if node.grad is not None:
                    node.backward_fn(node, node.grad)
                    node.grad = None

    def accumulate(node, grad):
        node.grad = grad if node.grad is None else node.grad + grad

    def matmul_backward(node, grad):
        a, b = node.inputs
        accumulate(b, a.data.T @ grad)
        if a.backward_fn is not None:  # (not for the constant input x_t)
            accumulate(a, grad @ b.data.T)

    def add_backward(node, grad):
        a, b = node.inputs
        accumulate(a, grad)
        accumulate(b, grad if b.data.shape == grad.shape else grad.sum(axis=0))

    def mul_backward(node, grad):
        a, b = node.inputs
        accumulate(a, grad * b.data)
        accumulate(b, grad * a.data)

    def pass_backward(node, grad):
        accumulate(node.inputs[0], grad)

    def slice_backward(node, grad):  # the gates are read by the four slices only: their gradient is ours to fill
        gates = node.inputs[0]
        if gates.grad is None:
            gates.grad = np.zeros_like(gates.data)
        gates.grad[node.saved] += grad

    def transpose_backward(node, grad):
        accumulate(node.inputs[0], grad.T)

    def sigmoid_backward(node, grad):
        s = node.data
        accumulate(node.inputs[0], grad * s * (1 - s))

    def tanh_backward(node, grad):
        t = node.data
        accumulate(node.inputs[0], grad * (1 - t * t))

    def mean_backward(node, grad):
        x = node.inputs[0].data
        accumulate(node.inputs[0], np.full(x.shape, grad / x.size, x.dtype))

    return Lean


def leanest_composed_step():
    """The composed cell's training step on ``leanest_engine``: the same lines, the same start."""
    import numpy as np
    Lean = leanest_engine()
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(HIDDEN)
    w_ih = Lean(rng.uniform(-bound, bound, (4 * HIDDEN, INPUT)).astype(np.float32))
    w_hh = Lean(rng.uniform(-bound, bound, (4 * HIDDEN, HIDDEN)).astype(np.float32))
    b = Lean(np.zeros(4 * HIDDEN, np.float32))
    xs = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    target = rng.standard_normal((BATCH, HIDDEN)).astype(np.float32)

    def step():
        h0 = Lean(np.zeros((BATCH, HIDDEN), np.float32))
        composed_lstm_loss(xs, w_ih, w_hh, b, h0, target).backward()
        for p in (w_ih, w_hh, b):
            p.data -= 0.01 * p.grad
            p.grad = None
    return step


def ours_nmt_step():
    import numpy as np
    from demos import nmt_dates
    from tinygrad_dl import optim
    rng = np.random.default_rng(0)
    model = nmt_dates.AttentionTranslator(generator=rng)
    x = np.eye(37, dtype=np.float32)[rng.integers(0, 37, (100, 30))]
    y = rng.integers(0, 11, (100, 10))
    optimizer = optim.Adam(model.parameters(), lr=0.005)

    def step():
        optimizer.zero_grad()
        nmt_dates.sequence_loss(model(x), y).backward()
        optimizer.step()
    return step


# ----------------------------------------------------------------------------------------------------
# PyTorch


def torch_lstm_step(torch):
    lstm = torch.nn.LSTM(INPUT, HIDDEN)
    x, target = torch.randn(STEPS, BATCH, INPUT), torch.randn(BATCH, HIDDEN)
    optimizer = torch.optim.SGD(lstm.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        _, (h, _) = lstm(x)
        torch.nn.functional.mse_loss(h[0], target).backward()
        optimizer.step()
    return step


def torch_composed_step(torch):
    bound = 1 / HIDDEN ** 0.5
    w_ih = (torch.rand(4 * HIDDEN, INPUT) * 2 * bound - bound).requires_grad_()
    w_hh = (torch.rand(4 * HIDDEN, HIDDEN) * 2 * bound - bound).requires_grad_()
    b = torch.zeros(4 * HIDDEN, requires_grad=True)
    xs, target = torch.randn(STEPS, BATCH, INPUT), torch.randn(BATCH, HIDDEN)

    def step():
        composed_lstm_loss(xs, w_ih, w_hh, b, torch.zeros(BATCH, HIDDEN), target).backward()
        with torch.no_grad():
            for p in (w_ih, w_hh, b):
                p -= 0.01 * p.grad
                p.grad = None
    return step


def torch_nmt_step(torch):
    nn = torch.nn

    class Translator(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre_attention = nn.LSTM(37, 32, bidirectional=True, batch_first=True)
            self.densor1, self.densor2 = nn.Linear(128, 10), nn.Linear(10, 1)
            self.post_attention, self.output_layer = nn.LSTMCell(64, 64), nn.Linear(64, 11)

        def forward(self, x):
            a, _ = self.pre_attention(x)
            energy_from_a = nn.functional.linear(a, self.densor1.weight[:, :64], self.densor1.bias)
            s = c = torch.zeros(x.shape[0], 64)
            outputs = []
            for _ in range(10):
                e = torch.tanh(energy_from_a + nn.functional.linear(s, self.densor1.weight[:, 64:])[:, None])
                alphas = torch.softmax(torch.relu(self.densor2(e)), dim=1)
                s, c = self.post_attention((alphas * a).sum(dim=1), (s, c))
                outputs.append(self.output_layer(s))
            return torch.stack(outputs, dim=1)

    model = Translator()
    x = torch.nn.functional.one_hot(torch.randint(0, 37, (100, 30)), 37).float()
    y = torch.randint(0, 11, (100, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)

    def step():
        optimizer.zero_grad()
        (torch.nn.functional.cross_entropy(model(x).reshape(-1, 11), y.reshape(-1)) * 10).backward()
        optimizer.step()
    return step


# ----------------------------------------------------------------------------------------------------


def _time(step, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11, help="interleaved timing rounds (default 11)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / intra-op threads for both (default 1)")
    args = parser.parse_args(argv)
    _set_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("PyTorch is not importable here: timing tinygrad_dl only (run with an interpreter that has torch to "
              "compare)")
    workloads = {"nn.LSTM": (ours_lstm_step, torch_lstm_step, 20),
                 "composed LSTM cell": (ours_composed_step, torch_composed_step, 5),
                 "  same cell, NumPy by hand": (numpy_composed_step, torch_composed_step, 5),
                 "  same cell, leanest engine": (leanest_composed_step, torch_composed_step, 5),
                 "nmt_dates training step": (ours_nmt_step, torch_nmt_step, 3)}
    print(f"{'workload':26s} {'tinygrad_dl':>12s} {'PyTorch':>10s}   ratio per round (min / median / max)  target")
    for name, (ours_factory, torch_factory, repeats) in workloads.items():
        ours = ours_factory()
        theirs = torch_factory(torch) if torch is not None else None
        for _ in range(2):  # warm up both
            ours()
            if theirs is not None:
                theirs()
        ours_times, torch_times = [], []
        for _ in range(args.rounds):
            ours_times.append(_time(ours, repeats))
            if theirs is not None:
                torch_times.append(_time(theirs, repeats))
        line = f"{name:26s} {statistics.median(ours_times) * 1e3:9.2f} ms"
        if torch_times:
            ratios = sorted(o / t for o, t in zip(ours_times, torch_times))
            line += (f" {statistics.median(torch_times) * 1e3:7.2f} ms   {ratios[0]:.2f} / "
                     f"{statistics.median(ratios):.2f} / {ratios[-1]:.2f}")
            if name in TARGETS:
                line += f"{'':18s}<= {TARGETS[name]}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
