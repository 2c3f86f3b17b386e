"""tinygrad_dl.plot: the PNGs the demos write (size and resolution), the course's zoom on decision boundaries,
learning curves in both history forms, and the cost curves' one point per 100 iterations in the demos."""
import struct

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from tinygrad_dl import plot  # noqa: E402


def png_size(path):
    """(width, height) in pixels and the resolution in dots per inch, from the PNG's IHDR and pHYs chunks."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    at = data.index(b"pHYs")
    per_metre = struct.unpack(">I", data[at + 4:at + 8])[0]
    return width, height, round(per_metre * 0.0254)


def test_cost_curves_are_written_at_150_dpi(tmp_path):
    steps = list(range(0, 2000, 100))
    path = plot.plot_costs({"lr 0.01": (steps, np.exp(-np.arange(20) / 5)), "lr 0.001": {0: 1.0, 100: 0.9}},
                           tmp_path / "costs.png", "Cost", log_y=True)
    width, height, dpi = png_size(path)
    assert dpi >= 150 and (width, height) == (960, 630)  # 6.4 x 4.2 inches


def test_decision_boundary_uses_the_course_zoom(tmp_path):
    seen = []

    def predict(points):
        seen.append(points)
        return (points[0] + points[1] > 0).astype(int)

    X = np.random.default_rng(0).uniform(-1, 1, (2, 50))
    Y = (X[0] + X[1] > 0).astype(int)[None]
    path = plot.plot_decision_boundary(predict, X, Y, tmp_path / "boundary.png", "L2",
                                       xlim=(-0.75, 0.40), ylim=(-0.75, 0.65), resolution=50)
    grid = seen[0]
    assert grid.shape == (2, 2500)
    assert (grid[0].min(), grid[0].max(), grid[1].min(), grid[1].max()) == (-0.75, 0.40, -0.75, 0.65)
    assert png_size(path)[2] >= 150
    plot.plot_decision_boundary(predict, X, Y, tmp_path / "default.png", "no zoom", resolution=20)
    assert seen[1][0].min() == pytest.approx(X[0].min() - 0.5)  # the data's range plus a margin


def test_learning_curves_from_either_history_form(tmp_path):
    nested = {"loss": {"train": [0.9, 0.5, 0.3], "dev": [1.0, 0.7, 0.8]},
              "accuracy": {"train": {1: 0.6, 2: 0.8, 3: 0.9}, "dev": {1: 0.5, 2: 0.7, 3: 0.65}}}
    width, height, dpi = png_size(plot.plot_learning_curves(nested, tmp_path / "nested.png"))
    assert dpi >= 150 and width == 2 * 780 and height == 600  # one 5.2 x 4 inch panel per metric
    keras = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
    assert plot._panels(keras) == {"loss": {"train": [0.9, 0.5], "validation": [1.0, 0.7]},
                                   "accuracy": {"train": [0.6, 0.8], "validation": [0.5, 0.7]}}
    assert png_size(plot.plot_learning_curves(keras, tmp_path / "keras.png"))[0] == 2 * 780
    assert plot._lower_is_better("val loss") and not plot._lower_is_better("accuracy")
    with pytest.raises(ValueError, match="plot_learning_curves: history must be a non-empty dict"):
        plot.plot_learning_curves({}, tmp_path / "empty.png")


def test_demo_cost_curves_have_one_point_per_100_iterations():
    from demos import initialization, planar_flower, regularization
    flower = planar_flower.run(num_iterations=301, baseline=False)
    assert sorted(flower["costs"]) == [0, 100, 200, 300]
    circles = initialization.run(schemes=("he",), num_iterations=201)
    assert sorted(circles["he"]["costs"]) == [0, 100, 200]
    assert regularization.RECORD_EVERY == 100
    assert regularization.AXIS_LIMITS == {"xlim": (-0.75, 0.40), "ylim": (-0.75, 0.65)}  # the notebook's zoom


def test_your_own_figure_is_saved_like_the_library_s_and_closed(tmp_path):
    plt = plot.pyplot()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [1, 0])
    path = plot.save_figure(fig, tmp_path / "new" / "mine.png")  # folders are made
    assert path == tmp_path / "new" / "mine.png" and png_size(path) == (600, 450, 150)
    assert not plt.fignum_exists(fig.number)  # closed: pyplot keeps no reference
