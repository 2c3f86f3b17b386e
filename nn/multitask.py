"""Multi-task learning with unknown labels: a sigmoid cross-entropy per task that skips the "?" entries.

The course's autonomous-driving example labels every image with several independent 0/1 answers
(pedestrian, car, stop sign, traffic light); some answers were never labelled ("?"). One network with
one logit per task is trained on

    J = 1/m * sum over examples i, tasks j with a known label y_j(i) of  L(sigmoid(z_j(i)), y_j(i))

so an image with a "?" still teaches the tasks that are labelled. Unknown entries are NaN or the
``ignore_value`` (default -1) in the target, or False in an explicit ``mask``.

    loss_fn = nn.MaskedBCEWithLogitsLoss(reduction="batchmean")     # the course's J
    loss = loss_fn(model(X), Y)                                      # Y: (m, tasks) of 0, 1 and -1 / NaN

It is one fused graph node (``MaskedBCEWithLogits``), written so ``create_graph=True`` works.
"""
import numpy as np

from tinygrad_dl import Function, Tensor
from tinygrad_dl.generic import sigmoid as _sigmoid  # on arrays and on Tensors

from .module import Module

REDUCTIONS = ("mean", "batchmean", "sum", "none")


class MaskedBCEWithLogits(Function):
    """Per-element max(z, 0) - z y + log(1 + e^-|z|) where ``known``, 0 elsewhere, then reduced.

    ``divisor``: what the sum is divided by ("mean": the number of known labels; "batchmean": the number
    of examples; "sum": 1); None keeps the per-element losses ("none").
    """

    @staticmethod
    def forward(ctx, z, y, known, divisor):
        y = np.where(known, y, 0).astype(z.dtype, copy=False)  # unknown entries (NaN, -1) never reach the maths
        losses = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))) * known
        # d loss / d losses: 1/divisor at known labels, 0 elsewhere (in z's dtype, so float32 stays float32)
        ctx.weight = known.astype(z.dtype) if divisor is None else known.astype(z.dtype) / z.dtype.type(divisor)
        ctx.save_for_backward(z, y)
        if divisor is None:
            return losses
        return np.asarray(losses.sum() / divisor, dtype=z.dtype)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.saved_tensors
        need_z, need_y = ctx.needs_input_grad[:2]
        scale = grad * ctx.weight
        grad_z = scale * (_sigmoid(z) - y) if need_z else None
        grad_y = -scale * z if need_y else None
        return grad_z, grad_y, None, None


def _check_ignore_value(op, ignore_value):
    if ignore_value is not None and (isinstance(ignore_value, (bool, np.bool_))
                                     or not isinstance(ignore_value, (int, float, np.integer, np.floating))):
        raise TypeError(f"{op}: ignore_value must be a number (the label that marks an unknown entry) or None, got "
                        f"{ignore_value!r}")
    return ignore_value


def known_labels_mask(target, ignore_value=-1):
    """True where ``target`` holds a label: not NaN and not ``ignore_value`` (None: only NaN is unknown)."""
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    known = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, dtype=bool)
    if ignore_value is not None:
        known &= values != ignore_value
    return known


def masked_binary_cross_entropy_with_logits(logits, target, mask=None, ignore_value=-1, reduction="mean"):
    """Sigmoid cross-entropy of every (example, task) whose label is known; unknown labels add nothing.

    ``logits`` and ``target`` have the same shape, e.g. (m, tasks). Unknown labels: NaN or ``ignore_value``
    in ``target`` (or False in ``mask``, a boolean array of the same shape, which then decides alone).
    ``reduction``: "mean" averages over the known labels (0 when none is known), "batchmean" divides the
    sum by the number of examples m (the course's J = 1/m sum_i sum_j L), "sum", or "none" (per element,
    0 at unknown labels). Known labels must lie in [0, 1].
    """
    op = "masked_binary_cross_entropy_with_logits"
    _check_ignore_value(op, ignore_value)
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    logits = logits if isinstance(logits, Tensor) else Tensor(logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"{op}: logits must be a floating-point tensor, got dtype {logits.dtype}")
    target_values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_values.shape != logits.shape:
        raise ValueError(f"{op}: logits of shape {logits.shape} and target of shape {target_values.shape} must have "
                         "the same shape")
    known = known_labels_mask(target_values, ignore_value) if mask is None else _mask(op, mask, logits.shape)
    labels = target_values[known]
    if labels.size and (labels.min() < 0 or labels.max() > 1):
        raise ValueError(f"{op}: known labels must be in [0, 1], got values from {labels.min()} to {labels.max()} "
                         f"(unknown labels are NaN or ignore_value={ignore_value!r})")
    if not isinstance(target, Tensor) or not target.requires_grad:
        target = target_values.astype(logits.dtype, copy=False)
    elif target.dtype != logits.dtype:
        target = target.astype(logits.dtype)
    divisor = {"mean": max(int(known.sum()), 1), "batchmean": logits.shape[0] if logits.ndim else 1, "sum": 1,
               "none": None}[reduction]
    return MaskedBCEWithLogits.apply(logits, target, known, divisor)


def _mask(op, mask, shape):
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"{op}: mask of shape {mask.shape} does not match the logits' shape {shape}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{op}: mask must be boolean (True = known label), got values other than 0 and 1")
        mask = mask.astype(bool)
    return mask


class MaskedBCEWithLogitsLoss(Module):
    """``MaskedBCEWithLogitsLoss(ignore_value=-1, reduction="mean")(logits, target, mask=None)``: the
    multi-task sigmoid cross-entropy that skips unknown labels (see
    ``masked_binary_cross_entropy_with_logits``)."""

    def __init__(self, ignore_value=-1, reduction="mean"):
        super().__init__()
        if not isinstance(reduction, str) or reduction not in REDUCTIONS:
            raise ValueError(f"MaskedBCEWithLogitsLoss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.ignore_value = _check_ignore_value("MaskedBCEWithLogitsLoss", ignore_value)
        self.reduction = reduction

    def forward(self, logits, target, mask=None):
        return masked_binary_cross_entropy_with_logits(logits, target, mask, self.ignore_value, self.reduction)

    def extra_repr(self):
        return f"ignore_value={self.ignore_value!r}, reduction={self.reduction!r}"
