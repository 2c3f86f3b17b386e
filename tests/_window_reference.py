"""What the conv and pooling tests' reference loops share (a test helper: pytest collects no tests here).

Imported as ``tests._window_reference``: setup.cfg puts the checkout on sys.path for pytest (pythonpath = .),
which works in any of pytest's import modes.
"""
from tinygrad_dl.nn._conv_ops import same_padding


def padding_sides(padding, kernel, stride, dilation, hw):
    """(top, bottom, left, right) for an int, a pair, "valid" or "same" (TensorFlow's SAME)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        return same_padding(hw[0], kernel[0], stride[0], dilation[0]) + same_padding(hw[1], kernel[1], stride[1],
                                                                                     dilation[1])
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ph, ph, pw, pw
