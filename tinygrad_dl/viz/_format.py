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
# Numbers and arrays: 4 significant digits everywhere; scientific notation below 1e-3 and from 1e4 up, and
# for every number of an array as soon as one of them needs it (like NumPy's printing), so a row of numbers
# reads in one format.

_DIGITS = 4


def _needs_exponent(value):
    magnitude = abs(value)
    return magnitude != 0 and math.isfinite(magnitude) and (magnitude < 1e-3 or magnitude >= 1e4)


def _scientific(value):
    mantissa, exponent = f"{value:.{_DIGITS - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    sign = exponent[0] if exponent[0] == "-" else "+"
    return f"{mantissa}e{sign}{exponent[1:].lstrip('0') or '0'}"  # 1.5e-07 -> 1.5e-7


def _fixed(value):
    text = f"{value:.{_DIGITS}g}"
    return _scientific(value) if "e" in text else text


def number(value, exponent=None):
    """A number in 4 significant digits: 0.6931, -3, 1.5e-7, 1.235e+5 (exponent=True/False forces the form)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        return "0"
    if exponent is None:
        exponent = _needs_exponent(value)
    return _scientific(value) if exponent else _fixed(value)


def numbers(values):
    """Several numbers in one format: all scientific when any of them needs it."""
    values = list(values)
    exponent = any(isinstance(v, (float, np.floating)) and _needs_exponent(float(v)) for v in values)
    return [number(v, exponent) for v in values]


def shape_text(shape):
    """(3, 2) for arrays, 'scalar' for 0-d."""
    if len(shape) == 0:
        return "scalar"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(n) for n in shape) + ")"


def array_lines(array, max_elements, compact=False):
    """The array as text lines: every number when it has at most ``max_elements`` elements, else a summary.

    Matrices give one line per row, their columns aligned. ``compact`` puts a summary's min / mean / max on
    three lines (for narrow nodes).
    """
    if array.size <= max_elements:
        return _exact_lines(array)
    text = summary_text(array)
    return text.split(" · ") if compact else [text]


def _exact_lines(array):
    if array.ndim == 0:
        return [number(array.item())]
    texts = numbers(array.ravel().tolist())
    if array.ndim == 1:
        return ["[" + ", ".join(texts) + "]"]
    if array.ndim == 2:
        columns = array.shape[1]
        width = [max(len(texts[r * columns + c]) for r in range(array.shape[0])) for c in range(columns)]
        rows = [", ".join(texts[r * columns + c].rjust(width[c]) for c in range(columns))
                for r in range(array.shape[0])]
        if len(rows) == 1:
            return [f"[[{rows[0]}]]"]
        return [f"[[{rows[0]}],"] + [f" [{r}]," for r in rows[1:-1]] + [f" [{rows[-1]}]]"]
    return ["flat [" + ", ".join(texts) + "]"]


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
    low, mean, high = numbers([values.min(), values.mean(dtype=np.float64), values.max()])
    return f"{prefix}min {low} · mean {mean} · max {high}"


# ----------------------------------------------------------------------------------------------------
# Op arguments: what forward stored on the node (vars(node)) that a reader wants to see.

# Shown first, in this order, when a node has them.
_PREFERRED_ARGS = ("axis", "axes", "axis1", "axis2", "keepdims", "shape", "index", "kernel_size", "stride",
                   "padding", "dilation", "slope", "negative_slope", "alpha", "p", "eps", "momentum", "ddof",
                   "low", "high", "pad_width", "dtype", "reduction")
# Bookkeeping of the engine or values derived from the inputs' shapes: never interesting.
_HIDDEN_ARGS = {"saved_tensors", "scope", "parents", "needs_input_grad", "count", "inverse", "bounds", "inner",
                "training", "fixed", "param_shape", "param_axes", "log_probs", "log_p", "log_1mp", "mean",
                "inv_std", "x_hat", "sequence_number"}
_MAX_ARGS = 3
_MAX_ARG_CHARS = 32


def _cross_entropy_arguments(node):
    """The fused softmax cross-entropy keeps its labels as an index array: show them as labels."""
    attributes = vars(node)
    shown = []
    index = attributes.get("index")
    if attributes.get("indices") and isinstance(index, np.ndarray):
        axis = attributes.get("axis", -1)
        labels = np.squeeze(index, axis=axis) if index.ndim and index.shape[axis] == 1 else index
        shown.append(f"labels {shape_text(labels.shape)}")
    elif attributes.get("indices") is False:
        shown.append("target: probabilities")
    if attributes.get("axis", -1) != -1:
        shown.append(f"axis={attributes['axis']}")
    if attributes.get("reduction", "mean") != "mean":
        shown.append(f"reduction={attributes['reduction']}")
    return shown


def _dropout_arguments(node):
    attributes = vars(node)
    shown = []
    keep = attributes.get("keep_prob")
    if isinstance(keep, (int, float, np.floating)):
        shown.append(f"keep_prob={number(keep)}")
    mask = attributes.get("mask")
    if isinstance(mask, np.ndarray):
        shown.append(f"mask {shape_text(mask.shape)}")
    return shown


def _normalize_arguments(node):
    attributes = vars(node)
    shown = []
    axes = attributes.get("axes")
    if isinstance(axes, tuple):
        shown.append("over axis " + ", ".join(str(a) for a in axes))
    if isinstance(attributes.get("eps"), (float, np.floating)):
        shown.append(f"eps={number(attributes['eps'])}")
    if attributes.get("fixed"):
        shown.append("running statistics")
    return shown


# Ops whose stored attributes are internal: what a learner would recognise instead.
_DESCRIBERS = {"CrossEntropy": _cross_entropy_arguments, "Dropout": _dropout_arguments,
               "AffineNormalize": _normalize_arguments}


def op_arguments(node):
    """Argument strings for an op node, at most three, each kept short.

    A Function may define ``viz_arguments(self) -> list of str`` to say itself what its node shows.
    """
    custom = getattr(node, "viz_arguments", None)
    if callable(custom):
        return [str(text) for text in custom()][:_MAX_ARGS]
    describe = _DESCRIBERS.get(type(node).__name__)
    if describe is not None:
        return describe(node)[:_MAX_ARGS]
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
    if name == "reduction" and value == "mean":
        return None  # the default of every loss
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
        kind = "mask" if part.dtype.kind == "b" else "indices"
        return f"{kind} {shape_text(part.shape)}"
    return str(part)


# ----------------------------------------------------------------------------------------------------
# HTML-like labels of Graphviz


def esc(text):
    """Escape text for a Graphviz HTML-like label."""
    return html.escape(str(text), quote=True)
