"""BatchNorm1d, BatchNorm2d and LayerNorm (the computation is one graph node each, see ``_ops.AffineNormalize``)."""
import numpy as np

from . import functional as F
from .layers import _flag, _float_dtype, _number, _size
from .module import Module, Parameter


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) (or (N, C, L)) inputs over the batch, per feature/channel.

    ``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
    dtype=np.float32)`` (PyTorch's arguments, state_dict keys and defaults).
    Training: uses the batch mean and biased variance, and updates the running statistics (buffers
    ``running_mean``, ``running_var``) with the unbiased batch variance:
    running = (1 - momentum) * running + momentum * batch (``momentum=None``: the cumulative average,
    momentum = 1 / num_batches_tracked). Eval: uses the running statistics (the batch's own without
    ``track_running_stats``). ``affine=True`` adds a learnt scale ``weight`` (ones) and shift ``bias`` (zeros).
    """

    _expected_ndims = (2, 3)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        self.num_features = _size(name, "num_features", num_features)
        self.eps = _number(name, "eps", eps, low=0.0, low_open=True)
        self.momentum = None if momentum is None else _number(name, "momentum", momentum, low=0.0, high=1.0)
        self.affine = _flag(name, "affine", affine)
        self.track_running_stats = _flag(name, "track_running_stats", track_running_stats)
        dtype = _float_dtype(name, dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def _check_input(self, x):
        self._check_dtype(x)
        if x.ndim not in self._expected_ndims or x.shape[1] != self.num_features:
            hint = ""
            if x.ndim == 4:
                hint = " (a 4-d input (N, C, H, W) is BatchNorm2d's, or call F.batch_norm, which takes any (N, C, ...))"
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got shape {x.shape}{hint}")

    def _check_dtype(self, x):
        if x.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}({self.num_features}): expected a floating-point input, got "
                            f"{x.dtype} of shape {x.shape}; convert it with .astype(np.float32) first")

    def forward(self, x):
        self._check_input(x)
        if not self.training and self.track_running_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False,
                                eps=self.eps)
        momentum = self.momentum
        if self.training and self.track_running_stats and x.size // self.num_features > 1:
            self.num_batches_tracked += 1  # (a batch F.batch_norm refuses is not counted)
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=True,
                            momentum=0.0 if momentum is None else momentum, eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Normalise each example over its last ``len(normalized_shape)`` axes; learnt ``weight`` (ones) and ``bias``
    (zeros) of that shape when ``elementwise_affine`` (PyTorch's ``bias=False`` keeps the weight only)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, (list, tuple)):
            if not normalized_shape:
                raise ValueError("LayerNorm: normalized_shape must have at least one axis, got ()")
            shape = tuple(_size("LayerNorm", "normalized_shape", n) for n in normalized_shape)
        else:
            shape = (_size("LayerNorm", "normalized_shape", normalized_shape),)
        self.normalized_shape = shape
        self.eps = _number("LayerNorm", "eps", eps, low=0.0, low_open=True)
        self.elementwise_affine = _flag("LayerNorm", "elementwise_affine", elementwise_affine)
        with_bias = _flag("LayerNorm", "bias", bias)
        dtype = _float_dtype("LayerNorm", dtype)
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if self.elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if self.elementwise_affine and with_bias else None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        extra = ", bias=False" if self.elementwise_affine and self.bias is None else ""
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}{extra}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation of (N, C, H, W) inputs per channel, over the batch and every position (the
    course's Keras ``BatchNormalization(axis=3)`` on NHWC). Parameters ``weight``/``bias`` (C,) and buffers
    ``running_mean``/``running_var`` (C,) and ``num_batches_tracked``, the arguments and training/eval rules of
    ``BatchNorm1d``; one graph node (``_ops.AffineNormalize``).

    Keras' defaults differ: its ``momentum=0.99`` is ``momentum=0.01`` here, and its ``epsilon`` is 1e-3.
    """

    _expected_ndims = (4,)

    def _check_input(self, x):
        self._check_dtype(x)
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected input (N, {self.num_features}, H, W), got "
                             f"shape {x.shape}")
