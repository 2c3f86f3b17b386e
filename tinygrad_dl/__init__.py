"""tinygrad_dl: a small, readable, fast reverse-mode autograd engine on NumPy.

    from tinygrad_dl import Tensor, nn, optim
    import tinygrad_dl.nn.functional as F
"""
from . import _malloc
if _malloc.wanted():  # keep the memory a training step frees for the next one (glibc; see _malloc.py)
    _malloc.tune_malloc()
from . import autograd  # noqa: F401,E402  (first of the core: it closes the import cycle with tensor.py)
from .autograd import Function, backward_order, current_scope, enable_grad, grad, is_grad_enabled, name_scope, no_grad
from .tensor import DEFAULT_DTYPE, Tensor
from .functional import (abs, arange, argmax, argmin, broadcast_to, cat, clamp, clip, concatenate, exp,  # noqa: A004
                         expand_dims, expm1, eye, flatten, full, full_like, log, log1p, log_softmax, logsumexp,
                         manual_seed, matmul, max, maximum, mean, min, minimum, norm, numel, ones, ones_like, pad,
                         permute, rand, rand_like, randn, randn_like, relu, reshape, sigmoid, softmax, split, sqrt,
                         squeeze, stack, std, sum, swapaxes, tanh, tensor, transpose, unsqueeze, var, where, zeros,
                         zeros_like)
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .serialization import load, save
from . import generic  # noqa: E402  (array-or-Tensor helpers for custom backward formulas)

__version__ = "0.1.0"


def _map_checkout_folders():
    """In a checkout, nn/ and optim/ sit beside tinygrad_dl/ (setup.cfg's package_dir maps them into the package
    when it is installed). Without an install, or when a normal install is shadowed by the checkout (run from
    the repository root), make them importable as tinygrad_dl.nn and tinygrad_dl.optim from their folders."""
    import importlib.abc
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    folders = {f"{__name__}.{sub}": os.path.join(root, sub) for sub in ("nn", "optim")}
    if os.path.isdir(os.path.join(here, "nn")) or not all(
            os.path.isfile(os.path.join(folder, "__init__.py")) for folder in folders.values()):
        return  # an installed package (nn/ inside it), or not our checkout

    class CheckoutFolders(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            folder = folders.get(name)
            if folder is None:
                return None
            return importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"),
                                                          submodule_search_locations=[folder])

    if not any(type(finder).__name__ == "CheckoutFolders" for finder in sys.meta_path):
        sys.meta_path.append(CheckoutFolders())


_map_checkout_folders()


def __getattr__(name):
    # nn and optim live in their own folders (installed as tinygrad_dl.nn / tinygrad_dl.optim);
    # importing them lazily keeps the core free of them.
    if name in ("nn", "optim", "viz", "testing", "data", "plot", "strategy"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
