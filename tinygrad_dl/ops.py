"""The primitive operations. Each is a ``Function``; its backward sits right below its forward.

Backward formulas use only operators and methods that both ``numpy.ndarray`` and ``Tensor`` have, so the
same code runs on arrays in the normal case and on Tensors under ``backward(create_graph=True)``.
Constant arrays (masks, signs) are kept as ctx attributes; values whose derivative matters go through
``save_for_backward``. The engine reduces broadcast gradients and casts dtypes, so binary ops return the
gradient at the output's shape.
"""
import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from . import generic as G
from ._constants import ONE as _ONE
from .autograd import Function, SliceGrad
from .tensor import Tensor


_ndarray = np.ndarray


def _saved_output(out):
    """A ufunc on a 0-d array returns a NumPy scalar; make it the 0-d array the output Tensor will hold,
    so create_graph recognises the saved output as the output (and differentiates through it)."""
    return out if type(out) is _ndarray else np.asarray(out)


def _zeros_then_add(grad, shape, index):
    """Scatter ``grad`` into zeros of ``shape`` at ``index`` (repeated indices add up)."""
    if isinstance(grad, Tensor):
        return ScatterAdd.apply(grad, shape=shape, index=index)
    return ScatterAdd.forward(None, grad, shape=shape, index=index)


# ---------------------------------------------------------------------------------------------------
# Elementwise binary ops (NumPy broadcasting; a Python scalar never changes the tensor's dtype)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        # keep only what the backward reads: b for a's gradient, a for b's (so changing the other is fine)
        ctx.saved_tensors = (a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.saved_tensors = (a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * a / b if need_b else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = _saved_output(a ** b)
        ctx.saved_tensors = (a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad * _pow_slope_in_base(a, b) if need_a else None
        grad_b = grad * _pow_slope_in_exponent(a, b, out) if need_b else None
        return grad_a, grad_b


def _pow_slope_in_base(a, b):
    """d(a^b)/da = b a^(b-1). At a = 0 with b = 0 that is 0 * inf: taken as 0 there, like PyTorch (x^0 is
    constant); everywhere else the formula (and its own derivatives) stand."""
    exponent = G.data(b)
    if np.ndim(exponent) == 0 and exponent != 0:  # the common case, x ** 2
        return b * a ** (b - 1)
    zero = (exponent == 0) & (G.data(a) == 0)
    if not np.any(zero):
        return b * a ** (b - 1)
    return b * a ** G.where(zero, 1, b - 1)  # b * 0^1 = 0 there instead of 0 * 0^-1


def _pow_slope_in_exponent(a, b, out):
    """d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (its limit; log 0 would give 0 * -inf)."""
    zero = (G.data(a) == 0) & (G.data(b) >= 0)
    if not np.any(zero):
        return out * G.log(a)
    return out * G.log(G.where(zero, 1, a))  # log 1 = 0 there


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_wins = a >= b  # ties send the gradient to a
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (grad * ctx.a_wins if need_a else None), (grad * ~ctx.a_wins if need_b else None)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_wins = a <= b
        return np.minimum(a, b)

    backward = Maximum.backward  # the same routing: the gradient goes where a_wins says


class Where(Function):
    @staticmethod
    def forward(ctx, a, b, condition):
        mask = np.asarray(condition)
        if mask.dtype.kind not in "biuf":
            raise TypeError(f"the condition must be a boolean array or tensor, got {condition!r:.60}")
        ctx.condition = mask.astype(bool, copy=False)
        return np.where(ctx.condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b, _ = ctx.needs_input_grad
        return (grad * ctx.condition if need_a else None), (grad * ~ctx.condition if need_b else None), None


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a is None or b is None:
            raise TypeError("matmul takes two tensors, got None")
        ndims = (a.ndim if type(a) is _ndarray else np.ndim(a), b.ndim if type(b) is _ndarray else np.ndim(b))
        if not (ndims[0] and ndims[1]):
            raise ValueError("matmul does not take 0-d operands; use * for scalars")
        need_a, need_b = ctx.needs_input_grad
        ctx._ndims = ndims  # underscore: bookkeeping, not an argument to show
        ctx.saved_tensors = (a if need_b else None, b if need_a else None)  # b for a's gradient, a for b's
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"shapes {np.shape(a)} and {np.shape(b)} are not aligned: "
                             f"{np.shape(a)[-1]} (last axis of the first) != "
                             f"{np.shape(b)[-2 if np.ndim(b) > 1 else 0]} "
                             f"({'second-to-last' if np.ndim(b) > 1 else 'only'} axis of the second)") from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_ndim, b_ndim = ctx._ndims
        if a_ndim == 1 and b_ndim == 1:  # dot product: grad is a scalar
            return (grad * b if need_a else None), (grad * a if need_b else None)
        if a_ndim == 1:  # (k,) @ (..., k, n): treat a as a row
            grad_row = grad[..., None, :]
            grad_a = (grad_row @ b.swapaxes(-1, -2))[..., 0, :] if need_a else None
            grad_b = a[:, None] @ grad_row if need_b else None
            return grad_a, grad_b
        if b_ndim == 1:  # (..., m, k) @ (k,): treat b as a column
            grad_col = grad[..., None]
            grad_a = grad_col @ b[None, :] if need_a else None
            grad_b = (a.swapaxes(-1, -2) @ grad_col)[..., 0] if need_b else None
            return grad_a, grad_b
        grad_a = grad @ b.swapaxes(-1, -2) if need_a else None
        grad_b = a.swapaxes(-1, -2) @ grad if need_b else None
        return grad_a, grad_b


# ---------------------------------------------------------------------------------------------------
# Elementwise unary ops


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = _saved_output(np.exp(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.saved_tensors = (x,)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.saved_tensors = (x,)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + x)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        out = _saved_output(np.expm1(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = _saved_output(np.sqrt(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * 0.5 / out


class Tanh(Function):
    exact_grads = True  # x's shape and dtype, 0-d too (see autograd.Function)

    @staticmethod
    def forward(ctx, x):
        out = _saved_output(np.tanh(x))  # saturates to exactly +-1 without overflow
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if type(grad) is np.ndarray:  # (the engine hands grad in out's shape and dtype)
            if out.ndim:  # grad * (1 - out²) in one fresh array instead of three: the same products
                slope = np.square(out)
                np.subtract(_ONE[slope.dtype], slope, out=slope)
                return np.multiply(slope, grad, out=slope)
            return np.asarray(grad * (1 - out * out))  # (NumPy gives a scalar for 0-d arrays)
        return grad * (1 - out * out)  # Tensors (create_graph)


class Sigmoid(Function):
    exact_grads = True  # x's shape and dtype, 0-d too (see autograd.Function)

    @staticmethod
    def forward(ctx, x):
        out = _saved_output(G.sigmoid(x))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        if type(grad) is np.ndarray:  # (the engine hands grad in out's shape and dtype)
            if out.ndim:  # (grad * out) * (1 - out), the course's order, with one temporary fewer
                result = np.multiply(grad, out)
                return np.multiply(result, np.subtract(_ONE[out.dtype], out), out=result)
            return np.asarray(grad * out * (1 - out))  # (NumPy gives a scalar for 0-d arrays)
        return grad * out * (1 - out)  # Tensors (create_graph)


class ReLU(Function):
    exact_grads = True  # x's shape and dtype, 0-d too (see autograd.Function)

    @staticmethod
    def forward(ctx, x):
        ctx.positive = x > 0
        return x * ctx.positive

    @staticmethod
    def backward(ctx, grad):
        if type(grad) is np.ndarray:
            return np.asarray(grad * ctx.positive)  # (a new array; NumPy gives a scalar for 0-d arrays)
        return grad * ctx.positive


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.sign(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.sign


class Clip(Function):
    @staticmethod
    def forward(ctx, x, low=None, high=None):
        ctx.low, ctx.high = low, high
        ctx.inside = np.ones(np.shape(x), dtype=bool)
        if low is not None:
            ctx.inside &= x >= low
        if high is not None:
            ctx.inside &= x <= high
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.inside


class AsType(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine casts it back to the input's dtype


# ---------------------------------------------------------------------------------------------------
# Reductions (axis: None, an int or a tuple, negative allowed; keepdims like NumPy)


def _axes(axis, ndim):
    """``axis`` (an int or a tuple of ints) as a tuple of non-negative axes; out of range is an AxisError."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"axis must be None, an integer or a tuple of integers, got {axis!r}")
    return normalize_axis_tuple(axis, ndim)


def _reduction_setup(ctx, x, axis, keepdims):
    """Store the normalised axes and the shape the gradient takes before broadcasting back."""
    ctx.axis = None if axis is None else _axes(axis, x.ndim)
    ctx.keepdims = keepdims
    ctx.input_shape = x.shape
    axes = range(x.ndim) if ctx.axis is None else ctx.axis
    ctx.kept_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    ctx.out_shape = ctx.kept_shape if keepdims else tuple(n for i, n in enumerate(x.shape) if i not in axes)
    ctx.count = math.prod(x.shape[i] for i in axes)
    return ctx.axis


def _grad_to_input(ctx, grad):
    """Broadcast the gradient of a reduction back over the reduced axes."""
    return G.broadcast_to(grad.reshape(ctx.kept_shape), ctx.input_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return np.sum(x, axis=_reduction_setup(ctx, x, axis, keepdims), keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _grad_to_input(ctx, grad)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return np.mean(x, axis=_reduction_setup(ctx, x, axis, keepdims), keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return _grad_to_input(ctx, grad) * (1.0 / ctx.count)


class Max(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axis = _reduction_setup(ctx, x, axis, keepdims)
        out = np.max(x, axis=axis, keepdims=True)
        winners = x == out
        # ties share the gradient equally
        ctx.share = winners / np.sum(winners, axis=axis, keepdims=True)
        return out.reshape(ctx.out_shape)  # (axis=() reduces nothing: the shape stays)

    @staticmethod
    def backward(ctx, grad):
        return _grad_to_input(ctx, grad) * ctx.share


class Min(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        return -Max.forward(ctx, -x, axis=axis, keepdims=keepdims)

    backward = Max.backward


def _check_ddof(ctx, ddof):
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float, np.integer, np.floating)):
        raise TypeError(f"ddof must be a number, got {ddof!r}")
    if ctx.count - ddof <= 0:
        raise ValueError(f"ddof={ddof} needs more than {ddof} values, got {ctx.count}")
    ctx.ddof = ddof


class Var(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, ddof=0):
        axis = _reduction_setup(ctx, x, axis, keepdims)
        _check_ddof(ctx, ddof)
        ctx.saved_tensors = (x,)
        return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        centered = x - x.mean(axis=ctx.axis, keepdims=True)
        return grad.reshape(ctx.kept_shape) * centered * (2.0 / (ctx.count - ctx.ddof))


class Std(Function):
    """sqrt(var): one node. Its gradient (x - mean) / ((n - ddof) std) is infinite where std is 0."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, ddof=0):
        axis = _reduction_setup(ctx, x, axis, keepdims)
        _check_ddof(ctx, ddof)
        out = _saved_output(np.std(x, axis=axis, keepdims=keepdims, ddof=ddof))
        ctx.saved_tensors = (x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        centered = x - x.mean(axis=ctx.axis, keepdims=True)
        return grad.reshape(ctx.kept_shape) * centered / (out.reshape(ctx.kept_shape) * (ctx.count - ctx.ddof))


def logsumexp_array(x, axis=None, keepdims=False):
    """log(sum(exp(x))) on an ndarray, shifted by the maximum (rows of -inf stay -inf instead of nan)."""
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax_array(x, axis=-1):
    """exp(x - max) / sum(exp(x - max)) on an ndarray: no overflow for any magnitude."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_array(x, axis=-1):
    """x - logsumexp(x) on an ndarray, as (x - max) - log(sum(exp(x - max))) (rows of -inf stay -inf)."""
    shift = np.max(x, axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(shift), shift, 0)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Norm(Function):
    """The Euclidean norm of the entries along ``axis``: sqrt(sum(x^2)). Its gradient x / norm is taken as 0
    where the norm is 0 (a subgradient, as in PyTorch), so a zero vector gives no NaN."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axis = _reduction_setup(ctx, x, axis, keepdims)
        kept = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
        ctx._zero = kept == 0
        out = _saved_output(kept.reshape(ctx.out_shape))
        ctx.saved_tensors = (x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        kept = out.reshape(ctx.kept_shape)
        if ctx._zero.any():
            kept = G.where(ctx._zero, 1, kept)  # x is 0 wherever the norm is: the gradient there is 0 / 1
        return grad.reshape(ctx.kept_shape) * x / kept


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        axis = _reduction_setup(ctx, x, axis, keepdims)
        out = _saved_output(logsumexp_array(x, axis, keepdims=True).reshape(ctx.out_shape))
        ctx.saved_tensors = (x, out)  # the returned array itself, so create_graph differentiates through it
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        softmax = G.exp(x - out.reshape(ctx.kept_shape))
        return grad.reshape(ctx.kept_shape) * softmax


def _softmax_axis(x, axis):
    """The softmax axis (an int or a tuple), normalised: an out-of-range axis fails here, named."""
    return _axes(axis, np.ndim(x))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = _softmax_axis(x, axis)
        out = _saved_output(softmax_array(x, ctx.axis))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    op_name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = _softmax_axis(x, axis)
        out = _saved_output(log_softmax_array(x, ctx.axis))
        ctx.saved_tensors = (out,)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - G.exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


# ---------------------------------------------------------------------------------------------------
# Movement ops


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        ctx.shape = shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} elements) into shape "
                             f"{shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        if axes is not None:
            axes = normalize_axis_tuple(axes, x.ndim, allow_duplicate=False)
            if len(axes) != x.ndim:
                hint = (f"; NumPy's transpose takes a full permutation of the {x.ndim} axes (PyTorch's "
                        f"transpose(dim0, dim1) is swapaxes(dim0, dim1) here)" if len(axes) == 2 else "")
                raise ValueError(f"axes {ctx.axes} do not match a tensor of shape {x.shape}{hint}")
        ctx.inverse = None if axes is None else tuple(np.argsort(axes))
        return x.transpose(axes)  # (the method: np.transpose adds a Python call)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse) if ctx.inverse is not None else grad.transpose()


class SwapAxes(Function):
    @staticmethod
    def forward(ctx, x, axis1, axis2):
        ctx.axis1, ctx.axis2 = axis1, axis2
        return np.swapaxes(x, axis1, axis2)

    @staticmethod
    def backward(ctx, grad):
        return grad.swapaxes(ctx.axis1, ctx.axis2)


class BroadcastTo(Function):
    op_name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad  # the engine sums it back down to the input's shape


class Pad(Function):
    @staticmethod
    def forward(ctx, x, pad_width, constant_values=0):
        if x.ndim == 0:
            raise ValueError("a 0-d tensor has no axis to pad; reshape it to (1,) first")
        widths = np.asarray(pad_width)
        if widths.dtype.kind not in "iu" or widths.ndim > 2:
            raise TypeError(f"pad_width must be integers: one (before, after) pair, or one per axis; got {pad_width!r}")
        if np.asarray(constant_values).dtype.kind not in "biuf":
            raise TypeError(f"constant_values must be a number, got {constant_values!r}")
        widths = np.broadcast_to(widths, (x.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad widths must be >= 0, got {pad_width}")
        ctx.pad_width = pad_width
        ctx.inner = tuple(slice(int(lo), n + int(lo)) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=constant_values)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.inner]


def _normalize_index(index):
    """Tensors inside an index become arrays; the result is what NumPy indexing accepts."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        for part in index:
            if isinstance(part, Tensor):
                return tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return index
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index):
    """True when the index uses only ints, slices, None and Ellipsis: it makes a view, and no element can be
    picked twice (a boolean scalar is an advanced index: it copies)."""
    for part in (index if type(index) is tuple else (index,)):
        if type(part) is slice or part is None or part is Ellipsis:
            continue
        if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, np.integer)):
            return False
    return True


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.index = _normalize_index(index)
        ctx.input_shape = x.shape
        try:
            return x[ctx.index]
        except IndexError as err:
            raise IndexError(f"{err}; tensor shape {x.shape}") from None

    @staticmethod
    def backward(ctx, grad):
        if type(grad) is _ndarray and _is_basic(ctx.index):
            return SliceGrad(ctx.input_shape, ctx.index, grad)  # the engine adds it into the input's gradient
        return _zeros_then_add(grad, ctx.input_shape, ctx.index)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``values`` added at ``index``: the backward of indexing (and its own inverse)."""

    @staticmethod
    def forward(ctx, values, shape, index):
        if ctx is not None:
            ctx.index, ctx.shape = index, shape
        out = np.zeros(shape, dtype=values.dtype)
        if _is_basic(index):
            out[index] = values
        else:
            np.add.at(out, index, values)  # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("need at least one tensor to concatenate")
        if any(np.ndim(a) == 0 for a in arrays):
            raise ValueError(f"cannot concatenate 0-d tensors (shapes {[np.shape(a) for a in arrays]}); use stack")
        ctx.axis = normalize_axis_tuple(axis, arrays[0].ndim)[0]
        ctx.bounds = np.cumsum([0] + [a.shape[ctx.axis] for a in arrays if a.ndim > ctx.axis]).tolist()
        try:
            return np.concatenate(arrays, axis=axis)
        except ValueError:
            raise ValueError(f"all shapes must match except along axis {axis}; got "
                             f"{[a.shape for a in arrays]}") from None

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (slice(lo, hi),)] for lo, hi in zip(ctx.bounds[:-1], ctx.bounds[1:]))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("need at least one tensor to stack")
        ctx.count = len(arrays)
        ctx.axis = normalize_axis_tuple(axis, arrays[0].ndim + 1)[0]
        try:
            return np.stack(arrays, axis=axis)
        except ValueError:
            raise ValueError(f"all tensors must have the same shape; got {[a.shape for a in arrays]}") from None

    @staticmethod
    def backward(ctx, grad):
        lead = (slice(None),) * ctx.axis
        return tuple(grad[lead + (i,)] for i in range(ctx.count))
