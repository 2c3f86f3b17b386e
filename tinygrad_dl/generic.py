"""Functions that take a NumPy array *or* a Tensor: write a ``Function.backward`` once, differentiable again.

During a normal backward pass the engine hands ``backward`` NumPy arrays (fast); with
``backward(create_graph=True)`` it hands it Tensors, so the backward pass itself is recorded and can be
differentiated again. NumPy's functions (``np.exp``, ``np.where``...) do not work on Tensors, and Tensor
methods do not exist on arrays; these do both::

    from tinygrad_dl import Function, generic as G

    class Softplus(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.logaddexp(0, x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * G.sigmoid(x)      # np.ndarray in, ndarray out; Tensor in, Tensor out

Operators (``+ - * / ** @``), ``.sum(axis, keepdims)``, ``.mean``, ``.reshape``, ``.transpose``, ``.T`` and
``.swapaxes`` already work on both and need no helper. Masks and indices (a comparison of saved arrays)
are constants: compute them in ``forward`` and keep them on ``ctx``; ``G.data(x)`` gives the array behind
either kind when you need one.
"""
import numpy as np

from .tensor import Tensor

__all__ = ["is_tensor", "data", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sigmoid", "relu", "abs",
           "maximum", "minimum", "clip", "where", "logsumexp", "softmax", "log_softmax", "broadcast_to"]


def is_tensor(x):
    """True for a Tensor (the create_graph case), False for an ndarray or a number."""
    return isinstance(x, Tensor)


def data(x):
    """The NumPy array behind ``x`` (``x.data`` for a Tensor, ``x`` itself otherwise): a constant."""
    return x.data if isinstance(x, Tensor) else x


def exp(x):
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x):
    return x.log() if isinstance(x, Tensor) else np.log(x)


def log1p(x):
    return x.log1p() if isinstance(x, Tensor) else np.log1p(x)


def expm1(x):
    return x.expm1() if isinstance(x, Tensor) else np.expm1(x)


def sqrt(x):
    return x.sqrt() if isinstance(x, Tensor) else np.sqrt(x)


def tanh(x):
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def sigmoid(x):
    """1 / (1 + e^-x), the course's formula (so course runs match bit for bit); accurate in both tails (e^-x
    overflowing to inf for x < -709 gives the right limit 0, silently). An array's is computed in one fresh
    array."""
    if isinstance(x, Tensor):
        return x.sigmoid()
    if type(x) is not np.ndarray or not x.ndim or x.dtype.kind != "f":  # (a 0-d input gives a NumPy scalar)
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))
    out = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)  # (the same IEEE division as 1 / out)


def relu(x):
    return x.relu() if isinstance(x, Tensor) else np.maximum(x, 0)


def abs(x):  # noqa: A001 (NumPy's name)
    return x.abs() if isinstance(x, Tensor) else np.abs(x)


def maximum(a, b):
    """Elementwise maximum; on a tie the gradient goes to ``a``."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return _ops.Maximum.apply(a, b)
    return np.maximum(a, b)


def minimum(a, b):
    """Elementwise minimum; on a tie the gradient goes to ``a``."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return _ops.Minimum.apply(a, b)
    return np.minimum(a, b)


def clip(x, low=None, high=None):
    return x.clip(low, high) if isinstance(x, Tensor) else np.clip(x, low, high)


def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``; the condition is a constant (an array, or a Tensor's data)."""
    condition = data(condition)
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return _ops.Where.apply(a, b, condition)
    return np.where(condition, a, b)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) along ``axis``, shifted by the maximum so it never overflows."""
    if isinstance(x, Tensor):
        return x.logsumexp(axis=axis, keepdims=keepdims)
    return _ops.logsumexp_array(x, axis, keepdims)


def softmax(x, axis=-1):
    return x.softmax(axis) if isinstance(x, Tensor) else _ops.softmax_array(x, axis)


def log_softmax(x, axis=-1):
    return x.log_softmax(axis) if isinstance(x, Tensor) else _ops.log_softmax_array(x, axis)


def broadcast_to(x, shape):
    return x.broadcast_to(shape) if isinstance(x, Tensor) else np.broadcast_to(x, shape)


from . import ops as _ops  # noqa: E402  (ops.py uses these helpers in its own backward formulas)
