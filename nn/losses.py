"""Loss modules: ``loss_fn = nn.BCELoss(); loss = loss_fn(prediction, target)``.

``reduction`` is "mean" (default), "sum" or "none" (the per-element / per-example losses). Prediction
and target must have the same shape (except class-index targets of ``CrossEntropyLoss`` and ``NLLLoss``).
As in PyTorch, the losses that take class or element weights have ``weight`` as their first argument
(stored as a buffer, so it is part of ``state_dict()``); everything else is passed by keyword.
"""
import numpy as np

from tinygrad_dl import Tensor
from tinygrad_dl.autograd import apply_binary as _apply_binary

from . import functional as F
from ._ops import BinaryCrossEntropyWithLogits as _BCEWithLogits
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with an optional constant ``weight`` (a buffer)."""

    def __init__(self, weight=None, reduction="mean"):
        F._reduction_not_weight(type(self).__name__, weight)
        super().__init__(reduction)
        self.register_buffer("weight", _constant_buffer(type(self).__name__, "weight", weight))


def _constant_buffer(owner, name, values):
    """A weight-like argument as a buffer: a copy, float32 unless it is a float array already."""
    array = F._constant_array(owner, name, values)
    if array is None:
        return None
    return np.array(array, dtype=array.dtype if array.dtype.kind == "f" else np.float32)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (e.g. a sigmoid output); logs clamped at -100 like PyTorch.
    ``BCELoss(weight=None, reduction="mean")``: ``weight`` rescales each element's loss (broadcast)."""

    def forward(self, prediction, target):
        return F.binary_cross_entropy(prediction, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits (sigmoid included): numerically stable for any logit.

    ``BCEWithLogitsLoss(weight=None, reduction="mean", pos_weight=None)``: ``weight`` rescales each
    element's loss, ``pos_weight`` (one entry per class, broadcast along the last axis) the positive term:
    ``-[pos_weight y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]``.
    """

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _constant_buffer("BCEWithLogitsLoss", "pos_weight", pos_weight))

    def forward(self, prediction, target):
        if self.weight is None and self.pos_weight is None:  # reduction was checked by the constructor
            usual = False  # the usual case, on every training step: float Tensors of one shape and dtype
            if isinstance(prediction, Tensor) and isinstance(target, Tensor):
                p, t = prediction.data, target.data
                usual = p.dtype is t.dtype and p.shape == t.shape and p.dtype.kind == "f"
            if not usual:  # lists, arrays, other dtypes or shapes: F._pair converts them or explains
                prediction, target = F._pair("binary_cross_entropy_with_logits", prediction, target)
            reduction = self.reduction  # ("mean", forward's default, needs no keyword dict)
            return _apply_binary(_BCEWithLogits, prediction, target, None if reduction == "mean" else
                                 {"reduction": reduction})
        return F.binary_cross_entropy_with_logits(prediction, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy on logits: PyTorch's ``CrossEntropyLoss(weight=None, ignore_index=-100,
    reduction="mean", label_smoothing=0.0)``.

    Logits (N, C), (N, C, d1, ...) or (C,); target class indices (N,) / (N, d1, ...) / () or probabilities
    (e.g. one-hot) of the logits' shape. The class axis is PyTorch's (1, or 0 for a 1-d input) unless
    ``dim``/``axis`` says otherwise (``axis=0`` for the course's (C, m) layout). See ``F.cross_entropy``.
    """

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0, dim=None,
                 axis=None):
        super().__init__(weight, reduction)
        name = type(self).__name__
        self.ignore_index, self.label_smoothing = F._index_settings(name, ignore_index, label_smoothing)
        self.dim = F._pick_axis(name, axis, dim, None)
        if self.dim is not None and (isinstance(self.dim, (bool, np.bool_)) or not isinstance(self.dim, (int, np.integer))):
            raise TypeError(f"{name}: dim must be an int or None, got {self.dim!r}")

    @property
    def axis(self):
        return self.dim

    def forward(self, prediction, target):
        return F.cross_entropy(prediction, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing, axis=self.dim)

    def extra_repr(self):
        extra = [f"reduction={self.reduction!r}"]
        if self.ignore_index != -100:
            extra.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            extra.append(f"label_smoothing={self.label_smoothing}")
        if self.dim is not None:
            extra.append(f"dim={self.dim}")
        return ", ".join(extra)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (``nn.LogSoftmax`` output) at class indices: PyTorch's
    ``NLLLoss(weight=None, ignore_index=-100, reduction="mean")``. Shapes as in ``CrossEntropyLoss``."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index, _ = F._index_settings("NLLLoss", ignore_index)

    def forward(self, prediction, target):
        return F.nll_loss(prediction, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (p - y)^2."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |p - y|."""

    def forward(self, prediction, target):
        return F.l1_loss(prediction, target, self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 (p - y)^2 / beta where |p - y| < beta, else |p - y| - 0.5 beta: PyTorch's
    ``SmoothL1Loss(reduction="mean", beta=1.0)`` (quadratic near 0, linear beyond beta)."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = F._real("SmoothL1Loss", "beta", beta, low=0.0)

    def forward(self, prediction, target):
        return F.smooth_l1_loss(prediction, target, self.reduction, self.beta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, beta={self.beta}"
