"""Read-only 0-d arrays for the numbers that hot paths combine with float arrays.

NumPy 2 treats a Python number in an array operation as a "weak" scalar (NEP 50) and spends 0.1-0.4 us per
operation on it, more than the arithmetic of a small array; a 0-d array of the array's own float dtype gives the
very same result (same dtype, same rounding) without that work. Only for float arrays: with an integer or bool
array a 0-d array of that dtype would not promote like the Python number does.
"""
import numpy as np


class _PerDtype(dict):
    """``value`` as a read-only 0-d array of each dtype asked for (``ONE[x.dtype]``), made at the first request."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        array = np.array(self.value, dtype)
        array.flags.writeable = False  # shared by every caller
        self[dtype] = array
        return array


ZERO, ONE, MINUS_ONE = _PerDtype(0), _PerDtype(1), _PerDtype(-1)
_MADE = {}  # (value, dtype) -> 0-d array, for values that change (a learning rate)


def constant(value, dtype):
    """``value`` as a read-only 0-d array of the float ``dtype`` (cached; the cache is emptied past 256 values)."""
    key = (value, dtype)
    array = _MADE.get(key)
    if array is None:
        if len(_MADE) >= 256:  # a schedule may try many learning rates: keep the cache small
            _MADE.clear()
        array = _MADE[key] = np.array(value, dtype)
        array.flags.writeable = False
    return array
