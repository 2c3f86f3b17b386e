"""Plots a learner draws along the course: cost curves and 2-D decision boundaries (matplotlib).

    from tinygrad_dl import plot
    plot.plot_costs({"Adam": (steps, costs)}, "costs.png", "Cost")

Every function writes a PNG (150 dpi) and returns its path. Needs the ``plot`` extra: ``pip install
"tinygrad_dl[plot]"``. The figures are drawn with matplotlib's file-only "Agg" backend, so they work on
machines without a screen.
"""
from pathlib import Path

import numpy as np

__all__ = ["plot_costs", "plot_cost_histories", "plot_decision_boundary", "plot_images"]

DPI = 150


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError('tinygrad_dl.plot needs matplotlib: pip install "tinygrad_dl[plot]"') from err
    matplotlib.use("Agg")  # files only: demos run on machines without a screen
    import matplotlib.pyplot as plt
    return plt


def plot_costs(curves, path, title, xlabel="iteration", ylabel="cost", yscale="linear"):
    """Cost curves: ``curves`` maps a label to (steps, costs). Writes a PNG and returns its path.
    ``yscale="log"`` for costs that fall by orders of magnitude."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (steps, costs) in curves.items():
        ax.plot(steps, costs, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, yscale=yscale)
    if len(curves) > 1:
        ax.legend()
    return _save(fig, plt, path)


def plot_cost_histories(histories, path, title, xlabel="iteration"):
    """``plot_costs`` for ``{label: {iteration: cost}}``, the form the demos record."""
    curves = {label: (sorted(costs), [costs[i] for i in sorted(costs)]) for label, costs in histories.items()}
    return plot_costs(curves, path, title, xlabel=xlabel)


def plot_decision_boundary(predict, X, Y, path, title):
    """The 2-D decision boundary of ``predict`` (maps a (2, n) array to labels in {0, 1}) over the data X (2, m),
    Y (1, m) in the course's column layout."""
    plt = _pyplot()
    pad = 1.0
    x_min, x_max = X[0].min() - pad, X[0].max() + pad
    y_min, y_max = X[1].min() - pad, X[1].max() + pad
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 300), np.linspace(y_min, y_max, 300))
    grid = np.stack([xx.ravel(), yy.ravel()])
    zz = np.asarray(predict(grid)).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xx, yy, zz, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(X[0], X[1], c=np.ravel(Y), cmap=plt.cm.Spectral, s=12, edgecolors="k", linewidths=0.3)
    ax.set(title=title, xlabel="x1", ylabel="x2")
    return _save(fig, plt, path)


def plot_images(images, path, titles=None, title=None, size=3.5):
    """A row of images side by side: (H, W, 3) RGB or (H, W) grayscale arrays, uint8 (0..255) or floats
    (clipped to [0, 1]). ``titles``: one caption per image. Writes a PNG and returns its path."""
    plt = _pyplot()
    images = [np.asarray(image) for image in images]
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images) * 4 / 3, size), squeeze=False)
    for i, (ax, image) in enumerate(zip(axes[0], images)):
        if image.dtype.kind == "f":
            image = np.clip(image, 0, 1)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[i])
    if title:
        fig.suptitle(title)
    return _save(fig, plt, path)


def _save(fig, plt, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
