"""Losses: values against NumPy formulas and the course's printed costs, reductions, gradients against
numerical differences (float64), stability (p in {0, 1}, logits at 1e3), dtypes and error messages."""
import numpy as np
import pytest

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, gradcheck, gradgradcheck, nn

REDUCTIONS = ["mean", "sum", "none"]


def _reduce(values, reduction):
    return values.mean() if reduction == "mean" else values.sum() if reduction == "sum" else values


def _probs_and_labels(shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, shape), (rng.random(shape) > 0.5).astype(np.float64)


# -- BCELoss ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_and_gradients(reduction):
    p, y = _probs_and_labels()
    expected = _reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    np.testing.assert_allclose(nn.BCELoss(reduction=reduction)(Tensor(p), y).data, expected, rtol=1e-13)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, y]).relative_difference < 1e-7


def test_bce_course_costs():
    # C1 W4 compute_cost (v8a): Y = [[1, 1, 0]], AL = [[.8, .9, .4]]
    cost = F.binary_cross_entropy(Tensor(np.array([[0.8, 0.9, 0.4]])), np.array([[1, 1, 0]]))
    assert cost.item() == pytest.approx(0.2797765635793422, abs=1e-15)
    # C1 W2 propagate v6a: w = [[1.], [2.]], b = 2., X = [[1., 2., -1.], [3., 4., -3.2]], Y = [[1, 0, 1]]
    w = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    b = Tensor(np.array(2.0), requires_grad=True)
    X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    A = (w.T @ X + b).sigmoid()
    cost = nn.BCELoss()(A, np.array([[1, 0, 1]]))
    cost.backward()
    assert cost.item() == pytest.approx(5.801545319394553, rel=1e-12)
    np.testing.assert_allclose(w.grad.data, [[0.99845601], [2.39507239]], atol=5e-9)
    assert b.grad.item() == pytest.approx(0.00145557813678, abs=5e-14)


def test_bce_at_probabilities_0_and_1_is_finite_like_pytorch():
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])  # log clamped at -100
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.data))
    np.testing.assert_allclose(p.grad.data, [-1e12, 1e12, 0.0, 0.0])  # (p - y) / max(p (1 - p), 1e-12)


def test_bce_gradient_with_respect_to_the_target():
    p, y = _probs_and_labels(seed=1)
    soft_y = np.random.default_rng(2).random(y.shape)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b), [p, soft_y])
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), [p, soft_y])


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        F.binary_cross_entropy(Tensor(np.array([0.5, 1.5])), np.array([0.0, 1.0]))


# -- BCEWithLogitsLoss ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_equals_bce_of_sigmoid(reduction):
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((4, 3)) * 3, (rng.random((4, 3)) > 0.5).astype(float)
    p = 1 / (1 + np.exp(-z))
    expected = _reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    # (the reference loses digits in log(1 - p) when p is near 1, hence rtol 1e-9)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction=reduction)(Tensor(z), y).data, expected, rtol=1e-9)
    assert gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, y, reduction=reduction), [z]).relative_difference < 1e-7
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [z, rng.random((4, 3))])


def test_bce_with_logits_course_propagate_gradients():
    # C1 W2 propagate (K), written with logits: same cost and grads as sigmoid + BCE
    w = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    b = Tensor(np.array(2.0), requires_grad=True)
    cost = F.binary_cross_entropy_with_logits(w.T @ np.array([[1.0, 2.0], [3.0, 4.0]]) + b, np.array([[1, 0]]))
    cost.backward()
    assert cost.item() == pytest.approx(6.000064773192205, rel=1e-12)
    np.testing.assert_allclose(w.grad.data, [[0.99993216], [1.99980262]], atol=5e-9)
    assert b.grad.item() == pytest.approx(0.499935230625, abs=5e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_never_overflows(dtype):
    z = Tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [1000.0, 1000.0, 0.0, 0.0])
    loss.sum().backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype
    np.testing.assert_array_equal(z.grad.data, [1.0, -1.0, 0.0, 0.0])  # sigmoid(z) - y


def test_bce_with_logits_target_gradient():
    z = np.random.default_rng(4).standard_normal(5)
    y = np.random.default_rng(5).random(5)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b), [z, y])


# -- CrossEntropyLoss ------------------------------------------------------------------------------------------


def _numpy_cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_indices(reduction):
    rng = np.random.default_rng(6)
    logits, labels = rng.standard_normal((5, 4)) * 2, np.array([0, 3, 1, 1, 2])
    expected = _reduce(_numpy_cross_entropy(logits, labels), reduction)
    np.testing.assert_allclose(nn.CrossEntropyLoss(reduction=reduction)(Tensor(logits), labels).data, expected, rtol=1e-13)
    assert gradcheck(lambda a: F.cross_entropy(a, labels, reduction=reduction), [logits]).relative_difference < 1e-7
    assert gradgradcheck(lambda a: F.cross_entropy(a, labels, reduction=reduction), [logits])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    rng = np.random.default_rng(7)
    logits, labels = rng.standard_normal((4, 3)), np.array([2, 0, 1, 2])
    x = Tensor(logits, requires_grad=True)
    F.cross_entropy(x, labels).backward()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, (probs - np.eye(3)[labels]) / 4, rtol=1e-12)


def test_cross_entropy_one_hot_equals_indices_and_soft_targets_work():
    rng = np.random.default_rng(8)
    logits, labels = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    one_hot = np.eye(5)[labels]
    assert F.cross_entropy(Tensor(logits), one_hot).item() == pytest.approx(
        F.cross_entropy(Tensor(logits), labels).item(), rel=1e-14)
    soft = rng.random((6, 5))
    soft /= soft.sum(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert F.cross_entropy(Tensor(logits), soft, reduction="sum").item() == pytest.approx(-(soft * log_probs).sum())
    assert gradcheck(lambda a, b: F.cross_entropy(a, b), [logits, soft]).relative_difference < 1e-7
    assert gradgradcheck(lambda a, b: F.cross_entropy(a, b), [logits, soft])


def test_cross_entropy_in_the_course_column_layout():
    rng = np.random.default_rng(9)
    logits, labels = rng.standard_normal((6, 4)), np.array([5, 0, 2, 2])  # (classes, m) as in C2 W3
    expected = _numpy_cross_entropy(logits.T, labels)
    np.testing.assert_allclose(F.cross_entropy(Tensor(logits), labels, axis=0, reduction="none").data, expected,
                               rtol=1e-13)
    one_hot = np.eye(6)[labels].T
    assert nn.CrossEntropyLoss(axis=0)(Tensor(logits), one_hot).item() == pytest.approx(expected.mean(), rel=1e-13)
    assert gradcheck(lambda a: F.cross_entropy(a, labels, axis=0), [logits])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_for_logits_of_magnitude_1e3(dtype):
    logits = Tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], dtype=dtype), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1, 2]), reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 1.0 + np.log1p(np.exp(-1.0))], rtol=1e-6)
    loss.sum().backward()
    assert loss.dtype == dtype and logits.grad.dtype == dtype and np.all(np.isfinite(logits.grad.data))


def test_cross_entropy_label_checks():
    logits = Tensor(np.zeros((3, 4)))
    assert F.cross_entropy(logits, np.array([0.0, 1.0, 3.0])).item() == pytest.approx(np.log(4))  # whole floats ok
    with pytest.raises(IndexError, match=r"class indices must be in \[0, 4\)"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="whole numbers"):
        F.cross_entropy(logits, np.array([0.5, 1, 2]))
    with pytest.raises(ValueError, match=r"target of shape \(4,\) fits logits of shape \(3, 4\) \(class axis 1\) neither"):
        F.cross_entropy(logits, np.array([0, 1, 2, 3]))


# -- MSELoss ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_values_and_gradients(reduction):
    rng = np.random.default_rng(10)
    p, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(nn.MSELoss(reduction)(Tensor(p), y).data, _reduce((p - y) ** 2, reduction), rtol=1e-14)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [p, y]).relative_difference < 1e-7


# -- common rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_fn", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.mse_loss])
def test_losses_do_not_broadcast(loss_fn):
    with pytest.raises(ValueError, match=r"prediction of shape \(1, 5\) and target of shape \(5,\) must have the "
                                         r"same shape"):
        loss_fn(Tensor(np.full((1, 5), 0.5)), np.ones(5))


@pytest.mark.parametrize("loss", [nn.BCELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.MSELoss])
def test_reduction_is_validated(loss):
    with pytest.raises(ValueError, match="reduction must be one of"):
        loss(reduction="avg")


def test_float32_predictions_stay_float32_with_integer_or_float64_targets():
    p = Tensor(np.full((2, 3), 0.25, dtype=np.float32), requires_grad=True)
    for out in (F.binary_cross_entropy(p, np.ones((2, 3), dtype=np.int64)),
                F.binary_cross_entropy_with_logits(p, np.ones((2, 3))),
                F.mse_loss(p, np.ones((2, 3))),
                F.cross_entropy(p, np.array([0, 2])),
                F.cross_entropy(p, np.eye(3)[[0, 2]])):
        p.grad = None
        out.backward()
        assert out.dtype == np.float32 and p.grad.dtype == np.float32


def test_integer_predictions_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        F.mse_loss(Tensor(np.ones(3, dtype=np.int64)), np.ones(3))


# -- property tests (hypothesis, with the shipped tinygrad_dl.testing tools) ---------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tinygrad_dl.testing import arrays, assert_gradients_match, shapes  # noqa: E402


@st.composite
def _logits_and_labels(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    logits = draw(arrays(shape=(n, c), min_value=-5, max_value=5))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return logits, labels, draw(st.sampled_from(REDUCTIONS))


@given(_logits_and_labels())
def test_property_cross_entropy(case):
    logits, labels, reduction = case
    assert_gradients_match(lambda t: F.cross_entropy(t, labels, reduction=reduction), logits,
                           reference=lambda a: _reduce(_numpy_cross_entropy(a, labels), reduction))


@given(st.data())
def test_property_binary_losses(data):
    shape = data.draw(shapes(min_dims=0, max_dims=3))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    p = data.draw(arrays(shape=shape, min_value=0.05, max_value=0.95))
    z = data.draw(arrays(shape=shape, min_value=-6, max_value=6))
    y = data.draw(arrays(shape=shape, min_value=0.0, max_value=1.0))

    def bce(a, b):
        return _reduce(-(b * np.log(a) + (1 - b) * np.log1p(-a)), reduction)

    assert_gradients_match(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), p, y, reference=bce)
    assert_gradients_match(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), z, y,
                           reference=lambda a, b: bce(1 / (1 + np.exp(-a)), b))
    assert_gradients_match(lambda a, b: F.mse_loss(a, b, reduction), p, y,
                           reference=lambda a, b: _reduce((a - b) ** 2, reduction))
