"""Engine overhead per op, against the same computation written by hand in NumPy.

    python benchmarks/bench_core.py

Prints a table: a chain of elementwise ops on (16, 16) float32 tensors, forward + backward, per op, for
tinygrad_dl and for hand-written NumPy backprop; the difference is the engine's overhead per op. Then the
time of a backward through a 100 000-op chain and through a 10 000-way fan-in. Every timing is the best of
several repeats (the least disturbed by other processes).
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinygrad_dl import Tensor  # noqa: E402

CHAIN = 100  # ops per chain in the per-op benchmark (50 multiplies and 50 tanh)


def best_time(fn, repeats=15, number=5):
    """The best mean time of ``number`` calls over ``repeats`` repeats."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def engine_chain(x):
    def run():
        x.grad = None
        y = x
        for _ in range(CHAIN // 2):
            y = (y * 1.01).tanh()
        y.sum().backward()
    return run


def numpy_chain(x):
    def run():
        outputs = []
        y = x
        for _ in range(CHAIN // 2):
            y = np.tanh(y * 1.01)
            outputs.append(y)
        grad = np.ones_like(x)
        for out in reversed(outputs):
            grad = grad * (1 - out * out)
            grad = grad * 1.01
        return grad
    return run


def long_chain(n=100_000):
    x = Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    start = time.perf_counter()
    y.sum().backward()
    return time.perf_counter() - start


def fan_in(n=10_000):
    xs = [Tensor(np.float64(i), requires_grad=True) for i in range(n)]
    start = time.perf_counter()
    total = xs[0] * xs[0]
    for x in xs[1:]:
        total = total + x * x
    forward = time.perf_counter() - start
    start = time.perf_counter()
    total.backward()
    return forward, time.perf_counter() - start


def main():
    data = np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32)
    ops = CHAIN + 1  # the chain plus the final sum
    engine = best_time(engine_chain(Tensor(data, requires_grad=True))) / ops
    by_hand = best_time(numpy_chain(data)) / ops
    print("Per-op cost, forward + backward, (16, 16) float32, elementwise chain")
    print(f"{'':28s}{'us/op':>10s}")
    print(f"{'tinygrad_dl':28s}{engine * 1e6:10.2f}")
    print(f"{'hand-written NumPy':28s}{by_hand * 1e6:10.2f}")
    print(f"{'engine overhead per op':28s}{(engine - by_hand) * 1e6:10.2f}")
    print(f"{'ratio':28s}{engine / by_hand:10.2f}x")
    print()
    print(f"backward through a 100 000-op chain: {long_chain():.3f} s")
    forward, backward = fan_in()
    print(f"10 000-way fan-in (10 000 products summed): forward {forward:.3f} s, backward {backward:.3f} s")


if __name__ == "__main__":
    main()
