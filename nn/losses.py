"""Loss modules: ``loss_fn = nn.BCELoss(); loss = loss_fn(prediction, target)``.

``reduction`` is "mean" (default), "sum" or "none" (the per-element / per-example losses). Prediction
and target must have the same shape (except class-index targets of ``CrossEntropyLoss``).
"""
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (e.g. a sigmoid output); logs clamped at -100 like PyTorch."""

    def forward(self, prediction, target):
        return F.binary_cross_entropy(prediction, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid included): numerically stable for any logit."""

    def forward(self, prediction, target):
        return F.binary_cross_entropy_with_logits(prediction, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits (N, C) (class axis ``axis``); target class indices (N,) or
    one-hot/probabilities (N, C)."""

    def __init__(self, reduction="mean", axis=-1):
        super().__init__(reduction)
        self.axis = axis

    def forward(self, prediction, target):
        return F.cross_entropy(prediction, target, axis=self.axis, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (p - y)^2."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, self.reduction)
