"""Course 1 demos reach the notebooks' numbers (COURSE.md section 1), and the benchmark's NumPy
reference is the same network as the tinygrad_dl one.

Short runs check the printed costs to the course's 6 digits (|ours - course| < 5e-7); the ``slow`` runs
are the full-length trainings (one per course week) and check the final accuracies.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from demos import deep_nn_application, logistic_regression, planar_flower
from tinygrad_dl.data import course_data_dir, make_flower

SIX_DIGITS = 5e-7


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Run the big matrix products on one BLAS thread.

    These networks are memory-bound (the 209 x 12288 images are read twice per iteration). On the
    shared 2-core machine, OpenBLAS's worker threads spin-wait against the other processes and make the
    runs 2.5-6x slower than with a single thread; the numbers are the same either way.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it the runs are just slower
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _course_data_exists():
    try:
        course_data_dir()
    except FileNotFoundError:
        return False
    return True


needs_course_data = pytest.mark.skipif(not _course_data_exists(), reason="course data folder not found")


def assert_costs(ours, course, tolerance=SIX_DIGITS, iterations=None):
    for i in iterations or course:
        assert abs(ours[i] - course[i]) < tolerance, f"iteration {i}: ours {ours[i]!r}, course {course[i]!r}"


# ----------------------------------------------------------------------------------------------- week 2


@needs_course_data
def test_logistic_regression_first_costs_match_course():
    results = logistic_regression.run(num_iterations=201)
    assert results["costs"][0] == pytest.approx(np.log(2), abs=1e-15)  # w = 0, b = 0: every probability is 1/2
    assert_costs(results["costs"], logistic_regression.COURSE_COSTS, iterations=(0, 100, 200))


@needs_course_data
@pytest.mark.slow
def test_logistic_regression_full_run_and_learning_rates():
    results = logistic_regression.run(compare_learning_rates=True)
    assert_costs(results["costs"], logistic_regression.COURSE_COSTS)
    # the course's formula, so the floats are identical: 2 of 209 training images wrong, 15 of 50 test images
    assert results["train_accuracy"] == pytest.approx(logistic_regression.COURSE_TRAIN_ACCURACY, abs=1e-9)
    assert results["test_accuracy"] == pytest.approx(logistic_regression.COURSE_TEST_ACCURACY, abs=1e-9)
    for lr, (course_train, course_test) in logistic_regression.COURSE_LEARNING_RATE_COMPARISON.items():
        assert results["comparison"][lr]["train_accuracy"] == pytest.approx(course_train, abs=1e-9), lr
        assert results["comparison"][lr]["test_accuracy"] == pytest.approx(course_test, abs=1e-9), lr


def test_logistic_regression_gradient_is_the_course_formula():
    # The course's propagate() unit test (v6a): dw = [[0.99845601], [2.39507239]], db = 0.00145557813678,
    # cost = 5.801545319394553 for w = [[1], [2]], b = 2, X = [[1, 2, -1], [3, 4, -3.2]], Y = [[1, 0, 1]].
    from tinygrad_dl import Tensor, nn

    model = logistic_regression.build_model(2)
    model.weight.data[...] = [[1.0, 2.0]]
    model.bias.data[...] = 2.0
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    cost = nn.BCEWithLogitsLoss()(model(Tensor(X.T)), Tensor(np.array([[1.0], [0.0], [1.0]])))
    cost.backward()
    assert cost.item() == pytest.approx(5.801545319394553, abs=1e-12)
    np.testing.assert_allclose(model.weight.grad.data, [[0.99845601, 2.39507239]], atol=5e-9)
    assert model.bias.grad.data.item() == pytest.approx(0.00145557813678, abs=5e-14)


def test_logistic_regression_without_data_exits_with_a_message(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(SystemExit) as exit_info:
        logistic_regression.main(["--data", str(missing), "--quiet"])
    assert str(missing) in str(exit_info.value.code) and "TINYGRAD_DL_DATA" in str(exit_info.value.code)


# ----------------------------------------------------------------------------------------------- week 3


def test_flower_initialisation_is_the_course_one():
    # initialize_parameters(2, 4, 1) unit test of the notebook (seed 2, randn * 0.01)
    model = planar_flower.build_model(4)
    hidden, output = model[0], model[2]
    np.testing.assert_allclose(hidden.weight.data, [[-0.00416758, -0.00056267], [-0.02136196, 0.01640271],
                                                    [-0.01793436, -0.00841747], [0.00502881, -0.01245288]], atol=5e-9)
    np.testing.assert_allclose(output.weight.data, [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]], atol=5e-9)
    assert not hidden.bias.data.any() and not output.bias.data.any()
    assert hidden.weight.dtype == np.float64


def test_flower_first_costs_match_course():
    results = planar_flower.run(num_iterations=2001, baseline=False)
    assert_costs(results["costs"], planar_flower.COURSE_COSTS, iterations=(0, 1000, 2000))


@pytest.mark.slow
def test_flower_full_run_accuracy_and_baseline():
    results = planar_flower.run()  # 10000 iterations, lr 1.2, with scikit-learn's baseline
    assert_costs(results["costs"], planar_flower.COURSE_COSTS, iterations=(0, 1000, 2000, 5000))
    # the late costs vary in the 4th decimal between runs of the notebook itself
    assert abs(results["costs"][9000] - planar_flower.COURSE_COSTS[9000]) < 1e-4
    # The notebook prints "Accuracy: 90%" (int of 90.75). After 10 000 steps at lr 1.2 the last bits of the
    # arithmetic (BLAS summation order, row vs column layout) decide one or two points on the boundary:
    # plain NumPy gives 90.75, we give 90.5 or 90.75 — so assert the published number, 90 %.
    assert int(results["accuracy"]) == 90
    assert results["baseline_accuracy"] == pytest.approx(47.0, abs=1e-9)


@pytest.mark.slow
def test_flower_hidden_size_sweep_small_and_right_sizes():
    X, Y = make_flower()
    accuracies, _ = planar_flower.hidden_size_sweep(X, Y, sizes=(1, 3))
    # one tanh unit cannot draw the petals, three can (notebook: 67.5 % and 90.75 %)
    assert accuracies == {1: pytest.approx(67.5, abs=1e-9), 3: pytest.approx(90.75, abs=1e-9)}


def test_flower_main_writes_plots_and_prints_the_table(tmp_path, capsys):
    results = planar_flower.main(["--iterations", "30", "--quiet", "--no-baseline", "--out", str(tmp_path)])
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["cost.png", "decision_boundary.png"]
    assert all(path.stat().st_size > 1000 for path in tmp_path.iterdir())
    table = capsys.readouterr().out
    row = next(line for line in table.splitlines() if line.startswith("cost after iteration 0 "))
    assert [cell.strip() for cell in row.split("|")] == ["cost after iteration 0", "0.693048",
                                                         f"{results['costs'][0]:.10g}"]


# ----------------------------------------------------------------------------------------------- week 4


def test_deep_initialisations_are_bit_identical_to_the_course():
    two_layer = deep_nn_application.build_model("two_layer")
    np.random.seed(1)
    W1, W2 = np.random.randn(7, 12288) * 0.01, np.random.randn(1, 7) * 0.01
    assert np.array_equal(two_layer[0].weight.data, W1) and np.array_equal(two_layer[2].weight.data, W2)

    l_layer = deep_nn_application.build_model("l_layer")
    np.random.seed(1)
    dims = (12288, 20, 7, 5, 1)
    linears = [l_layer[i] for i in (0, 2, 4, 6)]
    for layer, n_in, n_out in zip(linears, dims[:-1], dims[1:]):
        assert np.array_equal(layer.weight.data, np.random.randn(n_out, n_in) / np.sqrt(n_in))
        assert layer.bias.shape == (n_out,) and not layer.bias.data.any()


def test_deep_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'three_layer'"):
        deep_nn_application.run(model="three_layer")


@needs_course_data
def test_two_layer_first_costs_match_course():
    results = deep_nn_application.run(model="two_layer", num_iterations=101)
    costs, course = results["two_layer"]["costs"], deep_nn_application.COURSE_COSTS["two_layer"]
    assert abs(costs[0] - course[0]) < 1e-12  # printed in full by the notebook
    assert abs(costs[100] - course[100]) < 1e-9


@needs_course_data
def test_l_layer_first_costs_match_course():
    results = deep_nn_application.run(model="l_layer", num_iterations=101)
    assert_costs(results["l_layer"]["costs"], deep_nn_application.COURSE_COSTS["l_layer"], iterations=(0, 100))


@needs_course_data
@pytest.mark.slow
def test_l_layer_full_run_accuracies():
    results = deep_nn_application.run(model="l_layer")["l_layer"]
    assert_costs(results["costs"], deep_nn_application.COURSE_COSTS["l_layer"])
    assert results["train_accuracy"] == pytest.approx(0.985645933014, abs=1e-12)  # 206 of 209
    assert results["test_accuracy"] == pytest.approx(0.8, abs=1e-12)


@needs_course_data
@pytest.mark.slow
def test_two_layer_full_run_accuracies():
    results = deep_nn_application.run(model="two_layer")["two_layer"]
    costs, course = results["costs"], deep_nn_application.COURSE_COSTS["two_layer"]
    assert abs(costs[2400] - course[2400]) < 1e-9
    assert results["train_accuracy"] == 1.0
    assert results["test_accuracy"] == pytest.approx(0.72, abs=1e-12)


# ----------------------------------------------------------------------------------------------- benchmark


def _load_benchmark():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_course_nets.py"
    spec = importlib.util.spec_from_file_location("bench_course_nets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ab_benchmark_times_two_builds_of_the_same_network():
    """benchmarks/ab_flower.py copies two builds under names of their own; a build against itself runs the same
    network (the script refuses builds whose losses differ) and times both."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "ab_flower.py"
    spec = importlib.util.spec_from_file_location("ab_flower", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ratios = module.compare(None, None, runs=2, iterations=1, repeats=2)
    assert len(ratios["new/base"]) == 2 and all(r > 0 for r in ratios["base"] + ratios["new"])


def test_benchmark_networks_compute_the_same_thing():
    """The timed NumPy reference and the timed tinygrad_dl step are the same network, step for step."""
    bench = _load_benchmark()
    from tinygrad_dl import nn

    X, Y = bench.flower_data()
    params, model = bench.numpy_flower_params(), bench.build_flower_model()
    step = bench.tinygrad_step_fn(model, nn.BCEWithLogitsLoss(), X, Y, 1.2)
    for _ in range(20):
        assert step() == pytest.approx(bench.numpy_flower_step(params, X, Y, 1.2), abs=1e-13)
    assert bench.numpy_flower_step(bench.numpy_flower_params(), X, Y, 1.2) == pytest.approx(0.693048, abs=SIX_DIGITS)

    rng = np.random.default_rng(0)  # a small deep net: the same code path as the cat network, less time
    X, Y = rng.random((30, 50)), (rng.random((1, 50)) > 0.5).astype(np.float64)
    dims = [30, 6, 4, 1]
    params, lean, model = bench.numpy_deep_params(dims), bench.numpy_deep_params(dims), bench.build_deep_model(dims)
    step = bench.tinygrad_step_fn(model, nn.BCELoss(), X, Y, 0.5)
    for _ in range(20):
        ours = step()
        assert ours == pytest.approx(bench.numpy_deep_step(params, X, Y, 0.5), abs=1e-13)
        assert ours == pytest.approx(bench.numpy_deep_step(lean, X, Y, 0.5, input_grad=False), abs=1e-13)
