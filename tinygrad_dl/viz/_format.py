"""Text for the pictures: numbers, arrays, op arguments, and the colour scale of gradient norms."""
import html
import math
from collections import namedtuple

import numpy as np

# ----------------------------------------------------------------------------------------------------
# Gradient health: the norm of a gradient picks a colour on a logarithmic scale.

GradColor = namedtuple("GradColor", "fill font edge word")
GradColor.__doc__ = "How a gradient norm is drawn: node fill, text colour on it, edge colour, and a word for it."

# The colour scale runs over log10 ||grad||: deep purple for vanished gradients, lavender for small ones, green
# for the healthy middle (flat from 1e-1 to 1e1), orange to dark red for exploding ones. Colours are
# interpolated between the anchors, so a gradient fading through a deep network fades visibly in the picture.
GRAD_SCALE = ((-7.0, "#3f007d"), (-5.0, "#6a51a3"), (-3.5, "#bcbddc"), (-2.0, "#d9f0d3"), (-1.0, "#a6dba0"),
              (1.0, "#a6dba0"), (2.0, "#d9f0d3"), (3.0, "#fdd0a2"), (4.0, "#fd8d3c"), (5.0, "#d94801"),
              (6.0, "#7f2704"))
# Words for ranges of the norm (upper bounds), used in the legend and in GradColor.word.
GRAD_WORDS = ((1e-6, "vanished"), (1e-4, "vanishing"), (1e-2, "small"), (1e2, "healthy"), (1e4, "large"),
              (math.inf, "exploding"))
ZERO_COLOR = GradColor("#e0e0e0", "black", "#bdbdbd", "zero")
NONFINITE_COLOR = GradColor("#e7298a", "white", "#e7298a", "nan/inf")


def grad_color(norm):
    """The colours (and a word) for a gradient of this norm on the logarithmic scale GRAD_SCALE."""
    if not math.isfinite(norm):
        return NONFINITE_COLOR
    if norm == 0:
        return ZERO_COLOR
    fill = _interpolate(math.log10(norm))
    word = next(word for upper, word in GRAD_WORDS if norm < upper)
    return GradColor(_hex(fill), "white" if _luminance(fill) < 0.45 else "black", _hex([c * 0.75 for c in fill]),
                     word)


def _interpolate(position):
    anchors = GRAD_SCALE
    if position <= anchors[0][0]:
        return _rgb(anchors[0][1])
    for (x0, c0), (x1, c1) in zip(anchors, anchors[1:]):
        if position <= x1:
            t = (position - x0) / (x1 - x0)
            return [a + (b - a) * t for a, b in zip(_rgb(c0), _rgb(c1))]
    return _rgb(anchors[-1][1])


def _rgb(color):
    return [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]


def _hex(rgb):
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in rgb)


def _luminance(rgb):
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def grad_norm(array):
    """The Euclidean norm of a gradient as a Python float (float16 is widened so it cannot overflow)."""
    if array.dtype.kind not in "fc" or array.dtype.itemsize < 4:
        array = array.astype(np.float64)
    return float(np.linalg.norm(array.ravel()))


# ----------------------------------------------------------------------------------------------------
# Numbers and arrays


def number(value):
    """A number in at most 4 significant digits: 0.6931, -3, 1.5e-7, 2.4e+5."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        return "0"
    text = f"{value:.4g}"
    if "e" in text:  # 1.5e-07 -> 1.5e-7: shorter and easier to read
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0') or '0'}"
    return text


def shape_text(shape):
    """(3, 2) for arrays, 'scalar' for 0-d."""
    if len(shape) == 0:
        return "scalar"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(n) for n in shape) + ")"


def array_lines(array, max_elements):
    """The array as text lines: every number when it has at most ``max_elements`` elements, else a summary.

    Matrices give one line per row so the picture shows their layout.
    """
    if array.size <= max_elements:
        return _exact_lines(array)
    return [summary_text(array)]


def _exact_lines(array):
    if array.ndim == 0:
        return [number(array.item())]
    if array.ndim == 1:
        return ["[" + ", ".join(number(v) for v in array.tolist()) + "]"]
    if array.ndim == 2:
        rows = [", ".join(number(v) for v in row) for row in array.tolist()]
        if len(rows) == 1:
            return [f"[[{rows[0]}]]"]
        return [f"[[{rows[0]}],"] + [f" [{r}]," for r in rows[1:-1]] + [f" [{rows[-1]}]]"]
    return ["flat [" + ", ".join(number(v) for v in array.ravel().tolist()) + "]"]


def summary_text(array):
    """min / mean / max of a larger array (and how many entries are nan or inf, if any)."""
    if array.size == 0:
        return "empty"
    if array.dtype.kind == "b":
        return f"{int(array.sum())} of {array.size} true"
    finite = np.isfinite(array) if array.dtype.kind in "fc" else None
    if finite is not None and not finite.all():
        bad = array.size - int(finite.sum())
        values = array[finite]
        prefix = f"{bad} nan/inf · "
        if values.size == 0:
            return prefix.rstrip(" ·")
    else:
        values, prefix = array, ""
    mean = values.mean(dtype=np.float64)
    return f"{prefix}min {number(values.min())} · mean {number(mean)} · max {number(values.max())}"


# ----------------------------------------------------------------------------------------------------
# Op arguments: what forward stored on the node (vars(node)) that a reader wants to see.

# Shown first, in this order, when a node has them.
_PREFERRED_ARGS = ("axis", "axes", "axis1", "axis2", "keepdims", "shape", "index", "kernel_size", "stride",
                   "padding", "dilation", "slope", "negative_slope", "alpha", "p", "eps", "momentum", "ddof",
                   "low", "high", "pad_width", "dtype")
# Bookkeeping of the engine or values derived from the inputs' shapes: never interesting.
_HIDDEN_ARGS = {"saved_tensors", "scope", "parents", "needs_input_grad", "count", "inverse", "bounds", "inner",
                "training"}
_MAX_ARGS = 3
_MAX_ARG_CHARS = 32


def op_arguments(node):
    """``name=value`` strings for the arguments of an op node, at most three, each kept short."""
    attributes = vars(node)
    names = [n for n in _PREFERRED_ARGS if n in attributes]
    names += sorted(n for n in attributes if n not in _PREFERRED_ARGS)
    shown = []
    for name in names:
        if name.startswith("_") or name in _HIDDEN_ARGS or name.endswith("_shape"):
            continue
        text = _argument_value(name, attributes[name])
        if text is not None:
            shown.append(f"{name}={text}")
        if len(shown) == _MAX_ARGS:
            break
    return shown


def _argument_value(name, value):
    """Text for one argument, or None when it is not worth showing (arrays, None, False flags, objects)."""
    if value is None or value is False or isinstance(value, np.ndarray) and name != "index":
        return None
    if name == "index":
        text = index_text(value)
    elif name == "axis" and isinstance(value, tuple) and len(value) == 1:
        text = str(value[0])  # reductions store (1,) for axis=1
    elif value is True:
        text = "True"
    elif isinstance(value, (int, float, np.integer, np.floating)):
        text = number(value)
    elif isinstance(value, (str, np.dtype, type)):
        text = str(np.dtype(value)) if not isinstance(value, str) else value
    elif isinstance(value, (tuple, list)) and all(isinstance(v, (int, float, np.integer, np.floating, tuple))
                                                   for v in value):
        text = "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        return None
    return text if len(text) <= _MAX_ARG_CHARS else text[:_MAX_ARG_CHARS - 1] + "…"


def index_text(index):
    """An indexing expression as it was written: [:, 0], [1:3, ::2], [None, ...], [array(5,)]."""
    parts = index if isinstance(index, tuple) else (index,)
    return "[" + ", ".join(_index_part(p) for p in parts) + "]"


def _index_part(part):
    if isinstance(part, slice):
        start = "" if part.start is None else str(part.start)
        stop = "" if part.stop is None else str(part.stop)
        text = f"{start}:{stop}"
        return text if part.step is None else f"{text}:{part.step}"
    if part is None:
        return "None"
    if part is Ellipsis:
        return "..."
    if isinstance(part, np.ndarray):
        if part.size <= 4 and part.ndim <= 1:
            return "[" + ", ".join(number(v) for v in part.ravel().tolist()) + "]"
        return f"{'mask' if part.dtype.kind == 'b' else 'array'}{shape_text(part.shape)}"
    return str(part)


# ----------------------------------------------------------------------------------------------------
# HTML-like labels of Graphviz


def esc(text):
    """Escape text for a Graphviz HTML-like label."""
    return html.escape(str(text), quote=True)
