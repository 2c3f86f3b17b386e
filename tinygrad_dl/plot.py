"""Plots a learner draws along the course: cost curves, learning curves and 2-D decision boundaries (matplotlib).

    from tinygrad_dl import plot
    plot.plot_costs({"Adam": (steps, costs)}, "costs.png", "Cost")
    plot.plot_learning_curves({"loss": {"train": train_losses, "dev": dev_losses}}, "curves.png")
    plot.plot_decision_boundary(predict, X, Y, "boundary.png", "L2", xlim=(-0.75, 0.40), ylim=(-0.75, 0.65))

Every function writes a PNG (150 dpi) and returns its path. Needs the ``plot`` extra: ``pip install
"tinygrad_dl[plot]"``. The figures are drawn with matplotlib's file-only "Agg" backend, so they work on
machines without a screen. Colours come from one colour-blind-safe palette (Okabe and Ito's).
"""
from pathlib import Path

import numpy as np

__all__ = ["plot_costs", "plot_cost_histories", "plot_learning_curves", "plot_decision_boundary",
           "plot_attention_map", "plot_images", "pyplot", "save_figure", "DPI", "PALETTE"]

DPI = 150
# Okabe & Ito's colour-blind-safe palette: blue, vermillion, bluish green, orange, reddish purple, sky blue, ...
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
# decision boundaries: class 0 and class 1 as light regions and strong points
REGION_COLORS = ("#F6D3BF", "#C6DDF0")
POINT_COLORS = ("#D55E00", "#0072B2")


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend, for a figure of your own (save it with ``save_figure``)."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError('tinygrad_dl.plot needs matplotlib: pip install "tinygrad_dl[plot]"') from err
    matplotlib.use("Agg")  # files only: demos run on machines without a screen
    import matplotlib.pyplot as plt
    return plt


def _axes(plt, size):
    fig, ax = plt.subplots(figsize=size)
    _style(ax)
    return fig, ax


def _style(ax):
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _as_curve(values):
    """(steps, values) from a mapping {step: value}, a sequence (steps 0, 1, ...) or a (steps, values) pair."""
    if isinstance(values, dict):
        steps = sorted(values)
        return steps, [values[s] for s in steps]
    if isinstance(values, tuple) and len(values) == 2 and np.ndim(values[0]) == 1:
        return list(values[0]), list(values[1])
    values = list(values)
    return list(range(len(values))), values


def plot_costs(curves, path, title, xlabel="iteration", ylabel="cost", log_y=False):
    """Cost curves: ``curves`` maps a label to (steps, costs), to {step: cost} or to a list of costs.

    Writes a PNG and returns its path. ``log_y`` puts the costs on a logarithmic axis.
    """
    plt = pyplot()
    fig, ax = _axes(plt, (6.4, 4.2))
    for (label, values), color in zip(curves.items(), _colors(len(curves))):
        steps, costs = _as_curve(values)
        ax.plot(steps, costs, label=label, color=color, linewidth=1.8)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if log_y:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend(frameon=False)
    return save_figure(fig, path)


def plot_cost_histories(histories, path, title, xlabel="iteration"):
    """``plot_costs`` for ``{label: {iteration: cost}}``, the form the demos record."""
    return plot_costs(histories, path, title, xlabel=xlabel)


def plot_learning_curves(history, path, title="Learning curves", xlabel="epoch"):
    """Training against validation, one panel per metric.

    ``history`` is either ``{metric: {split: values}}`` (``{"loss": {"train": [...], "dev": [...]}}``) or
    Keras's flat form ``{"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}``.
    Values are lists (one per epoch, counted from 1) or ``{epoch: value}``. The best validation value of a
    metric is marked (the lowest for losses and errors, the highest otherwise). Returns the PNG's path.
    """
    panels = _panels(history)
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
    for ax, (metric, splits) in zip(axes[0], panels.items()):
        _style(ax)
        for (split, values), color in zip(splits.items(), _colors(len(splits))):
            steps, ys = _as_curve(values)
            if not isinstance(values, dict):
                steps = [s + 1 for s in steps]  # epochs count from 1
            ax.plot(steps, ys, label=split, color=color, linewidth=1.8, marker="o" if len(ys) <= 30 else None,
                    markersize=3.5)
            if split != "train" and ys:
                best = int(np.argmin(ys) if _lower_is_better(metric) else np.argmax(ys))
                ax.annotate(f"best {ys[best]:.4g}", (steps[best], ys[best]), textcoords="offset points",
                            xytext=(4, 8), fontsize=8, color=color)
        ax.set(title=metric, xlabel=xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
        ax.legend(frameon=False)
    fig.suptitle(title)
    return save_figure(fig, path)


def _panels(history):
    if not isinstance(history, dict) or not history:
        raise ValueError("plot_learning_curves: history must be a non-empty dict: {metric: {split: values}} or "
                         "Keras's {'loss': [...], 'val_loss': [...]}")
    if all(isinstance(v, dict) and all(isinstance(s, str) for s in v) for v in history.values()):
        return history
    panels = {}
    for key, values in history.items():
        metric, split = (key[4:], "validation") if key.startswith("val_") else (key, "train")
        panels.setdefault(metric, {})[split] = values
    return panels


def _lower_is_better(metric):
    return any(word in metric.lower() for word in ("loss", "cost", "error", "perplexity"))


def _colors(count):
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def plot_decision_boundary(predict, X, Y, path, title, xlim=None, ylim=None, resolution=300):
    """The 2-D decision boundary of ``predict`` (maps a (2, n) array to labels in {0, 1}) over the data X (2, m),
    Y (1, m) in the course's column layout.

    ``xlim`` / ``ylim`` zoom in like the course's plots (the regularization notebook shows x in [-0.75, 0.40],
    y in [-0.75, 0.65], where overfitting shows); by default the data's range plus a margin.
    """
    plt = pyplot()
    from matplotlib.colors import ListedColormap

    pad = 0.5
    x_min, x_max = xlim if xlim is not None else (X[0].min() - pad, X[0].max() + pad)
    y_min, y_max = ylim if ylim is not None else (X[1].min() - pad, X[1].max() + pad)
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    grid = np.stack([xx.ravel(), yy.ravel()])
    zz = np.asarray(predict(grid)).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], cmap=ListedColormap(REGION_COLORS))
    ax.contour(xx, yy, zz, levels=[0.5], colors="#333333", linewidths=1.0)
    labels = np.ravel(Y).astype(int)
    for label in (0, 1):
        chosen = labels == label
        ax.scatter(X[0][chosen], X[1][chosen], s=16, color=POINT_COLORS[label], edgecolors="white",
                   linewidths=0.4, label=f"y = {label}")
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(x_min, x_max), ylim=(y_min, y_max))
    # below the axes: inside, the legend would hide points
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False, fontsize=8)
    return save_figure(fig, path)


def plot_images(images, path, titles=None, title=None, size=3.5):
    """A row of images side by side: (H, W, 3) RGB or (H, W) grayscale arrays, uint8 (0..255) or floats
    (clipped to [0, 1]). ``titles``: one caption per image. Writes a PNG and returns its path."""
    plt = pyplot()
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
    return save_figure(fig, path)


def save_figure(fig, path):
    """The end of every plot here: tight layout, a PNG at ``path`` (folders made) at ``DPI``, the figure closed
    (pyplot keeps open figures alive); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path


def plot_attention_map(weights, input_labels, output_labels, path, title="Attention map", normalize_rows=False,
                       xlabel="Input sequence", ylabel="Output sequence"):
    """A heat map of attention weights (outputs x inputs), labelled with the tokens on both axes.

    ``weights`` has shape (len(output_labels), n) with n >= len(input_labels) (extra input columns, e.g. padding,
    are cut off); a space token is drawn as an open box. ``normalize_rows`` divides each row by its maximum, as the course's NMT notebook does.
    """
    plt = pyplot()
    weights = np.asarray(weights, dtype=np.float64)[:len(output_labels), :len(input_labels)]
    if normalize_rows:
        weights = weights / np.maximum(weights.max(axis=1, keepdims=True), 1e-12)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.32 * len(input_labels) + 2), max(3.0, 0.4 * len(output_labels) + 1.8)))
    image = ax.imshow(weights, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(input_labels)), ["\u2423" if t == " " else t for t in input_labels])
    ax.set_yticks(range(len(output_labels)), list(output_labels))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colorbar.set_label("attention weight" + (" / row max" if normalize_rows else ""))
    return save_figure(fig, path)
