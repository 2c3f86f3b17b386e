"""nn.functional: values against NumPy formulas, gradients against numerical differences (float64),
second derivatives of the fused ops, stability at |x| = 1e3, dtypes and error messages.
(Losses are in test_nn_losses.py.)"""
import re

import numpy as np
import pytest

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, grad, gradcheck, gradgradcheck


def _rng(seed=0):
    return np.random.default_rng(seed)


def _away_from_zero(shape, seed=0):
    """Values with |x| in [0.2, 2): relu-type kinks at 0 stay out of the finite differences."""
    rng = _rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)


def _numpy_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _grads(fn, *arrays):
    """Gradients of sum(fn(*tensors) * fixed weights) with respect to every input."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = _rng(99).standard_normal(out.shape)
    return out, grad((out * weights).sum(), tensors)


# -- linear ------------------------------------------------------------------------------------------------


def test_linear_values_and_gradients():
    rng = _rng()
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w), Tensor(b)).data, x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(F.linear(Tensor(x), w).data, x @ w.T, rtol=1e-12)
    assert gradcheck(F.linear, [x, w, b]).relative_difference < 1e-7
    assert gradgradcheck(F.linear, [x, w, b])


@pytest.mark.parametrize("shape", [(3,), (2, 5, 3)])
def test_linear_on_one_sample_and_on_batched_sequences(shape):
    rng = _rng(1)
    x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 3)), rng.standard_normal(4)
    out = F.linear(Tensor(x), Tensor(w), Tensor(b))
    assert out.shape == shape[:-1] + (4,)
    np.testing.assert_allclose(out.data, x @ w.T + b, rtol=1e-12)
    assert gradcheck(F.linear, [x, w, b])


def test_linear_skips_the_input_gradient_of_data():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    out = F.linear(np.ones((4, 3)), w)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.data, np.full((2, 3), 4.0))


def test_linear_dtypes_are_kept():
    x32 = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    w32 = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    out = F.linear(x32, w32, Tensor(np.ones(4, dtype=np.float32)))
    out.sum().backward()
    assert out.dtype == np.float32 and x32.grad.dtype == np.float32 and w32.grad.dtype == np.float32
    assert F.linear(np.ones((2, 3)), np.ones((4, 3))).dtype == np.float64


def test_linear_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(4, 2\) does not fit a weight of shape \(3, 5\)"):
        F.linear(np.ones((4, 2)), np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"bias has shape \(2,\), expected \(3,\)"):
        F.linear(np.ones((4, 5)), np.ones((3, 5)), np.ones(2))
    # shapes that NumPy would broadcast or multiply without complaint
    for bias_shape in [(1,), (3, 1), (1, 3), ()]:
        with pytest.raises(ValueError, match=rf"linear: bias has shape {re.escape(str(bias_shape))}, expected \(3,\)"):
            F.linear(np.ones((4, 5)), np.ones((3, 5)), np.ones(bias_shape))
    for weight_shape in [(2, 3, 5), (5,)]:
        with pytest.raises(ValueError, match=rf"linear: input of shape \(4, 5\) does not fit a weight of shape "
                                             rf"{re.escape(str(weight_shape))}"):
            F.linear(np.ones((4, 5)), np.ones(weight_shape))
    with pytest.raises(ValueError, match=r"linear: input of shape \(\) does not fit a weight of shape \(3, 5\)"):
        F.linear(np.array(2.0), np.ones((3, 5)))
    assert F.linear(np.ones(5), np.ones((3, 5)), np.ones(3)).shape == (3,)  # a single example works


# -- activations --------------------------------------------------------------------------------------------


def test_relu_sigmoid_tanh_values_and_gradients():
    x = _away_from_zero((3, 4))
    np.testing.assert_array_equal(F.relu(Tensor(x)).data, np.maximum(x, 0))
    np.testing.assert_allclose(F.sigmoid(Tensor(x)).data, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(F.tanh(Tensor(x)).data, np.tanh(x), rtol=1e-14)
    assert F.sigmoid(Tensor(np.array(3.0))).item() == pytest.approx(0.9525741268224334, abs=1e-15)  # course C1 W2
    for fn in (F.relu, F.sigmoid, F.tanh):
        assert gradcheck(fn, [x])


def test_leaky_relu_values_and_gradients():
    x = _away_from_zero((4, 5))
    np.testing.assert_allclose(F.leaky_relu(Tensor(x), 0.2).data, np.where(x > 0, x, 0.2 * x), rtol=1e-15)
    np.testing.assert_allclose(F.leaky_relu(Tensor(x)).data, np.where(x > 0, x, 0.01 * x), rtol=1e-15)
    assert gradcheck(lambda t: F.leaky_relu(t, 0.2), [x]).relative_difference < 1e-8
    assert gradgradcheck(lambda t: F.leaky_relu(t, 0.2) * t, [x])
    x32 = Tensor(x.astype(np.float32), requires_grad=True)
    y = F.leaky_relu(x32, 0.3)
    y.sum().backward()
    assert y.dtype == np.float32 and x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.data, np.where(x > 0, 1.0, 0.3), rtol=1e-7)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_values(axis):
    x = _rng(2).standard_normal((3, 4)) * 3
    expected = _numpy_log_softmax(x, axis)
    np.testing.assert_allclose(F.log_softmax(Tensor(x), axis).data, expected, rtol=1e-13, atol=1e-15)
    probs = F.softmax(Tensor(x), axis).data
    np.testing.assert_allclose(probs, np.exp(expected), rtol=1e-13)
    np.testing.assert_allclose(probs.sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_course_example():
    # C1 W2 "Python basics": softmax of the 2x5 test matrix
    x = np.array([[9, 2, 5, 0, 0], [7, 5, 0, 0, 0]], dtype=np.float64)
    np.testing.assert_allclose(F.softmax(Tensor(x), axis=1).data[0],
                               [9.80897665e-01, 8.94462891e-04, 1.79657674e-02, 1.21052389e-04, 1.21052389e-04],
                               rtol=1e-8)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_gradients_first_and_second_order(fn, axis):
    x = _rng(3).standard_normal((3, 5))
    assert gradcheck(lambda t: fn(t, axis), [x]).relative_difference < 1e-7
    assert gradgradcheck(lambda t: fn(t, axis), [x])


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
def test_fused_softmax_matches_the_composed_version(fn):
    """The fused ops must agree with the same formula built from core ops, values and gradients."""
    def composed(t):
        log_probs = t - t.logsumexp(axis=-1, keepdims=True)
        return log_probs if fn is F.log_softmax else log_probs.exp()

    x = _rng(4).standard_normal((6, 7)) * 4
    out_fused, grads_fused = _grads(fn, x)
    out_comp, grads_comp = _grads(composed, x)
    np.testing.assert_allclose(out_fused.data, out_comp.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads_fused[0].data, grads_comp[0].data, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_finite_at_magnitude_1e3(dtype):
    x = Tensor(np.array([[-1000.0, 0.0, 1000.0], [1000.0, 999.0, -1000.0]], dtype=dtype), requires_grad=True)
    outs = [F.softmax(x), F.log_softmax(x), F.sigmoid(x), F.tanh(x), F.leaky_relu(x)]
    for out in outs:
        assert np.all(np.isfinite(out.data)) and out.dtype == dtype
    np.testing.assert_allclose(F.log_softmax(x).data[0], [-2000.0, -1000.0, 0.0])
    np.testing.assert_allclose(F.softmax(x).data[1], [1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0)), 0.0], rtol=1e-6)
    for out in outs:
        x.grad = None
        (out * Tensor(np.ones(out.shape, dtype=dtype))).sum().backward()
        assert np.all(np.isfinite(x.grad.data)) and x.grad.dtype == dtype


def test_softmax_axis_error():
    with pytest.raises(ValueError, match=r"softmax: axis 2 is out of range for an input of shape \(3, 4\)"):
        F.softmax(Tensor(np.ones((3, 4))), axis=2)


# -- dropout (more in test_nn_layers.py) ---------------------------------------------------------------------


def test_dropout_gradient_with_a_fixed_mask():
    x = _rng(5).standard_normal((4, 6))
    assert gradcheck(lambda t: F.dropout(t, 0.4, generator=np.random.default_rng(8)), [x]).relative_difference < 1e-8
    assert gradgradcheck(lambda t: F.dropout(t, 0.4, generator=np.random.default_rng(8)) * t, [x])


def test_dropout_functional_rules():
    x = Tensor(np.ones((3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="must be in \\[0, 1\\]"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="layout"):
        F.dropout(x, 0.5, layout="diagonal")


# -- batch norm ----------------------------------------------------------------------------------------------


def _numpy_batch_norm(x, w, b, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def test_batch_norm_training_values_and_running_statistics():
    rng = _rng(6)
    x = rng.standard_normal((8, 3)) * 2 + 5
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = np.full(3, 0.5), np.full(3, 2.0)
    out = F.batch_norm(Tensor(x), running_mean, running_var, Tensor(w), Tensor(b), training=True, momentum=0.2)
    np.testing.assert_allclose(out.data, _numpy_batch_norm(x, w, b, 0), rtol=1e-12)
    np.testing.assert_allclose(running_mean, 0.8 * 0.5 + 0.2 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(running_var, 0.8 * 2.0 + 0.2 * x.var(axis=0, ddof=1), rtol=1e-14)  # unbiased


def test_batch_norm_eval_uses_the_running_statistics():
    rng = _rng(7)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    before = running_mean.copy()
    out = F.batch_norm(Tensor(x), running_mean, running_var, w, b, training=False, eps=1e-3)
    np.testing.assert_allclose(out.data, (x - running_mean) / np.sqrt(running_var + 1e-3) * w + b, rtol=1e-12)
    np.testing.assert_array_equal(running_mean, before)
    assert gradcheck(lambda t, w, b: F.batch_norm(t, running_mean, running_var, w, b), [x, w, b])
    assert gradgradcheck(lambda t, w, b: F.batch_norm(t, running_mean, running_var, w, b) * t, [x, w, b])


def test_batch_norm_training_gradients_first_and_second_order():
    rng = _rng(8)
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)

    def fn(t, w, b):
        return F.batch_norm(t, None, None, w, b, training=True)

    assert gradcheck(fn, [x, w, b]).relative_difference < 1e-6
    assert gradgradcheck(fn, [x, w, b], atol=1e-4)
    assert gradcheck(lambda t: F.batch_norm(t, None, None, training=True), [x])  # no affine parameters


def test_fused_batch_norm_matches_the_composed_version():
    rng = _rng(9)
    x, w, b = rng.standard_normal((7, 5)), rng.standard_normal(5), rng.standard_normal(5)

    def composed(t, w, b):
        centered = t - t.mean(axis=0, keepdims=True)
        var = (centered * centered).mean(axis=0, keepdims=True)
        return centered / (var + 1e-5).sqrt() * w + b

    out_fused, grads_fused = _grads(lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True), x, w, b)
    out_comp, grads_comp = _grads(composed, x, w, b)
    np.testing.assert_allclose(out_fused.data, out_comp.data, rtol=1e-12, atol=1e-14)
    for g_fused, g_comp in zip(grads_fused, grads_comp):
        np.testing.assert_allclose(g_fused.data, g_comp.data, rtol=1e-10, atol=1e-13)


def test_batch_norm_on_sequences_and_channels_last():
    rng = _rng(10)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal(4), rng.standard_normal(4)
    out = F.batch_norm(Tensor(x), None, None, w, b, training=True)  # (N, C, L): statistics over N and L
    np.testing.assert_allclose(out.data, _numpy_batch_norm(x, w[:, None], b[:, None], (0, 2)), rtol=1e-12)
    assert gradcheck(lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True), [x, w, b])
    x_nhwc = rng.standard_normal((2, 3, 3, 4))  # Keras' BatchNormalization(axis=3)
    out = F.batch_norm(Tensor(x_nhwc), None, None, w, b, training=True, axis=-1)
    np.testing.assert_allclose(out.data, _numpy_batch_norm(x_nhwc, w, b, (0, 1, 2)), rtol=1e-12)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(Tensor(np.ones((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match=r"running_mean has shape \(4,\), expected \(3,\)"):
        F.batch_norm(Tensor(np.ones((2, 3))), np.zeros(4), np.ones(3), training=True)
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        F.batch_norm(Tensor(np.ones((2, 3))), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.batch_norm(Tensor(np.ones((2, 3))), None, None, np.ones(2), training=True)


# -- layer norm -------------------------------------------------------------------------------------------


def test_layer_norm_values_and_gradients():
    rng = _rng(11)
    x, w, b = rng.standard_normal((4, 6)) * 3 + 1, rng.standard_normal(6), rng.standard_normal(6)
    out = F.layer_norm(Tensor(x), 6, Tensor(w), Tensor(b))
    np.testing.assert_allclose(out.data, _numpy_batch_norm(x, w, b, -1), rtol=1e-12)
    assert gradcheck(lambda t, w, b: F.layer_norm(t, (6,), w, b), [x, w, b]).relative_difference < 1e-7
    assert gradgradcheck(lambda t, w, b: F.layer_norm(t, (6,), w, b), [x, w, b])


def test_layer_norm_over_several_axes():
    rng = _rng(12)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    out = F.layer_norm(Tensor(x), (3, 4), w, b, eps=1e-3)
    np.testing.assert_allclose(out.data, _numpy_batch_norm(x, w, b, (1, 2), eps=1e-3), rtol=1e-12)
    assert gradcheck(lambda t, w, b: F.layer_norm(t, (3, 4), w, b), [x, w, b])
    assert gradcheck(lambda t: F.layer_norm(t, 4), [x])


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"input of shape \(2, 5\) does not end with normalized_shape \(4,\)"):
        F.layer_norm(Tensor(np.ones((2, 5))), 4)
    with pytest.raises(ValueError, match=r"bias has shape \(5,\), expected \(4,\)"):
        F.layer_norm(Tensor(np.ones((2, 4))), 4, np.ones(4), np.ones(5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalization_keeps_the_dtype_and_is_finite_at_1e3(dtype):
    x = Tensor(np.array([[1000.0, -1000.0, 3.0], [-1000.0, 1000.0, 4.0]], dtype=dtype), requires_grad=True)
    w = Tensor(np.ones(3, dtype=dtype), requires_grad=True)
    for out in (F.batch_norm(x, None, None, w, None, training=True), F.layer_norm(x, 3, w)):
        x.grad = w.grad = None
        (out * Tensor(np.arange(6, dtype=dtype).reshape(2, 3))).sum().backward()
        assert out.dtype == dtype and x.grad.dtype == dtype and w.grad.dtype == dtype
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))


# -- l2 penalty --------------------------------------------------------------------------------------------


def _course_regularization_case():
    """testCases.compute_cost_with_regularization_test_case (C2 W1 Regularization)."""
    np.random.seed(1)
    Y = np.array([[1, 1, 0, 1, 0]])
    W1, _ = np.random.randn(2, 3), np.random.randn(2, 1)
    W2, _ = np.random.randn(3, 2), np.random.randn(3, 1)
    W3, _ = np.random.randn(1, 3), np.random.randn(1, 1)
    A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    return A3, Y, [W1, W2, W3]


def test_l2_penalty_reproduces_the_course_cost_with_regularization():
    A3, Y, weights = _course_regularization_case()
    cost = F.binary_cross_entropy(Tensor(A3), Y) + F.l2_penalty([Tensor(w) for w in weights], 0.1, 5)
    assert cost.item() == pytest.approx(1.78648594516, abs=5e-12)
    expected = (1 / 5) * (0.1 / 2) * sum(np.sum(np.square(w)) for w in weights)
    assert F.l2_penalty([Tensor(w) for w in weights], 0.1, 5).item() == pytest.approx(expected, rel=1e-15)


def test_l2_penalty_gradient_is_lambda_over_m_times_w():
    _, _, weights = _course_regularization_case()
    tensors = [Tensor(w, requires_grad=True) for w in weights]
    F.l2_penalty(tensors, 0.7, 5).backward()
    for t, w in zip(tensors, weights):
        np.testing.assert_allclose(t.grad.data, 0.7 / 5 * w, rtol=1e-14)
    assert gradcheck(lambda a, b: F.l2_penalty([a, b], 0.7, 3), weights[:2])


def test_l2_penalty_errors():
    with pytest.raises(TypeError, match="iterable of weight tensors"):
        F.l2_penalty(Tensor(np.ones(2)), 0.1, 2)
    with pytest.raises(ValueError, match="no weights"):
        F.l2_penalty([], 0.1, 2)
    with pytest.raises(ValueError, match="must be positive"):
        F.l2_penalty([Tensor(np.ones(2))], 0.1, 0)


# -- property tests (hypothesis, with the shipped tinygrad_dl.testing tools) ---------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tinygrad_dl.testing import arrays, assert_gradients_match, distinct_values, shapes  # noqa: E402


@st.composite
def _array_and_axis(draw, min_dims=1):
    x = draw(arrays(shape=shapes(min_dims=min_dims, max_dims=3), min_value=-4, max_value=4))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@given(_array_and_axis())
def test_property_softmax_and_log_softmax(case):
    x, axis = case
    assert_gradients_match(lambda t: F.softmax(t, axis), x, second_order=True,
                           reference=lambda a: np.exp(_numpy_log_softmax(a, axis)))
    assert_gradients_match(lambda t: F.log_softmax(t, axis), x, reference=lambda a: _numpy_log_softmax(a, axis))


@given(arrays(shape=shapes(min_dims=0, max_dims=3), away_from=0), st.floats(0.0, 0.5))
def test_property_leaky_relu(x, slope):
    assert_gradients_match(lambda t: F.leaky_relu(t, slope), x, reference=lambda a: np.where(a > 0, a, slope * a))


@st.composite
def _linear_case(draw):
    batch = draw(shapes(min_dims=0, max_dims=2))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(arrays(shape=batch + (n_in,)))
    w = draw(arrays(shape=(n_out, n_in)))
    b = draw(arrays(shape=(n_out,)))
    return x, w, b


@given(_linear_case())
def test_property_linear(case):
    assert_gradients_match(F.linear, *case, second_order=True, reference=lambda x, w, b: x @ w.T + b)


@st.composite
def _norm_case(draw, batch_norm):
    n_batch, n_features = draw(st.integers(2 if batch_norm else 1, 4)), draw(st.integers(2, 4))
    x, w, b = draw(distinct_values([(n_batch, n_features), (n_features,), (n_features,)], gap=0.05))
    return x, w, b


@given(_norm_case(batch_norm=True))
def test_property_batch_norm_training(case):
    x, w, b = case
    assert_gradients_match(lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True), x, w, b,
                           reference=lambda x, w, b: _numpy_batch_norm(x, w, b, 0))


@given(_norm_case(batch_norm=False))
def test_property_layer_norm(case):
    x, w, b = case
    assert_gradients_match(lambda t, w, b: F.layer_norm(t, x.shape[-1], w, b), x, w, b,
                           reference=lambda x, w, b: _numpy_batch_norm(x, w, b, -1))
