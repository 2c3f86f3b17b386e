"""Softmax classifier, batch norm and hyperparameter search (Course 2, week 3).

The week's assignment trains LINEAR→RELU→LINEAR→RELU→LINEAR→SOFTMAX (12288 → 25 → 12 → 6) on the SIGNS
hand signs with Xavier initialisation (seed 1), Adam (lr 0.0001) and mini-batches of 32 (seed 3, +1 per
epoch), reaching train 0.999074 / test 0.716667 after 1500 epochs in TensorFlow 1. Its training file
``signs/train_signs.h5`` is not distributed with this project: put it in the course data folder
(``--data``) and ``--dataset signs`` (or the default ``auto``) trains on it. Without it the same recipe
runs on scikit-learn's 8x8 digits (64 → 25 → 12 → 10), which ship with scikit-learn.

Two more topics of the week, on the digits:

* batch norm: the same deep ReLU net (8 hidden layers of 64, He init, plain SGD with lr 0.1) with and
  without ``nn.BatchNorm1d`` after every hidden Linear; the cost curves show the plain net unsettled by
  that learning rate while the normalised net trains smoothly and faster;
* hyperparameter search: random search with the learning rate sampled on a log scale (10**U(-4, -1))
  and the hidden size sampled on a log scale too, each scored on a validation split; a results table.

    python -m demos.softmax_batchnorm [--dataset auto|digits|signs] [--epochs N]
"""
import numpy as np

from tinygrad_dl import Tensor, nn, no_grad, optim
from tinygrad_dl.plot import plot_costs
from tinygrad_dl.data import course_data_dir, load_digits_dataset, load_signs_dataset

from .common import log, make_parser, output_dir, print_results, progress

NAME = "softmax_batchnorm"
DATASETS = ("auto", "digits", "signs")
SIGNS_COURSE = {"costs": {0: 1.855702, 100: 1.016458, 200: 0.733102, 1400: 0.052228},
                "train_accuracy": 0.999074, "test_accuracy": 0.716667}  # TF1 notebook (COURSE.md 2.5)
LEARNING_RATE = 0.0001
MINI_BATCH_SIZE = 32
SIGNS_EPOCHS = 1500
DIGITS_EPOCHS = 150
HIDDEN = (25, 12)
BN_EPOCHS = 10
BN_LEARNING_RATE = 0.1


# ------------------------------------------------------------------------------------------- data


def _signs_available(data):
    try:
        return (course_data_dir(data) / "signs" / "train_signs.h5").is_file()
    except FileNotFoundError:
        return False


def load_classification_data(dataset="auto", data=None):
    """(name, X_train (m, n), y_train (m,), X_test, y_test, n_classes) with examples as rows.

    SIGNS images are flattened as the course does (``reshape(m, -1) / 255``); a missing SIGNS training
    file ends the demo with a message saying where to put it.
    """
    if dataset not in DATASETS:
        raise ValueError(f"softmax_batchnorm: unknown dataset {dataset!r}; choose one of {DATASETS}")
    if dataset == "signs" or (dataset == "auto" and _signs_available(data)):
        try:
            X_train, y_train, _ = load_signs_dataset(data, "train")
            X_test, y_test, _ = load_signs_dataset(data, "test")
        except (FileNotFoundError, ImportError) as err:
            raise SystemExit(f"softmax_batchnorm: cannot train on SIGNS. {err}\n"
                             "Run with --dataset digits to use scikit-learn's digits instead.") from None
        flatten = lambda images: images.reshape(images.shape[0], -1) / 255.0  # noqa: E731
        return "signs", flatten(X_train), y_train, flatten(X_test), y_test, 6
    try:
        X_train, y_train, X_test, y_test = load_digits_dataset(test_fraction=0.2, seed=0)
    except ImportError as err:
        raise SystemExit(f"softmax_batchnorm: {err}") from None
    return "digits", X_train.T.copy(), y_train, X_test.T.copy(), y_test, 10


# ------------------------------------------------------------------------------------------ models


def softmax_classifier(n_features, n_classes, hidden=HIDDEN, seed=1):
    """LINEAR→RELU→LINEAR→RELU→LINEAR (logits; the softmax is inside the cross-entropy), Xavier-uniform
    weights (TF1's ``xavier_initializer``) drawn after ``np.random.seed(seed)``, zero biases."""
    sizes = (n_features, *hidden, n_classes)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, dtype=np.float64), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    np.random.seed(seed)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def deep_net(n_features, n_classes, depth, width, batchnorm, seed=1):
    """``depth`` hidden layers of ``width`` ReLU units, optionally Linear→BatchNorm1d→ReLU (the Linear's bias
    is then dropped: batch norm's beta replaces it). He weights from ``np.random.seed(seed)``, so the nets
    with and without batch norm start from the very same weights."""
    layers, n_in = [], n_features
    for _ in range(depth):
        layers.append(nn.Linear(n_in, width, bias=not batchnorm, dtype=np.float64))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        n_in = width
    layers.append(nn.Linear(n_in, n_classes, dtype=np.float64))
    model = nn.Sequential(*layers)
    np.random.seed(seed)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def accuracy(model, X, y):
    """Fraction of examples whose largest logit is the true class (eval mode, no graph)."""
    was_training = model.training
    model.eval()
    with no_grad():
        predicted = model(Tensor(X)).numpy().argmax(axis=1)
    model.train(was_training)
    return float(np.mean(predicted == y))


def train_classifier(model, X, y, optimizer, num_epochs, mini_batch_size=MINI_BATCH_SIZE, seed=3, label="",
                     quiet=True, record_every=1):
    """Mini-batch training with softmax cross-entropy; batches from ``optim.random_mini_batches`` (rows
    are examples), reseeded with seed + 1 before every epoch as the course does.

    The epoch cost is TF1's: the sum of the batches' mean losses divided by floor(m / batch size).
    Returns {epoch: cost} every ``record_every`` epochs.
    """
    loss_fn = nn.CrossEntropyLoss()
    num_minibatches = max(1, X.shape[0] // mini_batch_size)
    costs = {}
    for epoch in progress(range(num_epochs), num_epochs, label, quiet):
        seed += 1
        epoch_cost = 0.0
        for batch_X, batch_y in optim.random_mini_batches(X, y, mini_batch_size, seed, axis=0):
            loss = loss_fn(model(Tensor(batch_X)), batch_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_cost += loss.item() / num_minibatches
        if epoch % record_every == 0 or epoch == num_epochs - 1:
            costs[epoch] = epoch_cost
    return costs


# ------------------------------------------------------------------------------------------- parts


def run_softmax(name, X_train, y_train, X_test, y_test, n_classes, num_epochs, quiet=True):
    """The week's softmax classifier with the course's recipe (Xavier seed 1, Adam 1e-4, batches of 32)."""
    model = softmax_classifier(X_train.shape[1], n_classes)
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    costs = train_classifier(model, X_train, y_train, optimizer, num_epochs, label=f"softmax ({name})",
                             quiet=quiet)
    for epoch in range(0, num_epochs, 100):
        log(f"softmax ({name}): cost after epoch {epoch}: {costs[epoch]:f}", quiet)
    return {"dataset": name, "costs": costs, "train_accuracy": accuracy(model, X_train, y_train),
            "test_accuracy": accuracy(model, X_test, y_test)}


def run_batchnorm(X_train, y_train, X_test, y_test, n_classes, num_epochs=BN_EPOCHS, depth=8, width=64,
                  learning_rate=BN_LEARNING_RATE, quiet=True):
    """The same deep net (8 hidden layers of 64) trained with plain mini-batch SGD, without and with batch norm.

    At lr 0.1 the plain net's cost jumps around while the normalised one falls steadily: batch norm
    keeps every layer's input on the same scale, so a larger learning rate stays stable.
    """
    results = {}
    for batchnorm in (False, True):
        label = "batch norm" if batchnorm else "no batch norm"
        model = deep_net(X_train.shape[1], n_classes, depth, width, batchnorm)
        optimizer = optim.SGD(model.parameters(), lr=learning_rate)
        costs = train_classifier(model, X_train, y_train, optimizer, num_epochs, mini_batch_size=64, label=label,
                                 quiet=quiet)
        results[label] = {"costs": costs, "train_accuracy": accuracy(model, X_train, y_train),
                          "test_accuracy": accuracy(model, X_test, y_test)}
    return results


def split_validation(X, y, fraction=0.2, seed=0):
    """A deterministic random split of the training set into (train, validation)."""
    order = np.random.RandomState(seed).permutation(len(y))
    n_val = int(round(fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]


def run_search(X_train, y_train, n_classes, trials=8, num_epochs=20, seed=0, quiet=True):
    """Random search: lr = 10**U(-4, -1) and hidden size = round(2**U(3, 7)) (8 to 128 units, log scale),
    a 1-hidden-layer net trained with Adam, scored on a validation split. Sorted best first."""
    X_fit, y_fit, X_val, y_val = split_validation(X_train, y_train)
    rng = np.random.RandomState(seed)  # a private generator: the search does not disturb the global RNG
    results = []
    for trial in range(trials):
        learning_rate = float(10 ** rng.uniform(-4, -1))
        hidden = int(round(2 ** rng.uniform(3, 7)))
        model = softmax_classifier(X_fit.shape[1], n_classes, hidden=(hidden,), seed=trial)
        optimizer = optim.Adam(model.parameters(), lr=learning_rate)
        costs = train_classifier(model, X_fit, y_fit, optimizer, num_epochs, label=f"trial {trial}", quiet=True)
        results.append({"trial": trial, "learning_rate": learning_rate, "hidden": hidden,
                        "final_cost": costs[num_epochs - 1], "val_accuracy": accuracy(model, X_val, y_val)})
        log(f"trial {trial}: lr {learning_rate:.2e}, hidden {hidden}: val accuracy "
            f"{results[-1]['val_accuracy']:.4f}", quiet)
    return sorted(results, key=lambda r: (-r["val_accuracy"], r["final_cost"]))


def run(dataset="auto", num_epochs=None, bn_epochs=BN_EPOCHS, search_trials=8, search_epochs=20, data=None,
        quiet=True, out=None, bn_learning_rate=BN_LEARNING_RATE):
    """All three parts; the batch-norm and search parts always use the digits."""
    name, X_train, y_train, X_test, y_test, n_classes = load_classification_data(dataset, data)
    if num_epochs is None:
        num_epochs = SIGNS_EPOCHS if name == "signs" else DIGITS_EPOCHS
    results = {"softmax": run_softmax(name, X_train, y_train, X_test, y_test, n_classes, num_epochs, quiet)}
    if name != "digits":
        _, X_train, y_train, X_test, y_test, n_classes = load_classification_data("digits")
    if bn_epochs:
        results["batchnorm"] = run_batchnorm(X_train, y_train, X_test, y_test, n_classes, bn_epochs,
                                           learning_rate=bn_learning_rate, quiet=quiet)
    if search_trials:
        results["search"] = run_search(X_train, y_train, n_classes, search_trials, search_epochs, quiet=quiet)
    if out is not None:
        _plot(results, out)
    return results


def _curve(costs):
    return sorted(costs), [costs[e] for e in sorted(costs)]


def _plot(results, out):
    folder = output_dir(out)
    softmax = results["softmax"]
    plot_costs({softmax["dataset"]: _curve(softmax["costs"])}, folder / "softmax_costs.png",
               f"Softmax classifier on {softmax['dataset']} (Adam, lr {LEARNING_RATE})", xlabel="epoch")
    if "batchnorm" in results:
        plot_costs({label: _curve(r["costs"]) for label, r in results["batchnorm"].items()},
                   folder / "batchnorm_costs.png", "Deep ReLU net (8 x 64), plain SGD: with and without batch norm",
                   xlabel="epoch")


def results_rows(results):
    softmax = results["softmax"]
    signs = softmax["dataset"] == "signs"
    table = []
    if signs:
        for epoch, course_cost in SIGNS_COURSE["costs"].items():
            if epoch in softmax["costs"]:
                table.append((f"softmax (signs): cost @ epoch {epoch}", course_cost, softmax["costs"][epoch]))
    last = max(softmax["costs"])
    table.append((f"softmax ({softmax['dataset']}): cost @ epoch {last}", None, softmax["costs"][last]))
    for split in ("train", "test"):
        table.append((f"softmax ({softmax['dataset']}): {split} accuracy",
                      SIGNS_COURSE[f"{split}_accuracy"] if signs else None, softmax[f"{split}_accuracy"]))
    for label, r in results.get("batchnorm", {}).items():
        first, last = min(r["costs"]), max(r["costs"])
        table.append((f"{label}: cost @ epoch {first} / {last}", None,
                      f"{r['costs'][first]:.4f} / {r['costs'][last]:.4f}"))
        table.append((f"{label}: train / test accuracy", None,
                      f"{r['train_accuracy']:.4f} / {r['test_accuracy']:.4f}"))
    return table


def search_table(search):
    lines = ["rank | learning rate | hidden | final cost | validation accuracy",
             "-----+---------------+--------+------------+--------------------"]
    for rank, r in enumerate(search, 1):
        lines.append(f"{rank:4d} | {r['learning_rate']:13.2e} | {r['hidden']:6d} | {r['final_cost']:10.4f} | "
                     f"{r['val_accuracy']:.4f}")
    return "\n".join(lines)


def main(argv=None):
    parser = make_parser(NAME, "Course 2 week 3: softmax classifier (SIGNS or digits), batch norm, random search",
                         needs_data=True)
    parser.add_argument("--dataset", choices=DATASETS, default="auto",
                        help="auto: SIGNS if signs/train_signs.h5 is in the data folder, else the digits")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"softmax classifier epochs (default: {SIGNS_EPOCHS} on SIGNS as the course, "
                             f"{DIGITS_EPOCHS} on the digits)")
    parser.add_argument("--bn-epochs", type=int, default=BN_EPOCHS,
                        help="epochs of the batch-norm comparison (0: skip)")
    parser.add_argument("--bn-lr", type=float, default=BN_LEARNING_RATE,
                        help="SGD learning rate of the batch-norm comparison")
    parser.add_argument("--trials", type=int, default=8, help="random-search trials (0: skip)")
    parser.add_argument("--search-epochs", type=int, default=20, help="epochs per random-search trial")
    args = parser.parse_args(argv)
    results = run(args.dataset, args.epochs, args.bn_epochs, args.trials, args.search_epochs, data=args.data,
                  quiet=args.quiet, out=args.out, bn_learning_rate=args.bn_lr)
    print_results(results_rows(results), "Softmax classifier and batch norm (C2 W3)")
    if "search" in results:
        print("\nRandom search (log-scale learning rate and hidden size), best first:")
        print(search_table(results["search"]))
    print(f"plots in {args.out}/")
    return results


if __name__ == "__main__":
    main()
