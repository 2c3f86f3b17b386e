"""Tests for tinygrad_dl.optim.random_mini_batches (C2 W2 Optimization)."""
import numpy as np
import pytest

from tinygrad_dl import Tensor, optim


def course_case():
    # testCases.random_mini_batches_test_case: seed 1, X randn(12288, 148), Y randn(1, 148) < 0.5, size 64.
    np.random.seed(1)
    X = np.random.randn(12288, 148)
    Y = np.random.randn(1, 148) < 0.5
    return X, Y


def test_course_unit_test_shapes_and_sanity_check():
    X, Y = course_case()
    batches = optim.random_mini_batches(X, Y, 64)  # seed=0, as the course's default
    assert [bx.shape for bx, _ in batches] == [(12288, 64), (12288, 64), (12288, 20)]
    assert [by.shape for _, by in batches] == [(1, 64), (1, 64), (1, 20)]
    np.testing.assert_allclose(batches[0][0][0][0:3], [0.90085595, -0.7612069, 0.2344157], atol=5e-9)


def test_batches_are_the_course_permutation_cut_in_order():
    X, Y = course_case()
    batches = optim.random_mini_batches(X, Y, 64, seed=3)
    np.random.seed(3)
    permutation = list(np.random.permutation(148))
    np.testing.assert_array_equal(np.hstack([bx for bx, _ in batches]), X[:, permutation])
    np.testing.assert_array_equal(np.hstack([by for _, by in batches]), Y[:, permutation])
    assert batches[0][1].dtype == np.bool_  # labels keep their dtype


def test_axis_0_gives_the_transposed_batches():
    X, Y = course_case()
    X = X[:50]  # keep it small: 50 features, 148 examples
    columns = optim.random_mini_batches(X, Y, 32, seed=7)
    rows = optim.random_mini_batches(X.T, Y.T, 32, seed=7, axis=0)
    assert len(rows) == len(columns) == 5
    for (cx, cy), (rx, ry) in zip(columns, rows):
        np.testing.assert_array_equal(rx, cx.T)
        np.testing.assert_array_equal(ry, cy.T)
    assert rows[-1][0].shape == (148 - 4 * 32, 50)
    labels = optim.random_mini_batches(X.T, Y[0], 32, seed=7, axis=0)  # 1-D labels with row-major data
    np.testing.assert_array_equal(labels[1][1], columns[1][1][0])


def test_tensors_in_tensors_out():
    X, Y = course_case()
    X = X[:10]
    tensor_batches = optim.random_mini_batches(Tensor(X), Tensor(Y.astype(np.float64)), 64, seed=2)
    array_batches = optim.random_mini_batches(X, Y, 64, seed=2)
    for (tx, ty), (ax, ay) in zip(tensor_batches, array_batches):
        assert isinstance(tx, Tensor) and isinstance(ty, Tensor)
        np.testing.assert_array_equal(tx.data, ax)
        np.testing.assert_array_equal(ty.data, ay)
    mixed = optim.random_mini_batches(Tensor(X), Y, 64, seed=2)
    assert isinstance(mixed[0][0], Tensor) and isinstance(mixed[0][1], np.ndarray)


def test_gradient_flows_through_tensor_batches():
    X = Tensor(np.arange(12.0).reshape(2, 6), requires_grad=True)
    Y = np.zeros((1, 6))
    batches = optim.random_mini_batches(X, Y, 4, seed=0)
    (batches[1][0] * 2.0).sum().backward()  # the last batch: 2 of the 6 columns
    np.random.seed(0)
    last_columns = np.random.permutation(6)[4:]
    expected = np.zeros((2, 6))
    expected[:, last_columns] = 2.0
    np.testing.assert_array_equal(X.grad.data, expected)


def test_exact_multiple_has_no_partial_batch_and_moons_split():
    X, Y = np.ones((2, 128)), np.zeros((1, 128))
    assert [bx.shape[1] for bx, _ in optim.random_mini_batches(X, Y, 64)] == [64, 64]
    X, Y = np.ones((2, 300)), np.zeros((1, 300))  # the moons: 4 x 64 + 44
    assert [bx.shape[1] for bx, _ in optim.random_mini_batches(X, Y, 64, seed=11)] == [64, 64, 64, 64, 44]
    assert [bx.shape[1] for bx, _ in optim.random_mini_batches(X, Y, 1000)] == [300]


def test_seeding_uses_the_global_rng_like_the_course():
    X = np.arange(20.0).reshape(1, 20)
    first = optim.random_mini_batches(X, X, 5, seed=10)
    np.random.seed(10)
    np.random.permutation(20)
    after_course_call = np.random.rand()
    optim.random_mini_batches(X, X, 5, seed=10)
    assert np.random.rand() == after_course_call  # the global stream is left where the course leaves it
    again = optim.random_mini_batches(X, X, 5, seed=10)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again))
    other = optim.random_mini_batches(X, X, 5, seed=11)
    assert not np.array_equal(first[0][0], other[0][0])
    np.random.seed(10)
    unseeded = optim.random_mini_batches(X, X, 5, seed=None)  # continues the stream: same as seeding 10 here
    np.testing.assert_array_equal(unseeded[0][0], first[0][0])


def test_datasets_reexports_the_same_function():
    datasets = pytest.importorskip("tinygrad_dl.data")
    assert datasets.random_mini_batches is optim.random_mini_batches


def test_bad_input():
    X, Y = np.ones((3, 10)), np.ones((1, 9))
    with pytest.raises(ValueError, match=r"X \(shape \(3, 10\)\) and Y \(shape \(1, 9\)\) must hold the same number"):
        optim.random_mini_batches(X, Y, 4)
    with pytest.raises(ValueError, match="mini_batch_size must be a positive integer, got 0"):
        optim.random_mini_batches(X, X, 0)
    with pytest.raises(ValueError, match="mini_batch_size must be a positive integer, got 2.5"):
        optim.random_mini_batches(X, X, 2.5)
    with pytest.raises(ValueError, match="axis must be 1 .* or 0 .*got 2"):
        optim.random_mini_batches(X, X, 4, axis=2)
    with pytest.raises(ValueError, match=r"axis=1 .* Y has shape \(10,\)"):
        optim.random_mini_batches(X, np.ones(10), 4)
    with pytest.raises(TypeError, match="X must be a NumPy array or a Tensor, got list"):
        optim.random_mini_batches([[1.0, 2.0]], X, 4)
