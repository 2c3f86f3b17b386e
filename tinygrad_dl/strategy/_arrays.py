"""What the strategy tools share: arrays from Tensors and lists, and scikit-learn as an optional import."""
import importlib

import numpy as np

from tinygrad_dl.tensor import Tensor


def as_array(values):
    """A NumPy array from an array, a Tensor (its data) or a list."""
    return values.data if isinstance(values, Tensor) else np.asarray(values)


def sklearn_module(name, what):
    """Import a scikit-learn module, or say which tool needs it and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise ImportError(f"{what} uses scikit-learn, which is not installed: pip install scikit-learn "
                          '(or pip install "tinygrad_dl[data]")') from err
