"""Per-iteration time of two course networks: tinygrad_dl against the course's hand-written NumPy backprop.

    python benchmarks/bench_course_nets.py [--iterations 200] [--repeats 5] [--data DIR] [--blas-threads 1]

Networks (float64, full-batch gradient descent, one iteration = forward + cost + backward + update):

* flower: 2 -> 4 tanh -> 1 sigmoid on the 400 flower points (C1 W3), learning rate 1.2;
* cat:    12288 -> 20 -> 7 -> 5 -> 1 (relu, relu, relu, sigmoid) on the 209 cat images (C1 W4), lr 0.0075.
  Without the course data the cat network runs on random pixels of the same shape (timing does not
  depend on the values).

The NumPy reference is written the way the course writes it (``W @ X + b`` in the column layout, caches,
``linear_backward``), including the course's one wasted product: its ``L_model_backward`` also computes
dA0 = W1.T @ dZ1, the gradient of the input images, which nobody uses. A second reference row without that
product shows the honest floor. Both sides are timed in the same process, interleaved round by round, so
machine load hits both alike; the table reports the median time of the rounds and the median of the
per-round ratios.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere inside the checkout

from benchmarks._training_step import training_step  # noqa: E402  (the checkout is on sys.path above)
from tinygrad_dl import Tensor, nn, optim  # noqa: E402

TARGETS = {"flower": 1.5, "cat": 1.25}  # the wanted tinygrad_dl / NumPy ratio per network (issue 7 §6)


# --------------------------------------------------------------------------------------------------
# The course's NumPy code (column layout: X is (n_features, m), W[l] is (n_l, n_{l-1}), b[l] is (n_l, 1))


def numpy_sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def numpy_cross_entropy(A, Y):
    m = Y.shape[1]
    return float(np.squeeze(-1 / m * np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))))


def numpy_flower_step(params, X, Y, learning_rate):
    """One iteration of the course's ``nn_model``: forward, cost, backward (dZ2 = A2 - Y), update."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = numpy_sigmoid(Z2)
    cost = numpy_cross_entropy(A2, Y)
    dZ2 = A2 - Y
    dW2 = 1 / m * dZ2 @ A1.T
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = (W2.T @ dZ2) * (1 - A1 ** 2)
    dW1 = 1 / m * dZ1 @ X.T
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    params["W1"], params["b1"] = W1 - learning_rate * dW1, b1 - learning_rate * db1
    params["W2"], params["b2"] = W2 - learning_rate * dW2, b2 - learning_rate * db2
    return cost


def numpy_deep_step(params, X, Y, learning_rate, input_grad=True):
    """One iteration of the course's ``L_layer_model``: relu hidden layers, sigmoid output, dAL from the cost.

    ``input_grad=True`` computes dA0 like the course's ``L_model_backward`` does; False skips that product.
    """
    L = len(params) // 2
    caches, A = [], X
    for l in range(1, L + 1):
        A_prev = A
        Z = params[f"W{l}"] @ A_prev + params[f"b{l}"]
        A = np.maximum(0, Z) if l < L else numpy_sigmoid(Z)
        caches.append((A_prev, Z, A))
    AL, m = A, X.shape[1]
    cost = numpy_cross_entropy(AL, Y)
    dA = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    grads = {}
    for l in range(L, 0, -1):
        A_prev, Z, A = caches[l - 1]
        if l == L:
            dZ = dA * A * (1 - A)  # sigmoid_backward
        else:
            dZ = np.array(dA, copy=True)  # relu_backward
            dZ[Z <= 0] = 0
        grads[f"dW{l}"] = 1 / m * dZ @ A_prev.T
        grads[f"db{l}"] = 1 / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 1 or input_grad:
            dA = params[f"W{l}"].T @ dZ
    for l in range(1, L + 1):
        params[f"W{l}"] = params[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        params[f"b{l}"] = params[f"b{l}"] - learning_rate * grads[f"db{l}"]
    return cost


def numpy_flower_params(n_x=2, n_h=4, n_y=1):
    """The course's ``initialize_parameters`` for the flower: seed 2, randn * 0.01, zero biases."""
    np.random.seed(2)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def numpy_deep_params(layer_dims):
    """The course's ``initialize_parameters_deep`` (dnn_app_utils_v3): seed 1, randn / sqrt(n_prev)."""
    np.random.seed(1)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        params[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return params


# --------------------------------------------------------------------------------------------------
# The same networks in tinygrad_dl (row layout: Linear gets X.T of shape (m, n_features))


def build_flower_model():
    model = nn.Sequential(nn.Linear(2, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 1, dtype=np.float64))
    reference = numpy_flower_params()
    _copy_course_params(model, reference)
    return model


def build_deep_model(layer_dims):
    layers = []
    for n_in, n_out in zip(layer_dims[:-2], layer_dims[1:-1]):
        layers += [nn.Linear(n_in, n_out, dtype=np.float64), nn.ReLU()]
    layers += [nn.Linear(layer_dims[-2], layer_dims[-1], dtype=np.float64), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    _copy_course_params(model, numpy_deep_params(layer_dims))
    return model


def _copy_course_params(model, params):
    """Start from the very same numbers as the NumPy reference (bias (n, 1) -> (n,))."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for l, layer in enumerate(linears, start=1):
        layer.weight.data[...] = params[f"W{l}"]
        layer.bias.data[...] = params[f"b{l}"].ravel()


def tinygrad_step_fn(model, loss_fn, X, Y, learning_rate):
    """A closure doing one training iteration the way the demos do: forward, loss, backward, SGD step."""
    inputs, targets = Tensor(np.ascontiguousarray(X.T)), Tensor(Y.T.astype(np.float64))
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    return training_step(model, loss_fn, optimizer, inputs, targets)


# --------------------------------------------------------------------------------------------------
# Timing


def time_rounds(steps, iterations, repeats):
    """Seconds per iteration of each step function (median over ``repeats`` rounds) and, per function, the
    median over rounds of its time divided by the first function's time in the same round. The functions run
    back to back in every round, so a busy machine slows both alike and the ratio stays meaningful."""
    for step in steps.values():  # warm-up: caches, BLAS threads, first allocations
        for _ in range(3):
            step()
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(iterations):
                step()
            samples[name].append((time.perf_counter() - start) / iterations)
    reference = next(iter(steps))
    times = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {name: statistics.median(v / r for v, r in zip(values, samples[reference]))
              for name, values in samples.items()}
    return times, ratios


def load_cat_or_random(data_dir):
    """The course's cat images (12288, 209), or random pixels of that shape when the data is not there."""
    try:
        from tinygrad_dl.data import load_cat_dataset
        train_x, train_y, *_ = load_cat_dataset(data_dir)
        return train_x, train_y.astype(np.float64), "course cat images"
    except (FileNotFoundError, ImportError):
        rng = np.random.default_rng(0)
        return rng.random((12288, 209)), (rng.random((1, 209)) > 0.5).astype(np.float64), "random pixels"


def flower_data():
    from tinygrad_dl.data import make_flower
    X, Y = make_flower()
    return X, Y.astype(np.float64)


def bench_flower(iterations, repeats):
    X, Y = flower_data()
    params = numpy_flower_params()
    model = build_flower_model()
    steps = {
        "numpy": lambda: numpy_flower_step(params, X, Y, 1.2),
        "tinygrad_dl": tinygrad_step_fn(model, nn.BCEWithLogitsLoss(), X, Y, 1.2),
    }
    return time_rounds(steps, iterations, repeats)


def bench_cat(iterations, repeats, data_dir):
    X, Y, source = load_cat_or_random(data_dir)
    dims = [12288, 20, 7, 5, 1]
    params, params_lean = numpy_deep_params(dims), numpy_deep_params(dims)
    model = build_deep_model(dims)
    steps = {
        "numpy": lambda: numpy_deep_step(params, X, Y, 0.0075),
        "numpy_lean": lambda: numpy_deep_step(params_lean, X, Y, 0.0075, input_grad=False),
        "tinygrad_dl": tinygrad_step_fn(model, nn.BCELoss(), X, Y, 0.0075),
    }
    return time_rounds(steps, iterations, repeats), source


def table_row(network, measured, reference, target):
    times, ratios = measured
    ratio = ratios["tinygrad_dl"] / ratios[reference]
    return (network, f"{times[reference] * 1e3:.3f}", f"{times['tinygrad_dl'] * 1e3:.3f}", f"{ratio:.2f}x", target)


def format_table(rows):
    header = ("network", "NumPy by hand (ms/it)", "tinygrad_dl (ms/it)", "ratio", "target")
    cells = [header] + rows
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=40,
                        help="iterations per timed round for the flower (the cat network does a tenth)")
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per implementation")
    parser.add_argument("--data", default=None, help="course data folder (for the cat images)")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit BLAS to this many threads for both sides (needs threadpoolctl)")
    args = parser.parse_args(argv)
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=args.blas_threads, user_api="blas")

    flower = bench_flower(args.iterations, args.repeats)
    cat, source = bench_cat(max(1, args.iterations // 10), args.repeats, args.data)
    rows = [
        table_row("flower 2-4-1", flower, "numpy", f"<= {TARGETS['flower']:.2f}x"),
        table_row("cat 12288-20-7-5-1", cat, "numpy", f"<= {TARGETS['cat']:.2f}x"),
        table_row("cat, NumPy without dA0", cat, "numpy_lean", "(info)"),
    ]
    print(f"Per-iteration time, median of {args.repeats} rounds; ratio: median over the rounds (cat data: {source})")
    print(format_table(rows))
    return {"flower": flower, "cat": cat}


if __name__ == "__main__":
    main()
