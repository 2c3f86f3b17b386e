"""BatchNorm1d and LayerNorm (the computation is one graph node each, see ``_ops.AffineNormalize``)."""
import numpy as np

from . import functional as F
from .module import Module, Parameter


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) (or (N, C, L)) inputs over the batch, per feature/channel.

    Training: uses the batch mean and biased variance, and updates the running statistics (buffers
    ``running_mean``, ``running_var``) with the unbiased batch variance:
    running = (1 - momentum) * running + momentum * batch. Eval: uses the running statistics.
    ``affine=True`` adds a learnt scale ``weight`` (ones) and shift ``bias`` (zeros).
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float32):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = int(num_features), eps, momentum, affine
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))

    def forward(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got shape {x.shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class LayerNorm(Module):
    """Normalise each example over its last ``len(normalized_shape)`` axes; learnt ``weight``/``bias`` of
    that shape when ``elementwise_affine`` (ones/zeros to start)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
            self.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation of (N, C, H, W) inputs per channel, over the batch and every position (the
    course's Keras ``BatchNormalization(axis=3)`` on NHWC). Parameters ``weight``/``bias`` (C,) and buffers
    ``running_mean``/``running_var`` (C,) as ``BatchNorm1d``; one graph node (``_ops.AffineNormalize``).

    Keras' defaults differ: its ``momentum=0.99`` is ``momentum=0.01`` here, and its ``epsilon`` is 1e-3.
    """

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}): expected input (N, {self.num_features}, H, W), got "
                             f"shape {x.shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=self.momentum, eps=self.eps)
