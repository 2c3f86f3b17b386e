"""Plots a learner draws along the course: cost curves and 2-D decision boundaries (matplotlib).

    from tinygrad_dl import plot
    plot.plot_costs({"Adam": (steps, costs)}, "costs.png", "Cost")

Every function writes a PNG (150 dpi) and returns its path. Needs the ``plot`` extra: ``pip install
"tinygrad_dl[plot]"``. The figures are drawn with matplotlib's file-only "Agg" backend, so they work on
machines without a screen.
"""
from pathlib import Path

import numpy as np

__all__ = ["plot_costs", "plot_cost_histories", "plot_decision_boundary", "plot_attention_map"]

DPI = 150


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError('tinygrad_dl.plot needs matplotlib: pip install "tinygrad_dl[plot]"') from err
    matplotlib.use("Agg")  # files only: demos run on machines without a screen
    import matplotlib.pyplot as plt
    return plt


def plot_costs(curves, path, title, xlabel="iteration", ylabel="cost"):
    """Cost curves: ``curves`` maps a label to (steps, costs). Writes a PNG and returns its path."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, (steps, costs) in curves.items():
        ax.plot(steps, costs, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
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


def _save(fig, plt, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def plot_attention_map(weights, input_labels, output_labels, path, title="Attention map", normalize_rows=False,
                       xlabel="Input sequence", ylabel="Output sequence"):
    """A heat map of attention weights (outputs x inputs), labelled with the tokens on both axes.

    ``weights`` has shape (len(output_labels), n) with n >= len(input_labels) (extra input columns, e.g. padding,
    are cut off); a space token is drawn as an open box. ``normalize_rows`` divides each row by its maximum, as the course's NMT notebook does.
    """
    plt = _pyplot()
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
    return _save(fig, plt, path)
