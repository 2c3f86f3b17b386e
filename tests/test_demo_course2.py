"""Course 2 demos reach the notebooks' numbers (COURSE.md section 2).

Costs are compared to the notebooks' prints with ``abs(ours - course) < 5e-7`` (six printed digits);
where the notebook printed every digit, our float64 runs agree to ~1e-12 and that is asserted too.
The full-length runs (He initialization, the three regularizations, Adam) are marked slow.
"""
import math

import numpy as np
import pytest

from demos import gradient_checking, initialization, optimization, regularization, softmax_batchnorm
from tinygrad_dl.data import course_data_dir
from tinygrad_dl import Tensor, grad


def _course_data():
    """The course data folder; skip only when it does not exist at all."""
    try:
        return course_data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"course data folder not found: {exc}")


def assert_costs(ours, course, atol=5e-7):
    """Every course cost (a dict iteration -> cost) is matched by ours at the same iteration."""
    for step, expected in course.items():
        assert step in ours, f"no cost recorded at {step}"
        if math.isinf(expected):
            assert math.isinf(ours[step]), f"cost at {step}: {ours[step]} (course: inf)"
        else:
            assert abs(ours[step] - expected) < atol, f"cost at {step}: {ours[step]!r} (course: {expected!r})"


# ------------------------------------------------------------------------------ gradient checking


def test_gradient_checking_reproduces_the_course_differences():
    results = gradient_checking.run()
    # 1-D: the course's own NumPy code gives exactly this today (the notebook printed 2.9193358103083e-10)
    assert results["1-D difference"] == pytest.approx(2.919335883291695e-10, rel=1e-6)
    assert results["1-D passed"]
    assert abs(results["N-D difference, buggy backward"] - 0.285093156781) < 1e-11
    assert abs(results["N-D difference, fixed backward"] - 1.1890913023330276e-07) < 1e-12
    assert results["N-D difference, autograd"] < 2e-7
    assert not results["buggy passed"] and results["fixed passed"] and results["autograd passed"]


def test_gradcheck_names_the_buggy_parameters():
    results = gradient_checking.run()
    assert sorted(results["buggy mismatched parameters"]) == ["W2", "b1"]
    per_parameter = results["buggy per parameter"]
    # ||2g - g|| / (||2g|| + ||g||) = 1/3 and ||4g - g|| / (||4g|| + ||g||) = 3/5, up to the numeric error
    assert per_parameter["W2"] == pytest.approx(1 / 3, abs=1e-6)
    assert per_parameter["b1"] == pytest.approx(3 / 5, abs=1e-6)
    for name in ("W1", "b2", "W3", "b3"):
        assert per_parameter[name] < 1e-6


def test_course_network_function_gives_autograds_gradients():
    X, Y, parameters = gradient_checking.course_test_case()
    leaves = [Tensor(p.copy(), requires_grad=True) for p in parameters]
    custom = grad(gradient_checking.CourseNetworkCost.apply(Tensor(X), Tensor(Y), *leaves), leaves)
    auto = grad(gradient_checking.autograd_network_cost(Tensor(X), Tensor(Y), *leaves), leaves)
    for name, g_custom, g_auto in zip(gradient_checking.PARAMETER_NAMES, custom, auto):
        np.testing.assert_allclose(g_custom.numpy(), g_auto.numpy(), rtol=0, atol=1e-12, err_msg=name)
    cost, _ = gradient_checking._network_forward(X, Y, *parameters)
    assert gradient_checking.autograd_network_cost(Tensor(X), Tensor(Y), *parameters).item() == pytest.approx(
        cost, abs=1e-12)  # our sigmoid is exp(-log1p(e^-z)), not 1 / (1 + e^-z): last-bit differences


# --------------------------------------------------------------------------------- initialization


def test_initial_weights_are_the_courses():
    # the notebook's unit tests: initialize_parameters_random([3, 2, 1]) and initialize_parameters_he([2, 4, 1])
    random_W1 = initialization.linear_layers(
        initialization.initialize(initialization.course_mlp((3, 2, 1)), "random"))[0].weight.numpy()
    np.testing.assert_allclose(random_W1, [[17.88628473, 4.36509851, 0.96497468],
                                           [-18.63492703, -2.77388203, -3.54758979]], atol=5e-9)
    he_W1 = initialization.linear_layers(
        initialization.initialize(initialization.course_mlp((2, 4, 1)), "he"))[0].weight.numpy()
    np.testing.assert_allclose(he_W1, [[1.78862847, 0.43650985], [0.09649747, -1.8634927],
                                       [-0.2773882, -0.35475898], [-0.08274148, -0.62700068]], atol=5e-9)
    # bit-identical to the course's expression
    np.random.seed(3)
    np.testing.assert_array_equal(he_W1[:, :], (np.random.randn(4, 2) * np.sqrt(2.0 / 2)))


def test_zeros_initialization_never_breaks_symmetry():
    results = initialization.run(("zeros",), num_iterations=1001)["zeros"]
    for cost in results["costs"].values():
        assert cost == pytest.approx(0.6931471805599453, abs=1e-15)
    assert results["train_accuracy"] == 0.5 and results["test_accuracy"] == 0.5


def test_large_random_initialization_starts_at_an_infinite_course_cost():
    results = initialization.run(("random",), num_iterations=1)["random"]
    assert math.isinf(results["costs"][0])  # the course prints inf: a3 rounds to exactly 1 for a y = 0
    assert math.isfinite(results["bce_with_logits"][0]) and results["bce_with_logits"][0] > 100


@pytest.mark.slow
def test_he_initialization_full_run():
    results = initialization.run(("he",))["he"]
    assert_costs(results["costs"], initialization.COURSE["he"]["costs"])
    assert_costs(results["costs"], initialization.COURSE["he"]["costs"], atol=1e-12)  # the notebook's every digit
    assert results["train_accuracy"] == pytest.approx(0.9933333333333333)
    assert results["test_accuracy"] == pytest.approx(0.96)


# --------------------------------------------------------------------------------- regularization


def test_regularization_first_costs():
    _course_data()
    results = regularization.run(num_iterations=1)
    for method in regularization.METHODS:
        assert_costs(results[method]["costs"], {0: regularization.COURSE[method]["costs"][0]}, atol=1e-12)


def test_dropout_reproduces_the_course_masks_for_10000_iterations():
    _course_data()
    results = regularization.run(("dropout",), num_iterations=10001)["dropout"]
    course = regularization.COURSE["dropout"]["costs"]
    assert_costs(results["costs"], {0: course[0], 10000: course[10000]})


@pytest.mark.slow
def test_regularization_full_runs():
    _course_data()
    results = regularization.run()
    for method in regularization.METHODS:
        course = regularization.COURSE[method]
        assert_costs(results[method]["costs"], course["costs"])
        assert results[method]["train_accuracy"] == pytest.approx(course["train_accuracy"], abs=5e-12)
        assert results[method]["test_accuracy"] == pytest.approx(course["test_accuracy"])


def test_regularization_without_data_exits_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="data.mat"):
        regularization.run(("none",), num_iterations=1, data=tmp_path)


# ----------------------------------------------------------------------------------- optimization


def test_gd_and_momentum_first_1000_epochs():
    results = optimization.run(("gd", "momentum"), num_epochs=1001, decay_runs=())
    for name in ("gd", "momentum"):
        course = optimization.COURSE[name]["costs"]
        assert_costs(results[name]["costs"], {0: course[0], 1000: course[1000]})


def test_learning_rate_decay_runs_first_1000_epochs():
    results = optimization.run((), decay_runs=tuple(optimization.DECAY_RUNS), decay_epochs=1001)
    for label, (_, lr0, decay) in optimization.DECAY_RUNS.items():
        notes = optimization.DECAY_NOTES_COSTS[label]
        assert_costs(results[label]["costs"], {0: notes[0], 1000: notes[1000]})
        # the notebook's lr after epoch i: update_lr -> lr0 / (1 + i), schedule_lr_decay -> lr0 / (1 + i // 1000)
        expected = lr0 / (1 + (1000 if decay == "update_lr" else 1))
        assert results[label]["learning_rates"][1000] == pytest.approx(expected, rel=1e-15)


@pytest.mark.slow
def test_adam_full_run():
    results = optimization.run(("adam",), decay_runs=())["adam"]
    assert_costs(results["costs"], optimization.COURSE["adam"]["costs"])
    assert results["accuracy"] == pytest.approx(0.94)


# ------------------------------------------------------------------------- softmax and batch norm


def test_softmax_classifier_on_digits():
    results = softmax_batchnorm.run(dataset="digits", bn_epochs=0, search_trials=0)["softmax"]
    assert results["dataset"] == "digits"
    assert results["test_accuracy"] > 0.9 and results["train_accuracy"] > 0.9
    costs = [results["costs"][e] for e in sorted(results["costs"])]
    assert costs[0] > 2.0 > 0.4 > costs[-1]  # from about log(10) down


def test_batch_norm_trains_the_deep_net_better_at_a_large_learning_rate():
    _, X_train, y_train, X_test, y_test, n_classes = softmax_batchnorm.load_classification_data("digits")
    results = softmax_batchnorm.run_batchnorm(X_train, y_train, X_test, y_test, n_classes)
    plain, normalised = results["no batch norm"], results["batch norm"]
    last = max(plain["costs"])
    assert normalised["costs"][last] < 0.5 * plain["costs"][last]
    assert normalised["test_accuracy"] > 0.95 > plain["test_accuracy"]


def test_random_search_samples_on_a_log_scale_and_ranks_by_validation_accuracy():
    _, X_train, y_train, _, _, n_classes = softmax_batchnorm.load_classification_data("digits")
    search = softmax_batchnorm.run_search(X_train, y_train, n_classes, trials=4, num_epochs=2)
    assert len(search) == 4 and sorted(r["trial"] for r in search) == [0, 1, 2, 3]
    rng = np.random.RandomState(0)  # the search's own draws, in order
    for trial in range(4):
        lr, hidden = 10 ** rng.uniform(-4, -1), int(round(2 ** rng.uniform(3, 7)))
        entry = next(r for r in search if r["trial"] == trial)
        assert entry["learning_rate"] == pytest.approx(lr) and entry["hidden"] == hidden
    accuracies = [r["val_accuracy"] for r in search]
    assert accuracies == sorted(accuracies, reverse=True)


def test_signs_without_its_training_file_exits_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="train_signs.h5"):
        softmax_batchnorm.run(dataset="signs", data=tmp_path)
    assert softmax_batchnorm.load_classification_data("auto", data=tmp_path)[0] == "digits"


def test_signs_recipe_runs_when_the_files_are_there(tmp_path):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path / "signs"
    folder.mkdir()
    rng = np.random.RandomState(0)
    for split, m in (("train", 12), ("test", 6)):
        with h5py.File(folder / f"{split}_signs.h5", "w") as f:
            f[f"{split}_set_x"] = rng.randint(0, 256, size=(m, 64, 64, 3)).astype(np.uint8)
            f[f"{split}_set_y"] = np.arange(m) % 6
            f["list_classes"] = np.arange(6)
    results = softmax_batchnorm.run(dataset="auto", num_epochs=2, bn_epochs=0, search_trials=0, data=tmp_path)
    softmax = results["softmax"]
    assert softmax["dataset"] == "signs" and sorted(softmax["costs"]) == [0, 1]
    assert 0 <= softmax["test_accuracy"] <= 1 and math.isfinite(softmax["costs"][1])


# ------------------------------------------------------------------------------------------ CLIs


@pytest.mark.parametrize("module", [initialization, regularization, gradient_checking, optimization,
                                    softmax_batchnorm])
def test_help(module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "--out" in capsys.readouterr().out


def test_clis_print_tables_and_write_plots(tmp_path, capsys):
    _course_data()
    runs = [
        (initialization, ["--init", "he", "--iterations", "3"], ["costs.png", "boundary_he.png"]),
        (regularization, ["--method", "l2", "--iterations", "3"], ["costs.png", "boundary_l2.png"]),
        (optimization, ["--optimizer", "adam", "--epochs", "2", "--no-decay"], ["costs.png", "boundary_adam.png"]),
        (softmax_batchnorm, ["--dataset", "digits", "--epochs", "2", "--bn-epochs", "2", "--trials", "2",
                             "--search-epochs", "1"], ["softmax_costs.png", "batchnorm_costs.png"]),
        (gradient_checking, [], []),
    ]
    for module, argv, files in runs:
        out = tmp_path / module.NAME
        module.main(argv + ["--quiet", "--out", str(out)])
        printed = capsys.readouterr().out
        assert "course" in printed and "ours" in printed
        for name in files:
            assert (out / name).is_file(), f"{module.NAME} did not write {name}"
