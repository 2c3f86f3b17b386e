"""The Tensor: a NumPy array, the gradient it receives, and the node (``grad_fn``) that produced it."""
import operator
from operator import attrgetter

import numpy as np

from . import autograd

DEFAULT_DTYPE = np.float32
_ndarray = np.ndarray
_NUMBER_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def checked_dtype(op, dtype):
    """``np.dtype(dtype)`` for a number type, or a TypeError naming ``op`` (None stays None)."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: unknown dtype {_short(dtype)}; use e.g. np.float32, np.float64, 'float32', "
                        "np.int64 or bool") from None
    if resolved.kind not in _NUMBER_KINDS:
        raise TypeError(f"{op}: dtype {resolved} is not a number type; tensors hold booleans, integers or floats")
    return resolved


def _as_array(data, dtype=None, op="Tensor"):
    """NumPy arrays keep their dtype; Python scalars and lists become float32 (bools stay bool).

    Anything that is not numbers (None, strings, ragged nested lists, objects) is refused, naming ``op``."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        if type(data) is not np.ndarray:
            data = _plain_array(op, data)
        if data.dtype.kind not in _NUMBER_KINDS:
            raise TypeError(f"{op}: tensors hold numbers, but the array has dtype {data.dtype} (shape {data.shape})")
        return data if dtype is None else data.astype(checked_dtype(op, dtype), copy=False)
    dtype = checked_dtype(op, dtype)
    if data is None or isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"{op}: cannot make a tensor from {_short(data)} ({type(data).__name__}); give a number, "
                        "a (nested) list of numbers or a NumPy array")
    try:
        array = np.asarray(data)
    except ValueError as err:
        raise ValueError(f"{op}: {_short(data)} does not form an array: nested lists must all have the same "
                         f"length at each depth ({err})") from None
    if array.dtype.kind not in _NUMBER_KINDS:
        raise TypeError(f"{op}: cannot make a tensor from {_short(data)}: it holds {array.dtype} values, not "
                        "numbers")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if not isinstance(data, np.generic) and array.dtype.kind in "iuf":
        array = array.astype(DEFAULT_DTYPE)
    return array


def _plain_array(op, array):
    """An ndarray subclass as a plain array (np.matrix's * is a matrix product, and operators would follow it); a
    masked array is refused, since its mask would be dropped silently."""
    if isinstance(array, np.ma.MaskedArray):
        raise TypeError(f"{op}: masked arrays are not supported (the mask would be ignored); pass "
                        "array.filled(value) or the unmasked values, array.compressed()")
    return np.asarray(array)


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return _short(value)


def _pick(op, numpy_name, numpy_value, torch_name, torch_value, default=None):
    """One argument spelled two ways (NumPy's ``axis``, PyTorch's ``dim``): the one given, or a clear error."""
    if torch_value is None:
        return numpy_value
    if numpy_value is not default:
        raise TypeError(f"{op}: got both {numpy_name}= and {torch_name}= (PyTorch's name for the same argument); "
                        "pass one of them")
    return torch_value


def _axes(op, axis, keepdims, dim, keepdim):
    """(axis, keepdims) from NumPy's or PyTorch's spelling."""
    return _pick(op, "axis", axis, "dim", dim), _pick(op, "keepdims", keepdims, "keepdim", keepdim, False)


def _numpy_call(op, tensor, fn, *args, **kwargs):
    """Run a NumPy function on ``tensor.data``; NumPy's complaint comes back under ``op``'s name with the shape."""
    try:
        return fn(tensor.data, *args, **kwargs)
    except (ValueError, IndexError, TypeError) as err:
        raise autograd._op_error(op, err, [tensor.data]) from None


def _check_axis(op, axis, shape, name="axis", extra=0):
    """``axis`` as a non-negative int for a tensor of ``shape`` (with ``extra`` more axes allowed, as
    expand_dims has), or an AxisError (both a ValueError and an IndexError) naming ``op`` and the shape."""
    ndim = len(shape) + extra
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: {name} must be an integer, got {_short(axis)} (tensor of shape {shape})")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: {name} {axis} is out of range for a tensor of shape {shape} (valid: "
                                      f"{-ndim} to {ndim - 1})")
    return int(axis) % ndim


def _inplace_method(name, operation):
    """The method ``name`` (add_, sub_, mul_, div_): ``operation``, NumPy's in-place operator ("same_kind" casting,
    no broadcasting of .data), applied to .data; the version is bumped and the engine told. ``op`` names the
    operation in errors (``+=`` when the operator calls it)."""

    def method(self, other, op=name):
        if _grad_mode.enabled:  # (an optimizer step runs under no_grad: nothing to check there)
            self._check_inplace(op, other)
        value = other.data if isinstance(other, Tensor) else other
        if type(value) is not _ndarray and (value is None or isinstance(value, (str, bytes))):
            raise TypeError(f"{op}: cannot update a {self.data.dtype} tensor of shape {self.data.shape} with "
                            f"{_short(value)}")
        data = self.data
        try:
            operation(data, value)
        except (TypeError, ValueError) as err:
            kind = TypeError if isinstance(err, TypeError) else ValueError
            raise kind(f"{op}: cannot update a {data.dtype} tensor of shape {data.shape} in place with "
                       f"{_describe(value)}: {err}") from None
        self._version += 1
        _note_write(data)
        return self

    method.__name__ = method.__qualname__ = name
    return method


class Tensor:
    """An n-dimensional array that records the operations applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``. A NumPy array is used as is (no copy,
    dtype kept); Python scalars and lists become float32. Only floating-point tensors can require grad.
    """

    # Every tensor sets its three slots when it is made (no per-tensor dict for what every op result has);
    # the rest are read from the class until a tensor sets its own.
    __slots__ = ("data", "grad_fn", "requires_grad", "__dict__", "__weakref__")
    __array_ufunc__ = None  # NumPy operators defer to ours, so `np_array @ tensor` builds a graph
    _grad = None  # the gradient: a Tensor, or the bare array a backward pass stored (see _get_grad)
    name = None
    _retains_grad = False
    _version = 0  # bumped by every in-place change (see "in-place updates" below)

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _as_array(data, dtype)
        self.grad_fn = None
        self.requires_grad = False
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array):
        """Fast path for the engine: wrap an ndarray without any checks (every other field at its default)."""
        t = cls.__new__(cls)
        t.data, t.grad_fn, t.requires_grad = array, None, False
        return t

    # -- autograd ---------------------------------------------------------------------------------
    def _set_grad(self, value):
        if value is not None:
            if isinstance(value, np.ndarray):
                value = Tensor(value)
            elif not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned a {type(value).__name__} to the grad of a {self.data.dtype} tensor of "
                                f"shape {self.data.shape}; assign a Tensor of that shape and dtype, or None")
            if value.data.shape != self.data.shape:
                raise ValueError(f"grad: assigned a gradient of shape {value.data.shape} to a tensor of shape "
                                 f"{self.data.shape}; they must match")
            if value.data.dtype != self.data.dtype:
                raise TypeError(f"grad: assigned a {value.data.dtype} gradient to a {self.data.dtype} tensor of shape "
                                f"{self.data.shape}; convert it with .astype({self.data.dtype}) first")
        self._grad = value

    def _get_grad(self):
        grad = self._grad
        if type(grad) is _ndarray:  # stored bare by the backward pass: wrapped at the first read (training steps never
            grad = self._grad = Tensor._wrap(grad)  # read .grad, the optimizer reads the array: no Tensor for it)
        return grad

    grad = property(_get_grad, _set_grad, doc="The accumulated gradient (a Tensor) or None.")

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require gradients, but this tensor "
                            f"has dtype {self.data.dtype} and shape {self.data.shape}; convert it with "
                            ".astype(np.float32) first")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): only leaf tensors can stop requiring grad; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn._retains_output_grad = True
        elif not self.requires_grad:
            raise RuntimeError(f"retain_grad: the tensor (shape {self.data.shape}) does not require grad")
        return self

    def detach(self):
        """The same data, cut from the graph (no copy)."""
        return Tensor(self.data)

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` seeds the pass (needed unless self has one element). The graph's saved values are freed
        afterwards unless ``retain_graph=True``; ``create_graph=True`` records the backward pass so the grads
        can be differentiated again.
        """
        autograd.run_backward(self, grad, retain_graph, create_graph)

    # -- array facts ------------------------------------------------------------------------------
    # attrgetter is implemented in C: cheaper than a Python function on these very frequent reads
    shape = property(attrgetter("data.shape"), doc="The array's shape.")
    ndim = property(attrgetter("data.ndim"), doc="The number of axes.")
    dtype = property(attrgetter("data.dtype"), doc="The array's dtype.")
    size = property(attrgetter("data.size"), doc="The number of elements.")

    def numel(self):
        """The number of elements (PyTorch's name for ``size``)."""
        return self.data.size

    def numpy(self):
        return self.data

    def tolist(self):
        """The values as (nested) Python lists of Python numbers."""
        return self.data.tolist()

    def _one_value(self, op):
        if self.data.size != 1:
            raise ValueError(f"{op}: only a tensor with one element converts to a Python scalar, got shape "
                             f"{self.data.shape}")
        return self.data.item()

    def item(self):
        data = self.data
        return data.item() if data.size == 1 else self._one_value("item")

    def __array__(self, dtype=None, copy=None):
        node = autograd._grad_mode.tensor_backward
        if node:
            raise TypeError(f"{node.name}.backward turned a Tensor (shape {self.data.shape}) into a NumPy array "
                            "(np.asarray, np.where, ...). With create_graph=True the engine hands backward Tensors, "
                            "and converting one would silently drop its second-order terms; use operators, Tensor "
                            "methods and tinygrad_dl.generic (exp, log, where, maximum, sigmoid...) instead")
        return self.data if dtype is None else self.data.astype(checked_dtype("__array__", dtype))

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len: a 0-d tensor (shape ()) has no length")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self._one_value("float"))

    def __int__(self):
        return int(self._one_value("int"))

    def __bool__(self):
        return bool(self._one_value("bool"))

    def __repr__(self):
        body = np.array2string(self.data, prefix="Tensor(", precision=6, threshold=20)
        extra = f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    __hash__ = object.__hash__

    # -- arithmetic -------------------------------------------------------------------------------
    # (_binary and _unary are Function.apply unrolled for these calls: the hot path of every program)
    def __add__(self, other): return _binary(Add, self, other)
    def __radd__(self, other): return _binary(Add, other, self)
    def __sub__(self, other): return _binary(Sub, self, other)
    def __rsub__(self, other): return _binary(Sub, other, self)
    def __mul__(self, other): return _binary(Mul, self, other)
    def __rmul__(self, other): return _binary(Mul, other, self)
    def __truediv__(self, other): return _binary(Div, self, other)
    def __rtruediv__(self, other): return _binary(Div, other, self)
    def __pow__(self, other): return _binary(Pow, self, other)
    def __rpow__(self, other): return _binary(Pow, other, self)
    def __matmul__(self, other): return _binary(MatMul, self, other)
    def __rmatmul__(self, other): return _binary(MatMul, other, self)
    def __neg__(self): return _unary(Neg, self)
    def __pos__(self): return self
    def __abs__(self): return _unary(Abs, self)
    def __getitem__(self, index): return _unary(GetItem, self, {"index": index})
    def matmul(self, other): return _binary(MatMul, self, other)

    def __setitem__(self, index, value):
        raise TypeError(f"setitem: Tensor does not support item assignment (it would break the recorded graph; "
                        f"tensor of shape {self.data.shape}); build the new tensor with where(), concatenate() or "
                        "pad(), or write into .data under no_grad() (untracked)")

    # comparisons are not differentiable: they return plain (bool) tensors
    def _compare(self, other, ufunc, op, ordering=True):
        other = other.data if isinstance(other, Tensor) else other
        if ordering and (other is None or isinstance(other, (str, bytes))):
            raise TypeError(f"{op}: cannot compare a tensor of shape {self.data.shape} with {_short(other)}")
        return Tensor(_numpy_call(op, self, ufunc, other))

    def __lt__(self, other): return self._compare(other, np.less, "less")
    def __le__(self, other): return self._compare(other, np.less_equal, "less_equal")
    def __gt__(self, other): return self._compare(other, np.greater, "greater")
    def __ge__(self, other): return self._compare(other, np.greater_equal, "greater_equal")
    # == and != keep NumPy's meaning: elementwise, and simply False/True against None or a string
    def __eq__(self, other): return self._compare(other, np.equal, "equal", ordering=False)
    def __ne__(self, other): return self._compare(other, np.not_equal, "not_equal", ordering=False)

    # -- elementwise functions --------------------------------------------------------------------
    def exp(self): return _unary(Exp, self)
    def log(self): return _unary(Log, self)
    def log1p(self): return _unary(Log1p, self)
    def expm1(self): return _unary(Expm1, self)
    def sqrt(self): return _unary(Sqrt, self)
    def tanh(self): return _unary(Tanh, self)
    def sigmoid(self): return _unary(Sigmoid, self)
    def relu(self): return _unary(ReLU, self)
    def abs(self): return _unary(Abs, self)
    def maximum(self, other): return _binary(Maximum, self, other)
    def minimum(self, other): return _binary(Minimum, self, other)
    def clip(self, min=None, max=None): return _unary(Clip, self, {"low": min, "high": max})  # noqa: A002
    clamp = clip  # PyTorch's name

    def astype(self, dtype):
        return _unary(AsType, self, {"dtype": checked_dtype("astype", dtype)})

    def float(self): return self.astype(np.float32)
    def double(self): return self.astype(np.float64)

    def softmax(self, axis=-1, *, dim=None):
        """exp(x) / sum(exp(x)) along ``axis`` (default the last), shifted by the maximum: never overflows."""
        return _unary(Softmax, self, {"axis": _pick("softmax", "axis", axis, "dim", dim, -1)})

    def log_softmax(self, axis=-1, *, dim=None):
        """x - logsumexp(x) along ``axis`` (default the last): stable for any magnitude."""
        return _unary(LogSoftmax, self, {"axis": _pick("log_softmax", "axis", axis, "dim", dim, -1)})

    # -- reductions (NumPy's axis=/keepdims=, or PyTorch's dim=/keepdim=) -----------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if dim is not None or keepdim is not None:
            axis, keepdims = _axes("sum", axis, keepdims, dim, keepdim)
        return _unary(Sum, self, {"axis": axis, "keepdims": keepdims})

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if dim is not None or keepdim is not None:
            axis, keepdims = _axes("mean", axis, keepdims, dim, keepdim)
        return _unary(Mean, self, {"axis": axis, "keepdims": keepdims})

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The largest values (NumPy's meaning: values only, never PyTorch's (values, indices) pair)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _axes("max", axis, keepdims, dim, keepdim)
        return _unary(Max, self, {"axis": axis, "keepdims": keepdims})

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The smallest values (values only, like NumPy)."""
        if dim is not None or keepdim is not None:
            axis, keepdims = _axes("min", axis, keepdims, dim, keepdim)
        return _unary(Min, self, {"axis": axis, "keepdims": keepdims})

    def var(self, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, correction=None):
        """The variance; ``ddof=0`` by default like NumPy (PyTorch's ``correction=`` is accepted for ddof)."""
        axis, keepdims = _axes("var", axis, keepdims, dim, keepdim)
        ddof = _pick("var", "ddof", ddof, "correction", correction, 0)
        return _unary(Var, self, {"axis": axis, "keepdims": keepdims, "ddof": ddof})

    def std(self, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None, correction=None):
        """sqrt(var): ``ddof=0`` by default like NumPy (PyTorch's default is correction=1: pass ddof=1)."""
        axis, keepdims = _axes("std", axis, keepdims, dim, keepdim)
        ddof = _pick("std", "ddof", ddof, "correction", correction, 0)
        return _unary(Std, self, {"axis": axis, "keepdims": keepdims, "ddof": ddof})

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if dim is not None or keepdim is not None:
            axis, keepdims = _axes("logsumexp", axis, keepdims, dim, keepdim)
        return _unary(LogSumExp, self, {"axis": axis, "keepdims": keepdims})

    def norm(self, ord=None, axis=None, keepdims=False, *, p=None, dim=None, keepdim=None):  # noqa: A002
        """The norm of the entries along ``axis`` (all of them by default).

        ``ord`` follows ``numpy.linalg.norm`` for vectors (None or 2: Euclidean, 1, inf, -inf) and takes None or
        "fro" over two axes; ``p`` is PyTorch's spelling and always means the entrywise p-norm. Its gradient at
        a zero vector is 0 (a subgradient), as in PyTorch."""
        axis, keepdims = _axes("norm", axis, keepdims, dim, keepdim)
        order = _norm_order(self, ord, p, axis)
        return _vector_norm(self, order, axis, keepdims)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axes("argmax", axis, keepdims, dim, keepdim)
        return Tensor(_numpy_call("argmax", self, np.argmax, axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axes("argmin", axis, keepdims, dim, keepdim)
        return Tensor(_numpy_call("argmin", self, np.argmin, axis=axis, keepdims=keepdims))

    def any(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axes("any", axis, keepdims, dim, keepdim)
        return Tensor(_numpy_call("any", self, np.any, axis=axis, keepdims=keepdims))

    def all(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axes("all", axis, keepdims, dim, keepdim)
        return Tensor(_numpy_call("all", self, np.all, axis=axis, keepdims=keepdims))

    # -- movement ---------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return _unary(Reshape, self, {"shape": tuple(shape)})

    view = reshape  # PyTorch's name (here any tensor can be viewed: NumPy copies when it must)

    def transpose(self, *axes):
        """Permute the axes (reverse them when no axes or None is given), like ndarray.transpose.

        NumPy's meaning, not PyTorch's: the axes are a full permutation, so on a 2-D tensor
        ``transpose(1, 0)`` swaps and ``transpose(0, 1)`` changes nothing. For PyTorch's ``transpose(dim0, dim1)``
        (swap two axes) use ``swapaxes(dim0, dim1)``, or ``.T``."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return _unary(Transpose, self, {"axes": tuple(axes) if axes else None})

    def permute(self, *dims):
        """PyTorch's name for a full permutation of the axes: ``permute(2, 0, 1)``."""
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return _unary(Transpose, self, {"axes": tuple(dims)})

    @property
    def T(self):
        return _unary(Transpose, self, _REVERSED_AXES)

    def swapaxes(self, axis1, axis2): return _unary(SwapAxes, self, {"axis1": axis1, "axis2": axis2})

    def squeeze(self, axis=None, *, dim=None):
        axis = _pick("squeeze", "axis", axis, "dim", dim)
        if axis is not None:
            for a in (axis if isinstance(axis, tuple) else (axis,)):
                a = _check_axis("squeeze", a, self.data.shape)
                if self.data.shape[a] != 1:
                    raise ValueError(f"squeeze: cannot squeeze axis {a} of a tensor of shape {self.data.shape}: its "
                                     f"size is {self.data.shape[a]}, not 1")
        return Reshape.apply(self, shape=_numpy_call("squeeze", self, np.squeeze, axis=axis).shape)

    def expand_dims(self, axis):
        return Reshape.apply(self, shape=_numpy_call("expand_dims", self, np.expand_dims, axis).shape)

    def unsqueeze(self, dim):
        """PyTorch's name for ``expand_dims``: a new axis of size 1 at ``dim``."""
        _check_axis("unsqueeze", dim, self.data.shape, "dim", extra=1)
        return Reshape.apply(self, shape=np.expand_dims(self.data, dim).shape)

    def flatten(self, start_axis=0, end_axis=-1, *, start_dim=None, end_dim=None):
        """Merge axes start_axis..end_axis into one (all of them by default, like NumPy's flatten)."""
        start_axis = _pick("flatten", "start_axis", start_axis, "start_dim", start_dim, 0)
        end_axis = _pick("flatten", "end_axis", end_axis, "end_dim", end_dim, -1)
        shape = self.data.shape
        if not shape:
            _check_axis("flatten", start_axis, shape, "start_axis", extra=1)
            _check_axis("flatten", end_axis, shape, "end_axis", extra=1)
            return self.reshape(1)
        start = _check_axis("flatten", start_axis, shape, "start_axis")
        end = _check_axis("flatten", end_axis, shape, "end_axis")
        if start > end:
            raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} in a tensor of shape "
                             f"{shape}")
        merged = int(np.prod(shape[start:end + 1]))
        return self.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def broadcast_to(self, shape):
        shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
        if not isinstance(shape, (tuple, list)) or any(isinstance(n, bool) or not isinstance(n, (int, np.integer))
                                                       for n in shape):
            raise TypeError(f"broadcast_to: shape must be a tuple of integers, got {_short(shape)} (tensor of shape "
                            f"{self.data.shape})")
        return _unary(BroadcastTo, self, {"shape": tuple(shape)})

    def pad(self, pad_width, constant_values=0):
        return _unary(Pad, self, {"pad_width": pad_width, "constant_values": constant_values})

    # -- in-place updates -------------------------------------------------------------------------
    # They write into .data, bump ._version and tell the engine, so a backward that saved the old values
    # refuses to use them. Allowed on tensors outside a graph and, under no_grad(), on leaves (optimizer
    # steps) and on recorded tensors; refused on a leaf that requires grad while grad mode is on (PyTorch's
    # rule). The operators += -= *= /= on a tensor whose update must be recorded (it is part of a graph, or
    # the operand requires grad) compute the out-of-place result instead and rebind the name, so the graph
    # stays right. Writing to .data directly is the untracked escape hatch.

    def _check_inplace(self, op, other=None):
        if not _grad_mode.enabled:
            return
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError(f"{op}: a leaf tensor that requires grad (shape {self.data.shape}) is used in an "
                               "in-place operation; do it under `with no_grad():` (as an optimizer step does)")
        if self.grad_fn is not None:
            raise RuntimeError(f"{op}: in-place operation on a tensor that is part of a recorded graph (made by "
                               f"{self.grad_fn.name}, shape {self.data.shape}); write it out of place (y = y + 1; "
                               "the operators += -= *= /= do that for you), or do it under no_grad()")
        if isinstance(other, Tensor) and other.requires_grad:
            raise RuntimeError(f"{op}: the operand requires grad, but an in-place update of a tensor of shape "
                               f"{self.data.shape} is not recorded; write y = y + x, or do it under no_grad()")

    def _wrote(self):
        self._version += 1
        _note_write(self.data)
        return self

    # add_ & co. are built by _inplace_method (below the class): one call per update, not two (an optimizer step
    # runs one per parameter)
    add_ = _inplace_method("add_", operator.iadd)
    sub_ = _inplace_method("sub_", operator.isub)
    mul_ = _inplace_method("mul_", operator.imul)
    div_ = _inplace_method("div_", operator.itruediv)

    def _augmented(self, op, method, function, other):
        """``self op= other``: in place when nothing is recorded, else the recorded out-of-place op."""
        if _grad_mode.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            if self.grad_fn is None and self.requires_grad:
                self._check_inplace(op)  # PyTorch's error for a leaf that requires grad
            return _binary(function, self, other)
        return method(self, other, op)

    def __iadd__(self, other): return self._augmented("+=", Tensor.add_, Add, other)
    def __isub__(self, other): return self._augmented("-=", Tensor.sub_, Sub, other)
    def __imul__(self, other): return self._augmented("*=", Tensor.mul_, Mul, other)
    def __itruediv__(self, other): return self._augmented("/=", Tensor.div_, Div, other)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace("fill_")
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, bool) or not isinstance(value, (int, float, complex, np.generic, np.ndarray)) or \
                np.ndim(value) != 0 or np.asarray(value).dtype.kind not in _NUMBER_KINDS:
            raise TypeError(f"fill_: the value must be a number, got {_short(value)} (tensor of shape "
                            f"{self.data.shape}, {self.data.dtype})")
        try:
            self.data[...] = value
        except (TypeError, ValueError) as err:
            raise ValueError(f"fill_: cannot fill a {self.data.dtype} tensor of shape {self.data.shape} with "
                             f"{_short(value)}: {err}") from None
        return self._wrote()

    def copy_(self, source):
        """Copy ``source``'s values into this tensor (broadcasting, casting to this tensor's dtype)."""
        self._check_inplace("copy_", source)
        values = _as_array(source, op="copy_")
        try:
            np.copyto(self.data, values, casting="same_kind")
        except (TypeError, ValueError) as err:
            kind = TypeError if isinstance(err, TypeError) else ValueError
            raise kind(f"copy_: cannot copy {_describe(values)} into a {self.data.dtype} tensor of shape "
                       f"{self.data.shape}: {err}") from None
        return self._wrote()

    def clamp_(self, min=None, max=None):  # noqa: A002 (PyTorch's names)
        self._check_inplace("clamp_")
        if min is None and max is None:
            raise ValueError(f"clamp_: give min, max or both (tensor of shape {self.data.shape})")
        bounds = [b.data if isinstance(b, Tensor) else b for b in (min, max)]
        for bound in bounds:
            if bound is not None and np.asarray(bound).dtype.kind not in "biuf":
                raise TypeError(f"clamp_: the bounds must be numbers, got {_short(bound)}")
        try:
            np.clip(self.data, bounds[0], bounds[1], out=self.data, casting="same_kind")
        except (TypeError, ValueError) as err:
            kind = TypeError if isinstance(err, TypeError) else ValueError
            raise kind(f"clamp_: cannot clamp a {self.data.dtype} tensor of shape {self.data.shape} to "
                       f"[{_short(min)}, {_short(max)}]: {err}") from None
        return self._wrote()


def _norm_order(tensor, ord, p, axis):  # noqa: A002
    """The entrywise order of a norm call, from NumPy's ``ord`` or PyTorch's ``p``."""
    if p is not None:
        if ord is not None:
            raise TypeError("norm: got both ord= (NumPy) and p= (PyTorch); pass one of them")
        order = p
    else:
        over_two_axes = (axis is None and tensor.ndim == 2) or (isinstance(axis, tuple) and len(axis) == 2)
        if over_two_axes and ord not in (None, "fro"):
            raise ValueError(f"norm: ord={ord!r} over two axes is a matrix norm in numpy.linalg.norm, which is not "
                             f"supported (tensor of shape {tensor.shape}); ord=None or 'fro' gives the Euclidean norm "
                             "of the entries, p= the entrywise p-norm")
        if isinstance(axis, tuple) and len(axis) > 2 and ord is not None:
            raise ValueError(f"norm: ord={ord!r} takes one or two axes, got axis={axis}; use p= for the entrywise "
                             "norm over more")
        order = 2 if ord in (None, "fro") else ord
    if isinstance(order, bool) or not isinstance(order, (int, float, np.integer, np.floating)):
        raise TypeError(f"norm: the order must be a number, got {order!r} (tensor of shape {tensor.shape})")
    if not order > 0:
        raise ValueError(f"norm: the order must be a positive number or inf, got {order!r} (tensor of shape "
                         f"{tensor.shape})")
    return float(order)


_REVERSED_AXES = {"axes": None}


def _vector_norm(tensor, order, axis, keepdims):
    if order == 2:
        return _unary(Norm, tensor, {"axis": axis, "keepdims": keepdims})
    magnitude = tensor.abs()
    if order == np.inf:
        return magnitude.max(axis=axis, keepdims=keepdims)
    if order == 1:
        return magnitude.sum(axis=axis, keepdims=keepdims)
    return (magnitude ** order).sum(axis=axis, keepdims=keepdims) ** (1.0 / order)


from .autograd import _grad_mode, apply_binary as _binary, apply_unary as _unary  # noqa: E402
from .autograd import note_inplace_write as _note_write  # noqa: E402
from .ops import (Abs, Add, AsType, BroadcastTo, Clip, Div, Exp, Expm1, GetItem, Log, Log1p, LogSoftmax,  # noqa: E402
                  LogSumExp, MatMul, Max, Maximum, Mean, Min, Minimum, Mul, Neg, Norm, Pad, Pow, ReLU, Reshape,
                  Sigmoid, Softmax, Sqrt, Std, Sub, Sum, SwapAxes, Tanh, Transpose, Var)
