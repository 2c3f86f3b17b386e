"""Course 4 demos reach the course's numbers (COURSE.md 4.1-4.4, 4.9).

The step-by-step test cases are matched to 1e-8 (every printed digit); parameter counts exactly; the
trainings run in their --quick modes, whose numbers are asserted here too.
"""
import shutil

import numpy as np
import pytest

from demos import cnn_signs, conv_step_by_step, happy_house, resnet, style_transfer
from tinygrad_dl import Tensor, gradcheck
from tinygrad_dl.data import course_data_dir


@pytest.fixture(scope="module")
def course_data():
    try:
        return course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")


def _has_dot():
    return shutil.which("dot") is not None


# -------------------------------------------------------------------------------- conv step by step


def test_conv_step_by_step_matches_every_published_value_to_1e_8():
    results = conv_step_by_step.run()
    errors = conv_step_by_step.max_error(results)
    assert len(errors) == 26
    for name, error in errors.items():
        assert error <= 1e-8, f"{name}: off by {error}"
    # values printed to 12 digits are matched to rounding of the last digit
    assert results["v2a conv_forward: Z's mean"] == pytest.approx(0.692360880758, abs=1e-12)
    assert results["v1 conv_backward: db_mean"] == pytest.approx(76.3710691956, abs=1e-10)
    assert results["zero_pad: x.shape / x_pad.shape"] == "(4, 3, 3, 2) / (4, 7, 7, 2)"
    rows = conv_step_by_step.results_rows(results)
    assert rows[-1][2] <= 1e-8


# -------------------------------------------------------------------------------------- SIGNS ConvNet


def test_signs_convnet_counts_shapes_cross_validation_and_digits(course_data, tmp_path):
    results = cnn_signs.main(["--quick", "--quiet", "--mode", "cv", "--out", str(tmp_path)])
    assert results["parameters"] == 1310  # the Keras model.summary() of the course
    shapes = dict(results["shapes"])
    assert shapes["2: MaxPool2d"] == (1, 8, 8, 8) and shapes["5: MaxPool2d"] == (1, 16, 2, 2)
    assert shapes["6: Flatten"] == (1, 64) and shapes["7: Linear"] == (1, 6)
    cv = results["cv"]
    assert len(cv["fold test accuracy"]) == 1 and cv["folds"] == 5 and cv["train size"] == 96
    costs = cv["costs"]["fold 1"]
    assert costs[0] > 1.7 and costs[max(costs)] < 0.9  # log(6) = 1.79 at the start
    assert cv["fold train accuracy"][0] >= 0.75
    assert cv["fold test accuracy"][0] >= 0.5  # 24 held-out images, chance is 1/6
    digits = results["digits"]
    assert digits["test accuracy"] >= 0.98 and digits["train accuracy"] >= 0.99
    assert (tmp_path / "costs.png").is_file()


def test_signs_course_mode_trains_on_a_user_supplied_training_file(course_data, tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(course_data / "signs" / "test_signs.h5", "r") as f:
        images, labels, classes = f["test_set_x"][:], f["test_set_y"][:], f["list_classes"][:]
    (tmp_path / "signs").mkdir()
    with h5py.File(tmp_path / "signs" / "train_signs.h5", "w") as f:  # a stand-in with the real file's keys
        f["train_set_x"], f["train_set_y"], f["list_classes"] = images[:64], labels[:64], classes
    (tmp_path / "signs" / "test_signs.h5").symlink_to(course_data / "signs" / "test_signs.h5")
    results = cnn_signs.run(mode="auto", num_epochs=2, digits_epochs=0, data=str(tmp_path))
    run = results["course"]
    assert sorted(run["costs"]) == [0, 1] and 0 <= run["test accuracy"] <= 1
    names = [row[0] for row in cnn_signs.results_rows(results)]
    assert "cost after epoch 0" in names and "test accuracy" in names


# ---------------------------------------------------------------------------------------- Happy House


def test_happy_house_counts_and_held_out_accuracy(course_data, tmp_path):
    results = happy_house.main(["--quick", "--quiet", "--out", str(tmp_path)])
    assert results["total parameters"] == 37_633 and results["trainable parameters"] == 37_569
    assert results["buffers"] == [("2.running_mean", 32), ("2.running_var", 32)]
    assert (results["train size"], results["held-out size"]) == (100, 50)
    assert results["costs"][max(results["costs"])] < 0.3
    assert results["held-out accuracy"] >= 0.75  # the course's pass mark
    assert (tmp_path / "costs.png").is_file()


def test_happy_model_is_the_courses_layer_stack():
    model = happy_house.happy_model()
    names = [type(m).__name__ for m in model.children()]
    assert names == ["ZeroPad2d", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert model[1].weight.shape == (32, 3, 7, 7) and model[6].weight.shape == (1, 32768)


# ------------------------------------------------------------------------------------------- ResNets


def test_resnet50_has_the_courses_parameter_counts():
    counts = resnet.count(resnet.resnet50())
    assert counts["total parameters"] == 23_600_006
    assert counts["trainable parameters"] == 23_546_886
    assert counts["running statistics (buffers)"] == 53_120  # 2 per channel of the 53 batch norms
    assert counts["batch norm layers"] == 53


def test_residual_blocks_shapes_and_gradients():
    rng = np.random.default_rng(0)
    identity = resnet.IdentityBlock(3, (2, 3, 4), dtype=np.float64, generator=rng)
    conv = resnet.ConvolutionalBlock(4, 3, (2, 2, 6), stride=2, dtype=np.float64, generator=rng)
    x = rng.standard_normal((2, 4, 5, 5))
    assert identity(Tensor(x)).shape == (2, 4, 5, 5)
    assert conv(Tensor(x)).shape == (2, 6, 3, 3)
    assert gradcheck(lambda t: conv(identity(t)), [x])
    out = conv(identity(Tensor(x)))
    assert out.data.min() >= 0  # a ReLU after the addition


def test_resnet_demo_quick(course_data, tmp_path):
    results = resnet.main(["--quick", "--quiet", "--out", str(tmp_path)])
    assert results["resnet50"]["total parameters"] == 23_600_006
    one_pass = results["pass"]
    assert one_pass["gradients finite"] and one_pass["output shape"] == (1, 6)
    assert np.isfinite(one_pass["loss"]) and one_pass["peak MB"] > 0
    assert results["small"]["test accuracy"] >= 0.85  # 2 epochs on the digits
    if _has_dot():
        assert (tmp_path / "identity_block.png").is_file()


# ------------------------------------------------------------------------------------- style transfer


def test_total_cost_is_the_courses():
    assert style_transfer.total_cost_test() == pytest.approx(35.34667875478276, abs=1e-12)


def test_style_transfer_costs_are_the_courses_formulas():
    rng = np.random.default_rng(1)
    a_C, a_G = rng.standard_normal((1, 3, 4, 5)), rng.standard_normal((1, 3, 4, 5))
    expected_content = ((a_C - a_G) ** 2).sum() / (4 * 4 * 5 * 3)
    assert style_transfer.compute_content_cost(Tensor(a_C), Tensor(a_G)).item() == pytest.approx(expected_content)
    assert style_transfer.compute_content_cost(Tensor(a_C), Tensor(a_C)).item() == 0
    A = a_G.reshape(3, 20)
    np.testing.assert_allclose(style_transfer.gram_matrix(Tensor(A)).data, A @ A.T)
    G_S, G_G = a_C.reshape(3, 20) @ a_C.reshape(3, 20).T, A @ A.T
    expected_style = ((G_S - G_G) ** 2).sum() / (4 * 3 ** 2 * 20 ** 2)
    assert style_transfer.compute_layer_style_cost(Tensor(a_C), Tensor(a_G)).item() == pytest.approx(expected_style)
    assert gradcheck(lambda g: style_transfer.compute_layer_style_cost(Tensor(a_C), g)
                     + style_transfer.compute_content_cost(Tensor(a_C), g), [a_G])


def test_style_transfer_quick_lowers_the_cost(course_data, tmp_path):
    results = style_transfer.main(["--quick", "--quiet", "--out", str(tmp_path)])
    total = results["costs"]["total"]
    assert total[20] < 0.5 * total[0]
    assert results["generated"].shape == (75, 100, 3) and results["generated"].dtype == np.uint8
    assert (tmp_path / "generated.png").is_file() and (tmp_path / "costs.png").is_file()
