"""Course 3, week 2: transfer learning, on real handwriting.

Task A has plenty of data: the digits 0-4 (720 training images, each shown at 9 random positions in a
10x10 frame). Task B has little: the digits 5-9 from 1 to 50 examples per class. The course's recipe:
train a network on A, keep its hidden layers (the features it learnt: strokes, loops, wherever they sit
in the frame), put a new output layer on top and train on B, either with the old layers frozen
(``nn.freeze``; little data) or fine-tuned with a smaller learning rate (parameter groups; more data).
Against the same network trained on B from scratch, accuracy on B's test digits vs examples per class.

The course's claim (transfer from A to B makes sense when A has much more data than B, both have the
same input, and A's low-level features help B): the pretrained network wins clearly with few examples,
and training from scratch catches up as B's data grows.

    python -m demos.transfer_learning [--quick] [--shots 1 2 5 10 20 50] [--seeds 4]
"""
import numpy as np
import tinygrad_dl.nn.functional as F

from tinygrad_dl import Tensor, nn, no_grad, optim, strategy
from tinygrad_dl.data import frame_digits, load_digits_dataset

from . import common

NAME = "transfer_learning"
DESCRIPTION = "C3W2 transfer learning: digits 0-4 -> 5-9 with few examples per class, vs from scratch"
HIDDEN = (256, 128)
SHOTS = (1, 2, 5, 10, 20, 50)
METHODS = ("transfer, frozen body", "transfer, fine-tuned", "from scratch")
FULL = dict(shots=SHOTS, seeds=4, pretrain_epochs=20, steps=150, copies=9)
QUICK = dict(shots=(1, 5, 20), seeds=2, pretrain_epochs=4, steps=60, copies=9)


def load_tasks(copies=9, seed=0):
    """Task A (digits 0-4, each at ``copies`` random positions) and task B (digits 5-9, relabelled 0-4: a
    pool to draw the few examples from, and a test set), all framed 10x10, as rows of 100 pixels."""
    X_train, y_train, X_test, y_test = load_digits_dataset(test_fraction=0.2, seed=0)
    X_train, X_test = X_train.T, X_test.T
    a, b, b_test = y_train < 5, y_train >= 5, y_test >= 5
    return {"A": (frame_digits(X_train[a], seed=seed, copies=copies), np.repeat(y_train[a], copies)),
            "A test": (frame_digits(X_test[~b_test], seed=seed + 1), y_test[~b_test]),
            "B pool": (frame_digits(X_train[b], seed=seed + 2), y_train[b] - 5),
            "B test": (frame_digits(X_test[b_test], seed=seed + 3), y_test[b_test] - 5)}


def build_body(hidden=HIDDEN, seed=0, n_inputs=100):
    """The hidden layers: Linear -> ReLU for each width, He weights after ``np.random.seed(seed)``."""
    np.random.seed(seed)
    layers, n_in = [], n_inputs
    for width in hidden:
        layers += [nn.Linear(n_in, width, dtype=np.float64, init="he"), nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers)


def new_head(hidden=HIDDEN, n_classes=5, seed=0):
    np.random.seed(seed)
    return nn.Linear(hidden[-1], n_classes, dtype=np.float64)


def accuracy(model, X, y):
    with no_grad():
        return float(np.mean(model(Tensor(X)).numpy().argmax(axis=1) == y))


def pretrain(X, y, hidden=HIDDEN, epochs=20, seed=0, quiet=True):
    """Task A: body + 5-way head, Adam (lr 0.003) on mini-batches of 64."""
    model = nn.Sequential(build_body(hidden, seed), new_head(hidden, seed=seed))
    optimizer = optim.Adam(model.parameters(), lr=0.003)
    common.train_random_mini_batches(model, F.cross_entropy, optimizer, X, y, epochs, 64, seed,
                                     "pretraining on 0-4", quiet)
    return model


def fit_full_batch(model, optimizer, X, y, steps):
    inputs = Tensor(X)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), y).backward()
        optimizer.step()
    return model


def train_on_b(method, pretrained_body, X, y, hidden, steps, seed):
    """One of METHODS on task B's few examples; returns the trained model."""
    if method == "from scratch":
        model = nn.Sequential(build_body(hidden, seed=1000 + seed), new_head(hidden, seed=seed))
        return fit_full_batch(model, optim.Adam(model.parameters(), lr=0.01), X, y, steps)
    body = build_body(hidden)
    body.load_state_dict(pretrained_body.state_dict())
    model = nn.Sequential(body, new_head(hidden, seed=seed))  # the old output layer is replaced
    if method == "transfer, frozen body":
        nn.freeze(body)  # the body builds no graph: each step costs a forward pass and the head's update
        optimizer = optim.Adam(nn.trainable_parameters(model), lr=0.01)
    else:  # fine-tune everything, the pretrained layers ten times more gently
        optimizer = optim.Adam([{"params": body.parameters(), "lr": 0.001}, {"params": model[1].parameters()}],
                               lr=0.01)
    return fit_full_batch(model, optimizer, X, y, steps)


def run(shots=SHOTS, seeds=4, pretrain_epochs=20, steps=150, copies=9, hidden=HIDDEN, out=None, quiet=True):
    """Pretrain on A, then for each number of examples per class and each seed (a different draw of B's
    examples) train the three METHODS; returns the accuracies on B's test set and A's test accuracy."""
    tasks = load_tasks(copies)
    pretrained = pretrain(*tasks["A"], hidden=hidden, epochs=pretrain_epochs, quiet=quiet)
    results = {"A test accuracy": accuracy(pretrained, *tasks["A test"]),
               "shots": list(shots), "accuracy": {method: {} for method in METHODS}}
    X_pool, y_pool = tasks["B pool"]
    runs = [(k, s) for k in shots for s in range(seeds)]
    for k, seed in common.progress(runs, len(runs), "few-shot runs", quiet):
        chosen = strategy.per_class_sample(y_pool, k, seed=seed)
        for method in METHODS:
            model = train_on_b(method, pretrained[0], X_pool[chosen], y_pool[chosen], hidden, steps, seed)
            results["accuracy"][method].setdefault(k, []).append(accuracy(model, *tasks["B test"]))
    results["mean"] = {m: {k: float(np.mean(v)) for k, v in per_k.items()} for m, per_k in results["accuracy"].items()}
    if out is not None:
        results["plots"] = [plot(results, common.output_dir(out) / "accuracy_vs_examples.png")]
    return results


def plot(results, path):
    """Mean accuracy on B's test digits against examples per class (log scale), one line per method,
    with the spread over seeds as error bars."""
    from tinygrad_dl.plot import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method, marker, nudge in zip(METHODS, "os^", (0.95, 1.0, 1.05)):  # nudged apart so error bars show
        per_k = results["accuracy"][method]
        ks = sorted(per_k)
        ax.errorbar([k * nudge for k in ks], [np.mean(per_k[k]) for k in ks], yerr=[np.std(per_k[k]) for k in ks],
                    marker=marker, capsize=3, label=method)
    ks = results["shots"]
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set(title="Digits 5-9 from few examples: transfer from 0-4 vs from scratch",
           xlabel="training examples per class (log scale)",
           ylabel=f"test accuracy on 5-9 (± sd over {len(next(iter(per_k.values())))} draws)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save_figure(fig, path)


def results_rows(results):
    """The course has no numbers here; its claim is the column "course"."""
    mean = results["mean"]
    rows = [("pretrained on 0-4: test accuracy on 0-4", None, round(results["A test accuracy"], 4))]
    for k in results["shots"]:
        frozen, tuned, scratch = (mean[m][k] for m in METHODS)
        claim = "transfer > scratch" if k == min(results["shots"]) else ("scratch catches up"
                                                                          if k == max(results["shots"]) else None)
        rows.append((f"{k:>2} per class: frozen / fine-tuned / scratch", claim,
                     f"{frozen:.3f} / {tuned:.3f} / {scratch:.3f}"))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="fewer sizes, seeds and steps (a few seconds)")
    parser.add_argument("--shots", type=int, nargs="+", default=None, help=f"examples per class (default {SHOTS})")
    parser.add_argument("--seeds", type=int, default=None, help="draws of the few examples per size (default 4)")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.shots:
        settings["shots"] = tuple(args.shots)
    if args.seeds:
        settings["seeds"] = args.seeds
    return common.run_and_report(lambda: run(**settings, out=args.out, quiet=args.quiet), results_rows,
                                 "Transfer learning, digits 0-4 -> 5-9 (mean test accuracy on 5-9 over "
                                 f"{settings['seeds']} draws)")


if __name__ == "__main__":
    main()
