"""tinygrad_dl.generic: one function for ndarrays and Tensors, so a custom backward is differentiable again."""
import numpy as np
import pytest
import scipy.special

import tinygrad_dl as tg
from tinygrad_dl import Function, Tensor, generic as G
from tinygrad_dl.testing import arrays, check_gradients
from tests._shared import Softplus  # the README's op, its backward written with G.sigmoid

X = np.array([[-2.0, -0.5, 0.25], [0.75, 1.5, 3.0]])
POSITIVE = np.abs(X) + 0.5

UNARY = {  # helper: (NumPy twin, input)
    "exp": (np.exp, X), "log": (np.log, POSITIVE), "log1p": (np.log1p, POSITIVE), "expm1": (np.expm1, X),
    "sqrt": (np.sqrt, POSITIVE), "tanh": (np.tanh, X), "sigmoid": (scipy.special.expit, X),
    "relu": (lambda a: np.maximum(a, 0), X), "abs": (np.abs, X),
    "softmax": (lambda a: scipy.special.softmax(a, axis=-1), X),
    "log_softmax": (lambda a: scipy.special.log_softmax(a, axis=-1), X),
    "logsumexp": (scipy.special.logsumexp, X),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_helpers_on_arrays_and_on_tensors(name):
    twin, x = UNARY[name]
    on_array = getattr(G, name)(x)
    on_tensor = getattr(G, name)(Tensor(x, requires_grad=True))
    assert isinstance(on_array, np.ndarray) and not isinstance(on_array, Tensor)
    assert isinstance(on_tensor, Tensor) and on_tensor.grad_fn is not None
    np.testing.assert_allclose(on_array, twin(x), rtol=1e-12)
    np.testing.assert_allclose(on_tensor.data, twin(x), rtol=1e-12)


def test_binary_helpers_and_where():
    a, b = X, X[::-1] * 0.7
    mask = X > 0
    for name, twin in (("maximum", np.maximum), ("minimum", np.minimum)):
        np.testing.assert_array_equal(getattr(G, name)(a, b), twin(a, b))
        for left, right in ((Tensor(a), b), (a, Tensor(b)), (Tensor(a), Tensor(b))):
            result = getattr(G, name)(left, right)
            assert isinstance(result, Tensor)
            np.testing.assert_array_equal(result.data, twin(a, b))
    np.testing.assert_array_equal(G.where(mask, a, b), np.where(mask, a, b))
    np.testing.assert_array_equal(G.where(Tensor(mask), Tensor(a), b).data, np.where(mask, a, b))
    np.testing.assert_array_equal(G.clip(Tensor(a), -1, 1).data, np.clip(a, -1, 1))
    np.testing.assert_array_equal(G.broadcast_to(Tensor(a[0]), (3, 3)).data, np.broadcast_to(a[0], (3, 3)))
    assert G.data(Tensor(a)) is not None and G.data(a) is a and G.is_tensor(Tensor(a)) and not G.is_tensor(a)


# ----------------------------------------------------------------------------------------------------
# The README's Softplus, written with the helpers: first and second derivatives


test_softplus_first_and_second_order = check_gradients(Softplus.apply, arrays(shape=(3, 4)), second_order=True,
                                                       reference=lambda x: np.logaddexp(0, x))


class SafeLog(Function):
    """log(max(x, floor)): a backward with where and maximum, differentiable again."""

    @staticmethod
    def forward(ctx, x, floor=1e-3):
        ctx.save_for_backward(x)
        ctx.above = x > floor
        return np.log(np.maximum(x, floor))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return G.where(ctx.above, grad / G.maximum(x, 1e-3), 0.0)


test_safe_log_first_and_second_order = check_gradients(SafeLog.apply, arrays(shape=(5,), min_value=0.1),
                                                       second_order=True)


# ----------------------------------------------------------------------------------------------------
# A backward that calls NumPy on a Tensor fails and points here


class NumpyOnlyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.exp(-np.logaddexp(0, -x))  # a NumPy ufunc: fails on a Tensor


class ConvertingBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * np.where(True, x, 0)  # np.where turns the Tensor into a constant array


def test_a_numpy_ufunc_in_a_create_graph_backward_points_to_generic():
    x = Tensor(X, requires_grad=True)
    NumpyOnlyBackward.apply(x).sum().backward()  # the normal pass is fine
    with pytest.raises(TypeError, match=r"NumpyOnlyBackward.backward called a NumPy function on a Tensor.*"
                                        r"tinygrad_dl.generic \(exp, log, where, maximum, sigmoid"):
        tg.grad(NumpyOnlyBackward.apply(x).sum(), [x], create_graph=True)


def test_a_numpy_conversion_in_a_create_graph_backward_points_to_generic():
    x = Tensor(X, requires_grad=True)
    with pytest.raises(TypeError, match=r"ConvertingBackward.backward turned a Tensor \(shape \(2, 3\)\) into a NumPy "
                                        r"array.*would silently drop its second-order terms.*tinygrad_dl.generic"):
        tg.grad(ConvertingBackward.apply(x).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(np.asarray(x), X)  # outside a create_graph backward, conversion is fine


def test_nn_uses_the_public_helpers():
    from tinygrad_dl.nn import _ops
    assert _ops._exp is G.exp and _ops._log is G.log and _ops._maximum is G.maximum
