"""Module-level functions (NumPy-style names) and tensor factories."""
import numpy as np

from .ops import Concatenate, MatMul, Stack, Where
from .tensor import DEFAULT_DTYPE, Tensor


def tensor(data, requires_grad=False, dtype=None, name=None):
    """``Tensor(data, ...)``: NumPy arrays keep their dtype, Python numbers and lists become float32."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# elementwise
def exp(x): return _t(x).exp()
def log(x): return _t(x).log()
def sqrt(x): return _t(x).sqrt()
def tanh(x): return _t(x).tanh()
def sigmoid(x): return _t(x).sigmoid()
def relu(x): return _t(x).relu()
def abs(x): return _t(x).abs()  # noqa: A001 (NumPy's name)
def maximum(a, b): return _t(a).maximum(b)
def minimum(a, b): return _t(a).minimum(b)
def clip(x, a_min=None, a_max=None): return _t(x).clip(a_min, a_max)
def matmul(a, b): return MatMul.apply(a, b)


def where(condition, x, y):
    """Elementwise ``x if condition else y``; the condition (bool array or tensor) is not differentiated."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(x, y, condition)


# reductions
def sum(x, axis=None, keepdims=False): return _t(x).sum(axis, keepdims)  # noqa: A001
def mean(x, axis=None, keepdims=False): return _t(x).mean(axis, keepdims)
def max(x, axis=None, keepdims=False): return _t(x).max(axis, keepdims)  # noqa: A001
def min(x, axis=None, keepdims=False): return _t(x).min(axis, keepdims)  # noqa: A001
def var(x, axis=None, keepdims=False, ddof=0): return _t(x).var(axis, keepdims, ddof)
def logsumexp(x, axis=None, keepdims=False): return _t(x).logsumexp(axis, keepdims)
def argmax(x, axis=None, keepdims=False): return _t(x).argmax(axis, keepdims)
def argmin(x, axis=None, keepdims=False): return _t(x).argmin(axis, keepdims)


# movement
def reshape(x, shape): return _t(x).reshape(shape)
def transpose(x, axes=None): return _t(x).transpose(axes) if axes is not None else _t(x).T
def swapaxes(x, axis1, axis2): return _t(x).swapaxes(axis1, axis2)
def squeeze(x, axis=None): return _t(x).squeeze(axis)
def expand_dims(x, axis): return _t(x).expand_dims(axis)
def flatten(x, start_axis=0, end_axis=-1): return _t(x).flatten(start_axis, end_axis)
def broadcast_to(x, shape): return _t(x).broadcast_to(shape)
def pad(x, pad_width, constant_values=0): return _t(x).pad(pad_width, constant_values)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    return Stack.apply(*tensors, axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split into a list of tensors, like ``numpy.split`` (each piece is a differentiable slice)."""
    x = _t(x)
    axis = axis % x.ndim
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ValueError(f"split: axis {axis} of shape {x.shape} does not divide into {indices_or_sections} "
                             "equal sections")
        step = length // indices_or_sections
        bounds = list(range(0, length + 1, step))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [length]
    lead = (slice(None),) * axis
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


# factories
def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def zeros(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    return Tensor(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    return Tensor(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=DEFAULT_DTYPE, requires_grad=False):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=DEFAULT_DTYPE, requires_grad=False, generator=None):
    """Standard normal samples. ``generator``: a ``np.random.Generator``/``RandomState``; default the global
    ``np.random`` state, so ``np.random.seed(...)`` reproduces the course's draws."""
    rng = np.random if generator is None else generator
    return Tensor(rng.standard_normal(_shape(shape)).astype(dtype, copy=False), requires_grad=requires_grad)


def rand(*shape, dtype=DEFAULT_DTYPE, requires_grad=False, generator=None):
    """Uniform samples in [0, 1) (same ``generator`` rule as ``randn``)."""
    rng = np.random if generator is None else generator
    return Tensor(rng.random(_shape(shape)).astype(dtype, copy=False), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=DEFAULT_DTYPE, requires_grad=False):
    return Tensor(np.arange(start, stop, step, dtype=dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=DEFAULT_DTYPE, requires_grad=False):
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros_like(_t(t).data, dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones_like(_t(t).data, dtype=dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return Tensor(np.full_like(_t(t).data, fill_value, dtype=dtype), requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False, generator=None):
    t = _t(t)
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, generator=generator)


def rand_like(t, dtype=None, requires_grad=False, generator=None):
    t = _t(t)
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, generator=generator)
