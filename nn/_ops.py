"""The ``Function`` subclasses behind ``nn.functional``: fused ops with a hand-written backward.

Each op here replaces a chain of 3-8 core ops by a single graph node, which is what makes small networks
fast (Python work per node is the cost there). They use only the core's public extension API (and its cache
of 0-d constants, ``tinygrad_dl._constants``).

Backward formulas are written with operators and methods that ``numpy.ndarray`` and ``Tensor`` share
(plus the small ``_exp``/``_log``/... helpers below), so ``backward(create_graph=True)`` differentiates
them again. In that mode the engine hands ``backward`` the inputs as Tensors; anything derived from an
input (normalised values, probabilities) is then recomputed from those Tensors instead of read from the
arrays cached during forward, which would be constants to the second-order graph.
"""
import numpy as np

from tinygrad_dl import Function, Tensor
from tinygrad_dl._constants import MINUS_ONE as _MINUS_ONE, ONE as _ONE, ZERO as _ZERO, constant as _constant


# ----------------------------------------------------------------------------------------------------
# helpers that work on both ndarray and Tensor: the core's public tinygrad_dl.generic

from tinygrad_dl.generic import exp as _exp, log as _log, log_softmax as _log_softmax  # noqa: E402, I001
from tinygrad_dl.generic import maximum as _maximum, sigmoid as _sigmoid  # noqa: E402


def _per_sample_grad(grad, reduction, count, kept_shape):
    """The incoming gradient of a loss, shaped to broadcast against the per-element losses."""
    if reduction == "none":
        return grad.reshape(kept_shape)
    if reduction == "mean":
        return grad * (1.0 / count)
    return grad


_ONES = [np.ones(0)]  # the read-only vector of ones _ones made last


def _ones(count, dtype):
    """A read-only vector of ``count`` ones (the one made last is reused: batches repeat a size and a dtype). Checked
    with len() and dtype identity: no shape tuple and no dtype hash on a training step's path."""
    ones = _ONES[0]
    if len(ones) != count or ones.dtype is not dtype:
        ones = np.ones(count, dtype)
        ones.flags.writeable = False
        _ONES[0] = ones
    return ones


def _reduce(losses, reduction):
    # np.add.reduce is what losses.sum() and np.mean call, without their Python-level layers
    # (a 0-d array: the engine would turn the NumPy scalar a full reduction gives into one, with a call more)
    if reduction == "mean":
        return _asarray(_sum_all(losses, None) / losses.size)
    if reduction == "sum":
        return _asarray(_sum_all(losses, None))
    return losses


_sum_all = np.add.reduce
_asarray = np.asarray
# np.putmask without the __array_function__ dispatch in Python that np.putmask runs first (0.2 us; NEP 18 names
# `_implementation` as the way to call a function without overrides)
_putmask = getattr(np.putmask, "_implementation", np.putmask)
_ndarray = np.ndarray
_FLOAT64 = np.dtype(np.float64)
_Z_ONLY = (True, False)


# ----------------------------------------------------------------------------------------------------
# Linear and activations


class Linear(Function):
    """``x @ weight.T + bias`` for x of shape (..., in); weight (out, in); bias (out,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        # (ndim and len() make no shape tuples: this runs on every training step; matmul checks the input's last
        # axis against in_features itself)
        if weight.ndim != 2 or bias is not None and (bias.ndim != 1 or len(bias) != len(weight)):
            raise _linear_shape_error(x, weight, bias)
        needs = ctx.needs_input_grad
        # save only what the backward will read: x for dW, weight for dx
        ctx.saved_tensors = (x if needs[1] else None, weight if needs[0] else None)
        if x.dtype is weight.dtype and (bias is None or bias.dtype is weight.dtype):
            ctx.exact_grads = True  # every gradient in its input's shape and dtype (see autograd.Function)
        try:
            if x.ndim == 2:
                # ndarray.dot: less dispatch than matmul and than np.dot, whose Python-level __array_function__
                # dispatcher runs first (dot would scale a 0-d input and loops without BLAS past 2-d: those take
                # matmul). OpenBLAS multiplies a tall batch by a small transposed weight up to 2.5x slower than by a
                # contiguous copy of it (400 x (4, 2): 2.1 vs 1.2 us); one row or column is contiguous either way.
                out_features, in_features = weight.shape
                small = weight.size <= 256 and out_features > 1 and in_features > 1
                weight_t = weight.T.copy() if small and len(x) >= 128 else weight.T
                out = x.dot(weight_t)
            else:
                out = x @ weight.T
        except ValueError:
            raise _linear_shape_error(x, weight, bias) from None
        if bias is not None:
            if bias.dtype is out.dtype:
                out += bias  # out is a fresh array: adding in place saves a copy
            else:
                out = out + bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_2d = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
        grad_x = grad_w = grad_b = None
        if need_w and x.ndim != 2:  # x with its leading axes flattened, like grad_2d
            x = x.reshape(-1, x.shape[-1])
        if type(grad_2d) is _ndarray:  # arrays: ndarray.dot, the 2-d products with the least dispatch (see forward)
            if need_x:
                grad_x = grad_2d.dot(weight)
            if need_w:
                grad_w = grad_2d.T.dot(x)
            if need_b:
                # the column sums as ones @ grad_2d, one BLAS product: NumPy's sum(axis=0) adds many short rows one
                # after the other (a (400, 4) gradient took longer than the matmuls around it)
                grad_b = _ones(len(grad_2d), grad_2d.dtype).dot(grad_2d)
        else:  # Tensors (create_graph): recorded operations
            if need_x:
                grad_x = grad_2d @ weight
            if need_w:
                grad_w = grad_2d.T @ x
            if need_b:
                grad_b = grad_2d.sum(axis=0)
        if grad_x is not None and grad.ndim != 2:  # x had the gradient's leading axes and in_features
            grad_x = grad_x.reshape(grad.shape[:-1] + weight.shape[1:])
        return grad_x, grad_w, grad_b


def _linear_shape_error(x, weight, bias):
    """What linear says when the shapes of its input, weight and bias do not fit together."""
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        return ValueError(f"linear: input of shape {x.shape} does not fit a weight of shape {weight.shape} (weight is "
                          "(out_features, in_features); the input's last axis must be in_features)")
    return ValueError(f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) for a weight of shape "
                      f"{weight.shape}")


class LeakyReLU(Function):
    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        ctx.negative_slope = negative_slope
        # the local slope is a constant of x's sign: 1 where x > 0, negative_slope elsewhere
        ctx.slope = np.where(x > 0, np.ones((), x.dtype), np.asarray(negative_slope, x.dtype))
        return x * ctx.slope

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.slope


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        exps = np.exp(x - x.max(axis=axis, keepdims=True))
        exps /= exps.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(exps)
        return exps

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        return probs * (grad - (grad * probs).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axis = axis
        out = _log_softmax(x, axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - _exp(out) * grad.sum(axis=ctx.axis, keepdims=True)


class Dropout(Function):
    """Multiply by a fixed 0/1 mask and divide by keep_prob, in the course's order of operations."""

    @staticmethod
    def forward(ctx, x, mask, keep_prob):
        ctx.mask, ctx.keep_prob = mask, keep_prob
        return x * mask / keep_prob

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask / ctx.keep_prob


# ----------------------------------------------------------------------------------------------------
# Normalisation (batch norm and layer norm share one op: they differ only in the axes)


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` with the biased variance; also returns mean, var, 1/std."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = (var + eps) ** -0.5
    return centered * inv_std, mean, var, inv_std


class AffineNormalize(Function):
    """``x_hat * weight + bias`` where x_hat normalises x over ``axes``.

    ``stats=None``: x_hat uses the statistics of x itself (batch norm in training, layer norm); otherwise
    ``stats=(mean, var)`` are constants (batch norm in eval mode). ``param_shape`` is the shape weight and
    bias take to broadcast against x; ``param_axes`` the axes of x they are broadcast over.
    ``running=(running_mean, running_var, momentum)`` updates the running statistics in place.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, axes, eps, param_shape, param_axes, stats=None, running=None):
        ctx.axes, ctx.eps, ctx.param_shape, ctx.param_axes = axes, eps, param_shape, param_axes
        ctx.fixed = stats is not None
        ctx.bias_shape = None if bias is None else bias.shape
        if stats is None:
            x_hat, mean, var, inv_std = _normalize(x, axes, eps)
            if running is not None:
                _update_running_stats(x, mean, var, *running)
        else:
            mean, var = (np.asarray(s, dtype=x.dtype).reshape(param_shape) for s in stats)
            inv_std = (var + eps) ** -0.5
            x_hat = (x - mean) * inv_std
        ctx.mean, ctx.inv_std, ctx.x_hat = mean, inv_std, x_hat
        ctx.save_for_backward(x, weight)
        out = x_hat
        if weight is not None:
            out = out * weight.reshape(param_shape)
        if bias is not None:
            out = out + bias.reshape(param_shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        x_hat, inv_std = ctx.x_hat, ctx.inv_std
        if isinstance(x, Tensor):  # create_graph: x_hat (and 1/std) must depend on x in the recorded graph
            if ctx.fixed:
                x_hat = (x - ctx.mean) * inv_std
            else:
                x_hat, _, _, inv_std = _normalize(x, ctx.axes, ctx.eps)
        grad_w = (grad * x_hat).sum(axis=ctx.param_axes).reshape(weight.shape) if need_w else None
        grad_b = grad.sum(axis=ctx.param_axes).reshape(ctx.bias_shape) if need_b else None
        grad_x = None
        if need_x:
            grad_hat = grad if weight is None else grad * weight.reshape(ctx.param_shape)
            if ctx.fixed:
                grad_x = grad_hat * inv_std
            else:
                # d/dx of (x - mean) / std, where mean and std depend on x too (the usual batch-norm backward)
                axes = ctx.axes
                grad_x = inv_std * (grad_hat - grad_hat.mean(axis=axes, keepdims=True)
                                    - x_hat * (grad_hat * x_hat).mean(axis=axes, keepdims=True))
        return grad_x, grad_w, grad_b


def _update_running_stats(x, mean, var, running_mean, running_var, momentum):
    """running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance (PyTorch)."""
    count = x.size // mean.size
    unbiased = var * (count / (count - 1))
    running_mean *= 1 - momentum
    running_mean += momentum * mean.reshape(running_mean.shape)
    running_var *= 1 - momentum
    running_var += momentum * unbiased.reshape(running_var.shape)


# ----------------------------------------------------------------------------------------------------
# Losses. Each computes the per-element loss, then reduces ("mean", "sum" or "none").


def _reduce_by(losses, reduction, denominator):
    """Like ``_reduce``, but "mean" divides by ``denominator`` (summed example weights); the plain count keeps
    ``_reduce``'s exact arithmetic."""
    if reduction != "mean" or denominator == losses.size:
        return _reduce(losses, reduction)
    with np.errstate(invalid="ignore", divide="ignore"):  # every example ignored: NaN, as in PyTorch
        return losses.sum() / denominator


class CrossEntropy(Function):
    """Softmax cross-entropy from logits, as PyTorch defines it.

    ``target`` holds class indices (the logits' shape without ``axis``) when ``indices=True``, else
    probabilities with the logits' shape. Every variant is ``-sum_c q_c log p_c`` for a target distribution
    q: the one-hot class (scaled by its ``weight`` and zero where the class is ``ignore_index``), or the given
    probabilities (times ``weight``); ``label_smoothing`` eps mixes eps/C of the uniform distribution in.
    "mean" divides by the summed weights of the counted examples (class indices) or by the number of
    examples (probabilities), like PyTorch. The gradient is ``p * sum(q) - q``. ``weight`` is a constant.
    """

    @staticmethod
    def forward(ctx, logits, target, weight=None, axis=-1, reduction="mean", indices=True, ignore_index=-100,
                label_smoothing=0.0):
        ctx.axis, ctx.reduction, ctx.indices, ctx.smoothing = axis, reduction, indices, label_smoothing
        classes = logits.shape[axis]
        ctx.class_weight = None if weight is None else _along_axis(weight.astype(logits.dtype), axis, logits.ndim)
        log_probs = _log_softmax(logits, axis)
        if indices:
            losses, denominator = _index_cross_entropy(ctx, log_probs, target, weight, axis, ignore_index)
        else:
            target_q = _smoothed(target, label_smoothing, classes, ctx.class_weight)
            losses = -(target_q * log_probs).sum(axis=axis)
            denominator = losses.size
        ctx.log_probs = log_probs
        ctx.count = denominator
        ctx.kept_shape = np.expand_dims(losses, axis).shape
        ctx.save_for_backward(logits, None if indices else target)
        return _reduce_by(losses, reduction, denominator)

    @staticmethod
    def backward(ctx, grad):
        logits, target = ctx.saved_tensors
        need_logits, need_target = ctx.needs_input_grad[:2]
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        log_probs = _log_softmax(logits, ctx.axis) if isinstance(logits, Tensor) else ctx.log_probs
        grad_logits = grad_target = None
        if need_logits:
            probs = _exp(log_probs)
            if ctx.indices and ctx.plain:
                if isinstance(probs, Tensor):
                    probs = probs - _one_hot(ctx.index, probs.shape, ctx.axis, probs.dtype)
                else:  # probs is a fresh array: subtract 1 at the target classes in place
                    picked = np.take_along_axis(probs, ctx.index, axis=ctx.axis)
                    np.put_along_axis(probs, ctx.index, picked - 1, axis=ctx.axis)
                grad_logits = probs * scale
            else:
                if ctx.indices:
                    target_q = ctx.target_q
                else:
                    classes = log_probs.shape[ctx.axis]
                    target_q = _smoothed(target, ctx.smoothing, classes, ctx.class_weight)
                # d/dz of -sum(q * log_softmax(z)) = softmax(z) * sum(q) - q
                grad_logits = (probs * target_q.sum(axis=ctx.axis, keepdims=True) - target_q) * scale
        if need_target:
            factor = 1 - ctx.smoothing if ctx.class_weight is None else (1 - ctx.smoothing) * ctx.class_weight
            grad_target = -log_probs * scale * factor if (ctx.smoothing or ctx.class_weight is not None) else \
                -log_probs * scale
        return grad_logits, grad_target, None


def _along_axis(vector, axis, ndim):
    """A per-class vector shaped to broadcast along ``axis`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return vector.reshape(shape)


def _smoothed(target, smoothing, classes, class_weight):
    """The target distribution of probability targets: (1 - eps) t + eps / C, times the class weights."""
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    if class_weight is not None:
        target = target * class_weight
    return target


def _index_cross_entropy(ctx, log_probs, target, weight, axis, ignore_index):
    """Per-example losses and the "mean" denominator for class-index targets (see CrossEntropy)."""
    classes = log_probs.shape[axis]
    ignored = target == ignore_index
    ignored = ignored if ignored.any() else None
    safe_target = target if ignored is None else np.where(ignored, 0, target)
    ctx.index = index = np.expand_dims(safe_target, axis)
    picked = -np.take_along_axis(log_probs, index, axis=axis).squeeze(axis)
    ctx.plain = weight is None and ignored is None and not ctx.smoothing
    if ctx.plain:  # the common case: no weights, nothing ignored, no smoothing
        return picked, picked.size
    example_weight = np.ones_like(picked) if weight is None else weight.astype(log_probs.dtype)[safe_target]
    if ignored is not None:
        example_weight = example_weight * ~ignored
    losses = picked * example_weight
    target_q = np.zeros_like(log_probs)
    np.put_along_axis(target_q, index, np.expand_dims(example_weight * (1 - ctx.smoothing), axis), axis=axis)
    if ctx.smoothing:
        uniform = (-log_probs if ctx.class_weight is None else -log_probs * ctx.class_weight).sum(axis=axis)
        if ignored is not None:
            uniform = uniform * ~ignored
        losses = losses * (1 - ctx.smoothing) + uniform * (ctx.smoothing / classes)
        spread = np.full((classes,), ctx.smoothing / classes, log_probs.dtype)
        spread = _along_axis(spread, axis, log_probs.ndim)
        if ctx.class_weight is not None:
            spread = spread * ctx.class_weight
        counted = np.ones_like(picked) if ignored is None else (~ignored).astype(log_probs.dtype)
        target_q += spread * np.expand_dims(counted, axis)
    ctx.target_q = target_q
    return losses, float(example_weight.sum())


class NLL(Function):
    """Negative log-likelihood ``-w[y] * input[y]`` of log-probabilities ``input`` (class axis ``axis``) at the
    class indices ``target``; ``ignore_index`` entries count zero and "mean" divides by the summed weights
    of the counted examples (PyTorch's NLLLoss). ``weight`` is a constant."""

    @staticmethod
    def forward(ctx, log_probs, target, weight=None, axis=1, reduction="mean", ignore_index=-100):
        ctx.axis, ctx.reduction = axis, reduction
        ignored = target == ignore_index
        ignored = ignored if ignored.any() else None
        safe_target = target if ignored is None else np.where(ignored, 0, target)
        ctx.index = np.expand_dims(safe_target, axis)
        picked = -np.take_along_axis(log_probs, ctx.index, axis=axis).squeeze(axis)
        if weight is None and ignored is None:
            example_weight, denominator = None, picked.size
        else:
            example_weight = np.ones_like(picked) if weight is None else weight.astype(log_probs.dtype)[safe_target]
            if ignored is not None:
                example_weight = example_weight * ~ignored
            picked = picked * example_weight
            denominator = float(example_weight.sum())
        ctx.example_weight, ctx.count, ctx.shape, ctx.dtype = example_weight, denominator, log_probs.shape, log_probs.dtype
        ctx.kept_shape = np.expand_dims(picked, axis).shape
        return _reduce_by(picked, reduction, denominator)

    @staticmethod
    def backward(ctx, grad):
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        if ctx.example_weight is None:
            weights = np.ones(ctx.kept_shape, dtype=ctx.dtype)
        else:
            weights = np.expand_dims(ctx.example_weight, ctx.axis)
        picked = np.zeros(ctx.shape, dtype=ctx.dtype)
        np.put_along_axis(picked, ctx.index, -weights, axis=ctx.axis)
        return picked * scale, None, None


def _one_hot(index, shape, axis, dtype):
    one_hot = np.zeros(shape, dtype=dtype)
    np.put_along_axis(one_hot, index, 1, axis=axis)
    return one_hot


_LOG_FLOOR = -100.0  # PyTorch clamps log(p) at -100 so p = 0 or 1 gives a finite loss
_GRAD_FLOOR = 1e-12  # ... and divides by max(p (1 - p), 1e-12) in the backward


class BinaryCrossEntropy(Function):
    """-w (y log p + (1 - y) log(1 - p)) on probabilities p, logs clamped at -100; ``weight`` w (a constant
    broadcast to p's shape) or None."""

    @staticmethod
    def forward(ctx, p, y, reduction="mean", weight=None):
        ctx.reduction, ctx.count, ctx.kept_shape, ctx.weight = reduction, p.size, p.shape, weight
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
        ctx.log_p, ctx.log_1mp = log_p, log_1mp
        ctx.save_for_backward(p, y)
        losses = -(y * log_p + (1 - y) * log_1mp)
        return _reduce(losses if weight is None else losses * weight, reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        need_p, need_y = ctx.needs_input_grad[:2]
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        if ctx.weight is not None:
            scale = scale * ctx.weight
        grad_p = scale * (p - y) / _maximum(p * (1 - p), _GRAD_FLOOR) if need_p else None
        grad_y = None
        if need_y:
            if isinstance(p, Tensor):
                log_p, log_1mp = _maximum(_log(p), _LOG_FLOOR), _maximum(_log(1 - p), _LOG_FLOOR)
            else:
                log_p, log_1mp = ctx.log_p, ctx.log_1mp
            grad_y = scale * (log_1mp - log_p)
        return grad_p, grad_y


class BinaryCrossEntropyWithLogits(Function):
    """max(z, 0) - z y + log(1 + exp(-|z|)): the same loss as BCE(sigmoid(z), y), never overflowing.

    With ``pos_weight`` (PyTorch's weight of the positive term, broadcast along the last axis) the loss is
    ``(1 - y) z + (1 + (pos_weight - 1) y) softplus(-z)``; ``weight`` multiplies each element's loss. Both
    are constants.
    """

    weight = pos_weight = exp_neg_abs = kept_shape = None  # read from the class unless a call sets them

    @staticmethod
    def forward(ctx, z, y, reduction="mean", weight=None, pos_weight=None):
        ctx.reduction, ctx.count = reduction, z.size
        if reduction == "none":
            ctx.kept_shape = z.shape
        if weight is not None or pos_weight is not None:
            ctx.weight, ctx.pos_weight = weight, pos_weight
        ctx.saved_tensors = (z, y)
        if pos_weight is None:  # log(1 + e^z) - z y = max(z, 0) - z y + log(1 + e^-|z|), never overflowing
            # (elementwise: summed apart, the two terms would cancel for a fitted model)
            losses = np.maximum(z, _ZERO[z.dtype]) - z * y
            if z.ndim:
                # e^-|z| (-|z| as z with its sign made negative), in one fresh array, kept: backward's sigmoid needs no
                # exp again
                exp_neg_abs = np.copysign(z, _MINUS_ONE[z.dtype])
                np.exp(exp_neg_abs, out=exp_neg_abs)
                losses += np.log1p(exp_neg_abs)
                if reduction == "mean" and weight is None:  # the usual case: backward's shortcut reads it
                    ctx.exp_neg_abs = exp_neg_abs
                    if ctx.needs_input_grad == _Z_ONLY:
                        ctx.exact_grads = True  # the shortcut's gradient has z's shape and dtype
            else:
                losses += np.log1p(np.exp(-np.abs(z)))
        else:
            log_weight = 1 + (pos_weight - 1) * y
            losses = (1 - y) * z + log_weight * _softplus_of_negative(z)
        return _reduce(losses if weight is None else losses * weight, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.saved_tensors
        need_z, need_y = ctx.needs_input_grad
        e = ctx.exp_neg_abs  # set by forward for a mean without weights over an array with axes
        if e is not None and need_z and not need_y and type(z) is _ndarray:
            # the usual case (a training step): (sigmoid(z) - y) * grad / count, in one fresh array. With e = e^-|z|
            # from forward, sigmoid(z) is 1 / (1 + e) where z >= 0 (the course's formula, bit for bit) and e / (1 + e)
            # where z < 0: no exp again, and nothing can overflow
            grad_z = e + _ONE[e.dtype]
            np.reciprocal(grad_z, out=grad_z)
            # (putmask: a third of what multiply(..., where=...) costs; signbit, without a number to compare with, a
            # third of z < 0, and the same choice: only z = -0.0 differs, where both formulas give 1/2)
            _putmask(grad_z, np.signbit(z), grad_z * e)
            grad_z -= y
            # (for a float64 grad the scale is taken in Python and used as a cached 0-d array: the same product,
            # without a NumPy operation on a 0-d array or the time NumPy 2 spends on a Python number)
            if grad.dtype is _FLOAT64:
                grad_z *= _constant(grad.item() * (1.0 / ctx.count), _FLOAT64)
            else:
                grad_z *= grad * (1.0 / ctx.count)
            return grad_z, None
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        if ctx.weight is not None:
            scale = scale * ctx.weight
        pos_weight = ctx.pos_weight
        sigmoid = z.sigmoid() if isinstance(z, Tensor) else _sigmoid(z)
        grad_z = grad_y = None
        if pos_weight is None:
            grad_z = scale * (sigmoid - y) if need_z else None
            grad_y = -scale * z if need_y else None
        else:
            if need_z:  # d/dz = (1 + (pw - 1) y) sigmoid(z) - pw y
                grad_z = scale * ((1 + (pos_weight - 1) * y) * sigmoid - pos_weight * y)
            if need_y:  # d/dy = -z + (pw - 1) softplus(-z)
                grad_y = scale * ((pos_weight - 1) * _softplus_of_negative(z) - z)
        return grad_z, grad_y


def _softplus_of_negative(z):
    """log(1 + e^-z) without overflow: log1p(e^-|z|) + max(-z, 0) (on arrays or Tensors)."""
    if isinstance(z, Tensor):
        return _log(1 + _exp(-z.abs())) + (-z).relu()
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)


class L1(Function):
    """|p - y|; the gradient is sign(p - y) (0 where they are equal, as in PyTorch)."""

    @staticmethod
    def forward(ctx, p, y, reduction="mean"):
        ctx.reduction, ctx.count, ctx.kept_shape = reduction, p.size, p.shape
        diff = p - y
        ctx.sign = np.sign(diff)
        return _reduce(np.abs(diff), reduction)

    @staticmethod
    def backward(ctx, grad):
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        need_p, need_y = ctx.needs_input_grad
        slope = scale * ctx.sign
        return (slope if need_p else None), (-slope if need_y else None)


class SmoothL1(Function):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere, for d = p - y (PyTorch's SmoothL1Loss;
    beta = 0 is the L1 loss). The gradient is d / beta, or sign(d) outside the quadratic zone."""

    @staticmethod
    def forward(ctx, p, y, reduction="mean", beta=1.0):
        ctx.reduction, ctx.count, ctx.kept_shape, ctx.beta = reduction, p.size, p.shape, beta
        ctx.save_for_backward(p, y)
        diff = p - y
        size = np.abs(diff)
        ctx.quadratic = size < beta  # empty for beta = 0: pure L1
        ctx.sign = np.sign(diff) * ~ctx.quadratic
        if beta == 0:
            return _reduce(size, reduction)
        return _reduce(np.where(ctx.quadratic, 0.5 * diff * diff / beta, size - 0.5 * beta), reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        need_p, need_y = ctx.needs_input_grad
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        slope = ctx.sign
        if ctx.beta:
            slope = (p - y) * (ctx.quadratic / ctx.beta) + slope  # d / beta inside, sign(d) outside
        slope = scale * slope
        return (slope if need_p else None), (-slope if need_y else None)


# ----------------------------------------------------------------------------------------------------
# GELU and Softplus

_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_TANH_SCALE = 0.7978845608028654  # sqrt(2 / pi), GELU's tanh approximation
_TANH_CUBIC = 0.044715
_TWO_OVER_SQRT_PI = 1.1283791670955126
_SERIES_LIMIT = 2.5  # below: the power series of erf; above: the continued fraction of erfc
_SERIES_TERMS, _FRACTION_DEPTH = 40, 40  # measured: relative error < 1e-15 against math.erf / math.erfc


def _erf_series_coefficients(terms):
    """c_n = 2^n / (1 * 3 * ... * (2n + 1)) of erf(z) = 2/sqrt(pi) e^(-z^2) z sum_n c_n z^(2n)."""
    coefficients = [1.0]
    for n in range(1, terms):
        coefficients.append(coefficients[-1] * 2 / (2 * n + 1))
    return coefficients[::-1]  # highest power first, for Horner's scheme


_ERF_COEFFICIENTS = _erf_series_coefficients(_SERIES_TERMS)


def _erf_small(z):
    """erf(z) for 0 <= z < 2.5: a series of positive terms, so no cancellation (float64 accurate)."""
    w = z * z
    total = np.full_like(z, _ERF_COEFFICIENTS[0])
    for c in _ERF_COEFFICIENTS[1:]:
        total *= w
        total += c
    return _TWO_OVER_SQRT_PI * np.exp(-w) * z * total


def _erfc_large(z):
    """erfc(z) for z >= 2.5 by its continued fraction e^(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/...)))."""
    fraction = z.copy()
    for k in range(_FRACTION_DEPTH, 0, -1):
        fraction = z + (k / 2) / fraction
    return np.exp(-z * z) / (np.sqrt(np.pi) * fraction)


def normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2 of a float array, accurate to ~1e-15 relative (computed in
    float64; NumPy has no erf and SciPy is not a dependency). The lower tail is computed from erfc directly,
    so tiny probabilities keep their digits."""
    z = np.asarray(x, dtype=np.float64) * _SQRT_HALF
    size = np.abs(z)
    near = size < _SERIES_LIMIT
    cdf = np.empty_like(z)
    erf_near = _erf_small(size[near])
    cdf[near] = 0.5 + 0.5 * np.copysign(erf_near, z[near])
    far = ~near
    erfc_far = _erfc_large(size[far])
    cdf[far] = np.where(z[far] > 0, 1 - 0.5 * erfc_far, 0.5 * erfc_far)
    return cdf.astype(np.result_type(x, np.float32) if np.asarray(x).dtype.kind == "f" else np.float64, copy=False)


class NormalCdf(Function):
    """Phi(x), the standard normal distribution function; its derivative is the density phi(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return normal_cdf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (_exp(x * x * -0.5) * _INV_SQRT_2PI)


class GELU(Function):
    """x * Phi(x) (``approximate="none"``) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("tanh")."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        if approximate == "tanh":
            ctx.tanh = np.tanh(_TANH_SCALE * (x + _TANH_CUBIC * (x * x * x)))
            return 0.5 * x * (1 + ctx.tanh)
        ctx.cdf = normal_cdf(x)
        return x * ctx.cdf

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        on_tensors = isinstance(x, Tensor)  # create_graph: rebuild what depends on x from x
        if ctx.approximate == "tanh":
            inner = _TANH_SCALE * (x + _TANH_CUBIC * (x * x * x))
            t = inner.tanh() if on_tensors else ctx.tanh
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_TANH_SCALE * (1 + 3 * _TANH_CUBIC * (x * x)))
        else:
            cdf = NormalCdf.apply(x) if on_tensors else ctx.cdf
            slope = cdf + x * (_exp(x * x * -0.5) * _INV_SQRT_2PI)  # Phi(x) + x phi(x)
        return grad * slope


class Softplus(Function):
    """log(1 + e^(beta x)) / beta, or x where beta x > threshold (PyTorch's Softplus); never overflows.
    The gradient is sigmoid(beta x), 1 in the linear zone."""

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        scaled = x * beta
        ctx.beta, ctx.linear = beta, scaled > threshold
        ctx.save_for_backward(x)
        return np.where(ctx.linear, x, np.logaddexp(0, scaled) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        scaled = x * ctx.beta
        sigmoid = scaled.sigmoid() if isinstance(scaled, Tensor) else _sigmoid(scaled)
        return grad * (sigmoid * ~ctx.linear + ctx.linear)
