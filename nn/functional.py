"""Stateless neural-network functions: ``import tinygrad_dl.nn.functional as F``.

Everything takes and returns Tensors (NumPy arrays are accepted where a Tensor is expected). Layers,
dropout, normalisation and losses are single graph nodes (see ``_ops.py``); the rest reuses core ops.
"""
import numpy as np

from tinygrad_dl import Tensor
from tinygrad_dl.autograd import apply_ternary as _apply_ternary

from . import _ops
from .multitask import masked_binary_cross_entropy_with_logits  # noqa: F401  (the multi-task loss, in F too)
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
    if not isinstance(x, Tensor):  # (the shapes are checked by the op itself: this runs on every forward pass)
        x = Tensor(x)
    if not isinstance(weight, Tensor):
        weight = Tensor(weight)
    if bias is None:
        return _ops.Linear.apply(x, weight, None)
    if not isinstance(bias, Tensor):
        bias = Tensor(bias)
    return _apply_ternary(_ops.Linear, x, weight, bias)


def relu(x):
    return _tensor(x).relu()


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, negative_slope * x elsewhere."""
    negative_slope = _real("leaky_relu", "negative_slope", negative_slope)
    return _ops.LeakyReLU.apply(_tensor(x), negative_slope=negative_slope)


def sigmoid(x):
    return _tensor(x).sigmoid()


def tanh(x):
    return _tensor(x).tanh()


def gelu(x, approximate="none"):
    """GELU: x * Phi(x), Phi the standard normal distribution function; ``approximate="tanh"`` uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (PyTorch's two forms)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _ops.GELU.apply(_float_tensor("gelu", x), approximate=approximate)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's definition)."""
    beta = _real("softplus", "beta", beta)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero, got 0")
    threshold = _real("softplus", "threshold", threshold)
    return _ops.Softplus.apply(_float_tensor("softplus", x), beta=beta, threshold=threshold)


def softmax(x, axis=None, *, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (PyTorch: ``dim``; default the last axis), computed after
    subtracting the max (no overflow)."""
    x = _tensor(x)
    axis = _pick_axis("softmax", axis, dim, -1)
    _check_axis("softmax", x, axis)
    return _ops.Softmax.apply(x, axis=axis)


def log_softmax(x, axis=None, *, dim=None):
    """x - logsumexp(x) along ``axis`` (PyTorch: ``dim``; default the last axis): finite for any finite input."""
    x = _tensor(x)
    axis = _pick_axis("log_softmax", axis, dim, -1)
    _check_axis("log_softmax", x, axis)
    return _ops.LogSoftmax.apply(x, axis=axis)


def _pick_axis(op, axis, dim, default):
    """``axis`` (NumPy's name) or ``dim`` (PyTorch's): the same argument under two names; ``default`` if neither."""
    if dim is not None:
        if axis is not None and axis != dim:
            raise TypeError(f"{op}: got axis={axis!r} and dim={dim!r}; they are the same argument (NumPy's and "
                            "PyTorch's name for it): pass one")
        axis = dim
    return default if axis is None else axis


def _check_axis(op, x, axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} ({type(axis).__name__}) for an input of shape "
                        f"{x.shape}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for an input of shape {x.shape}")


def _float_tensor(op, x):
    x = _tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype} (shape {x.shape})")
    return x


def _real(op, name, value, low=None, high=None):
    """A finite real number (not a bool) within [low, high], as a Python float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise TypeError(f"{op}: {name} must be a finite real number, got {value!r} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{op}: {name} must be in [{low}, {high}], got {value!r}")
    return float(value)


def dropout(x, p=0.5, training=True, generator=None, layout="rows"):
    """Inverted dropout: zero each element with probability ``p`` and scale the kept ones by 1/(1-p).

    The mask is ``rng.random(shape) < keep_prob`` with ``rng = generator`` or, if None, the legacy global
    ``np.random`` (so ``np.random.seed(s)`` first gives the course's ``np.random.rand(*shape) < keep_prob``).
    ``layout="columns"`` draws the mask for the transposed array and transposes it back: a network in row
    layout (examples are rows, x of shape (m, n)) then gets exactly the masks of the course's column layout
    (A of shape (n, m)). Identity when ``training`` is False or p == 0.
    """
    x = _tensor(x)
    p = _probability("dropout", p)
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


def _probability(op, p):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{op}: p is the probability of dropping a unit and must be in [0, 1] (a number), got {p!r}")
    return float(p)


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
    if isinstance(prediction, Tensor) and isinstance(target, Tensor):  # the usual case, on every training step
        p, t = prediction.data, target.data
        if p.dtype == t.dtype and p.shape == t.shape and p.dtype.kind == "f":
            return prediction, target
    prediction = _tensor(prediction)
    if prediction.dtype.kind != "f":
        raise TypeError(f"{op}: the prediction must be a floating-point tensor, got dtype {prediction.dtype}")
    if isinstance(target, Tensor):
        if target.dtype.kind not in "fiub":
            raise TypeError(f"{op}: the target must hold real numbers, got dtype {target.dtype} (shape "
                            f"{target.shape})")
        if target.requires_grad:
            if target.dtype != prediction.dtype:
                target = target.astype(prediction.dtype)
        elif target.dtype != prediction.dtype:
            target = Tensor(target.data.astype(prediction.dtype))
    else:
        target = Tensor(_real_array(op, "target", target).astype(prediction.dtype, copy=False))
    if target.shape != prediction.shape:
        raise ValueError(f"{op}: prediction of shape {prediction.shape} and target of shape {target.shape} must "
                         "have the same shape (losses do not broadcast; reshape one of them)")
    return prediction, target


def _real_array(op, name, values):
    try:
        array = np.asarray(values)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{op}: {name} is not a rectangular array of numbers ({err})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{op}: {name} must hold real numbers, got {type(values).__name__} of dtype {array.dtype}")
    return array


def _reduction_not_weight(op, weight):
    if isinstance(weight, str):
        raise TypeError(f"{op}: the third positional argument is weight (as in PyTorch), got the string "
                        f"{weight!r}; pass reduction={weight!r} by keyword")


def _constant_array(op, name, values):
    """A weight-like argument (a constant of the loss: a Tensor that needs a gradient is refused) as an array of
    real numbers, or None."""
    if values is None:
        return None
    if isinstance(values, Tensor):
        if values.requires_grad:
            raise ValueError(f"{op}: {name} is a constant of the loss (it gets no gradient); pass "
                             f"{name}.detach() (shape {values.shape})")
        values = values.data
    return _real_array(op, name, values)


def _constant(op, name, values, dtype):
    """A weight-like argument as a float array of ``dtype``: it is a constant (not differentiated)."""
    array = _constant_array(op, name, values)
    return None if array is None else array.astype(dtype, copy=False)


def _class_scores(op, scores, weight, axis, dim, requirement):
    """The per-class input of cross_entropy / nll_loss as a float Tensor, its class axis, and ``weight`` checked
    against the number of classes. ``requirement`` is what the error says the input must be."""
    scores = _tensor(scores)
    if scores.dtype.kind != "f" or scores.ndim == 0:
        raise TypeError(f"{op}: {requirement}, got shape {scores.shape} and dtype {scores.dtype}")
    axis = _class_axis(op, scores, axis, dim)
    return scores, axis, _class_weight(op, weight, scores.shape[axis], scores.dtype)


def _class_weight(op, weight, classes, dtype):
    weight = _constant(op, "weight", weight, dtype)
    if weight is not None and weight.shape != (classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({classes},), got shape {weight.shape}")
    return weight


def _elementwise_weight(op, name, weight, shape, dtype):
    weight = _constant(op, name, weight, dtype)
    if weight is not None:
        try:
            fits = np.broadcast_shapes(weight.shape, shape) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: {name} of shape {weight.shape} does not broadcast to the input's shape {shape}")
    return weight


def binary_cross_entropy(p, y, weight=None, reduction="mean"):
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p; logs are clamped at -100 (PyTorch), so p = 0 or 1
    gives a finite loss and gradient. ``weight`` (broadcast to p's shape) rescales each element's loss."""
    op = "binary_cross_entropy"
    _reduction_not_weight(op, weight)
    _check_reduction(op, reduction)
    p, y = _pair(op, p, y)
    if p.size and (p.data.min() < 0 or p.data.max() > 1):
        raise ValueError(f"binary_cross_entropy: the prediction must hold probabilities in [0, 1], got values "
                         f"from {p.data.min()} to {p.data.max()} (use binary_cross_entropy_with_logits for "
                         "logits)")
    weight = _elementwise_weight(op, "weight", weight, p.shape, p.dtype)
    return _ops.BinaryCrossEntropy.apply(p, y, reduction=reduction, weight=weight)


def binary_cross_entropy_with_logits(z, y, weight=None, reduction="mean", pos_weight=None):
    """BCE of sigmoid(z) computed from the logits z as max(z, 0) - z y + log(1 + exp(-|z|)): never overflows.

    ``weight`` rescales each element's loss; ``pos_weight`` (one entry per class, broadcast along the last
    axis) weighs the positive examples: ``-[pos_weight y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]``.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    z, y = _pair(op, z, y)
    if weight is None and pos_weight is None:  # the common case, on every training step: no extra calls
        return _ops.BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction)
    _reduction_not_weight(op, weight)
    weight = _elementwise_weight(op, "weight", weight, z.shape, z.dtype)
    pos_weight = _elementwise_weight(op, "pos_weight", pos_weight, z.shape, z.dtype)
    return _ops.BinaryCrossEntropyWithLogits.apply(z, y, reduction=reduction, weight=weight, pos_weight=pos_weight)


def _class_axis(op, logits, axis, dim):
    """The class axis: ``axis``/``dim`` if given, else PyTorch's rule (1, or 0 for a 1-d input)."""
    axis = _pick_axis(op, axis, dim, None)
    if axis is None:
        axis = 1 if logits.ndim >= 2 else 0
    _check_axis(op, logits, axis)
    return axis % logits.ndim


def _index_settings(op, ignore_index, label_smoothing=0.0):
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index), _real(op, "label_smoothing", label_smoothing, 0.0, 1.0)


def cross_entropy(logits, target, weight=None, *, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  axis=None, dim=None):
    """Softmax cross-entropy -log softmax(logits)[target] through logsumexp, as PyTorch defines it.

    The class axis is ``axis`` (PyTorch: ``dim``); by default PyTorch's: 1 for logits (N, C) or (N, C, d1, ...),
    0 for (C,); ``axis=0`` also fits the course's column layout (C, m). ``target``: integer class indices with
    the logits' shape minus that axis (e.g. (N,) or (N, d1, ...)), or probabilities (e.g. one-hot) with the
    logits' shape. ``weight`` (C,) weighs the classes, ``ignore_index`` marks index targets that count
    nothing, ``label_smoothing`` eps mixes eps/C of the uniform distribution into the target. "mean" divides
    by the summed weights of the counted examples (index targets) or by the number of examples.
    """
    op = "cross_entropy"
    _reduction_not_weight(op, weight)
    _check_reduction(op, reduction)
    ignore_index, label_smoothing = _index_settings(op, ignore_index, label_smoothing)
    logits, axis, weight = _class_scores(op, logits, weight, axis, dim,
                                         "logits must be a floating-point tensor with a class axis")
    target_shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    settings = dict(axis=axis, reduction=reduction, label_smoothing=label_smoothing)
    if tuple(target_shape) == logits.shape:
        logits, target = _pair(op, logits, target)
        return _ops.CrossEntropy.apply(logits, target, weight, indices=False, **settings)
    index_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    if tuple(target_shape) != index_shape:
        raise ValueError(f"{op}: target of shape {tuple(target_shape)} fits logits of shape {logits.shape} "
                         f"(class axis {axis}) neither as class indices (shape {index_shape}) nor as probabilities "
                         "(same shape)")
    indices = _class_indices(op, target, logits.shape[axis], ignore_index)
    return _ops.CrossEntropy.apply(logits, indices, weight, indices=True, ignore_index=ignore_index, **settings)


def nll_loss(log_probs, target, weight=None, *, ignore_index=-100, reduction="mean", axis=None, dim=None):
    """Negative log-likelihood ``-weight[y] * log_probs[y]`` at class indices y (``log_probs`` from
    ``log_softmax``): PyTorch's NLLLoss. Class axis and "mean" as in ``cross_entropy``."""
    op = "nll_loss"
    _reduction_not_weight(op, weight)
    _check_reduction(op, reduction)
    ignore_index, _ = _index_settings(op, ignore_index)
    log_probs, axis, weight = _class_scores(
        op, log_probs, weight, axis, dim,
        "the input must be a floating-point tensor of log-probabilities with a class axis")
    target_shape = tuple(target.shape if isinstance(target, Tensor) else np.shape(target))
    index_shape = log_probs.shape[:axis] + log_probs.shape[axis + 1:]
    if target_shape != index_shape:
        raise ValueError(f"{op}: target of shape {target_shape} does not fit an input of shape {log_probs.shape} "
                         f"(class axis {axis}): class indices of shape {index_shape} expected")
    indices = _class_indices(op, target, log_probs.shape[axis], ignore_index)
    return _ops.NLL.apply(log_probs, indices, weight, axis=axis, reduction=reduction, ignore_index=ignore_index)


def _class_indices(op, target, num_classes, ignore_index=None):
    values = target.data if isinstance(target, Tensor) else _real_array(op, "target", target)
    if values.dtype.kind == "f":
        if not np.all(values == np.round(values)):
            raise ValueError(f"{op}: class-index targets must hold whole numbers (shape {values.shape})")
        values = values.astype(np.intp)
    elif values.dtype.kind not in "iub":
        raise TypeError(f"{op}: class-index targets must be integers, got dtype {values.dtype}")
    counted = values if ignore_index is None else values[values != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= num_classes):
        raise IndexError(f"{op}: class indices must be in [0, {num_classes}) (or ignore_index={ignore_index}), got "
                         f"values from {counted.min()} to {counted.max()} in a target of shape {values.shape}")
    return values.astype(np.intp, copy=False)


def l1_loss(p, y, reduction="mean"):
    """|p - y|, averaged, summed or per element."""
    _check_reduction("l1_loss", reduction)
    p, y = _pair("l1_loss", p, y)
    return _ops.L1.apply(p, y, reduction=reduction)


def smooth_l1_loss(p, y, reduction="mean", beta=1.0):
    """0.5 (p - y)^2 / beta where |p - y| < beta, else |p - y| - 0.5 beta (PyTorch's SmoothL1Loss; beta = 0 is
    the L1 loss)."""
    _check_reduction("smooth_l1_loss", reduction)
    beta = _real("smooth_l1_loss", "beta", beta, low=0.0)
    p, y = _pair("smooth_l1_loss", p, y)
    return _ops.SmoothL1.apply(p, y, reduction=reduction, beta=beta)


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


__all__ = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softplus", "softmax", "log_softmax", "dropout",
           "batch_norm", "layer_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "l2_penalty"]

# Course 5: token ids, attention and the positional encoding (defined in their own files)
from .attention import attention_weights, positional_encoding, scaled_dot_product_attention  # noqa: E402
from .sparse import embedding, one_hot  # noqa: E402

__all__ += ["one_hot", "embedding", "scaled_dot_product_attention", "attention_weights", "positional_encoding"]

__all__ += ["conv1d", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad"]
