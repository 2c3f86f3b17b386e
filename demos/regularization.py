"""Regularization (Course 2, week 1, assignment 2): none vs L2 vs dropout on the "French football" data.

A 3-layer net [2, 20, 3, 1] (ReLU, ReLU, sigmoid), weights randn / sqrt(n_prev) with seed 3, full-batch
gradient descent with learning rate 0.3 for 30 000 iterations:

* no regularization: train 0.9479, test 0.915 (it overfits the noisy points);
* L2, λ = 0.7: the loss adds ``F.l2_penalty([W1, W2, W3], λ, m)`` = λ/(2m)·Σ‖W‖², whose gradient autograd
  turns into the course's extra λ/m·W — train 0.9384, test 0.93;
* dropout on both hidden layers, keep_prob 0.86: ``nn.Dropout(p=0.14, layout="columns")`` — train 0.9289,
  test 0.95.

Dropout quirk reproduced on purpose: the notebook's ``forward_propagation_with_dropout`` calls
``np.random.seed(1)`` at every call, so its masks ``np.random.rand(*A.shape) < keep_prob`` (D1 then D2,
drawn in the course's column layout (units, m)) are the same in every iteration. The demo seeds the
global RNG before every training forward, and ``layout="columns"`` makes the row-layout dropout draw the
course's (units, m) mask and transpose it. Predictions run in eval mode, without dropout.

    python -m demos.regularization [--method l2] [--iterations 30000]
"""
import numpy as np

from tinygrad_dl import nn, no_grad, optim
import tinygrad_dl.nn.functional as F
from tinygrad_dl.plot import plot_cost_histories, plot_decision_boundary
from tinygrad_dl.data import load_football_dataset

from .common import log, make_parser, output_dir, print_results, progress
from .initialization import (accuracy, course_cross_entropy, course_mlp, decision_function, initialize,
                             linear_layers, rows)

NAME = "regularization"
LAYER_DIMS = (2, 20, 3, 1)
LEARNING_RATE = 0.3
NUM_ITERATIONS = 30000
PRINT_EVERY = 10000
RECORD_EVERY = 100  # one point per 100 iterations on the cost curve (the notebook prints every 10000)
# the notebook's zoom on its decision boundaries, where overfitting shows
AXIS_LIMITS = {"xlim": (-0.75, 0.40), "ylim": (-0.75, 0.65)}
LAMBD = 0.7
KEEP_PROB = 0.86
DROPOUT_SEED = 1
METHODS = ("none", "l2", "dropout")
PLOT_TITLES = {"none": "Without regularization", "l2": f"With L2 regularization (λ = {LAMBD})",
               "dropout": f"With dropout (keep_prob = {KEEP_PROB})"}
COURSE = {  # COURSE.md section 2.2
    "none": {"costs": {0: 0.6557412523481002, 10000: 0.16329987525724216, 20000: 0.13851642423255986},
             "train_accuracy": 0.947867298578, "test_accuracy": 0.915},
    "l2": {"costs": {0: 0.6974484493131264, 10000: 0.2684918873282239, 20000: 0.2680916337127301},
           "train_accuracy": 0.938388625592, "test_accuracy": 0.93},
    "dropout": {"costs": {0: 0.6543912405149825, 10000: 0.06101698657490559, 20000: 0.060582435798513114},
                "train_accuracy": 0.928909952607, "test_accuracy": 0.95},
}


def build_model(method, keep_prob=KEEP_PROB):
    """The [2, 20, 3, 1] net, with a column-layout dropout after each hidden ReLU for ``method="dropout"``."""
    dropout = None
    if method == "dropout":
        dropout = lambda: nn.Dropout(p=1 - keep_prob, layout="columns")  # noqa: E731
    return initialize(course_mlp(LAYER_DIMS, dropout=dropout), "fan_in", seed=3)


def train(X, Y, method, learning_rate=LEARNING_RATE, num_iterations=NUM_ITERATIONS, lambd=LAMBD,
          keep_prob=KEEP_PROB, quiet=True):
    """The notebook's ``model(...)`` with ``lambd`` (method "l2") or ``keep_prob`` (method "dropout").

    Returns the model and {iteration: the course's printed cost} every 100 iterations (the cost curve's points).
    """
    if method not in METHODS:
        raise ValueError(f"regularization: unknown method {method!r}; choose one of {METHODS}")
    model = build_model(method, keep_prob)
    weights = [layer.weight for layer in linear_layers(model)]
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    inputs, targets = rows(X), rows(Y)
    m = X.shape[1]
    costs = {}
    for i in progress(range(num_iterations), num_iterations, method, quiet):
        if method == "dropout":
            np.random.seed(DROPOUT_SEED)  # the notebook reseeds at every forward: the same masks every time
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        if method == "l2":
            penalty = F.l2_penalty(weights, lambd, m)
            loss = loss + penalty
        if i % RECORD_EVERY == 0:
            with no_grad():
                costs[i] = course_cross_entropy(logits.sigmoid().numpy().T, Y)
            if method == "l2":
                costs[i] += penalty.item()
            if i % PRINT_EVERY == 0:
                log(f"{method}: cost after iteration {i}: {costs[i]}", quiet)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, costs


def run(methods=METHODS, num_iterations=NUM_ITERATIONS, learning_rate=LEARNING_RATE, data=None, quiet=True,
        out=None):
    """Train one model per regularization method; returns per method its costs and accuracies."""
    try:
        train_X, train_Y, test_X, test_Y = load_football_dataset(data)
    except (FileNotFoundError, ImportError) as err:  # no data folder / file, or no scipy to read data.mat
        raise SystemExit(f"regularization: {err}") from None
    results = {}
    for method in methods:
        model, costs = train(train_X, train_Y, method, learning_rate, num_iterations, quiet=quiet)
        results[method] = {"costs": costs, "train_accuracy": accuracy(model, train_X, train_Y),
                           "test_accuracy": accuracy(model, test_X, test_Y)}
        if out is not None:
            plot_decision_boundary(decision_function(model), train_X, train_Y,
                                   output_dir(out) / f"boundary_{method}.png", PLOT_TITLES[method], **AXIS_LIMITS)
    if out is not None and results:
        plot_cost_histories({m: r["costs"] for m, r in results.items()}, output_dir(out) / "costs.png",
                            "Cost (course formula, incl. the L2 term)")
    return results


def results_rows(results):
    table = []
    for method, r in results.items():
        course = COURSE[method]
        for i in sorted(set(course["costs"]) | {max(r["costs"])}):
            if i in r["costs"]:
                table.append((f"{method}: cost @ {i}", course["costs"].get(i), r["costs"][i]))
        table.append((f"{method}: train accuracy", course["train_accuracy"], r["train_accuracy"]))
        table.append((f"{method}: test accuracy", course["test_accuracy"], r["test_accuracy"]))
    return table


def main(argv=None):
    parser = make_parser(NAME, "Course 2 week 1: no regularization vs L2 vs dropout on the French football data",
                         needs_data=True)
    parser.add_argument("--method", choices=METHODS, action="append",
                        help="regularization to train (repeatable; default: all three)")
    parser.add_argument("--iterations", type=int, default=NUM_ITERATIONS, help="gradient steps (course: 30000)")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help="learning rate (course: 0.3)")
    args = parser.parse_args(argv)
    results = run(tuple(args.method or METHODS), args.iterations, args.lr, data=args.data, quiet=args.quiet,
                  out=args.out)
    print_results(results_rows(results), "Regularization (C2 W1), football data, [2, 20, 3, 1]")
    print(f"plots in {args.out}/")
    return results


if __name__ == "__main__":
    main()
