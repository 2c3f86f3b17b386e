"""Weight initialisation, in place: ``tinygrad_dl.nn.init``.

Every function fills ``tensor.data`` in place (its dtype is kept) and returns the tensor. ``generator`` is
a ``np.random.Generator`` or ``RandomState``; None means the legacy global ``np.random``, so calling
``np.random.seed(s)`` and then initialising the layers in order reproduces the course's parameters
exactly. Values are drawn in float64 with the course's arithmetic and then stored in the tensor's dtype:

    course                                           here
    np.random.randn(n_l, n_prev) * 0.01              scaled_normal_(W)        (C1 planar, C1 step by step)
    np.random.randn(n_l, n_prev) / np.sqrt(n_prev)   normal_fan_in_(W)        (C1 deep net, C2 regularisation)
    np.random.randn(n_l, n_prev) * np.sqrt(2./n_prev) kaiming_normal_(W)      (He init, C2 init/optimisation)
    np.zeros((n_l, 1))                               zeros_(b)
"""
import math

import numpy as np

from tinygrad_dl import Tensor


def _array(tensor, op):
    if isinstance(tensor, Tensor):
        return tensor.data
    raise TypeError(f"nn.init.{op}: expected a Tensor (e.g. a Parameter), got {type(tensor).__name__}")


def _fill(tensor, values, op):
    """Copy ``values`` into the tensor's own array (keeping its dtype) and return the tensor."""
    data = _array(tensor, op)
    if not data.flags.writeable:
        raise ValueError(f"nn.init.{op}: the tensor's array (shape {data.shape}) is read-only")
    data[...] = values
    return tensor


def _float_shape(tensor, op):
    data = _array(tensor, op)
    if data.dtype.kind != "f":
        raise TypeError(f"nn.init.{op}: random initialisation needs a floating-point tensor, got dtype "
                        f"{data.dtype}")
    return data.shape


def _rng(generator):
    return np.random if generator is None else generator


def fan_in_and_fan_out(shape, op="fan_in_and_fan_out"):
    """fan_in, fan_out of a weight: (out, in) -> (in, out); a convolution's (C_out, C_in/groups, kH, kW) ->
    (C_in/groups * kH * kW, C_out * kH * kW), PyTorch's rule (Keras' glorot fans too, for groups=1)."""
    if len(shape) < 2:
        raise ValueError(f"nn.init.{op}: fan in and fan out need a weight with at least 2 axes, got shape "
                         f"{tuple(shape)}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def zeros_(tensor):
    return _fill(tensor, 0, "zeros_")


def ones_(tensor):
    return _fill(tensor, 1, "ones_")


def constant_(tensor, value):
    return _fill(tensor, value, "constant_")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Samples of N(mean, std^2)."""
    shape = _float_shape(tensor, "normal_")
    return _fill(tensor, _rng(generator).standard_normal(shape) * std + mean, "normal_")


def uniform_(tensor, low=0.0, high=1.0, generator=None):
    """Samples of U(low, high)."""
    shape = _float_shape(tensor, "uniform_")
    return _fill(tensor, _rng(generator).uniform(low, high, shape), "uniform_")


def scaled_normal_(tensor, scale=0.01, generator=None):
    """``standard_normal(shape) * scale``: the course's ``np.random.randn(n_l, n_prev) * 0.01``."""
    shape = _float_shape(tensor, "scaled_normal_")
    return _fill(tensor, _rng(generator).standard_normal(shape) * scale, "scaled_normal_")


def normal_fan_in_(tensor, generator=None):
    """``standard_normal(shape) / np.sqrt(fan_in)``: the course's ``randn(n_l, n_prev) / np.sqrt(n_prev)``."""
    shape = _float_shape(tensor, "normal_fan_in_")
    fan_in, _ = fan_in_and_fan_out(shape, "normal_fan_in_")
    return _fill(tensor, _rng(generator).standard_normal(shape) / np.sqrt(fan_in), "normal_fan_in_")


def kaiming_normal_(tensor, generator=None):
    """He initialisation ``standard_normal(shape) * np.sqrt(2. / fan_in)`` (the course's He init)."""
    shape = _float_shape(tensor, "kaiming_normal_")
    fan_in, _ = fan_in_and_fan_out(shape, "kaiming_normal_")
    return _fill(tensor, _rng(generator).standard_normal(shape) * np.sqrt(2. / fan_in), "kaiming_normal_")


def kaiming_uniform_(tensor, a=math.sqrt(5), generator=None):
    """U(-bound, bound) with bound = sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(fan_in).

    With the default a = sqrt(5) this is PyTorch's default for Linear weights: bound = 1 / sqrt(fan_in).
    """
    shape = _float_shape(tensor, "kaiming_uniform_")
    fan_in, _ = fan_in_and_fan_out(shape, "kaiming_uniform_")
    gain = math.sqrt(2.0 / (1 + a * a))
    bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
    return _fill(tensor, _rng(generator).uniform(-bound, bound, shape), "kaiming_uniform_")


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    shape = _float_shape(tensor, "xavier_normal_")
    fan_in, fan_out = fan_in_and_fan_out(shape, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(generator).standard_normal(shape) * std, "xavier_normal_")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out))."""
    shape = _float_shape(tensor, "xavier_uniform_")
    fan_in, fan_out = fan_in_and_fan_out(shape, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(tensor, _rng(generator).uniform(-bound, bound, shape), "xavier_uniform_")
