"""Anomaly mode: find the op (and your line) that first produced a NaN or an infinity, forward or backward.

    with tinygrad_dl.detect_anomaly():
        loss = model(X).log().mean()
        loss.backward()

    @tinygrad_dl.detect_anomaly()
    def train_step(...): ...

Inside the block every op records where it was created (the first file:line outside tinygrad_dl, i.e.
yours) and every forward output and every gradient a backward step returns is checked. The first
non-finite value raises ``AnomalyError`` naming the op, that line, the input shapes and dtypes, and whether
the forward value or which input's gradient went bad. An exception raised inside an op's backward gets
the op's creation line added as a note. Off by default; when off, the only cost is one flag read per op.
"""
import contextlib
import linecache
import os
import sys

import numpy as np

from . import autograd

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError"]


class AnomalyError(RuntimeError):
    """A NaN or infinity found by ``detect_anomaly()``.

    Attributes for tools (e.g. to mark the node in a picture of the graph): ``node`` (the Function of the
    op), ``phase`` ("forward" or "backward"), ``input_index`` (backward: whose gradient; None forward),
    ``site`` (the creation line), ``inputs`` (forward: the op's inputs) and ``value`` (the bad array).
    """

    def __init__(self, message, node, phase, site, input_index=None, inputs=(), value=None):
        super().__init__(message)
        self.node = node
        self.phase = phase
        self.site = site
        self.input_index = input_index
        self.inputs = inputs
        self.value = value


class detect_anomaly(contextlib.ContextDecorator):
    """``with detect_anomaly():`` or ``@detect_anomaly()``: check every op's forward output and every backward
    gradient for NaN/Inf, and raise ``AnomalyError`` at the first one (see the module's docstring)."""

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)
        self._previous = []

    def __enter__(self):
        self._previous.append(autograd._anomaly_enabled)
        set_detect_anomaly(self.check_nan)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(self._previous.pop())
        return False


def set_detect_anomaly(mode):
    """Switch anomaly mode on or off for the whole process (``detect_anomaly()`` is the scoped form)."""
    autograd._anomaly_enabled = bool(mode)


def is_anomaly_enabled():
    return autograd._anomaly_enabled


# ----------------------------------------------------------------------------------------------------
# Where the user created an op


def _library_folders():
    """Folders whose frames are ours, not the user's: the package, and nn/ and optim/ in a checkout."""
    folders = {os.path.dirname(os.path.abspath(autograd.__file__))}
    for name in ("tinygrad_dl.nn", "tinygrad_dl.optim"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            folders.add(os.path.dirname(os.path.abspath(module.__file__)))
    return tuple(folder + os.sep for folder in folders)


_is_library_file = {}  # code filename -> True when it belongs to tinygrad_dl (or contextlib's decorator glue)


def _in_library(filename):
    known = _is_library_file.get(filename)
    if known is None:
        path = os.path.abspath(filename)
        known = path.startswith(_library_folders()) or os.path.basename(path) == "contextlib.py"
        _is_library_file[filename] = known
    return known


def user_site():
    """``"file.py:12 in fn"`` for the innermost frame outside tinygrad_dl (the line that created the op)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if not _in_library(code.co_filename):
            return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
        frame = frame.f_back
    return None


def _source_line(site):
    if not site:
        return ""
    filename, _, rest = site.rpartition(":")
    line = linecache.getline(filename, int(rest.split(" ", 1)[0])).strip()
    return f"\n    {line}" if line else ""


def _describe(arrays):
    parts = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            parts.append(f"{a.shape} {a.dtype}")
        elif a is not None:
            parts.append(repr(a))
    return ", ".join(parts) or "none"


def _non_finite(array):
    """'NaN', 'Inf' or None for a float array (other dtypes cannot hold them)."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc" or np.all(np.isfinite(array)):
        return None
    return "NaN" if np.any(np.isnan(array)) else "Inf"


# ----------------------------------------------------------------------------------------------------
# The checks (called by the engine only while anomaly mode is on)


def after_forward(ctx, inputs, arrays, result):
    """Record the op's creation line on its node and check its output."""
    site = user_site()
    ctx._creation_site = site
    bad = _non_finite(result.data)
    if bad is None:
        return
    already = [i for i, a in enumerate(arrays) if _non_finite(a) is not None]
    cause = (f"; its input{'s' if len(already) > 1 else ''} {', '.join(map(str, already))} already held NaN/Inf"
             if already else "; its inputs were finite")
    raise AnomalyError(f"anomaly: {ctx.name} produced {bad} in its forward output (shape {result.data.shape}, "
                       f"{result.data.dtype}), created at {site}{_source_line(site)}\n"
                       f"inputs: {_describe(arrays)}{cause}", node=ctx, phase="forward", site=site,
                       inputs=tuple(inputs), value=result.data)


def run_checked_backward(node, grad, create_graph):
    """Run the node's backward (noting its creation line on any error) and check the gradients it returns."""
    try:
        # NumPy's divide/overflow warnings would only repeat, less precisely, what the check below raises
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if create_graph:
                input_grads = autograd._call_backward_on_tensors(node, grad)
            else:
                input_grads = type(node).backward(node, grad)
    except Exception as err:
        if hasattr(err, "add_note"):
            err.add_note(f"(anomaly mode) the failing backward belongs to {node.name}, created at "
                         f"{node.creation_site}{_source_line(node.creation_site)}")
        raise
    grads = input_grads if type(input_grads) is tuple else (input_grads,)
    for index, input_grad in enumerate(grads):
        values = input_grad.data if isinstance(input_grad, autograd.Tensor) else input_grad
        if isinstance(values, autograd.SliceGrad):  # a slice's gradient: zeros around its values
            values = values.values
        bad = _non_finite(values if isinstance(values, np.ndarray) else np.asarray(values)) \
            if values is not None else None
        if bad is None:
            continue
        incoming = grad.data if isinstance(grad, autograd.Tensor) else grad
        upstream = ("the gradient arriving at its output was finite" if _non_finite(np.asarray(incoming)) is None
                    else "the gradient arriving at its output already held NaN/Inf")
        inputs = [p.data if p is not None else None for p in node.parents]
        raise AnomalyError(f"anomaly: {node.name}.backward produced {bad} in the gradient of its input {index} "
                           f"(shape {np.shape(values)}), created at {node.creation_site}"
                           f"{_source_line(node.creation_site)}\ninputs: {_describe(inputs)}; {upstream}",
                           node=node, phase="backward", site=node.creation_site, input_index=index,
                           value=np.asarray(values))
    return input_grads
