"""Course 1, week 4: deep neural network for image classification (cat vs non-cat).

Two networks on the 12288 pixels of the cat images, trained by full-batch gradient descent (lr 0.0075,
2500 iterations) on the mean cross-entropy of the sigmoid output:

* two_layer: 12288 -> 7 relu -> 1 sigmoid, W = randn * 0.01 (seed 1): train 1.0, test 0.72;
* l_layer:   12288 -> 20 -> 7 -> 5 relu -> 1 sigmoid, W = randn / sqrt(n_prev) (seed 1): train 0.986, test 0.8.

    python -m demos.deep_nn_application [--model two_layer|l_layer|both] [--iterations 2500]
"""
import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, plot
from tinygrad_dl.data import load_cat_dataset

from . import common

NAME = "deep_nn_application"
DESCRIPTION = "C1W4 deep NN on cat vs non-cat: 2-layer 12288-7-1 and L-layer 12288-20-7-5-1"

MODELS = ("two_layer", "l_layer")
LAYER_DIMS = {"two_layer": (12288, 7, 1), "l_layer": (12288, 20, 7, 5, 1)}
# The v8 notebook's numbers (COURSE.md 1.4); the 2-layer costs are printed in full, the L-layer ones with %f
COURSE_COSTS = {
    "two_layer": {0: 0.6930497356599888, 100: 0.6464320953428849, 2400: 0.048554785628770226},
    "l_layer": {0: 0.771749, 100: 0.672053, 2400: 0.092878},
}
COURSE_ACCURACY = {"two_layer": (1.0, 0.72), "l_layer": (0.985645933014, 0.8)}  # (train, test)


def build_model(kind):
    """The network of ``kind`` with the course's initialisation, drawn from the global RNG after seed 1.

    two_layer: ``initialize_parameters`` -- W1 = randn(7, 12288) * 0.01, b1 = 0, W2 = randn(1, 7) * 0.01, b2 = 0.
    l_layer: ``initialize_parameters_deep`` -- W[l] = randn(n_l, n_prev) / np.sqrt(n_prev), b[l] = 0, in order.
    """
    if kind not in LAYER_DIMS:
        raise ValueError(f"deep_nn_application: unknown model {kind!r}; choose one of {MODELS}")
    dims = LAYER_DIMS[kind]
    linears = [nn.Linear(n_in, n_out, dtype=np.float64) for n_in, n_out in zip(dims[:-1], dims[1:])]
    np.random.seed(1)
    for layer in linears:
        if kind == "two_layer":
            nn.init.scaled_normal_(layer.weight, 0.01)
        else:
            nn.init.normal_fan_in_(layer.weight)
        nn.init.zeros_(layer.bias)
    layers = []
    for layer in linears[:-1]:
        layers += [layer, nn.ReLU()]
    return nn.Sequential(*layers, linears[-1], nn.Sigmoid())


def train(model, X, Y, num_iterations, learning_rate, print_every=100, quiet=True, description="train"):
    """Full-batch gradient descent; returns {iteration: cost} every ``print_every`` iterations and at the end.

    The course's backward starts from dAL = -(Y/AL - (1-Y)/(1-AL)) and goes through the sigmoid's
    derivative: BCELoss on the sigmoid's output is that very computation.
    """
    return common.train_full_batch(model, nn.BCELoss(), X, Y, num_iterations, learning_rate, print_every,
                                   description, quiet, record_last=True)


def predict(model, X):
    """Labels (1, m) in {0, 1}: probability > 0.5 (X in the column layout (12288, m))."""
    with no_grad():
        probabilities = model(Tensor(X.T)).data.T
    return (probabilities > 0.5).astype(np.int64)


def accuracy(prediction, Y):
    """The course's ``predict`` prints np.sum(p == y) / m."""
    return float(np.sum(prediction == Y) / Y.shape[1])


def run(model="both", num_iterations=2500, learning_rate=0.0075, data_dir=None, quiet=True, out=None):
    """Train the two-layer and/or the L-layer network; return {kind: {"costs", "train_accuracy",
    "test_accuracy"}} plus "plots" (list of paths)."""
    kinds = MODELS if model == "both" else (model,)
    for kind in kinds:
        if kind not in MODELS:
            raise ValueError(f"deep_nn_application: unknown model {kind!r}; choose one of {MODELS} or 'both'")
    train_x, train_y, test_x, test_y, _ = load_cat_dataset(data_dir)
    results = {"plots": []}
    for kind in kinds:
        common.log(f"--- {kind}: layers {LAYER_DIMS[kind]}", quiet)
        network = build_model(kind)
        costs = train(network, train_x, train_y, num_iterations, learning_rate, quiet=quiet, description=kind)
        results[kind] = {
            "costs": costs,
            "train_accuracy": accuracy(predict(network, train_x), train_y),
            "test_accuracy": accuracy(predict(network, test_x), test_y),
        }
        common.log(f"train accuracy {results[kind]['train_accuracy']}, test accuracy "
                   f"{results[kind]['test_accuracy']}", quiet)
    if out is not None:
        curves = {kind: (list(results[kind]["costs"]), list(results[kind]["costs"].values())) for kind in kinds}
        results["plots"].append(plot.plot_costs(curves, common.output_dir(out) / "cost.png",
                                                  f"Cat classifier, learning rate {learning_rate}"))
    return results


def results_rows(results):
    rows = []
    for kind in MODELS:
        if kind not in results:
            continue
        ours = results[kind]
        rows += [(f"{kind}: cost after iteration {i}", course, ours["costs"].get(i))
                 for i, course in COURSE_COSTS[kind].items()]
        course_train, course_test = COURSE_ACCURACY[kind]
        rows += [(f"{kind}: train accuracy", course_train, ours["train_accuracy"]),
                 (f"{kind}: test accuracy", course_test, ours["test_accuracy"])]
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION, needs_data=True)
    parser.add_argument("--model", choices=(*MODELS, "both"), default="both", help="which network (default both)")
    parser.add_argument("--iterations", type=int, default=2500, help="gradient-descent iterations (default 2500)")
    parser.add_argument("--lr", type=float, default=0.0075, help="learning rate (default 0.0075)")
    args = parser.parse_args(argv)
    return common.run_and_report(
        lambda: run(args.model, args.iterations, args.lr, args.data, quiet=args.quiet, out=args.out),
        results_rows, "Deep neural network on cat vs non-cat")


if __name__ == "__main__":
    main()
