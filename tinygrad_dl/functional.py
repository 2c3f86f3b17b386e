"""Module-level functions (NumPy-style names, PyTorch's spellings too) and tensor factories.

Every function takes NumPy's argument names (``axis``, ``keepdims``) and PyTorch's (``dim``, ``keepdim``);
giving both is an error. Where the two libraries mean different things by one name, NumPy's meaning holds
(``transpose`` permutes all axes, ``split(x, 3)`` makes 3 pieces, ``max`` returns values only).
"""
import numbers

import numpy as np

from .ops import Concatenate, MatMul, Stack, Where
from .tensor import DEFAULT_DTYPE, Tensor, _as_array, _check_axis, _pick, _short, checked_dtype


def tensor(data, requires_grad=False, dtype=None, name=None):
    """``Tensor(data, ...)``: NumPy arrays keep their dtype, Python numbers and lists become float32."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _t(x, op):
    """``x`` as a Tensor; what cannot be one fails with ``op``'s name."""
    return x if isinstance(x, Tensor) else Tensor._wrap(_as_array(x, op=op))


# elementwise
def exp(x): return _t(x, "exp").exp()
def log(x): return _t(x, "log").log()
def log1p(x): return _t(x, "log1p").log1p()
def expm1(x): return _t(x, "expm1").expm1()
def sqrt(x): return _t(x, "sqrt").sqrt()
def tanh(x): return _t(x, "tanh").tanh()
def sigmoid(x): return _t(x, "sigmoid").sigmoid()
def relu(x): return _t(x, "relu").relu()
def abs(x): return _t(x, "abs").abs()  # noqa: A001 (NumPy's name)
def maximum(a, b): return _t(a, "maximum").maximum(b)
def minimum(a, b): return _t(a, "minimum").minimum(b)
def matmul(a, b): return MatMul.apply(a, b)


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 (NumPy 2 accepts min=/max= too)
    a_min = _pick("clip", "a_min", a_min, "min", min)
    a_max = _pick("clip", "a_max", a_max, "max", max)
    return _t(x, "clip").clip(a_min, a_max)


def clamp(x, min=None, max=None):  # noqa: A002 (PyTorch's names)
    return _t(x, "clamp").clip(min, max)


def where(condition, x, y):
    """Elementwise ``x if condition else y``; the condition (bool array or tensor) is not differentiated."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(x, y, condition)


def softmax(x, axis=-1, *, dim=None):
    return _t(x, "softmax").softmax(axis, dim=dim)


def log_softmax(x, axis=-1, *, dim=None):
    return _t(x, "log_softmax").log_softmax(axis, dim=dim)


# reductions (axis=/keepdims= or dim=/keepdim=)
def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    return _t(x, "sum").sum(axis, keepdims, dim=dim, keepdim=keepdim)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return _t(x, "mean").mean(axis, keepdims, dim=dim, keepdim=keepdim)


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    return _t(x, "max").max(axis, keepdims, dim=dim, keepdim=keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    return _t(x, "min").min(axis, keepdims, dim=dim, keepdim=keepdim)


def var(x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, correction=None):
    return _t(x, "var").var(axis, keepdims, ddof, dim=dim, keepdim=keepdim, correction=correction)


def std(x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, correction=None):
    return _t(x, "std").std(axis, keepdims, ddof, dim=dim, keepdim=keepdim, correction=correction)


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return _t(x, "logsumexp").logsumexp(axis, keepdims, dim=dim, keepdim=keepdim)


def norm(x, ord=None, axis=None, keepdims=False, *, p=None, dim=None, keepdim=None):  # noqa: A002
    return _t(x, "norm").norm(ord, axis, keepdims, p=p, dim=dim, keepdim=keepdim)


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return _t(x, "argmax").argmax(axis, keepdims, dim=dim, keepdim=keepdim)


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    return _t(x, "argmin").argmin(axis, keepdims, dim=dim, keepdim=keepdim)


def numel(x):
    return _t(x, "numel").numel()


# movement
def reshape(x, shape): return _t(x, "reshape").reshape(shape)
def transpose(x, axes=None): return _t(x, "transpose").transpose(axes)
def permute(x, dims): return _t(x, "permute").permute(dims)
def swapaxes(x, axis1, axis2): return _t(x, "swapaxes").swapaxes(axis1, axis2)
def expand_dims(x, axis): return _t(x, "expand_dims").expand_dims(axis)
def unsqueeze(x, dim): return _t(x, "unsqueeze").unsqueeze(dim)
def broadcast_to(x, shape): return _t(x, "broadcast_to").broadcast_to(shape)
def pad(x, pad_width, constant_values=0): return _t(x, "pad").pad(pad_width, constant_values)


def squeeze(x, axis=None, *, dim=None):
    return _t(x, "squeeze").squeeze(axis, dim=dim)


def flatten(x, start_axis=0, end_axis=-1, *, start_dim=None, end_dim=None):
    return _t(x, "flatten").flatten(start_axis, end_axis, start_dim=start_dim, end_dim=end_dim)


def _tensor_list(op, tensors):
    """The items of a list/tuple of tensors (arrays and lists of numbers are converted), or a clear error."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of tensors, got {type(tensors).__name__}"
                        + (f" of shape {tensors.shape} (use list(t) to join its rows)" if isinstance(tensors, Tensor)
                           else ""))
    items = []
    for i, item in enumerate(tensors):
        try:
            if item is None or isinstance(item, (str, bytes)):
                raise TypeError(f"{_short(item)} is not a tensor")
            items.append(_t(item, op))
        except (TypeError, ValueError) as err:
            raise type(err)(f"{op}: item {i} is {_short(item)}; every item must be a tensor (shapes so far: "
                            f"{[t.shape for t in items]}): {err}") from None
    return items


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis (``cat`` is PyTorch's name)."""
    return Concatenate.apply(*_tensor_list("concatenate", tensors), axis=_pick("concatenate", "axis", axis, "dim",
                                                                                dim, 0))


def cat(tensors, dim=None, *, axis=None):
    """PyTorch's name for ``concatenate`` (along ``dim``, default 0)."""
    dim = _pick("cat", "dim", dim, "axis", axis)
    return Concatenate.apply(*_tensor_list("cat", tensors), axis=0 if dim is None else dim)


def stack(tensors, axis=0, *, dim=None):
    """Join same-shaped tensors along a new axis."""
    return Stack.apply(*_tensor_list("stack", tensors), axis=_pick("stack", "axis", axis, "dim", dim, 0))


def split(x, indices_or_sections, axis=0, *, dim=None):
    """Split into a list of tensors, like ``numpy.split`` (each piece is a differentiable slice).

    NumPy's meaning: an int is the number of equal sections (PyTorch's ``split(t, n)`` takes a piece size);
    a list gives the indices where pieces start."""
    x = _t(x, "split")
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor (it has no axis)")
    axis = _check_axis("split", _pick("split", "axis", axis, "dim", dim, 0), x.shape)
    length = x.shape[axis]
    if isinstance(indices_or_sections, (numbers.Integral, np.integer)) and not isinstance(indices_or_sections, bool):
        sections = int(indices_or_sections)
        if sections <= 0 or length % sections:
            raise ValueError(f"split: axis {axis} of shape {x.shape} does not divide into {sections} equal sections")
        step = length // sections
        bounds = list(range(0, length + 1, step))
    else:
        try:
            indices = list(indices_or_sections)
        except TypeError:
            raise TypeError(f"split: indices_or_sections must be an int or a list of ints, got "
                            f"{_short(indices_or_sections)}") from None
        if any(isinstance(i, bool) or not isinstance(i, (numbers.Integral, np.integer)) for i in indices):
            raise TypeError(f"split: the split indices must be integers, got {_short(indices_or_sections)} for a "
                            f"tensor of shape {x.shape}")
        bounds = [0] + [int(i) for i in indices] + [length]
    lead = (slice(None),) * axis
    return [x[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


# ----------------------------------------------------------------------------------------------------
# factories


def _checked_shape(op, shape):
    """A tuple of non-negative ints from ``zeros(2, 3)``, ``zeros((2, 3))`` or ``full(3, ...)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"{op}: sizes must be integers, got {_short(n)} in shape {tuple(shape)}")
        if n < 0:
            raise ValueError(f"{op}: negative size {n} in shape {tuple(shape)}")
    return tuple(int(n) for n in shape)


def _made(op, array, requires_grad):
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{op}: requires_grad=True needs a floating-point dtype, got {array.dtype} (shape "
                        f"{array.shape})")
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _float_dtype(op, dtype):
    dtype = checked_dtype(op, dtype)
    if dtype.kind != "f":
        raise TypeError(f"{op}: random values need a floating-point dtype, got {dtype}; pass dtype=np.float32 "
                        "(or float64)")
    return dtype


def _number(op, name, value):
    if isinstance(value, Tensor):
        value = value.data
    if value is None or np.asarray(value).dtype.kind not in "biufc":
        raise TypeError(f"{op}: {name} must be a number, got {_short(value)}")
    return value


def zeros(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    return _made("zeros", np.zeros(_checked_shape("zeros", shape), dtype=checked_dtype("zeros", dtype)), requires_grad)


def ones(*shape, dtype=DEFAULT_DTYPE, requires_grad=False):
    return _made("ones", np.ones(_checked_shape("ones", shape), dtype=checked_dtype("ones", dtype)), requires_grad)


def full(shape, fill_value, dtype=DEFAULT_DTYPE, requires_grad=False):
    shape = _checked_shape("full", (shape,) if not isinstance(shape, (tuple, list)) else (tuple(shape),))
    fill_value = _number("full", "fill_value", fill_value)
    dtype = checked_dtype("full", dtype)
    try:
        array = np.full(shape, fill_value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"full: cannot fill shape {shape} with {_short(fill_value)}: {err}") from None
    return _made("full", array, requires_grad)


def _generator(op, generator):
    rng = np.random if generator is None else generator
    if not (hasattr(rng, "standard_normal") and hasattr(rng, "random")):
        raise TypeError(f"{op}: generator must be a numpy.random.Generator or RandomState (or None for np.random), "
                        f"got {type(generator).__name__}")
    return rng


def randn(*shape, dtype=DEFAULT_DTYPE, requires_grad=False, generator=None):
    """Standard normal samples. ``generator``: a ``np.random.Generator``/``RandomState``; default the global
    ``np.random`` state, so ``np.random.seed(...)`` (or ``manual_seed``) reproduces the course's draws."""
    shape, dtype = _checked_shape("randn", shape), _float_dtype("randn", dtype)
    values = _generator("randn", generator).standard_normal(shape)
    return _made("randn", np.asarray(values).astype(dtype, copy=False), requires_grad)


def rand(*shape, dtype=DEFAULT_DTYPE, requires_grad=False, generator=None):
    """Uniform samples in [0, 1) (same ``generator`` rule as ``randn``)."""
    shape, dtype = _checked_shape("rand", shape), _float_dtype("rand", dtype)
    values = _generator("rand", generator).random(shape)
    return _made("rand", np.asarray(values).astype(dtype, copy=False), requires_grad)


def arange(start, stop=None, step=1, dtype=DEFAULT_DTYPE, requires_grad=False):
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if (value is not None or name != "stop") and (isinstance(value, bool) or
                                                      not isinstance(value, (numbers.Real, np.number))):
            raise TypeError(f"arange: {name} must be a real number, got {_short(value)}")
        if value is not None and not np.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value}")
    if step == 0:
        raise ValueError(f"arange: step must not be zero (start={start}, stop={stop})")
    try:
        array = np.arange(start, stop, step, dtype=checked_dtype("arange", dtype))
    except (ValueError, MemoryError) as err:
        raise ValueError(f"arange: cannot make arange({start}, {stop}, {step}): {err}") from None
    return _made("arange", array, requires_grad)


def eye(n, m=None, dtype=DEFAULT_DTYPE, requires_grad=False):
    shape = _checked_shape("eye", (n,) if m is None else (n, m))
    return _made("eye", np.eye(shape[0], shape[-1], dtype=checked_dtype("eye", dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return _made("zeros_like", np.zeros_like(_t(t, "zeros_like").data, dtype=checked_dtype("zeros_like", dtype)),
                 requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _made("ones_like", np.ones_like(_t(t, "ones_like").data, dtype=checked_dtype("ones_like", dtype)),
                 requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    t = _t(t, "full_like")
    _number("full_like", "fill_value", fill_value)
    dtype = t.dtype if dtype is None else checked_dtype("full_like", dtype)
    return full(t.shape, fill_value, dtype=dtype, requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False, generator=None):
    t = _t(t, "randn_like")
    dtype = _float_dtype("randn_like", t.dtype if dtype is None else dtype)
    return randn(*t.shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def rand_like(t, dtype=None, requires_grad=False, generator=None):
    t = _t(t, "rand_like")
    dtype = _float_dtype("rand_like", t.dtype if dtype is None else dtype)
    return rand(*t.shape, dtype=dtype, requires_grad=requires_grad, generator=generator)


def manual_seed(seed):
    """Seed everything the library draws from: NumPy's global random state, which ``randn``/``rand``, the
    ``nn.init`` functions, ``nn.Dropout``, ``DataLoader(shuffle=True)`` and the course's data generators use
    when no generator is given (the same as ``np.random.seed(seed)``)."""
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"manual_seed: the seed must be an integer, got {_short(seed)}")
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"manual_seed: the seed must be in [0, 2**32), got {seed}")
    np.random.seed(int(seed))
