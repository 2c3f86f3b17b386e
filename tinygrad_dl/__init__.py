"""tinygrad_dl: a small, readable, fast reverse-mode autograd engine on NumPy.

    from tinygrad_dl import Tensor, nn, optim
    import tinygrad_dl.nn.functional as F
"""
from . import autograd  # noqa: F401  (first: it closes the import cycle with tensor.py)
from .autograd import Function, backward_order, current_scope, enable_grad, grad, is_grad_enabled, name_scope, no_grad
from .tensor import DEFAULT_DTYPE, Tensor
from .functional import (abs, arange, argmax, argmin, broadcast_to, clip, concatenate, exp, expand_dims, eye,  # noqa: A004
                         flatten, full, full_like, log, logsumexp, matmul, max, maximum, mean, min, minimum, ones,
                         ones_like, pad, rand, rand_like, randn, randn_like, relu, reshape, sigmoid, split, sqrt,
                         squeeze, stack, sum, swapaxes, tanh, tensor, transpose, var, where, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__version__ = "0.1.0"


def __getattr__(name):
    # nn and optim live in their own folders (installed as tinygrad_dl.nn / tinygrad_dl.optim);
    # importing them lazily keeps the core free of them.
    if name in ("nn", "optim", "viz", "testing"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
