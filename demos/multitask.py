"""Course 3, week 2: multi-task learning with unknown labels, on real handwriting.

The course's autonomous-driving images carry several independent labels (pedestrian, car, stop sign,
traffic light), some of them unknown ("?"). Here each 8x8 digit carries four: even, 5 or more, has a
loop, prime; 400 training images, 30 % of their labels hidden (-1). Three ways to learn them:

* one network with four sigmoid outputs and the masked loss (``nn.MaskedBCEWithLogitsLoss``): every
  known label teaches, the "?" entries add nothing (the quiz: an example labelled [0 ? 1 1 ?] is usable);
* the same network trained only on the images whose four labels are all known (0.7**4: a quarter of them);
* four separate single-task networks, each on the images where its own label is known.

The course: multi-task learning pays when the tasks share low-level features and a network big enough
for all of them is trained; it then does as well as separate networks, with one training run. Per-task
test accuracy (every test label known) comes from ``strategy.multitask_metrics``.

    python -m demos.multitask [--quick] [--train-size 400] [--unknown 0.3]
"""
import time

import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, optim, strategy
from tinygrad_dl.data import digit_properties, hide_labels, load_digits_dataset
from tinygrad_dl.data.strategy_sets import DIGIT_TASKS, UNKNOWN

from . import common

NAME = "multitask"
DESCRIPTION = "C3W2 multi-task learning: 4 digit properties, 30 % labels unknown, one masked net vs 4 nets"
APPROACHES = ("multi-task, masked loss", "multi-task, complete rows only", "four single-task nets")
HIDDEN_PER_TASK = 32
FULL = dict(epochs=60)
QUICK = dict(epochs=20)


def load(n_train=400, unknown=0.3, seed=0):
    """(X_train, Y_train with hidden labels, X_test, Y_test), rows of 64 pixels and (m, 4) labels.

    The training images are ``n_train`` drawn at random from the stratified training split; each label is
    hidden with probability ``unknown``. Every test label is known."""
    X_train, y_train, X_test, y_test = load_digits_dataset(test_fraction=0.2, seed=0)
    chosen = np.sort(np.random.RandomState(seed).permutation(len(y_train))[:n_train])
    Y_train = hide_labels(digit_properties(y_train[chosen]), unknown, seed=seed + 1)
    return X_train.T[chosen], Y_train, np.ascontiguousarray(X_test.T), digit_properties(y_test)


def mlp(n_outputs, hidden, seed):
    """64 -> hidden ReLU -> n_outputs logits, He weights after ``np.random.seed(seed)``."""
    np.random.seed(seed)
    return nn.Sequential(nn.Linear(64, hidden, dtype=np.float64, init="he"), nn.ReLU(),
                         nn.Linear(hidden, n_outputs, dtype=np.float64))


def train(model, X, Y, loss_fn, epochs, seed=0):
    """Adam (lr 0.005) on mini-batches of 32; returns the training time in seconds."""
    optimizer = optim.Adam(model.parameters(), lr=0.005)
    start = time.perf_counter()
    common.train_random_mini_batches(model, loss_fn, optimizer, X, Y, epochs, 32, seed)
    return time.perf_counter() - start


def predict(model, X):
    """0/1 per task: logit > 0, i.e. sigmoid > 0.5 (each task on its own: not a softmax)."""
    with no_grad():
        return (model(Tensor(X)).numpy() > 0).astype(np.float64)


def _count(models):
    return sum(p.data.size for m in models for p in m.parameters())


def run(n_train=400, unknown=0.3, epochs=60, hidden=HIDDEN_PER_TASK, seed=0, out=None, quiet=True):
    """Train the three APPROACHES; per-task test metrics, parameter counts and training times."""
    if not 0 <= unknown < 1 or n_train < 20:
        raise ValueError(f"multitask: need 0 <= unknown < 1 and at least 20 training images, got unknown={unknown}, "
                         f"n_train={n_train}")
    X, Y, X_test, Y_test = load(n_train, unknown, seed)
    tasks = len(DIGIT_TASKS)
    masked_loss = nn.MaskedBCEWithLogitsLoss(ignore_value=UNKNOWN, reduction="batchmean")  # the course's J
    complete = (Y != UNKNOWN).all(axis=1)
    if not complete.any() or not (Y != UNKNOWN).any(axis=0).all():
        raise ValueError(f"multitask: with {n_train} images and {unknown:.0%} of labels unknown no image has all four "
                         "labels, or a task has none: use more images or fewer unknown labels")
    results = {"train size": len(Y), "known labels": float((Y != UNKNOWN).mean()),
               "complete rows": int(complete.sum()), "approaches": {}}
    steps = common.progress(APPROACHES, len(APPROACHES), "approaches", quiet)
    for approach in steps:
        if approach == "four single-task nets":
            models, seconds, columns = [], 0.0, []
            for j in range(tasks):
                known = Y[:, j] != UNKNOWN
                model = mlp(1, hidden, seed=10 + j)
                seconds += train(model, X[known], Y[known, j:j + 1], nn.BCEWithLogitsLoss(), epochs, seed)
                models.append(model)
                columns.append(predict(model, X_test)[:, 0])
            predictions = np.stack(columns, axis=1)
        else:  # one network as big as the four together
            rows = complete if approach == "multi-task, complete rows only" else np.ones(len(Y), dtype=bool)
            models = [mlp(tasks, tasks * hidden, seed)]
            seconds = train(models[0], X[rows], Y[rows], masked_loss, epochs, seed)
            predictions = predict(models[0], X_test)
        metrics = strategy.multitask_metrics(Y_test, predictions, task_names=DIGIT_TASKS)
        results["approaches"][approach] = {"metrics": metrics, "parameters": _count(models), "seconds": seconds}
        common.log(f"{approach}: mean test accuracy {metrics['mean']['accuracy']:.4f}", quiet)
    if out is not None:
        results["plots"] = [plot(results, common.output_dir(out) / "per_task_accuracy.png")]
    return results


def plot(results, path):
    """Per-task test accuracy, one group of bars per task."""
    from tinygrad_dl.plot import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(DIGIT_TASKS) + ["mean"]
    width = 0.8 / len(APPROACHES)
    for i, approach in enumerate(APPROACHES):
        metrics = results["approaches"][approach]["metrics"]
        values = [metrics[name]["accuracy"] for name in names]
        bars = ax.bar(np.arange(len(names)) + (i - 1) * width, values, width, label=approach)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    low = min(results["approaches"][a]["metrics"][n]["accuracy"] for a in APPROACHES for n in names)
    ax.set_ylim(max(0.0, low - 0.1), 1.0)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set(ylabel="test accuracy", title=f"Four digit properties, {results['train size']} training images, "
                                         f"{100 * (1 - results['known labels']):.0f} % of labels unknown")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=8, frameon=False)
    return save_figure(fig, path)


def results_rows(results):
    approaches = results["approaches"]
    masked, single = approaches[APPROACHES[0]], approaches[APPROACHES[2]]
    rows = [("training images / with all 4 labels known", None,
             f"{results['train size']} / {results['complete rows']}")]
    for task in list(DIGIT_TASKS) + ["mean"]:
        accuracies = " / ".join(f"{approaches[a]['metrics'][task]['accuracy']:.3f}" for a in APPROACHES)
        claim = "masked ≈ single nets > complete rows" if task == "mean" else None
        rows.append((f"{task}: masked / complete rows / single nets", claim, accuracies))
    rows.append(("parameters: one net / four nets", None, f"{masked['parameters']} / {single['parameters']}"))
    rows.append(("training time (s): one net / four nets", None,
                 f"{masked['seconds']:.2f} / {single['seconds']:.2f}"))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['epochs']} epochs instead of {FULL['epochs']}")
    parser.add_argument("--train-size", type=int, default=400, help="training images (default 400)")
    parser.add_argument("--unknown", type=float, default=0.3, help="share of training labels hidden (default 0.3)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if not 0 <= args.unknown < 1 or args.train_size < 20:
        parser.error("--unknown must be in [0, 1) and --train-size at least 20")
    return common.run_and_report(
        lambda: run(args.train_size, args.unknown, out=args.out, quiet=args.quiet, **settings), results_rows,
        "Multi-task learning on digit properties (per-task test accuracy)")


if __name__ == "__main__":
    main()
