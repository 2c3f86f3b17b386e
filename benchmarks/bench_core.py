"""Engine overhead per op, against the same computation written by hand in NumPy.

    python benchmarks/bench_core.py

Prints a table: a chain of elementwise ops on (16, 16) float32 tensors, forward + backward, per op, for
tinygrad_dl and for hand-written NumPy backprop; the difference is the engine's overhead per op. The ratio is
the median over rounds that time both back to back (robust on a busy machine); the microseconds are the best
rounds. Then the same chain with the checks of issue 7 switched on: inside ``detect_anomaly()``, and with a
tensor the graph saved changed in place before ``backward()`` (every node's saved values are then checked;
off, both cost one flag test per op or per backward). Last, a backward through a 100 000-op chain and
through a 10 000-way fan-in.
"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinygrad_dl import Tensor, detect_anomaly, no_grad  # noqa: E402

CHAIN = 100  # ops per chain in the per-op benchmark (50 multiplies and 50 tanh)
ROUNDS = 40


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


def engine_chain(x, scale=1.01):
    def run():
        x.grad = None
        y = x
        for _ in range(CHAIN // 2):
            y = (y * scale).tanh()
        y.sum().backward()
    return run


def engine_chain_with_a_stale_check(x):
    """The chain with an unrelated tensor changed in place between forward and backward: the engine then checks
    every node's saved values against the in-place writes (none of them changed, so backward goes ahead)."""
    unrelated = Tensor(np.zeros(3, dtype=np.float32))

    def run():
        x.grad = None
        y = x
        for _ in range(CHAIN // 2):
            y = (y * 1.01).tanh()
        unrelated.add_(1.0)
        y.sum().backward()
    return run


def interleaved(engine, by_hand, rounds=ROUNDS, number=5):
    """Median ratio engine/by-hand over rounds that time both back to back, and each one's best time."""
    engine(), by_hand()
    ratios, best_engine, best_hand = [], float("inf"), float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            engine()
        middle = time.perf_counter()
        for _ in range(number):
            by_hand()
        end = time.perf_counter()
        ratios.append((middle - start) / (end - middle))
        best_engine, best_hand = min(best_engine, (middle - start) / number), min(best_hand, (end - middle) / number)
    return statistics.median(ratios), best_engine, best_hand


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
    ratio, engine, by_hand = interleaved(engine_chain(Tensor(data, requires_grad=True)), numpy_chain(data))
    engine, by_hand = engine / ops, by_hand / ops
    print("Per-op cost, forward + backward, (16, 16) float32, elementwise chain")
    print(f"{'':34s}{'us/op':>10s}")
    print(f"{'tinygrad_dl':34s}{engine * 1e6:10.2f}")
    print(f"{'hand-written NumPy':34s}{by_hand * 1e6:10.2f}")
    print(f"{'engine overhead per op':34s}{(engine - by_hand) * 1e6:10.2f}")
    print(f"{'ratio (median of rounds)':34s}{ratio:10.2f}x")
    print(f"{'overhead at that ratio':34s}{(ratio - 1) * by_hand * 1e6:10.2f}")
    with detect_anomaly():
        anomaly_ratio, _, _ = interleaved(engine_chain(Tensor(data, requires_grad=True)), numpy_chain(data), rounds=10)
    stale_ratio, _, _ = interleaved(engine_chain_with_a_stale_check(Tensor(data, requires_grad=True)),
                                    numpy_chain(data), rounds=20)
    print(f"{'ratio with saved values checked':34s}{stale_ratio:10.2f}x")
    print(f"{'ratio inside detect_anomaly()':34s}{anomaly_ratio:10.2f}x")
    print()
    print(f"backward through a 100 000-op chain: {long_chain():.3f} s")
    forward, backward = fan_in()
    print(f"10 000-way fan-in (10 000 products summed): forward {forward:.3f} s, backward {backward:.3f} s")


if __name__ == "__main__":
    main()
