"""Initialization (Course 2, week 1, assignment 1): zeros vs large random vs He on the "circles".

A 3-layer net LINEAR→RELU→LINEAR→RELU→LINEAR→SIGMOID (layer sizes [2, 10, 5, 1]) trained with full-batch
gradient descent (learning rate 0.01, 15 000 iterations) from three initialisations:

* zeros: every unit of a layer stays identical, the net predicts 0 everywhere (accuracy 0.5);
* large random (randn * 10, seed 3): the sigmoid saturates, the course's cost starts at inf;
* He (randn * sqrt(2 / n_prev), seed 3): train 0.9933, test 0.96.

The net is ``nn.Linear`` layers fed with examples as rows (X.T); a Linear weight (out, in) is exactly
the course's W[l]. The loss is ``nn.BCEWithLogitsLoss`` on the last linear output: its gradient is the
course's combined sigmoid + cross-entropy gradient dz3 = (a3 - Y) / m. The printed cost is the course's
formula (1/m) * nansum(cross-entropy of a3), which is inf when a3 rounds to exactly 0 or 1.

This module also holds the small helpers the other Course 2 demos (regularization, optimization) share.

    python -m demos.initialization [--init he] [--iterations 15000]
"""
import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, optim
from tinygrad_dl.plot import plot_cost_histories, plot_decision_boundary
from tinygrad_dl.data import load_circles_dataset

from .common import log, make_parser, output_dir, print_results, progress

NAME = "initialization"
LAYER_DIMS = (2, 10, 5, 1)
LEARNING_RATE = 0.01
NUM_ITERATIONS = 15000
PRINT_EVERY = 1000
CURVE_EVERY = 100  # the costs are recorded every 100 iterations: one point per 100 on the cost curve
AXIS_LIMITS = {"xlim": (-1.5, 1.5), "ylim": (-1.5, 1.5)}  # the notebook's zoom on its decision boundaries
SCHEMES = ("zeros", "random", "he")
PLOT_TITLES = {"zeros": "Zeros initialization", "random": "Large random initialization (randn · 10)",
               "he": "He initialization"}
COURSE = {  # COURSE.md section 2.1: costs printed by the notebook, accuracies of predict()
    "zeros": {"costs": {0: 0.6931471805599453, 1000: 0.6931471805599453, 14000: 0.6931471805599453},
              "train_accuracy": 0.5, "test_accuracy": 0.5},
    # chaotic: the cost at 1000 differs between notebook versions (K 0.62373, A 0.62396, T 0.62292)
    "random": {"costs": {0: float("inf"), 1000: 0.6237287551108738, 14000: 0.38278397192120406},
               "train_accuracy": 0.83, "test_accuracy": 0.86},
    "he": {"costs": {0: 0.8830537463419761, 1000: 0.6879825919728063, 14000: 0.07357895962677366},
           "train_accuracy": 0.9933333333333333, "test_accuracy": 0.96},
}


# ------------------------------------------------------------------ helpers shared by the C2 demos


def course_mlp(layer_dims, dropout=None, dtype=np.float64):
    """LINEAR→RELU→…→LINEAR for ``layer_dims`` (the last layer gives logits; the sigmoid is in the loss).

    ``dropout`` (a Dropout module factory or None) puts a dropout layer after every hidden ReLU.
    """
    if len(layer_dims) < 2:
        raise ValueError(f"course_mlp: layer_dims needs an input and an output size, got {layer_dims!r}")
    layers = []
    for n_prev, n in zip(layer_dims[:-1], layer_dims[1:]):
        layers += [nn.Linear(n_prev, n, dtype=dtype, init="zeros"), nn.ReLU()]
        if dropout is not None:
            layers.append(dropout())
    # drop what follows the last Linear (its ReLU and, with dropout, its Dropout)
    last_linear = max(i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear))
    return nn.Sequential(*layers[:last_linear + 1])


def linear_layers(model):
    """The model's Linear layers in order (layer l of the course is ``linear_layers(model)[l - 1]``)."""
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


# How the course draws W[l] (n_l, n_prev); every scheme sets the biases to zero.
WEIGHT_INIT = {
    "zeros": nn.init.zeros_,
    "random": lambda w: nn.init.scaled_normal_(w, scale=10),  # randn(n_l, n_prev) * 10
    "he": nn.init.kaiming_normal_,  # randn(n_l, n_prev) * sqrt(2. / n_prev)
    "fan_in": nn.init.normal_fan_in_,  # randn(n_l, n_prev) / sqrt(n_prev)
}


def initialize(model, scheme, seed=3):
    """Initialise the Linear layers as the course does: ``np.random.seed(seed)``, then layer by layer."""
    if scheme not in WEIGHT_INIT:
        raise ValueError(f"initialize: unknown scheme {scheme!r}; choose one of {sorted(WEIGHT_INIT)}")
    np.random.seed(seed)
    for layer in linear_layers(model):
        WEIGHT_INIT[scheme](layer.weight)
        nn.init.zeros_(layer.bias)
    return model


def rows(X):
    """The course's column layout (n, m) as a Tensor of rows (m, n), which is what nn.Linear takes."""
    return Tensor(np.ascontiguousarray(X.T, dtype=np.float64))


def course_cross_entropy(a3, Y, reduction="mean"):
    """The course's cost on probabilities a3 (1, m): -Y log a3 - (1 - Y) log(1 - a3), NaNs ignored.

    ``reduction="mean"`` is init_utils/reg_utils ``compute_cost`` (1/m * nansum); ``"sum"`` is
    opt_utils_v1a ``compute_cost`` (a plain sum, divided by m over the whole epoch by the caller).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    if reduction == "sum":
        return float(np.sum(logprobs))
    return float(1.0 / Y.shape[1] * np.nansum(logprobs))


def probabilities(model, X):
    """sigmoid(model(X.T)) in the course's layout (1, m), in eval mode and without building a graph."""
    was_training = model.training
    model.eval()
    with no_grad():
        a3 = model(rows(X)).sigmoid().numpy().T
    model.train(was_training)
    return a3


def accuracy(model, X, Y):
    """The course's ``predict``: label 1 where a3 > 0.5, then the fraction that matches Y."""
    predictions = probabilities(model, X) > 0.5
    return float(np.mean(predictions[0, :] == Y[0, :]))


def decision_function(model):
    """A callable for ``plot_decision_boundary``: (2, n) points -> labels 0/1."""
    return lambda points: (probabilities(model, points) > 0.5).astype(int)


# ------------------------------------------------------------------------------------------- training


def train(X, Y, scheme, learning_rate=LEARNING_RATE, num_iterations=NUM_ITERATIONS, print_every=PRINT_EVERY,
          quiet=True):
    """The notebook's ``model(...)``: full-batch gradient descent from the given initialisation.

    Returns the model, the course's cost and the (finite) BCE-with-logits loss that autograd
    differentiates every 100 iterations (printed every ``print_every``), and the initial W1.
    """
    model = initialize(course_mlp(LAYER_DIMS), scheme)
    initial_W1 = linear_layers(model)[0].weight.numpy().copy()
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    loss_fn = nn.BCEWithLogitsLoss()
    inputs, targets = rows(X), Tensor(np.ascontiguousarray(Y.T, dtype=np.float64))
    costs, losses = {}, {}
    for i in progress(range(num_iterations), num_iterations, f"{scheme} init", quiet):
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        if i % CURVE_EVERY == 0:  # the curve's points; the notebook prints every print_every
            with no_grad():
                a3 = logits.sigmoid().numpy().T
            costs[i] = course_cross_entropy(a3, Y)
            losses[i] = loss.item()
            if i % print_every == 0:
                log(f"{scheme}: cost after iteration {i}: {costs[i]}", quiet)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, costs, losses, initial_W1


def run(schemes=SCHEMES, num_iterations=NUM_ITERATIONS, learning_rate=LEARNING_RATE, quiet=True, out=None):
    """Train one model per initialisation scheme; returns per scheme its costs and accuracies."""
    train_X, train_Y, test_X, test_Y = load_circles_dataset()
    results = {}
    for scheme in schemes:
        model, costs, losses, initial_W1 = train(train_X, train_Y, scheme, learning_rate, num_iterations, quiet=quiet)
        results[scheme] = {
            "costs": costs,
            "bce_with_logits": losses,
            "train_accuracy": accuracy(model, train_X, train_Y),
            "test_accuracy": accuracy(model, test_X, test_Y),
            "W1_initial": initial_W1,
        }
        if out is not None:
            folder = output_dir(out)
            plot_decision_boundary(decision_function(model), train_X, train_Y, folder / f"boundary_{scheme}.png",
                                   PLOT_TITLES.get(scheme, scheme), **AXIS_LIMITS)
    if out is not None and results:
        plot_cost_histories({scheme: r["costs"] for scheme, r in results.items()}, output_dir(out) / "costs.png",
                            "Cost (course formula; inf is not drawn)")
    return results


def results_rows(results):
    table = []
    for scheme, r in results.items():
        course = COURSE[scheme]
        for i, cost in r["costs"].items():
            if i in course["costs"] or i == max(r["costs"]):
                table.append((f"{scheme}: cost @ {i}", course["costs"].get(i), cost))
        last = max(r["bce_with_logits"])
        table.append((f"{scheme}: BCE-with-logits @ 0 / @ {last}", None,
                       f"{r['bce_with_logits'][0]:.10g} / {r['bce_with_logits'][last]:.10g}"))
        table.append((f"{scheme}: train accuracy", course["train_accuracy"], r["train_accuracy"]))
        table.append((f"{scheme}: test accuracy", course["test_accuracy"], r["test_accuracy"]))
    return table


def main(argv=None):
    parser = make_parser(NAME, "Course 2 week 1: zeros vs large random vs He initialization on the circles")
    parser.add_argument("--init", choices=SCHEMES, action="append",
                        help="initialization to train (repeatable; default: all three)")
    parser.add_argument("--iterations", type=int, default=NUM_ITERATIONS, help="gradient steps (course: 15000)")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help="learning rate (course: 0.01)")
    args = parser.parse_args(argv)
    results = run(tuple(args.init or SCHEMES), args.iterations, args.lr, quiet=args.quiet, out=args.out)
    print_results(results_rows(results), "Initialization (C2 W1), circles, [2, 10, 5, 1]")
    print(f"plots in {args.out}/")
    return results


if __name__ == "__main__":
    main()
