"""Layers without normalisation: Linear, the activations, Dropout, Flatten, Identity.

Constructors check their arguments (sizes are positive integers, dtypes floating-point, probabilities in
[0, 1], ...) and say which layer and argument is wrong, before anything is built.
"""
from numbers import Integral, Real

import numpy as np

from tinygrad_dl import Tensor
from tinygrad_dl.autograd import apply_ternary as _apply_ternary

from . import functional as F
from . import init as nn_init
from ._ops import Linear as _LinearOp
from .module import Module, Parameter

# Linear(init=...) names -> how the weight is drawn. All but "kaiming_uniform" set the bias to zero,
# like the course's initialize_parameters.
_WEIGHT_INITS = {
    "kaiming_uniform": nn_init.kaiming_uniform_,   # PyTorch's default (bias U(-1/sqrt(in), 1/sqrt(in)))
    "scaled_normal": nn_init.scaled_normal_,       # course: randn * 0.01
    "normal_fan_in": nn_init.normal_fan_in_,       # course: randn / sqrt(n_prev)
    "kaiming_normal": nn_init.kaiming_normal_,     # course He init: randn * sqrt(2 / n_prev)
    "he": nn_init.kaiming_normal_,
    "xavier_normal": nn_init.xavier_normal_,
    "xavier_uniform": nn_init.xavier_uniform_,
    "zeros": None,                                 # course logistic regression: w = 0, b = 0
}


def _size(layer, name, value):
    """A positive integer size (NumPy integers too; not bools, floats or strings)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{layer}: {name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value}")
    return int(value)


def _float_dtype(layer, dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{layer}: dtype {dtype!r} is not a NumPy dtype; use np.float32 or np.float64") from None
    if dtype.kind != "f":
        raise TypeError(f"{layer}: parameters must be floating-point, got dtype {dtype}; use np.float32 or "
                        "np.float64")
    return dtype


def _flag(layer, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _number(layer, name, value, low=None, high=None, low_open=False):
    """A finite real number within the bounds (``low_open``: value > low)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not np.isfinite(float(value)):
        raise TypeError(f"{layer}: {name} must be a finite real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        bounds = f"{'>' if low_open else '>='} {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{layer}: {name} must be {bounds}, got {value!r}")
    return value


def _axis_argument(layer, axis, dim, default):
    """``dim`` (PyTorch's name) or ``axis`` (NumPy's): one int."""
    axis = F._pick_axis(layer, axis, dim, default)
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, Integral):
        raise TypeError(f"{layer}: dim must be an int, got {axis!r} ({type(axis).__name__})")
    return int(axis)


class Linear(Module):
    """``y = x @ weight.T + bias`` for x of shape (..., in_features).

    weight has shape (out_features, in_features), the layout of the course's W[l]; bias (out_features,).
    ``init`` is one of "kaiming_uniform" (PyTorch's default), "scaled_normal" (randn * 0.01),
    "normal_fan_in" (randn / sqrt(in)), "kaiming_normal"/"he" (randn * sqrt(2 / in)), "xavier_normal",
    "xavier_uniform", "zeros", or a function called with the weight Parameter. Except for
    "kaiming_uniform" the bias starts at zero, so ``np.random.seed(s)`` followed by the layers in order
    draws exactly what the course's ``initialize_parameters`` draws (``generator=None``: global np.random).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, init="kaiming_uniform",
                 generator=None):
        super().__init__()
        self.in_features = _size("Linear", "in_features", in_features)
        self.out_features = _size("Linear", "out_features", out_features)
        bias, dtype = _flag("Linear", "bias", bias), _float_dtype("Linear", dtype)
        if not callable(init) and init not in _WEIGHT_INITS:
            raise ValueError(f"Linear: unknown init {init!r}; choose one of {sorted(_WEIGHT_INITS)} or pass a "
                             "function of the weight")
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._initialize(init, generator)

    def _initialize(self, init, generator):
        if callable(init):
            init(self.weight)
            return
        if init not in _WEIGHT_INITS:
            raise ValueError(f"Linear: unknown init {init!r}; choose one of {sorted(_WEIGHT_INITS)} or pass a "
                             "function of the weight")
        weight_init = _WEIGHT_INITS[init]
        if weight_init is not None:
            weight_init(self.weight, generator=generator)
        if init == "kaiming_uniform" and self.bias is not None:
            bound = 1 / np.sqrt(self.in_features)
            nn_init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        if isinstance(x, Tensor) and self.bias is not None:  # (weight and bias are Parameters: registration says so)
            return _apply_ternary(_LinearOp, x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"dtype={self.weight.dtype}")


class ReLU(Module):
    def forward(self, x):
        return x.relu() if isinstance(x, Tensor) else F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    def forward(self, x):
        return x.tanh() if isinstance(x, Tensor) else F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid() if isinstance(x, Tensor) else F.sigmoid(x)


class GELU(Module):
    """x * Phi(x) (Phi: the standard normal distribution function), or its tanh approximation with
    ``approximate="tanh"`` (PyTorch's GELU)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear (x) where beta x > threshold (PyTorch's Softplus)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = _number("Softplus", "beta", beta)
        if self.beta == 0:
            raise ValueError("Softplus: beta must be non-zero, got 0.0")
        self.threshold = _number("Softplus", "threshold", threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _AlongAxis(Module):
    """A layer acting along one axis: ``dim`` (NumPy's ``axis`` works too). ``dim=None`` means the last axis
    (PyTorch's implicit choice for dim=None is deprecated there; pass dim explicitly)."""

    def __init__(self, dim=None, *, axis=None):
        super().__init__()
        self.dim = _axis_argument(type(self).__name__, axis, dim, -1)

    @property
    def axis(self):
        return self.dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongAxis):
    """exp(x) / sum(exp(x)) along ``dim`` (``axis``), computed without overflow."""

    def forward(self, x):
        return F.softmax(x, self.dim)


class LogSoftmax(_AlongAxis):
    """log(softmax(x)) along ``dim`` (``axis``), as x - logsumexp(x): finite for any finite input."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """Merge axes start_axis..end_axis (by default everything but the batch axis); PyTorch's ``start_dim``/
    ``end_dim`` work too."""

    def __init__(self, start_axis=1, end_axis=-1, *, start_dim=None, end_dim=None):
        super().__init__()
        self.start_axis = _axis_argument("Flatten", None, start_dim, start_axis)
        self.end_axis = _axis_argument("Flatten", None, end_dim, end_axis)

    def forward(self, x):
        return x.flatten(self.start_axis, self.end_axis)

    def extra_repr(self):
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Dropout(Module):
    """Inverted dropout with drop probability ``p`` in training mode; the identity in eval mode.

    ``generator``: np.random.Generator/RandomState, or None for the global np.random (the course's
    ``np.random.rand(*A.shape) < keep_prob`` after ``np.random.seed``). ``layout="columns"`` draws each mask
    for the transposed input, so a row-layout network (x of shape (m, n)) gets the course's masks, which
    are drawn for its column layout (n, m). See ``nn.functional.dropout``.
    """

    def __init__(self, p=0.5, generator=None, layout="rows"):
        super().__init__()
        p = F._probability("Dropout", p)
        if layout not in ("rows", "columns"):
            raise ValueError(f"Dropout: layout must be 'rows' or 'columns', got {layout!r}")
        self.p, self.generator, self.layout = p, generator, layout

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator, self.layout)

    def extra_repr(self):
        return f"p={self.p}" + (f", layout={self.layout!r}" if self.layout != "rows" else "")
