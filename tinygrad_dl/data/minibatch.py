"""The course's ``random_mini_batches`` (C2 W2 Optimization), for column- or row-major data (also ``optim.random_mini_batches``)."""
import math
from numbers import Integral

import numpy as np

from tinygrad_dl import Tensor


def _along(array, axis, index):
    """``array[..., index, ...]`` with ``index`` on ``axis``; works for ndarrays and Tensors alike."""
    return array[(slice(None),) * axis + (index,)]


def _check_inputs(X, Y, mini_batch_size, axis):
    for name, value in (("X", X), ("Y", Y)):
        if not isinstance(value, (np.ndarray, Tensor)):
            raise TypeError(f"random_mini_batches: {name} must be a NumPy array or a Tensor, got "
                            f"{type(value).__name__}")
    if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, Integral) or mini_batch_size <= 0:
        raise ValueError(f"random_mini_batches: mini_batch_size must be a positive integer, got {mini_batch_size!r}")
    if axis not in (0, 1):
        raise ValueError(f"random_mini_batches: axis must be 1 (examples are columns, the course's layout) or 0 "
                         f"(examples are rows), got {axis!r}")
    for name, value in (("X", X), ("Y", Y)):
        if value.ndim <= axis:
            raise ValueError(f"random_mini_batches: with axis={axis} the examples run along axis {axis}, but {name} "
                             f"has shape {value.shape}")
    if X.shape[axis] != Y.shape[axis]:
        raise ValueError(f"random_mini_batches: X (shape {X.shape}) and Y (shape {Y.shape}) must hold the same "
                         f"number of examples along axis {axis}")


def random_mini_batches(X, Y, mini_batch_size=64, seed=0, axis=1):
    """Shuffle the examples of (X, Y) together and cut them into mini-batches.

    With ``axis=1`` (the course's layout: one example per column) this is the course's function
    exactly: ``np.random.seed(seed)``, ``permutation = list(np.random.permutation(m))``, then
    ``floor(m / mini_batch_size)`` full batches and, if m is not a multiple, one last smaller batch.
    ``axis=0`` treats rows as examples and uses the same permutation, so its batches are the
    transposes of the ``axis=1`` batches of ``X.T, Y.T``.  ``seed=None`` keeps the global RNG's
    current stream instead of reseeding it.

    X and Y may be NumPy arrays or Tensors; each batch is of the same kind as its input (Tensor
    batches are made by indexing, so a Tensor that requires grad keeps its graph).
    Returns a list of ``(mini_batch_X, mini_batch_Y)``.
    """
    _check_inputs(X, Y, mini_batch_size, axis)
    if seed is not None:
        np.random.seed(seed)
    m = X.shape[axis]
    # The course wraps this in list(); indexing with the list or with the array picks the same columns.
    permutation = np.random.permutation(m)
    shuffled_X, shuffled_Y = _along(X, axis, permutation), _along(Y, axis, permutation)
    num_complete = math.floor(m / mini_batch_size)
    bounds = [(k * mini_batch_size, (k + 1) * mini_batch_size) for k in range(num_complete)]
    if m % mini_batch_size != 0:
        bounds.append((num_complete * mini_batch_size, m))
    return [(_along(shuffled_X, axis, slice(start, stop)), _along(shuffled_Y, axis, slice(start, stop)))
            for start, stop in bounds]
