"""Convolutions: ``F.conv2d``, ``F.conv1d`` and the layers ``nn.Conv2d``, ``nn.Conv1d`` (PyTorch's conventions).

Inputs are NCHW (N, C, L for 1-D), weights (C_out, C_in/groups, kH, kW), bias (C_out,). ``padding`` is an
int, a pair, "valid" or "same": "same" is TensorFlow's SAME for any stride (the output has ceil(size /
stride) entries; when the total padding is odd the extra row/column goes at the bottom/right), which is
what the course's Keras/TF models use. PyTorch accepts "same" only for stride 1, where the two agree.
Each call is one graph node (``_conv_ops.Convolution``) with its backward beside its forward.
"""
import math

import numpy as np

from tinygrad_dl import Tensor

from . import init as nn_init
from ._conv_ops import Convolution, pair, window_geometry
from .module import Module, Parameter

_LAYOUTS = {1: ("(N, C_in, L)", "(C_out, C_in/groups, kL)"), 2: ("(N, C_in, H, W)", "(C_out, C_in/groups, kH, kW)")}


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of x (N, C_in, H, W) with weight (C_out, C_in/groups, kH, kW).

    stride, dilation: an int or a pair; padding: an int, a pair, "valid" or "same" (TensorFlow's SAME, any
    stride); groups: split the channels into groups convolved separately (groups = C_in: depthwise).
    Returns (N, C_out, H_out, W_out).
    """
    return convolution("conv2d", x, weight, bias, stride, padding, dilation, groups, spatial_dims=2)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of x (N, C_in, L) with weight (C_out, C_in/groups, k); arguments as ``conv2d`` (ints)."""
    return convolution("conv1d", x, weight, bias, stride, padding, dilation, groups, spatial_dims=1)


def _one_d(op, name, value):
    """A 1-D convolution's int (or 1-tuple) argument as the pair (1 or 0 for the height of 1, value)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    return (0 if name == "padding" else 1, int(value))


def _check_float(op, **tensors):
    for name, t in tensors.items():
        if t is not None and t.dtype.kind != "f":
            hint = " (convert images with .astype(np.float32) / 255)" if name == "input" else ""
            raise TypeError(f"{op}: the {name} must be a floating-point tensor, got dtype {t.dtype} and shape "
                            f"{t.shape}{hint}")


def convolution(op, x, weight, bias, stride, padding, dilation, groups, spatial_dims):
    """Check everything, work out the windows once, and apply the ``Convolution`` op. ``op`` names the caller
    in error messages (the function, or the layer with its arguments)."""
    x, weight = _tensor(x), _tensor(weight)
    bias = None if bias is None else _tensor(bias)
    ndim = spatial_dims + 2
    input_layout, weight_layout = _LAYOUTS[spatial_dims]
    if x.ndim != ndim:
        raise ValueError(f"{op}: expected a {ndim}-D input {input_layout}, got shape {x.shape}")
    if 0 in x.shape:
        raise ValueError(f"{op}: the input of shape {x.shape} is empty")
    if weight.ndim != ndim:
        raise ValueError(f"{op}: expected a {ndim}-D weight {weight_layout}, got shape {weight.shape}")
    _check_float(op, input=x, weight=weight, bias=bias)
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c_out, c_per_group = weight.shape[:2]
    if c_out % groups:
        raise ValueError(f"{op}: groups={groups} does not divide the weight's {c_out} output channels (weight "
                         f"of shape {weight.shape})")
    if x.shape[1] != c_per_group * groups:
        raise ValueError(f"{op}: the input has {x.shape[1]} channels (shape {x.shape}) but the weight of shape "
                         f"{weight.shape} with groups={groups} expects {c_per_group * groups} "
                         f"(C_in/groups = {c_per_group})")
    if bias is not None and bias.shape != (c_out,):
        raise ValueError(f"{op}: bias has shape {bias.shape}, expected ({c_out},) for a weight of shape "
                         f"{weight.shape}")
    input_shape, weight_shape = x.shape, weight.shape
    if spatial_dims == 1:
        stride, dilation = _one_d(op, "stride", stride), _one_d(op, "dilation", dilation)
        if not isinstance(padding, str):
            padding = _one_d(op, "padding", padding)
        input_shape = (x.shape[0], x.shape[1], 1, x.shape[2])
        weight_shape = weight_shape[:2] + (1, weight_shape[2])
    geometry = window_geometry(op, input_shape, weight_shape[2:], stride, padding, dilation, groups, weight_shape)
    if spatial_dims == 1:
        geometry.original_input_shape, geometry.original_weight_shape = x.shape, weight.shape
    return Convolution.apply(x, weight, bias, geometry=geometry)


# ----------------------------------------------------------------------------------------------------
# Layers


class _ConvNd(Module):
    spatial_dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype,
                 init, generator):
        super().__init__()
        from .layers import _WEIGHT_INITS, _flag, _float_dtype  # here: layers -> functional -> conv at import time

        name = type(self).__name__
        bias, dtype = _flag(name, "bias", bias), _float_dtype(name, dtype)
        if not callable(init) and (not isinstance(init, str) or init not in _WEIGHT_INITS):
            raise ValueError(f"{name}: unknown init {init!r}; choose one of {sorted(_WEIGHT_INITS)} or pass a "
                             "function of the weight")
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels ({in_channels}) and out_channels "
                             f"({out_channels})")
        normalize = self._normalize
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = normalize("kernel_size", kernel_size, 1)
        self.stride = normalize("stride", stride, 1)
        self.dilation = normalize("dilation", dilation, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
            self.padding = padding
        else:
            self.padding = normalize("padding", padding, 0)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self.init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._initialize(init, generator)

    def _normalize(self, arg, value, minimum):
        name = type(self).__name__
        if self.spatial_dims == 1:
            value = _one_d(name, arg, value)[1]
            if value < minimum:
                raise ValueError(f"{name}: {arg} must be >= {minimum}, got {value!r}")
            return (value,)
        return pair(name, arg, value, minimum)

    def _initialize(self, init, generator):
        """Like ``Linear``: the named initialisers of ``nn.Linear(init=...)`` or a function of the weight.
        fan_in = C_in/groups * kH * kW. The default is PyTorch's (bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)))."""
        from .layers import _WEIGHT_INITS  # imported here: layers -> functional -> conv at import time

        if callable(init):
            init(self.weight)
            return
        if _WEIGHT_INITS[init] is not None:  # (a name the constructor checked)
            _WEIGHT_INITS[init](self.weight, generator=generator)
        if init == "kaiming_uniform" and self.bias is not None:
            bound = 1 / math.sqrt(nn_init.fan_in_and_fan_out(self.weight.shape)[0])
            nn_init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[-1] if self.spatial_dims == 1 \
            else self.padding
        stride = self.stride[0] if self.spatial_dims == 1 else self.stride
        dilation = self.dilation[0] if self.spatial_dims == 1 else self.dilation
        op = f"{type(self).__name__}({self.extra_repr()})"
        return convolution(op, x, self.weight, self.bias, stride, padding, dilation, self.groups, self.spatial_dims)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.spatial_dims:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.spatial_dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution layer: weight (out_channels, in_channels/groups, kH, kW), bias (out_channels,).

    Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
    dtype=np.float32, init="kaiming_uniform", generator=None). padding: int, pair, "valid" or "same"
    (TensorFlow's SAME, any stride). ``init`` takes the names of ``nn.Linear`` ("xavier_uniform" is Keras'
    glorot_uniform, the course's default; "he" its He normal) or a function of the weight; all but the
    default start the bias at zero. Input (N, in_channels, H, W).
    """

    spatial_dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 dtype=np.float32, init="kaiming_uniform", generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype,
                         init, generator)


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, in_channels, L): weight (out_channels, in_channels/groups, k).
    Arguments as ``Conv2d`` with ints (or 1-tuples) for kernel_size, stride, padding and dilation."""

    spatial_dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 dtype=np.float32, init="kaiming_uniform", generator=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype,
                         init, generator)
