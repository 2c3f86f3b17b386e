"""Where the gradients in a picture come from: a recorded backward pass, or the tensors' ``.grad``.

The core keeps no gradient on intermediate tensors after ``backward()`` (PyTorch semantics). To show them,
``BackwardTrace`` runs the backward pass itself with the engine's ``on_step`` hook and keeps a copy of every
gradient that flows: the gradient each op receives for its output, and the one it sends to each input.
From that record it can tell, for any step, which gradients exist so far.
"""
import html
import weakref
from collections import namedtuple

import numpy as np

from ..autograd import run_backward
from ..tensor import Tensor
from ._format import grad_norm, number, shape_text
from ._graph import Graph

StepRecord = namedtuple("StepRecord", "step op grad_output input_grads")
StepRecord.__doc__ = """One visited node of the backward pass.

step: 1-based position in the engine's backward order; op: the OpInfo (op.node is the Function);
grad_output: the gradient of the op's output it received; input_grads: per input slot, the gradient it
returned (its own shape, before the engine sums broadcast axes away) or None.
"""


# The output nodes whose backward pass a trace has already added to the leaves' .grad (kept alive by their
# graph only): tracing the same retained graph again records the gradients without adding them a second time.
_ACCUMULATED = weakref.WeakSet()


class BackwardTrace:
    """Run the backward pass of ``outputs`` once and record every gradient, step by step; draw it many times.

    It is a real backward pass: leaves' ``.grad`` are accumulated exactly as by ``loss.backward()`` (and the
    graph's saved buffers are freed unless ``retain_graph=True``), so use it *instead of* ``backward()``.
    ``grads`` seeds the outputs like ``backward(grad=...)`` (one per output; None for a scalar output).

        trace = viz.trace(loss, model=model, names={"X": X})
        trace.draw()           # the picture, every gradient included (viz.save(trace.draw(), "graph.svg"))
        trace.steps()          # one picture per step of the backward pass
        trace.save_html(path)  # the step-through page
        trace                  # in Jupyter: a step-through player; print(trace): the steps as text
        trace.order            # the Function nodes in visit order (== backward_order(loss))
        trace.grad(hidden)     # the gradient that reached an intermediate tensor
    """

    def __init__(self, outputs, names=None, grads=None, retain_graph=False, model=None, caller="viz.trace",
                 _graph=None):
        # the graph is collected before the backward pass: named data is found through the ops' saved arrays
        self.graph = _graph if _graph is not None else Graph(outputs, names, model)
        refuse_freed_graph(self.graph, caller)
        roots = self.graph.roots
        grads = _seeds_as_list(grads, len(roots))
        self.records = []
        self._contributions = {}  # tensor key -> [(frame, gradient at the tensor's shape)], frame 0 = seed
        self._ops_by_node = {op.node: op for op in self.graph.ops}
        self._html = None
        for root, seed in zip(roots, grads):
            if root.requires_grad:
                data = np.ones_like(root.data) if seed is None else np.array(_data(seed), dtype=root.dtype)
                self._contributions.setdefault(id(root), []).append((0, data))
        root_nodes = [root.grad_fn for root in roots if root.grad_fn is not None]
        # a retained graph that a trace already ran: record again, but leave .grad as the first pass left it
        self.accumulated = not (root_nodes and all(node in _ACCUMULATED for node in root_nodes))
        leaves = None if self.accumulated else [info.tensor for info in self.graph.tensors.values()
                                                if info.kind == "leaf" and info.tensor is not None]
        run_backward(roots, grads, retain_graph=retain_graph, inputs=leaves, on_step=self._record)
        if retain_graph:
            _ACCUMULATED.update(root_nodes)

    def _record(self, step, node, grad_output, input_grads):
        op = self._ops_by_node[node]
        copies = tuple(None if g is None else np.array(_data(g)) for g in input_grads)
        self.records.append(StepRecord(op.step, op, np.array(_data(grad_output)), copies))
        frame = len(self.records)
        for parent, grad in zip(node.parents, copies):
            if parent is not None and grad is not None:
                fitted = reduce_to_shape(grad, parent.data.shape).astype(parent.dtype, copy=False)
                self._contributions.setdefault(id(parent), []).append((frame, fitted))

    # -- reading the record --------------------------------------------------------------------------
    def __len__(self):
        return len(self.records)

    @property
    def order(self):
        """The Function nodes in the order the backward pass visited them."""
        return [record.op.node for record in self.records]

    def grad(self, tensor, frame=None):
        """The gradient of the output(s) with respect to ``tensor`` that this pass produced (an ndarray).

        With ``frame`` (0 = only the seed, k = after the k-th visited node), the part that had arrived by then.
        None when no gradient reached the tensor.
        """
        grad, _ = self.grad_state(id(tensor), frame)
        return grad

    def grad_state(self, key, frame=None):
        """(gradient so far or None, complete?) for the tensor with this key after ``frame`` frames."""
        parts = self._contributions.get(key)
        if not parts:
            return None, False
        arrived = parts if frame is None else [(f, g) for f, g in parts if f <= frame]
        if not arrived:
            return None, False
        total = arrived[0][1]
        for _, g in arrived[1:]:
            total = total + g
        complete = len(arrived) == len(parts)
        return total, complete

    def view(self, frame=None):
        """A gradient view for drawing: the whole pass (frame None) or the state after ``frame`` visited nodes."""
        return TraceView(self, frame)

    # -- pictures ----------------------------------------------------------------------------------------
    def draw(self, **options):
        """``draw_graph`` of this pass, showing every recorded gradient (intermediates included)."""
        from . import draw_graph
        return draw_graph(self, **options)

    def steps(self, **options):
        """One picture per step: the forward graph with the seed, then one after each visited node."""
        from . import backward_steps
        return backward_steps(self, **options)

    frames = steps  # the earlier name

    def save_html(self, path, **options):
        """Write the step-through page for this pass (see ``viz.save_html``)."""
        from . import save_html
        return save_html(self, path, **options)

    # -- text and notebooks ----------------------------------------------------------------------------
    def __repr__(self):
        outputs = [info for info in self.graph.tensors.values() if info.is_output]
        what = ", ".join(_tensor_summary(info) for info in outputs[:3]) + (", …" if len(outputs) > 3 else "")
        lines = [f"<BackwardTrace of {what}: {len(self)} backward steps"]
        shown = self.records if len(self.records) <= 12 else self.records[:10]
        for record in shown:
            where = f"  [{'/'.join(record.op.scope)}]" if record.op.scope else ""
            received = record.grad_output
            lines.append(f"  step {record.step}: {record.op.name}{where} receives a {shape_text(received.shape)} "
                         f"gradient, norm {number(grad_norm(received))}")
        if len(shown) < len(self.records):
            lines.append(f"  … {len(self.records) - len(shown)} more steps")
        leaves = [info for info in self.graph.tensors.values() if info.kind == "leaf"][::-1]  # forward order
        if leaves:
            parts = []
            for info in leaves[:6]:
                grad = self.grad(info.tensor)
                norm = "no grad" if grad is None else f"grad norm {number(grad_norm(grad))}"
                parts.append(f"{info.name or 'leaf'} {shape_text(info.tensor.shape)} {norm}")
            more = f", … {len(leaves) - 6} more" if len(leaves) > 6 else ""
            lines.append("  leaves: " + "; ".join(parts) + more)
        if not self.accumulated:
            lines.append("  (recorded again on a retained graph: .grad was left as the first pass left it)")
        lines.append("  .draw(), .steps(), .save_html(path)>")
        return "\n".join(lines)

    def _repr_html_(self):
        """Jupyter's display: a step-through player (HTML and SVG only, no script), made once and kept."""
        if self._html is None:
            from ._html import notebook_player
            from ._render import GraphvizNotFoundError
            try:
                self._html = notebook_player(self)
            except GraphvizNotFoundError as err:
                return f"<pre>{html.escape(str(err))}\n\n{html.escape(repr(self))}</pre>"
        return self._html


def refuse_freed_graph(graph, caller):
    """A trace runs the backward pass: say in viz's words when an earlier backward freed what it needs."""
    freed = [op for op in graph.ops if op.node.saved_tensors is None]
    if not freed:
        return
    others = f" and {len(freed) - 1} other ops" if len(freed) > 1 else ""
    raise RuntimeError(
        f"{caller}: cannot record the backward pass: it already ran through this graph ({freed[0].name}{others} "
        "freed the values they saved; loss.backward() or an earlier viz call does that unless retain_graph=True), "
        "and running it again would fail. Record the pass once, instead of calling backward(): "
        "t = viz.trace(loss), then t.draw(), t.steps() and t.save_html(path). To see what the tensors hold now "
        "(values and the leaves' .grad), call viz.draw_graph(loss) without backward=True.")


def _tensor_summary(info):
    tensor = info.tensor
    name = info.name or "output"
    if tensor is None:
        return name
    value = f" = {number(tensor.data.item())}" if tensor.data.size == 1 else ""
    return f"{name} ({shape_text(tensor.shape)} {tensor.dtype}{value})"


class TraceView:
    """The gradients of a trace as the drawing code reads them, after ``frame`` steps (None: all of them)."""

    def __init__(self, trace, frame=None):
        self.trace = trace
        self.frame = frame
        self.current = None if not frame else trace.records[frame - 1]
        # the ops visited so far (their step numbers) and, per op, the grads it sent to its inputs
        visible = trace.records if frame is None else trace.records[:frame]
        self.visited_steps = None if frame is None else {record.step for record in visible}
        self._sent = {record.step: record.input_grads for record in visible}

    @property
    def highlighted_step(self):
        return None if self.current is None else self.current.step

    def tensor_grad(self, info):
        return self.trace.grad_state(info.key, self.frame)

    def edge_grad(self, op, slot):
        """The gradient ``op`` sent to its input ``slot`` (raw shape), if it has been sent by now."""
        sent = self._sent.get(op.step)
        return None if sent is None or slot is None else sent[slot]


class LiveView:
    """Gradients as the tensors hold them: leaves' ``.grad`` (and intermediates that called retain_grad).

    ``notes``: sentences for the picture's caption (why no backward pass was recorded).
    """

    frame = None
    current = None
    highlighted_step = None
    visited_steps = None

    def __init__(self, notes=()):
        self.notes = list(notes)

    def tensor_grad(self, info):
        tensor = info.tensor
        if tensor is None or tensor.grad is None:
            return None, False
        return tensor.grad.data, True

    def edge_grad(self, op, slot):
        return None


def reduce_to_shape(grad, shape):
    """Sum a gradient computed at a broadcast shape back to ``shape`` (what the engine does for each input)."""
    if grad.shape == shape:
        return grad
    target = np.broadcast_shapes(grad.shape, shape)
    if target != grad.shape:  # a gradient smaller than its input (e.g. a scalar): spread it out first
        grad = np.broadcast_to(grad, target)
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _seeds_as_list(grads, count):
    """One seed per output. A single output may get its seed directly (an array, Tensor or list of numbers)."""
    if count == 1:
        one_element_list = isinstance(grads, (list, tuple)) and len(grads) == 1 and (
            grads[0] is None or isinstance(grads[0], (Tensor, np.ndarray)))
        return list(grads) if one_element_list else [grads]
    if grads is None:
        return [None] * count
    if not isinstance(grads, (list, tuple)) or len(grads) != count:
        length = f" of length {len(grads)}" if isinstance(grads, (list, tuple)) else ""
        raise ValueError(f"trace: grads must be a list with one seed per output ({count} outputs), got "
                         f"{type(grads).__name__}{length}")
    return list(grads)
