"""Convolutional Model: Application — the SIGNS ConvNet (Course 4, week 1, assignment 2).

The course's network (TF1 and the 2021 Keras rewrite alike):

    CONV2D 8 filters 4x4, stride 1, SAME -> ReLU -> MAXPOOL 8x8, stride 8, SAME
    -> CONV2D 16 filters 2x2, stride 1, SAME -> ReLU -> MAXPOOL 4x4, stride 4, SAME
    -> FLATTEN (2 * 2 * 16 = 64) -> FULLY CONNECTED 6 (logits; the softmax is inside the loss)

Xavier (glorot-uniform) weights, Adam with lr 0.009, mini-batches of 64 (seed 3, +1 per epoch), 100 epochs.
The course trains on 1080 images and reports train 0.940741 / test 0.783333. Its training file
``signs/train_signs.h5`` is not distributed with this project:

* with it (put it in the data folder), ``--mode course`` trains exactly that recipe and compares;
* without it (the default ``auto``), only the 120 shipped test images exist: the demo reports a
  **stratified 5-fold cross-validated accuracy** on them (train on 96, test on the other 24, five times,
  every image tested once). That is a different, much smaller experiment than the course's, and it is
  labelled so;
* the same network also runs on scikit-learn's 8x8 digits (1438 train / 359 test images) with pooling
  windows of its own (1x1 then 2x2 instead of 8x8 then 4x4: an 8x8 image cannot be pooled by 8) and the
  learning rate divided by 10 after 20 of its 30 epochs: test accuracy >= 98 % (0.980-0.989 over seeds
  1-8; with 2x2 pools and no decay it stays at 0.975-0.986, and the course's 3-layer MLP recipe reaches
  about 94-97 %, see ``softmax_batchnorm``).

    python -m demos.cnn_signs [--mode auto|course|cv] [--epochs 100] [--folds 5] [--quick]
"""
import time

import numpy as np

from tinygrad_dl import nn, optim
from tinygrad_dl.data import course_data_dir, load_digit_images, load_signs_images, stratified_folds
from tinygrad_dl.plot import plot_cost_histories

from ._cnn import accuracy, count_parameters, forward_shapes, train_epochs
from .common import log, make_parser, output_dir, run_and_report

NAME = "cnn_signs"
COURSE = {"parameters": 1310,  # Keras model.summary() of the 2021 notebook (the TF1 convs had no biases: 1286)
          "cost after epoch 0": 1.917929, "cost after epoch 5": 1.506757,  # TF1, on the 1080 training images
          "train accuracy": 0.940741, "test accuracy": 0.783333}
LEARNING_RATE = 0.009
BATCH_SIZE = 64
EPOCHS = 100
FOLDS = 5
QUICK_EPOCHS = 60
DIGITS_EPOCHS = 30
DIGITS_POOLS = (1, 2)
DIGITS_DECAY_EVERY = 20  # the digits' learning rate drops tenfold after 20 epochs (StepLR)
DIGITS_TARGET = 0.98


def signs_convnet(in_channels=3, n_classes=6, pools=(8, 4), image_size=64, seed=1, dtype=np.float32):
    """The course's ConvNet. ``pools``: the two max-pool windows (= strides); (8, 4) takes 64x64 images down to
    2x2, so the flatten has 2 * 2 * 16 = 64 features. Glorot-uniform weights and zero biases, drawn after
    ``np.random.seed(seed)`` in layer order."""
    np.random.seed(seed)
    first, second = pools
    side = -(-(-(-image_size // first)) // second)  # SAME pooling: ceil(ceil(size / first) / second)
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 4, padding="same", dtype=dtype, init="xavier_uniform"), nn.ReLU(),
        nn.MaxPool2d(first, first, padding="same"),
        nn.Conv2d(8, 16, 2, padding="same", dtype=dtype, init="xavier_uniform"), nn.ReLU(),
        nn.MaxPool2d(second, second, padding="same"),
        nn.Flatten(),
        nn.Linear(16 * side * side, n_classes, dtype=dtype, init="xavier_uniform"))


def digits_convnet(seed=1):
    """The same layers for 1-channel 8x8 digits with their own pooling sizes: a 1x1 first pool (the image is
    too small to halve three times) and a 2x2 second one, so the flatten has 4 * 4 * 16 = 256 features."""
    return signs_convnet(in_channels=1, n_classes=10, pools=DIGITS_POOLS, image_size=8, seed=seed)


def fit(model, X, y, num_epochs, label, quiet, print_every=None, decay_every=None):
    """The course's recipe: Adam (lr 0.009), mini-batches of 64 reshuffled with seed 3 + epoch, softmax
    cross-entropy. ``decay_every``: divide the learning rate by 10 every that many epochs."""
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    if decay_every is None:
        return train_epochs(model, X, y, nn.CrossEntropyLoss(), optimizer, num_epochs, BATCH_SIZE, seed=3,
                            label=label, quiet=quiet, print_every=print_every)
    scheduler, costs = optim.StepLR(optimizer, step_size=decay_every, gamma=0.1), {}
    for epoch in range(num_epochs):
        costs[epoch] = train_epochs(model, X, y, nn.CrossEntropyLoss(), optimizer, 1, BATCH_SIZE, seed=3 + epoch,
                                    label=label, quiet=True)[0]
        scheduler.step()
    return costs


def run_course(data, num_epochs, quiet):
    """The course's experiment, on the user's train_signs.h5."""
    X_train, y_train = load_signs_images(data, "train")
    X_test, y_test = load_signs_images(data, "test")
    model = signs_convnet()
    costs = fit(model, X_train, y_train, num_epochs, "SIGNS", quiet, print_every=5)
    return {"costs": costs, "train accuracy": accuracy(model, X_train, y_train),
            "test accuracy": accuracy(model, X_test, y_test)}


def run_cross_validation(data, num_epochs, folds, quiet, max_folds=None):
    """Stratified k-fold cross-validation on the 120 shipped test images (``max_folds`` runs only the first ones)."""
    X, y = load_signs_images(data, "test")
    results = {"fold test accuracy": [], "fold train accuracy": [], "costs": {}}
    for fold, (train, test) in enumerate(stratified_folds(y, folds, seed=0)[:max_folds]):
        model = signs_convnet()
        costs = fit(model, X[train], y[train], num_epochs, f"fold {fold + 1}/{folds}", quiet)
        results["costs"][f"fold {fold + 1}"] = costs
        results["fold train accuracy"].append(accuracy(model, X[train], y[train]))
        results["fold test accuracy"].append(accuracy(model, X[test], y[test]))
        log(f"fold {fold + 1}: train {results['fold train accuracy'][-1]:.4f}, held-out "
            f"{results['fold test accuracy'][-1]:.4f} ({len(test)} images)", quiet)
    tested = np.array(results["fold test accuracy"])
    results["cv accuracy"] = float(tested.mean())
    results["cv accuracy std"] = float(tested.std())
    results["folds"], results["train size"] = folds, len(y) - len(y) // folds
    return results


def run_digits(num_epochs, quiet):
    X_train, y_train, X_test, y_test = load_digit_images()
    model = digits_convnet()
    costs = fit(model, X_train, y_train, num_epochs, "digits", quiet, decay_every=DIGITS_DECAY_EVERY)
    return {"costs": costs, "train accuracy": accuracy(model, X_train, y_train),
            "test accuracy": accuracy(model, X_test, y_test), "parameters": count_parameters(model)[0]}


def _has_training_file(data):
    try:
        return (course_data_dir(data) / "signs" / "train_signs.h5").is_file()
    except FileNotFoundError:
        return False


def run(mode="auto", num_epochs=EPOCHS, folds=FOLDS, digits_epochs=DIGITS_EPOCHS, data=None, quiet=True, out=None,
        max_folds=None):
    """The parameter count and shapes, then the course run (with train_signs.h5) or the cross-validation,
    then the digits. Returns a dict of results (``plots``: the files written when ``out`` is given)."""
    model = signs_convnet()
    results = {"parameters": count_parameters(model)[0], "shapes": forward_shapes(model, (1, 3, 64, 64))}
    if mode == "course" or (mode == "auto" and _has_training_file(data)):
        results["course"] = run_course(data, num_epochs, quiet)
    else:
        start = time.perf_counter()
        results["cv"] = run_cross_validation(data, num_epochs, folds, quiet, max_folds)
        results["cv"]["seconds"] = time.perf_counter() - start
    if digits_epochs:
        results["digits"] = run_digits(digits_epochs, quiet)
    if out is not None:
        results["plots"] = _plot(results, out)
    return results


def _plot(results, out):
    folder = output_dir(out)
    if "cv" in results:
        curves = {f"SIGNS CV {fold}": costs for fold, costs in results["cv"]["costs"].items()}
    else:
        curves = {"SIGNS (1080 images)": results["course"]["costs"]}
    if "digits" in results:
        curves["digits (lr / 10 after 20)"] = results["digits"]["costs"]
    title = "ConvNet training cost (Adam lr 0.009, batch 64)"
    return [plot_cost_histories(curves, folder / "costs.png", title, xlabel="epoch")]


def results_rows(results):
    rows = [("parameters (Keras model.summary)", COURSE["parameters"], results["parameters"])]
    rows += [(f"shape after {name}", None, str(shape)) for name, shape in results["shapes"]]
    if "course" in results:
        run_ = results["course"]
        for epoch in (0, 5):
            if epoch in run_["costs"]:
                rows.append((f"cost after epoch {epoch}", COURSE[f"cost after epoch {epoch}"], run_["costs"][epoch]))
        rows += [(name, COURSE[name], run_[name]) for name in ("train accuracy", "test accuracy")]
    if "cv" in results:
        cv = results["cv"]
        done = len(cv["fold test accuracy"])
        label = (f"SIGNS {cv['folds']}-fold CV held-out accuracy, {done} fold(s) (120 shipped images, "
                 f"{cv['train size']} train / {120 - cv['train size']} test)")
        rows.append((label, "(test 0.783333, 1080 train)", f"{cv['cv accuracy']:.4f} +- {cv['cv accuracy std']:.4f}"))
        rows.append(("SIGNS CV: held-out accuracy per fold", None,
                     " ".join(f"{a:.3f}" for a in cv["fold test accuracy"])))
        rows.append(("SIGNS CV: mean train accuracy", None, float(np.mean(cv["fold train accuracy"]))))
    if "digits" in results:
        digits = results["digits"]
        rows.append(("digits (8x8, pools 1 and 2): train accuracy", None, digits["train accuracy"]))
        rows.append(("digits: test accuracy (target >= 0.98)", DIGITS_TARGET, digits["test accuracy"]))
    return rows


def main(argv=None):
    parser = make_parser(NAME, "Course 4 week 1: the SIGNS ConvNet (course run or cross-validation) and the digits",
                         needs_data=True)
    parser.add_argument("--mode", choices=("auto", "course", "cv"), default="auto",
                        help="course: train on signs/train_signs.h5 (yours); cv: cross-validate on the 120 test "
                             "images; auto: course if the training file is there")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs per training (course: {EPOCHS})")
    parser.add_argument("--folds", type=int, default=FOLDS, help="cross-validation folds")
    parser.add_argument("--digits-epochs", type=int, default=DIGITS_EPOCHS, help="epochs on the digits (0: skip)")
    parser.add_argument("--quick", action="store_true", help=f"one fold of {QUICK_EPOCHS} epochs (the digits run in full)")
    args = parser.parse_args(argv)
    kwargs = dict(mode=args.mode, num_epochs=args.epochs, folds=args.folds, digits_epochs=args.digits_epochs)
    if args.quick:
        kwargs.update(num_epochs=QUICK_EPOCHS, max_folds=1)
    return run_and_report(lambda: run(data=args.data, quiet=args.quiet, out=args.out, **kwargs), results_rows,
                          "SIGNS ConvNet (C4 W1)")


if __name__ == "__main__":
    main()
