"""Course 1, week 2: logistic regression with a neural-network mindset (cat vs non-cat).

One sigmoid unit on the 12288 pixels of a 64x64x3 image, weights and bias started at zero, trained by
full-batch gradient descent on the mean cross-entropy. The course writes the gradients by hand
(dw = X (A - Y).T / m); here ``loss.backward()`` finds them.

    python -m demos.logistic_regression [--iterations 2000] [--lr 0.005] [--compare-learning-rates]
"""
import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, plot
from tinygrad_dl.data import load_cat_dataset

from . import common

NAME = "logistic_regression"
DESCRIPTION = "C1W2 logistic regression on cat vs non-cat images (one sigmoid unit, zero init, gradient descent)"

# The notebook's printed numbers (COURSE.md 1.1)
COURSE_COSTS = {0: 0.693147, 100: 0.584508, 200: 0.466949, 500: 0.303273, 1000: 0.214820, 1500: 0.166521,
                1900: 0.140872}
COURSE_TRAIN_ACCURACY = 99.04306220095694
COURSE_TEST_ACCURACY = 70.0
# learning-rate comparison, 1500 iterations each: lr -> (train %, test %)
COURSE_LEARNING_RATE_COMPARISON = {0.01: (99.52153110047847, 68.0), 0.001: (88.99521531100478, 64.0),
                                   0.0001: (68.42105263157895, 36.0)}


def build_model(n_features):
    """The logistic unit: a Linear layer 12288 -> 1 (weight (1, 12288) is the course's w.T), all zeros."""
    model = nn.Linear(n_features, 1, dtype=np.float64)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    return model


def train(model, X, Y, num_iterations, learning_rate, print_every=100, quiet=True):
    """Full-batch gradient descent; returns {iteration: cost} at the course's print points.

    X is in the course's column layout (n_features, m); the model takes rows, so it gets X.T.
    BCEWithLogitsLoss on the logit z = w.x + b has exactly the course's gradient (sigmoid(z) - y) / m.
    """
    return common.train_full_batch(model, nn.BCEWithLogitsLoss(), X, Y, num_iterations, learning_rate, print_every,
                                   f"lr {learning_rate}", quiet)


def predict(model, X):
    """Labels (1, m) in {0., 1.}: 1 where the probability is above 0.5, as the course's ``predict``."""
    with no_grad():
        probabilities = model(Tensor(X.T)).sigmoid().data.T
    return (probabilities > 0.5).astype(np.float64)


def accuracy_percent(prediction, Y):
    """The course's formula (100 - mean |prediction - Y| * 100), so the floats print identically."""
    return 100 - np.mean(np.abs(prediction - Y)) * 100


def fit(data, num_iterations, learning_rate, print_every=100, quiet=True):
    train_x, train_y, test_x, test_y = data
    model = build_model(train_x.shape[0])
    costs = train(model, train_x, train_y, num_iterations, learning_rate, print_every, quiet)
    return {
        "model": model,
        "costs": costs,
        "train_accuracy": accuracy_percent(predict(model, train_x), train_y),
        "test_accuracy": accuracy_percent(predict(model, test_x), test_y),
    }


def run(data_dir=None, num_iterations=2000, learning_rate=0.005, compare_learning_rates=False,
        comparison_iterations=1500, quiet=True, out=None):
    """Train the logistic unit (and optionally the learning-rate comparison); return the numbers.

    Returns {"costs": {iteration: cost}, "train_accuracy": %, "test_accuracy": %,
    "comparison": {lr: {"costs", "train_accuracy", "test_accuracy"}} (when asked), "plots": [paths]}.
    """
    train_x, train_y, test_x, test_y, _ = load_cat_dataset(data_dir)
    data = (train_x, train_y, test_x, test_y)
    main_run = fit(data, num_iterations, learning_rate, quiet=quiet)
    common.log(f"train accuracy: {main_run['train_accuracy']} %\ntest accuracy: {main_run['test_accuracy']} %", quiet)
    results = {key: main_run[key] for key in ("costs", "train_accuracy", "test_accuracy")}
    results["plots"] = []
    if compare_learning_rates:
        results["comparison"] = {}
        for lr in COURSE_LEARNING_RATE_COMPARISON:
            outcome = fit(data, comparison_iterations, lr, quiet=True)
            results["comparison"][lr] = {key: outcome[key] for key in ("costs", "train_accuracy", "test_accuracy")}
            common.log(f"learning rate {lr}: train accuracy {outcome['train_accuracy']} %, "
                       f"test accuracy {outcome['test_accuracy']} %", quiet)
    if out is not None:
        results["plots"] = write_plots(results, learning_rate, out)
    return results


def write_plots(results, learning_rate, out):
    folder = common.output_dir(out)
    curves = {f"lr = {learning_rate}": _curve(results["costs"])}
    paths = [plot.plot_costs(curves, folder / "cost.png", "Logistic regression: cost")]
    if "comparison" in results:
        curves = {f"lr = {lr}": _curve(r["costs"]) for lr, r in results["comparison"].items()}
        paths.append(plot.plot_costs(curves, folder / "learning_rates.png", "Cost for three learning rates"))
    return paths


def _curve(costs):
    return list(costs), list(costs.values())


def results_rows(results):
    rows = [(f"cost after iteration {i}", course, results["costs"].get(i)) for i, course in COURSE_COSTS.items()]
    rows += [("train accuracy %", COURSE_TRAIN_ACCURACY, results["train_accuracy"]),
             ("test accuracy %", COURSE_TEST_ACCURACY, results["test_accuracy"])]
    for lr, outcome in results.get("comparison", {}).items():
        course_train, course_test = COURSE_LEARNING_RATE_COMPARISON[lr]
        rows += [(f"lr {lr}: train accuracy %", course_train, outcome["train_accuracy"]),
                 (f"lr {lr}: test accuracy %", course_test, outcome["test_accuracy"])]
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION, needs_data=True)
    parser.add_argument("--iterations", type=int, default=2000, help="gradient-descent iterations (default 2000)")
    parser.add_argument("--lr", type=float, default=0.005, help="learning rate (default 0.005)")
    parser.add_argument("--compare-learning-rates", action="store_true",
                        help="also train with lr 0.01, 0.001 and 0.0001 for 1500 iterations each")
    args = parser.parse_args(argv)
    return common.run_and_report(
        lambda: run(args.data, args.iterations, args.lr, args.compare_learning_rates, quiet=args.quiet, out=args.out),
        results_rows, "Logistic regression (cat vs non-cat)")


if __name__ == "__main__":
    main()
