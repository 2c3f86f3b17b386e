"""How long tinygrad_dl.viz takes to build the Digraph (Python time only, no Graphviz layout).

    python benchmarks/bench_viz.py

Two graphs of about 1 000 and 5 000 nodes (tensor nodes + op nodes): a deep MLP whose layers sit in naming
scopes (what nn.Module produces), timed with the default options (scopes collapse, node cap 300), with every
node drawn (collapse=False, max_nodes=None), and with a recorded backward pass (backward=True, which adds the
time of the backward itself).
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere inside the checkout

from tinygrad_dl import Tensor, name_scope, viz  # noqa: E402


def deep_mlp(target_nodes, width=4, seed=0):
    """A chain of Linear+ReLU layers, each in name_scope("layerK"): 8 drawn nodes per layer."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((width, 2)))
    params = {}
    layers = max(1, (target_nodes - 4) // 8)
    h = x
    for k in range(layers):
        W = Tensor(rng.standard_normal((width, width)) * np.sqrt(2 / width), requires_grad=True)
        b = Tensor(np.zeros((width, 1)), requires_grad=True)
        params[f"layer{k}.W"], params[f"layer{k}.b"] = W, b
        with name_scope(f"layer{k}"):
            h = (W @ h + b).relu()
    loss = (h * h).mean()
    return loss, params


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    print(f"{'graph':>14} | {'options':<34} | {'drawn nodes':>11} | {'DOT chars':>9} | time")
    for target in (1000, 5000):
        loss, params = deep_mlp(target)
        nodes = len(viz.Graph(loss).tensors) + len(viz.Graph(loss).ops)
        cases = [
            ("default (collapse auto, cap 300)", lambda: viz.draw_graph(loss, names=params)),
            ("collapse=False, max_nodes=None", lambda: viz.draw_graph(loss, names=params, collapse=False,
                                                                      max_nodes=None)),
        ]
        for label, fn in cases:
            seconds, picture = best_of(fn)
            drawn = picture.source.count(" [label=<")
            print(f"{nodes:>8} nodes | {label:<34} | {drawn:>11} | {len(picture.source):>9} | {seconds * 1e3:7.1f} ms")

        def traced():
            fresh_loss, fresh_params = deep_mlp(target)
            return viz.draw_graph(fresh_loss, names=fresh_params, backward=True, collapse=False, max_nodes=None)
        seconds, picture = best_of(traced)
        print(f"{nodes:>8} nodes | {'backward=True, every node drawn':<34} | "
              f"{picture.source.count(' [label=<'):>11} | {len(picture.source):>9} | {seconds * 1e3:7.1f} ms"
              "  (includes building the net and its backward pass)")


if __name__ == "__main__":
    main()
