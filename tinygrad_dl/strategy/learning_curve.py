"""Learning curves: training and dev error against the size of the training set.

    curve = learning_curve(fit, X_train, y_train, X_dev, y_dev, sizes=[50, 100, 200, 400, 800])
    curve.plot("learning_curve.png", human=0.01)

``fit(X, y)`` trains a fresh model on the examples it gets and returns a ``predict(X) -> labels``
function. Every size trains on the first n examples of one seeded shuffle (so each training set contains
the smaller ones). How to read the curves: a training error far above human level that stays there is
avoidable bias (more data will not help); a dev curve far above a low training curve that falls with n is
variance (more data helps).
"""
import collections

import numpy as np

from ._arrays import as_array


def classification_error(y_true, y_pred):
    """The fraction of wrong labels."""
    return float(np.mean(as_array(y_true) != as_array(y_pred)))


class LearningCurve(collections.namedtuple("LearningCurve", "sizes train_errors dev_errors")):
    """``sizes``, ``train_errors`` and ``dev_errors`` (one per size); ``plot(path)`` draws them."""

    def plot(self, path, human=None, title="Learning curve"):
        """Write a PNG of both curves (and a dashed human-level line when given); returns the path."""
        return plot_learning_curve(self, path, human=human, title=title)


def learning_curve(fit, X, y, X_dev, y_dev, sizes, error=classification_error, seed=0):
    """Train on growing subsets of (X, y) and measure training and dev error at each size.

    ``sizes``: training-set sizes (counts, or fractions of len(X)). ``error(y_true, y_pred)``: the error
    measure (default: fraction misclassified). Returns a ``LearningCurve``.
    """
    op = "learning_curve"
    X, y, X_dev, y_dev = (as_array(a) for a in (X, y, X_dev, y_dev))
    if len(X) != len(y) or len(X_dev) != len(y_dev):
        raise ValueError(f"{op}: X and y must have the same number of examples, got {len(X)} and {len(y)} "
                         f"(dev: {len(X_dev)} and {len(y_dev)})")
    counts = []
    for size in sizes:
        count = round(size * len(X)) if isinstance(size, (float, np.floating)) else int(size)
        if not 0 < count <= len(X):
            raise ValueError(f"{op}: training-set size {size!r} is not between 1 and the {len(X)} examples")
        counts.append(count)
    order = np.random.RandomState(seed).permutation(len(X))
    train_errors, dev_errors = [], []
    for count in counts:
        subset = order[:count]
        predict = fit(X[subset], y[subset])
        if not callable(predict):
            raise TypeError(f"{op}: fit(X, y) must return a predict(X) function, got {type(predict).__name__}")
        train_errors.append(float(error(y[subset], predict(X[subset]))))
        dev_errors.append(float(error(y_dev, predict(X_dev))))
    return LearningCurve(counts, train_errors, dev_errors)


def plot_learning_curve(curve, path, human=None, title="Learning curve"):
    """Training and dev error against training-set size (log-scaled x axis), as a PNG; returns the path."""
    from tinygrad_dl.plot import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(6, 4))
    ax.plot(curve.sizes, curve.train_errors, "o-", label="training error", clip_on=False)
    ax.plot(curve.sizes, curve.dev_errors, "s-", label="dev error", clip_on=False)
    if human is not None:
        ax.axhline(human, color="gray", linestyle="--", label="human-level error")
    ax.set_xscale("log")
    ax.set_xticks(curve.sizes, [str(n) for n in curve.sizes])  # the sizes trained on, as plain numbers
    ax.minorticks_off()
    ax.set(title=title, xlabel="training examples (log scale)", ylabel="error")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
