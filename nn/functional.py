"""Stateless neural-network functions: ``import tinygrad_dl.nn.functional as F``.

Everything takes and returns Tensors (NumPy arrays are accepted where a Tensor is expected). Layers,
dropout, normalisation and losses are single graph nodes (see ``_ops.py``); the rest reuses core ops.
"""
import numpy as np

from tinygrad_dl import Tensor

from . import _ops
from .conv import conv1d, conv2d
from .padding import pad
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# ----------------------------------------------------------------------------------------------------
# layers and activations


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` for x of shape (..., in_features), weight (out_features, in_features)
    (the course's W[l] layout) and bias (out_features,) or None."""
    x, weight = _tensor(x), _tensor(weight)
    x_shape, weight_shape = x.data.shape, weight.data.shape  # read once: this runs on every forward pass
    if len(weight_shape) != 2 or not x_shape or x_shape[-1] != weight_shape[1]:
        raise ValueError(f"linear: input of shape {x_shape} does not fit a weight of shape {weight_shape} "
                         "(weight is (out_features, in_features); the input's last axis must be in_features)")
    if bias is not None:
        bias = _tensor(bias)
        if bias.data.shape != weight_shape[:1]:
            raise ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) for a weight "
                             f"of shape {weight.shape}")
    return _ops.Linear.apply(x, weight, bias)


def relu(x):
    return _tensor(x).relu()


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, negative_slope * x elsewhere."""
    return _ops.LeakyReLU.apply(_tensor(x), negative_slope=float(negative_slope))


def sigmoid(x):
    return _tensor(x).sigmoid()


def tanh(x):
    return _tensor(x).tanh()


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed after subtracting the max (no overflow)."""
    x = _tensor(x)
    _check_axis("softmax", x, axis)
    return _ops.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: finite for any finite input."""
    x = _tensor(x)
    _check_axis("log_softmax", x, axis)
    return _ops.LogSoftmax.apply(x, axis=axis)


def _check_axis(op, x, axis):
    if not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for an input of shape {x.shape}")


def dropout(x, p=0.5, training=True, generator=None, layout="rows"):
    """Inverted dropout: zero each element with probability ``p`` and scale the kept ones by 1/(1-p).

    The mask is ``rng.random(shape) < keep_prob`` with ``rng = generator`` or, if None, the legacy global
    ``np.random`` (so ``np.random.seed(s)`` first gives the course's ``np.random.rand(*shape) < keep_prob``).
    ``layout="columns"`` draws the mask for the transposed array and transposes it back: a network in row
    layout (examples are rows, x of shape (m, n)) then gets exactly the masks of the course's column layout
    (A of shape (n, m)). Identity when ``training`` is False or p == 0.
    """
    x = _tensor(x)
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p is the probability of dropping a unit and must be in [0, 1], got {p}")
    if layout not in ("rows", "columns"):
        raise ValueError(f"dropout: layout must be 'rows' or 'columns', got {layout!r}")
    if not training or p == 0:
        return x
    keep_prob = 1 - p
    rng = np.random if generator is None else generator
    if layout == "columns":
        mask = (rng.random(x.shape[::-1]) < keep_prob).T
    else:
        mask = rng.random(x.shape) < keep_prob
    if keep_prob == 0:
        return _ops.Dropout.apply(x, mask=mask, keep_prob=1.0)  # everything dropped: all zeros, without dividing by 0
    return _ops.Dropout.apply(x, mask=mask, keep_prob=keep_prob)


# ----------------------------------------------------------------------------------------------------
# normalisation


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5,
               axis=1):
    """Batch normalisation over every axis except the channel axis ``axis`` (1: (N, C) or (N, C, L)).

    Training: normalise with the batch mean and biased variance, and (when the running arrays are given)
    update them in place: running = (1 - momentum) * running + momentum * batch statistic, with the
    unbiased variance for running_var (PyTorch's convention). Eval: normalise with the running statistics.
    ``running_mean``/``running_var`` are arrays (or Tensors) of shape (C,); weight and bias (C,) or None.
    """
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have a batch axis and a channel axis, got shape {x.shape}")
    axis = axis % x.ndim
    channels = x.shape[axis]
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
    param_shape = tuple(channels if i == axis else 1 for i in range(x.ndim))
    running_mean, running_var = _array_or_none(running_mean), _array_or_none(running_var)
    weight, bias = _check_params("batch_norm", weight, bias, (channels,), x.shape)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and stat.shape != (channels,):
            raise ValueError(f"batch_norm: {name} has shape {stat.shape}, expected ({channels},) for an input of "
                             f"shape {x.shape} with channel axis {axis}")
    if training:
        if x.size // channels < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, got input of shape "
                             f"{x.shape}")
        running = None
        if running_mean is not None and running_var is not None:
            running = (running_mean, running_var, momentum)
        return _ops.AffineNormalize.apply(x, weight, bias, axes=reduce_axes, eps=eps, param_shape=param_shape,
                                          param_axes=reduce_axes, running=running)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: eval mode (training=False) needs running_mean and running_var")
    return _ops.AffineNormalize.apply(x, weight, bias, axes=reduce_axes, eps=eps, param_shape=param_shape,
                                      param_axes=reduce_axes, stats=(running_mean, running_var))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` axes (biased variance), then ``* weight + bias``."""
    x = _tensor(x)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    count = len(normalized_shape)
    if count == 0 or x.shape[x.ndim - count:] != normalized_shape or count > x.ndim:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape "
                         f"{normalized_shape}")
    weight, bias = _check_params("layer_norm", weight, bias, normalized_shape, x.shape)
    axes = tuple(range(x.ndim - count, x.ndim))
    leading = tuple(range(x.ndim - count))
    return _ops.AffineNormalize.apply(x, weight, bias, axes=axes, eps=eps, param_shape=normalized_shape,
                                      param_axes=leading)


def _array_or_none(values):
    if values is None:
        return None
    return values.data if isinstance(values, Tensor) else np.asarray(values)


def _check_params(op, weight, bias, shape, x_shape):
    checked = []
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None:
            param = _tensor(param)
            if param.shape != tuple(shape):
                raise ValueError(f"{op}: {name} has shape {param.shape}, expected {tuple(shape)} for an input "
                                 f"of shape {x_shape}")
        checked.append(param)
    return checked


# ----------------------------------------------------------------------------------------------------
# losses


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _pair(op, prediction, target):
    """Prediction and target as Tensors of equal shape; the target takes the prediction's float dtype."""
    prediction = _tensor(prediction)
    if prediction.dtype.kind != "f":
        raise TypeError(f"{op}: the prediction must be a floating-point tensor, got dtype {prediction.dtype}")
    if isinstance(target, Tensor):
        if target.requires_grad:
            if target.dtype != prediction.dtype:
                target = target.astype(prediction.dtype)
        elif target.dtype != prediction.dtype:
            target = Tensor(target.data.astype(prediction.dtype))
    else:
        target = Tensor(np.asarray(target, dtype=prediction.dtype))
    if target.shape != prediction.shape:
        raise ValueError(f"{op}: prediction of shape {prediction.shape} and target of shape {target.shape} must "
                         "have the same shape (losses do not broadcast; reshape one of them)")
    return prediction, target


def binary_cross_entropy(p, y, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p; logs are clamped at -100 (PyTorch), so p = 0 or 1
    gives a finite loss and gradient."""
    _check_reduction("binary_cross_entropy", reduction)
    p, y = _pair("binary_cross_entropy", p, y)
    if p.size and (p.data.min() < 0 or p.data.max() > 1):
        raise ValueError(f"binary_cross_entropy: the prediction must hold probabilities in [0, 1], got values "
                         f"from {p.data.min()} to {p.data.max()} (use binary_cross_entropy_with_logits for "
                         "logits)")
    return _ops.BinaryCrossEntropy.apply(p, y, reduction=reduction)


def binary_cross_entropy_with_logits(z, y, reduction="mean"):
    """BCE of sigmoid(z) computed from the logits z as max(z, 0) - z y + log(1 + exp(-|z|)): never overflows."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    z, y = _pair("binary_cross_entropy_with_logits", z, y)
    return _ops.BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction)


def cross_entropy(logits, target, axis=-1, reduction="mean"):
    """Softmax cross-entropy -log softmax(logits)[target] through logsumexp.

    ``axis`` is the class axis: -1 for logits (N, C) with examples as rows, 0 for the course's (C, m).
    ``target``: integer class indices with the logits' shape minus ``axis`` (e.g. (N,)), or one-hot /
    probabilities with the logits' shape. "mean" averages over the examples.
    """
    op = "cross_entropy"
    _check_reduction(op, reduction)
    logits = _tensor(logits)
    if logits.dtype.kind != "f" or logits.ndim == 0:
        raise TypeError(f"{op}: logits must be a floating-point tensor with a class axis, got shape "
                        f"{logits.shape} and dtype {logits.dtype}")
    _check_axis(op, logits, axis)
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(target_shape) == logits.shape:
        logits, target = _pair(op, logits, target)
        return _ops.CrossEntropy.apply(logits, target, axis=axis, reduction=reduction, indices=False)
    index_shape = logits.shape[:axis % logits.ndim] + logits.shape[axis % logits.ndim + 1:]
    if tuple(target_shape) != index_shape:
        raise ValueError(f"{op}: target of shape {tuple(target_shape)} fits logits of shape {logits.shape} "
                         f"neither as class indices (shape {index_shape}) nor as probabilities (same shape)")
    return _ops.CrossEntropy.apply(logits, _class_indices(target, logits.shape[axis]), axis=axis,
                                   reduction=reduction, indices=True)


def _class_indices(target, num_classes):
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise ValueError("cross_entropy: class-index targets must hold whole numbers")
        values = values.astype(np.intp)
    elif values.dtype.kind not in "iub":
        raise TypeError(f"cross_entropy: class-index targets must be integers, got dtype {values.dtype}")
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise IndexError(f"cross_entropy: class indices must be in [0, {num_classes}), got values from "
                         f"{values.min()} to {values.max()}")
    return values.astype(np.intp, copy=False)


def mse_loss(p, y, reduction="mean"):
    """(p - y)^2, averaged, summed or per element."""
    _check_reduction("mse_loss", reduction)
    p, y = _pair("mse_loss", p, y)
    diff = p - y
    squared = diff * diff
    return squared.mean() if reduction == "mean" else squared.sum() if reduction == "sum" else squared


def l2_penalty(weights, lambd, m):
    """The course's L2 regularisation cost: (1/m) * (lambd/2) * sum of the squared entries of ``weights``.

    ``weights`` is an iterable of weight tensors (usually the W's only, not the biases); ``m`` the number
    of examples. Its gradient with respect to each W is (lambd/m) * W, as in the course.
    """
    if isinstance(weights, Tensor):
        raise TypeError("l2_penalty: pass an iterable of weight tensors, e.g. [model.fc1.weight, ...]")
    weights = list(weights)
    if not weights:
        raise ValueError("l2_penalty: no weights given")
    if m <= 0:
        raise ValueError(f"l2_penalty: m (the number of examples) must be positive, got {m}")
    total = None
    for w in weights:
        w = _tensor(w)
        squares = (w * w).sum()
        total = squares if total is None else total + squares
    return total * ((1.0 / m) * (lambd / 2))


__all__ = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "dropout", "batch_norm",
           "layer_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss",
           "l2_penalty"]
__all__ += ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad"]
