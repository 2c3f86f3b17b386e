"""Pooling: ``F.max_pool2d``, ``F.avg_pool2d``, ``F.adaptive_avg_pool2d`` and their layers (NCHW, PyTorch's names).

``stride`` defaults to the kernel size. ``padding``: an int or a pair (at most half the kernel, PyTorch's
rule), "valid", or "same" (TensorFlow's SAME: ceil(size / stride) outputs, the odd padding at the
bottom/right). Padding never wins a max (it is -inf) and, by default with "same", is not counted by an
average (TensorFlow's rule); with int padding the average counts it (PyTorch's count_include_pad=True).

Max pooling sends each window's gradient to one element, the window's maximum; on ties the first one in
row-major order within the window (top-most, then left-most) wins.
"""
import numpy as np

from tinygrad_dl import Tensor

from . import _conv_ops
from ._conv_ops import pair, window_geometry
from .module import Module


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _pool_input(op, x):
    x = _tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: the input must be a floating-point tensor, got dtype {x.dtype} and shape "
                        f"{x.shape}")
    return x


def _pool_geometry(op, x, kernel_size, stride, padding, dilation=1):
    return window_geometry(op, x.shape, kernel_size, kernel_size if stride is None else stride, padding, dilation,
                           limit_padding=True)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The maximum of every kernel_size window of x (N, C, H, W), moved by ``stride`` (default: kernel_size)."""
    return _max_pool("max_pool2d", x, kernel_size, stride, padding, dilation)


def _max_pool(op, x, kernel_size, stride, padding, dilation):
    x = _pool_input(op, x)
    geometry = _pool_geometry(op, x, kernel_size, stride, padding, dilation)
    if any(geometry.padding) and geometry.dilation != (1, 1) and _real_counts(x, geometry).min() == 0:
        raise ValueError(f"{op}: with padding {padding!r} and dilation {geometry.dilation}, some windows of the "
                         f"input of shape {x.shape} hold only padding (use less padding or dilation)")
    return _conv_ops.MaxPool2d.apply(x, geometry=geometry)


def _real_counts(x, geometry):
    """How many elements of the input (not of the padding) each window holds: an (Ho, Wo) array."""
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    return _conv_ops.avg_pool_kernel(ones, geometry, 1)[0, 0]


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=None):
    """The mean of every kernel_size window of x (N, C, H, W), moved by ``stride`` (default: kernel_size).

    count_include_pad: whether padded zeros count in the mean; None means True for int padding (PyTorch's
    default) and False for "same" (TensorFlow's).
    """
    return _avg_pool("avg_pool2d", x, kernel_size, stride, padding, count_include_pad)


def _avg_pool(op, x, kernel_size, stride, padding, count_include_pad):
    x = _pool_input(op, x)
    geometry = _pool_geometry(op, x, kernel_size, stride, padding)
    if count_include_pad is None:
        count_include_pad = padding != "same"
    kh, kw = geometry.kernel
    if count_include_pad or not any(geometry.padding):
        divisor = kh * kw
    else:
        divisor = _real_counts(x, geometry)
    return _conv_ops.AvgPool2d.apply(x, geometry=geometry, divisor=divisor)


def adaptive_avg_pool2d(x, output_size):
    """Average x (N, C, H, W) into an (N, C, *output_size) grid of PyTorch's adaptive bins.

    output_size: an int or a pair (None keeps that axis); 1 is global average pooling.
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", x, output_size)


def _output_size(op, output_size, input_size=(1, 1)):
    """output_size as a pair of ints >= 1; a None entry keeps that axis of the input (H, W)."""
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(input_size[i] if s is None else s for i, s in enumerate(output_size))
    return pair(op, "output_size", output_size, 1)


def _adaptive_avg_pool(op, x, output_size):
    x = _pool_input(op, x)
    out_h, out_w = _output_size(op, output_size, x.shape[2:])
    if (out_h, out_w) == (1, 1):
        return _conv_ops.AdaptiveAvgPool2d.apply(x, rows=None, cols=None)
    rows = _conv_ops.averaging_matrix(x.shape[2], out_h, x.dtype)
    cols = _conv_ops.averaging_matrix(x.shape[3], out_w, x.dtype)
    return _conv_ops.AdaptiveAvgPool2d.apply(x, rows=rows, cols=cols)


# ----------------------------------------------------------------------------------------------------
# Layers


class _Pool2d(Module):
    def __init__(self, kernel_size, stride, padding):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair(name, "stride", stride, 1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
            self.padding = padding
        else:
            self.padding = pair(name, "padding", padding, 0)
            if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
                raise ValueError(f"{name}: padding {padding!r} must be at most half the kernel size "
                                 f"{self.kernel_size}")

    def _op(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return text + (f", padding={self.padding!r}" if self.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """Max pooling over kernel_size windows of (N, C, H, W) inputs; stride defaults to kernel_size.
    MaxPool2d(kernel_size, stride=None, padding=0, dilation=1); padding may be "same" (TensorFlow)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__(kernel_size, stride, padding)
        self.dilation = pair(type(self).__name__, "dilation", dilation, 1)

    def forward(self, x):
        return _max_pool(self._op(), x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        return super().extra_repr() + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")


class AvgPool2d(_Pool2d):
    """Average pooling over kernel_size windows of (N, C, H, W) inputs; stride defaults to kernel_size.
    AvgPool2d(kernel_size, stride=None, padding=0, count_include_pad=None): see ``F.avg_pool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=None):
        super().__init__(kernel_size, stride, padding)
        if count_include_pad is not None and not isinstance(count_include_pad, (bool, np.bool_)):
            raise TypeError(f"AvgPool2d: count_include_pad must be True, False or None, got {count_include_pad!r}")
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return _avg_pool(self._op(), x, self.kernel_size, self.stride, self.padding, self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average (N, C, H, W) inputs into a fixed (N, C, *output_size) grid; AdaptiveAvgPool2d(1) is global
    average pooling."""

    def __init__(self, output_size):
        super().__init__()
        _output_size("AdaptiveAvgPool2d", output_size)  # checked now, not at the first call
        self.output_size = output_size

    def forward(self, x):
        return _adaptive_avg_pool(f"AdaptiveAvgPool2d({self.extra_repr()})", x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size!r}"
