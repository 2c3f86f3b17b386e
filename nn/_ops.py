"""The ``Function`` subclasses behind ``nn.functional``: fused ops with a hand-written backward.

Each op here replaces a chain of 3-8 core ops by a single graph node, which is what makes small networks
fast (Python work per node is the cost there). They use only the core's public extension API.

Backward formulas are written with operators and methods that ``numpy.ndarray`` and ``Tensor`` share
(plus the small ``_exp``/``_log``/... helpers below), so ``backward(create_graph=True)`` differentiates
them again. In that mode the engine hands ``backward`` the inputs as Tensors; anything derived from an
input (normalised values, probabilities) is then recomputed from those Tensors instead of read from the
arrays cached during forward, which would be constants to the second-order graph.
"""
import numpy as np

from tinygrad_dl import Function, Tensor


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


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.sum() / losses.size  # what np.mean computes, without its Python-level overhead
    if reduction == "sum":
        return losses.sum()
    return losses


# ----------------------------------------------------------------------------------------------------
# Linear and activations


class Linear(Function):
    """``x @ weight.T + bias`` for x of shape (..., in); weight (out, in); bias (out,) or None."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        # save only what the backward will read: x for dW, weight for dx
        ctx.save_for_backward(x if need_w else None, weight if need_x else None)
        ctx.x_shape = x.shape
        out = x @ weight.T
        if bias is not None:
            if bias.dtype == out.dtype:
                out += bias  # out is a fresh array: adding in place saves a copy
            else:
                out = out + bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_2d = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = grad_2d @ weight
            if len(ctx.x_shape) != 2:
                grad_x = grad_x.reshape(ctx.x_shape)
        if need_w:
            x_2d = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            grad_w = grad_2d.T @ x_2d
        if need_b:
            grad_b = grad_2d.sum(axis=0)
        return grad_x, grad_w, grad_b


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


class CrossEntropy(Function):
    """Softmax cross-entropy from logits. ``target`` holds class indices (the logits' shape without
    ``axis``) when ``indices=True``, else probabilities with the logits' shape."""

    @staticmethod
    def forward(ctx, logits, target, axis=-1, reduction="mean", indices=True):
        ctx.axis, ctx.reduction, ctx.indices = axis, reduction, indices
        log_probs = _log_softmax(logits, axis)
        if indices:
            ctx.index = np.expand_dims(target, axis)
            losses = -np.take_along_axis(log_probs, ctx.index, axis=axis)
            losses = losses.squeeze(axis)
        else:
            losses = -(target * log_probs).sum(axis=axis)
        ctx.log_probs = log_probs
        ctx.count = losses.size
        ctx.kept_shape = log_probs.shape[:axis % logits.ndim] + (1,) + log_probs.shape[axis % logits.ndim + 1:]
        ctx.save_for_backward(logits, None if indices else target)
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        logits, target = ctx.saved_tensors
        need_logits, need_target = ctx.needs_input_grad
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        log_probs = _log_softmax(logits, ctx.axis) if isinstance(logits, Tensor) else ctx.log_probs
        grad_logits = grad_target = None
        if need_logits:
            probs = _exp(log_probs)
            if ctx.indices:
                if isinstance(probs, Tensor):
                    probs = probs - _one_hot(ctx.index, probs.shape, ctx.axis, probs.dtype)
                else:  # probs is a fresh array: subtract 1 at the target classes in place
                    picked = np.take_along_axis(probs, ctx.index, axis=ctx.axis)
                    np.put_along_axis(probs, ctx.index, picked - 1, axis=ctx.axis)
                grad_logits = probs * scale
            else:
                # d/dz of -sum(t * log_softmax(z)) = softmax(z) * sum(t) - t
                grad_logits = (probs * target.sum(axis=ctx.axis, keepdims=True) - target) * scale
        if need_target:
            grad_target = -log_probs * scale
        return grad_logits, grad_target


def _one_hot(index, shape, axis, dtype):
    one_hot = np.zeros(shape, dtype=dtype)
    np.put_along_axis(one_hot, index, 1, axis=axis)
    return one_hot


_LOG_FLOOR = -100.0  # PyTorch clamps log(p) at -100 so p = 0 or 1 gives a finite loss
_GRAD_FLOOR = 1e-12  # ... and divides by max(p (1 - p), 1e-12) in the backward


class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)) on probabilities p, logs clamped at -100."""

    @staticmethod
    def forward(ctx, p, y, reduction="mean"):
        ctx.reduction, ctx.count, ctx.kept_shape = reduction, p.size, p.shape
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
        ctx.log_p, ctx.log_1mp = log_p, log_1mp
        ctx.save_for_backward(p, y)
        return _reduce(-(y * log_p + (1 - y) * log_1mp), reduction)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        need_p, need_y = ctx.needs_input_grad
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
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
    """max(z, 0) - z y + log(1 + exp(-|z|)): the same loss as BCE(sigmoid(z), y), never overflowing."""

    @staticmethod
    def forward(ctx, z, y, reduction="mean"):
        ctx.reduction, ctx.count, ctx.kept_shape = reduction, z.size, z.shape
        ctx.save_for_backward(z, y)
        losses = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z) - z y, never overflowing
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        z, y = ctx.saved_tensors
        need_z, need_y = ctx.needs_input_grad
        scale = _per_sample_grad(grad, ctx.reduction, ctx.count, ctx.kept_shape)
        sigmoid = z.sigmoid() if isinstance(z, Tensor) else _sigmoid(z)
        grad_z = scale * (sigmoid - y) if need_z else None
        grad_y = -scale * z if need_y else None
        return grad_z, grad_y
