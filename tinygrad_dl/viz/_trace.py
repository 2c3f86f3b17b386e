"""Where the gradients in a picture come from: a recorded backward pass, or the tensors' ``.grad``.

The core keeps no gradient on intermediate tensors after ``backward()`` (PyTorch semantics). To show them,
``BackwardTrace`` runs the backward pass itself with the engine's ``on_step`` hook and keeps a copy of every
gradient that flows: the gradient each op receives for its output, and the one it sends to each input.
From that record it can tell, for any step, which gradients exist so far.
"""
from collections import namedtuple

import numpy as np

from ..autograd import run_backward
from ..tensor import Tensor
from ._graph import Graph

StepRecord = namedtuple("StepRecord", "step op grad_output input_grads")
StepRecord.__doc__ = """One visited node of the backward pass.

step: 1-based position in the engine's backward order; op: the OpInfo (op.node is the Function);
grad_output: the gradient of the op's output it received; input_grads: per input slot, the gradient it
returned (its own shape, before the engine sums broadcast axes away) or None.
"""


class BackwardTrace:
    """Run the backward pass of ``outputs`` and record every gradient, step by step.

    It is a real backward pass: leaves' ``.grad`` are accumulated exactly as by ``loss.backward()`` (and the
    graph's saved buffers are freed unless ``retain_graph=True``). ``grads`` seeds the outputs like
    ``backward(grad=...)`` (one per output; None for a scalar output).

        trace = viz.trace(loss, names=dict(model.named_parameters()))
        trace.order            # the Function nodes in visit order (== backward_order(loss))
        trace.grad(hidden)     # the gradient that reached an intermediate tensor
        trace.draw()           # draw_graph with every gradient
        trace.frames()         # one picture per step (see backward_steps)
    """

    def __init__(self, outputs, names=None, grads=None, retain_graph=False):
        self.graph = Graph(outputs, names)  # before the backward: named data is found through saved arrays
        roots = self.graph.roots
        grads = _seeds_as_list(grads, len(roots))
        self.records = []
        self._contributions = {}  # tensor key -> [(frame, gradient at the tensor's shape)], frame 0 = seed
        self._ops_by_node = {op.node: op for op in self.graph.ops}
        for root, seed in zip(roots, grads):
            if root.requires_grad:
                data = np.ones_like(root.data) if seed is None else np.array(_data(seed), dtype=root.dtype)
                self._contributions.setdefault(id(root), []).append((0, data))
        run_backward(roots, grads, retain_graph=retain_graph, on_step=self._record)

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

    def draw(self, **options):
        """``draw_graph`` of this pass, showing every recorded gradient (intermediates included)."""
        from . import draw_graph
        return draw_graph(self, **options)

    def frames(self, **options):
        """One picture per step: the forward graph with the seed, then one after each visited node."""
        from . import backward_steps
        return backward_steps(self, **options)

    def save_html(self, path, **options):
        """Write the step-through page for this pass (see ``viz.save_html``)."""
        from . import save_html
        return save_html(self, path, **options)


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
    """Gradients as the tensors hold them: leaves' ``.grad`` (and intermediates that called retain_grad)."""

    frame = None
    current = None
    highlighted_step = None
    visited_steps = None

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
