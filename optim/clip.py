"""Gradient clipping, applied to ``.grad`` between ``backward()`` and ``optimizer.step()``."""
import math

import numpy as np

from tinygrad_dl import Tensor

from .optimizer import check_number


def _params_with_grads(owner, params):
    if isinstance(params, Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{owner}: expected a Tensor or an iterable of Tensors, got {type(params).__name__}") from None
    for position, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{owner}: parameter #{position} is a {type(param).__name__}, not a Tensor")
    return [p for p in params if p.grad is not None]


def _grad_array(param):
    grad = param.grad
    return grad.data if isinstance(grad, Tensor) else np.asarray(grad)


def _set_grad(param, array):
    # A fresh array, never a write into the old one: a gradient array may be shared with other
    # code (a seed the user passed to backward, another parameter's .grad).
    if isinstance(param.grad, Tensor):
        param.grad.data = array
    else:
        param.grad = Tensor(array)


def clip_grad_value_(params, clip_value):
    """Clip every gradient entry into ``[-clip_value, clip_value]``.  Returns None."""
    clip_value = check_number("clip_grad_value_", "clip_value", clip_value, low=0.0)
    for param in _params_with_grads("clip_grad_value_", params):
        _set_grad(param, np.clip(_grad_array(param), -clip_value, clip_value))


def clip_grad_norm_(params, max_norm, norm_type=2.0):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if they were one vector (``norm_type`` 2 by default, or
    any p >= 1, or ``math.inf`` for the largest absolute entry).  Gradients are scaled by
    ``max_norm / (total_norm + 1e-6)`` when that is below 1, as PyTorch does.  Returns the total
    norm *before* clipping, as a Python float.
    """
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm, low=0.0)
    if norm_type != math.inf:
        norm_type = check_number("clip_grad_norm_", "norm_type", norm_type, low=1.0)
    params = _params_with_grads("clip_grad_norm_", params)
    grads = [_grad_array(p) for p in params]
    total_norm = _total_norm(grads, norm_type)
    scale = max_norm / (total_norm + 1e-6)
    if scale < 1.0:
        for param, grad in zip(params, grads):
            _set_grad(param, grad * scale)
    return total_norm


def _total_norm(grads, norm_type):
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    # The norm of the per-gradient norms equals the norm of everything concatenated, without the copy.
    norms = [float(np.linalg.norm(g.ravel(), ord=norm_type)) for g in grads]
    return float(np.linalg.norm(np.array(norms, dtype=np.float64), ord=norm_type))
