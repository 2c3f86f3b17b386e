"""The Tensor: a NumPy array, the gradient it receives, and the node (``grad_fn``) that produced it."""
from operator import attrgetter

import numpy as np

from . import autograd

DEFAULT_DTYPE = np.float32


def _as_array(data, dtype=None):
    """NumPy arrays keep their dtype; Python scalars and lists become float32 (bools stay bool)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data, dtype=dtype)
    if dtype is None and array.dtype.kind in "iuf":
        array = array.astype(DEFAULT_DTYPE)
    return array


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return repr(value)


class Tensor:
    """An n-dimensional array that records the operations applied to it, for reverse-mode autodiff.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``. A NumPy array is used as is (no copy,
    dtype kept); Python scalars and lists become float32. Only floating-point tensors can require grad.
    """

    __slots__ = ("data", "__dict__", "__weakref__")
    __array_ufunc__ = None  # NumPy operators defer to ours, so `np_array @ tensor` builds a graph
    # Defaults read from the class until a tensor sets its own: an op's result then only needs its data.
    grad = None
    grad_fn = None
    requires_grad = False
    name = None
    _retains_grad = False
    _version = 0  # bumped by every in-place change (see "in-place updates" below)

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _as_array(data, dtype)
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array):
        """Fast path for the engine: wrap an ndarray without any checks (every other field at its default)."""
        t = cls.__new__(cls)
        t.data = array
        return t

    # -- autograd ---------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind not in "fc":
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
            raise RuntimeError("retain_grad: the tensor does not require grad")
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

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element converts to a Python scalar, got shape "
                             f"{self.data.shape}")
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.data)

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
    def __add__(self, other): return Add.apply(self, other)
    def __radd__(self, other): return Add.apply(other, self)
    def __sub__(self, other): return Sub.apply(self, other)
    def __rsub__(self, other): return Sub.apply(other, self)
    def __mul__(self, other): return Mul.apply(self, other)
    def __rmul__(self, other): return Mul.apply(other, self)
    def __truediv__(self, other): return Div.apply(self, other)
    def __rtruediv__(self, other): return Div.apply(other, self)
    def __pow__(self, other): return Pow.apply(self, other)
    def __rpow__(self, other): return Pow.apply(other, self)
    def __matmul__(self, other): return MatMul.apply(self, other)
    def __rmatmul__(self, other): return MatMul.apply(other, self)
    def __neg__(self): return Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return Abs.apply(self)
    def __getitem__(self, index): return GetItem.apply(self, index=index)

    def __setitem__(self, index, value):
        raise TypeError("Tensor does not support item assignment (it would break the recorded graph); build the "
                        "new tensor with where(), concatenate() or pad() instead")

    # comparisons are not differentiable: they return plain (bool) tensors
    def _compare(self, other, ufunc):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(ufunc(self.data, other))

    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)
    def __eq__(self, other): return self._compare(other, np.equal)
    def __ne__(self, other): return self._compare(other, np.not_equal)

    # -- elementwise functions --------------------------------------------------------------------
    def exp(self): return Exp.apply(self)
    def log(self): return Log.apply(self)
    def sqrt(self): return Sqrt.apply(self)
    def tanh(self): return Tanh.apply(self)
    def sigmoid(self): return Sigmoid.apply(self)
    def relu(self): return ReLU.apply(self)
    def abs(self): return Abs.apply(self)
    def maximum(self, other): return Maximum.apply(self, other)
    def minimum(self, other): return Minimum.apply(self, other)
    def clip(self, min=None, max=None): return Clip.apply(self, low=min, high=max)
    def astype(self, dtype): return AsType.apply(self, dtype=np.dtype(dtype))
    def float(self): return self.astype(np.float32)
    def double(self): return self.astype(np.float64)

    # -- reductions -------------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return Mean.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return Max.apply(self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return Min.apply(self, axis=axis, keepdims=keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return Tensor(np.argmax(self.data, axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return Tensor(np.argmin(self.data, axis=axis, keepdims=keepdims))

    # -- movement ---------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        """Permute the axes (reverse them when no axes or None is given), like ndarray.transpose."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return Transpose.apply(self, axes=tuple(axes) if axes else None)

    @property
    def T(self):
        return Transpose.apply(self, axes=None)

    def swapaxes(self, axis1, axis2): return SwapAxes.apply(self, axis1=axis1, axis2=axis2)
    def squeeze(self, axis=None): return Reshape.apply(self, shape=np.squeeze(self.data, axis=axis).shape)
    def expand_dims(self, axis): return Reshape.apply(self, shape=np.expand_dims(self.data, axis).shape)

    def flatten(self, start_axis=0, end_axis=-1):
        """Merge axes start_axis..end_axis into one (all of them by default, like NumPy's flatten)."""
        shape = self.data.shape
        if not shape:
            return self.reshape(1)
        start, end = start_axis % len(shape), end_axis % len(shape)
        merged = int(np.prod(shape[start:end + 1]))
        return self.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def broadcast_to(self, shape): return BroadcastTo.apply(self, shape=tuple(shape))

    # -- in-place updates -------------------------------------------------------------------------
    # They write into .data and bump ._version, so a backward that saved the old value can tell it changed.
    # Allowed on tensors outside a graph and, under no_grad(), on leaves (optimizer steps); refused where they
    # would make a recorded graph silently wrong. Writing to .data directly is the untracked escape hatch.

    def _check_inplace(self, op_name):
        if not autograd.is_grad_enabled():
            return
        if self.grad_fn is None and self.requires_grad:
            raise RuntimeError(f"{op_name}: a leaf tensor that requires grad (shape {self.data.shape}) is used in an "
                               "in-place operation; do it under `with no_grad():` (as an optimizer step does)")
        if self.grad_fn is not None:
            raise RuntimeError(f"{op_name}: in-place operation on a tensor that is part of a recorded graph (made by "
                               f"{self.grad_fn.name}, shape {self.data.shape}); use the out-of-place form "
                               "(y = y + 1 instead of y += 1)")

    def _inplace(self, op_name, ufunc, other):
        self._check_inplace(op_name)
        other = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, other, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as err:
            raise type(err)(f"{op_name}: cannot update a {self.data.dtype} tensor of shape {self.data.shape} in place "
                            f"with {_describe(other)}: {err}") from None
        self._version += 1
        return self

    def add_(self, other): return self._inplace("add_", np.add, other)
    def sub_(self, other): return self._inplace("sub_", np.subtract, other)
    def mul_(self, other): return self._inplace("mul_", np.multiply, other)
    def div_(self, other): return self._inplace("div_", np.true_divide, other)
    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        self._version += 1
        return self

    def copy_(self, source):
        """Copy ``source``'s values into this tensor (broadcasting, casting to this tensor's dtype)."""
        self._check_inplace("copy_")
        values = source.data if isinstance(source, Tensor) else np.asarray(source)
        try:
            np.copyto(self.data, values, casting="same_kind")
        except (TypeError, ValueError) as err:
            raise type(err)(f"copy_: cannot copy {_describe(values)} into a {self.data.dtype} tensor of shape "
                            f"{self.data.shape}: {err}") from None
        self._version += 1
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002 (PyTorch's names)
        self._check_inplace("clamp_")
        np.clip(self.data, min, max, out=self.data)
        self._version += 1
        return self

    def pad(self, pad_width, constant_values=0):
        return Pad.apply(self, pad_width=pad_width, constant_values=constant_values)


from .ops import (Abs, Add, AsType, BroadcastTo, Clip, Div, Exp, GetItem, Log, LogSumExp, MatMul,  # noqa: E402
                  Max, Maximum, Mean, Min, Minimum, Mul, Neg, Pad, Pow, ReLU, Reshape, Sigmoid, Sqrt, Sub, Sum,
                  SwapAxes, Tanh, Transpose, Var)
