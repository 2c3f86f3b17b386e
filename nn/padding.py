"""Constant padding with PyTorch's argument order: ``F.pad`` and ``nn.ZeroPad2d``.

PyTorch lists the pads from the LAST axis backwards: ``pad=(left, right)`` pads W, ``(left, right, top,
bottom)`` pads W then H, and so on. ``tinygrad_dl.pad`` / ``Tensor.pad`` keep NumPy's ``pad_width``
(one (before, after) pair per axis, first axis first). Both are one differentiable op.
"""
import numpy as np

from tinygrad_dl import Tensor

from .module import Module


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def pad(x, pad, mode="constant", value=0.0):
    """Pad x with ``value``: ``pad`` = (before, after) pairs starting from the last axis (PyTorch's order).

    ``F.pad(x, (1, 1, 2, 2))`` adds 1 column left and right and 2 rows on top and bottom of an NCHW x.
    Only mode="constant" is supported; pads must be >= 0.
    """
    x = _tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    pads = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if (pads is None or len(pads) % 2 or not pads or len(pads) > 2 * x.ndim
            or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pads)):
        raise ValueError(f"pad: pad must be a tuple of (before, after) int pairs, last axis first, at most "
                         f"{x.ndim} pairs for an input of shape {x.shape}; got {pad!r}")
    if any(p < 0 for p in pads):
        raise ValueError(f"pad: pads must be >= 0 (cropping is not supported), got {pad!r} for an input of shape "
                         f"{x.shape}")
    pairs = [(int(pads[i]), int(pads[i + 1])) for i in range(0, len(pads), 2)]
    pad_width = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    return x.pad(pad_width, constant_values=value)


class ZeroPad2d(Module):
    """Zero padding of the H and W axes of (N, C, H, W) inputs.

    ZeroPad2d(padding): an int (all four sides) or (left, right, top, bottom), PyTorch's order. The course's
    ``ZeroPadding2D(3)`` is ``ZeroPad2d(3)``.
    """

    def __init__(self, padding):
        super().__init__()
        sides = (padding,) * 4 if isinstance(padding, (int, np.integer)) else \
            tuple(padding) if isinstance(padding, (tuple, list)) else ()
        if len(sides) != 4 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))
                                      and p >= 0 for p in sides):
            raise ValueError(f"ZeroPad2d: padding must be an int or (left, right, top, bottom) of ints >= 0, got "
                             f"{padding!r}")
        self.padding = tuple(int(p) for p in sides)

    def forward(self, x):
        x = _tensor(x)
        if x.ndim != 4:
            raise ValueError(f"ZeroPad2d({self.padding}): expected a 4-D input (N, C, H, W), got shape {x.shape}")
        return pad(x, self.padding)

    def extra_repr(self):
        return str(self.padding)
