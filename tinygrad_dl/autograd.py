"""The autograd machinery: grad mode, naming scopes, ``Function`` and the backward engine.

A ``Function`` instance is at once the context handed to ``forward``/``backward`` (``ctx``) and the node
of the graph: it remembers its input tensors (``ctx.parents``) and what ``forward`` saved. The tensor an
op produces points at it through ``Tensor.grad_fn``. Nodes hold their inputs, never their output (only a
weak reference), so a graph has no reference cycles and dies with its last tensor.
"""
import contextlib
import itertools
import threading
import weakref
from operator import attrgetter

import numpy as np

# ----------------------------------------------------------------------------------------------------
# Grad mode


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled():
    """True when operations record a graph (the default)."""
    return _grad_mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off inside its block."""

    def __init__(self, enabled):
        self._enabled = enabled
        self._previous = []

    def __enter__(self):
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self._enabled
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous.pop()
        return False


def no_grad():
    """``with no_grad():`` (or ``@no_grad()``): build no graph at all, e.g. for inference and optimizer steps."""
    return _SetGradMode(False)


def enable_grad():
    """``with enable_grad():`` (or ``@enable_grad()``): record a graph again inside a ``no_grad`` block."""
    return _SetGradMode(True)


# ----------------------------------------------------------------------------------------------------
# Naming scopes: every node remembers the scope it was created in, so pictures can group nodes by module.


class _ScopeStack(threading.local):
    current = None  # a tuple of names from the outermost scope inwards, or None at top level


_scopes = _ScopeStack()


class name_scope:
    """Group the operations made inside the block under ``name`` (nested scopes make a tuple of names).

    ``nn.Module.__call__`` enters a scope named after the module, so ``tinygrad_dl.viz`` can collapse a
    module's operations into one box; use it directly to group your own code::

        with name_scope("attention"):
            scores = q @ k.T
    """

    __slots__ = ("name", "_outer")

    def __init__(self, name):
        self.name = str(name)
        self._outer = []  # a stack, so one scope object can be entered again while active (recursion)

    def __enter__(self):
        outer = _scopes.current
        self._outer.append(outer)
        _scopes.current = (outer + (self.name,)) if outer else (self.name,)
        return self

    def __exit__(self, *exc):
        _scopes.current = self._outer.pop()
        return False


def current_scope():
    """The active scope as a tuple of names (empty at top level)."""
    return _scopes.current or ()


# ----------------------------------------------------------------------------------------------------
# Function


class Function:
    """An operation with a forward and a backward, and (as an instance) a node of the graph.

    Subclass it and write two static methods working on NumPy arrays::

        class Softplus(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return np.logaddexp(0, x)

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return grad * (1 / (1 + np.exp(-x)))

        y = Softplus.apply(t)

    ``backward`` returns one gradient (or None) per input of ``forward``, with the input's shape or a shape
    that broadcasts to it: the engine sums broadcast dimensions away and casts to the input's dtype.
    ``ctx.needs_input_grad`` says which inputs need a gradient. Keyword arguments of ``apply`` reach
    ``forward`` unchanged (they are not differentiated).

    Second derivatives (``backward(create_graph=True)``): the engine then calls ``backward`` with a Tensor
    ``grad`` and with the saved inputs/output replaced by their Tensors, so a backward written with
    operators and methods that both ndarray and Tensor have is differentiable again. Arrays saved that are
    neither an input nor the output (masks, indices, attributes set on ctx) are constants there. An op
    whose backward cannot work on Tensors sets ``supports_create_graph = False`` and gets a clear error.
    """

    __slots__ = ("parents", "needs_input_grad", "sequence_number", "_output_ref", "__dict__", "__weakref__")

    supports_create_graph = True
    # Defaults read from the class until a node sets its own (saves work on the hot path of every op).
    saved_tensors = ()  # None once a backward without retain_graph has freed them
    scope = None
    _retains_output_grad = False

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx, *arrays, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        """<Mul node in layer1: (4, 5) float64, data -> (4, 5) float64>: what a printed graph node was."""
        parents = getattr(self, "parents", None)
        if parents is None:
            return f"<{self.name} (not recorded)>"
        inputs = ", ".join("data" if p is None else f"{_shape(p.data)} {p.data.dtype}" for p in parents)
        out = self._output_ref()
        result = "(output freed)" if out is None else f"{_shape(out.data)} {out.data.dtype}"
        where = f" in {'/'.join(self.scope)}" if self.scope else ""
        freed = ", saved values freed" if self.saved_tensors is None else ""
        return f"<{self.name} node{where}: {inputs} -> {result}{freed}>"

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' arrays; when grad mode is on and an input requires grad, record the node."""
        # This is the hot path of every operation: plain loops, no helper calls.
        arrays = []
        parents = []  # the input Tensor where it requires grad, else None
        needs = []
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.data)
                if x.requires_grad:
                    parents.append(x)
                    needs.append(True)
                    continue
            else:
                arrays.append(x if x is None or isinstance(x, _PASS_THROUGH) else np.asarray(x))
            parents.append(None)
            needs.append(False)
        ctx = object.__new__(cls)
        record = True in needs and _grad_mode.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as err:
            raise _op_error(cls.__name__, err, arrays) from None
        result = object.__new__(Tensor)  # grad, name and the rest keep their class-level defaults
        result.data = out if type(out) is _ndarray else np.asarray(out)
        if record:
            if result.data.dtype.kind not in "fc":
                raise TypeError(f"{cls.__name__}: produced a {result.data.dtype} tensor from inputs that require "
                                "grad; a differentiable op must return floating-point values")
            ctx.parents = tuple(parents)
            ctx.sequence_number = next(_node_counter)  # creation order: a topological order for backward
            scope = _scopes.current
            if scope is not None:
                ctx.scope = scope
            ctx._output_ref = _weak_reference(result)
            result.requires_grad = True
            result.grad_fn = ctx
        return result


_node_counter = itertools.count()
_ndarray, _weak_reference = np.ndarray, weakref.ref  # module-level names: one lookup fewer per op
_PASS_THROUGH = (np.ndarray, int, float, bool, np.generic)  # handed to forward as they are (Python scalars stay weak)


def _shape(array):
    return "scalar" if array.ndim == 0 else str(array.shape)


def _describe_inputs(arrays):
    parts = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            parts.append(f"{a.shape} {a.dtype}")
        else:
            parts.append(repr(a))
    return ", ".join(parts)


def _op_error(op_name, err, arrays):
    """Re-raise NumPy's complaint under the op's name, with the shapes and dtypes that caused it."""
    message = f"{op_name.lower()}: {err} (inputs: {_describe_inputs(arrays)})"
    return type(err)(message) if not isinstance(err, np.exceptions.AxisError) else ValueError(message)


# ----------------------------------------------------------------------------------------------------
# The backward engine


def backward_order(roots):
    """The nodes (Functions) behind ``roots`` in the order the backward pass visits them: newest first.

    Every node is created after the nodes of its inputs, so visiting in decreasing creation number puts
    each node after all the nodes that consume its output. Finding the nodes is a plain loop over a
    growing list (no recursion: a 100 000-op chain is fine).
    """
    if isinstance(roots, Tensor):
        roots = [roots]
    nodes = []
    seen = set()
    for root in roots:
        if root.grad_fn is not None and root.grad_fn not in seen:
            seen.add(root.grad_fn)
            nodes.append(root.grad_fn)
    for node in nodes:  # the list grows while we walk it
        for parent in node.parents:
            if parent is not None:
                parent_node = parent.grad_fn
                if parent_node is not None and parent_node not in seen:
                    seen.add(parent_node)
                    nodes.append(parent_node)
    nodes.sort(key=_creation_number, reverse=True)
    return nodes


_creation_number = attrgetter("sequence_number")


def _sum_to_shape(grad, shape):
    """Sum a gradient that was broadcast back down to ``shape`` (works on arrays and Tensors)."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra or grad.shape != shape:
        grad = grad.reshape(shape)
    return grad


def _fit_grad(grad, tensor, node):
    """Give ``grad`` the shape and dtype of ``tensor`` (the input it belongs to)."""
    if not isinstance(grad, (np.ndarray, Tensor)):
        grad = np.asarray(grad, dtype=tensor.data.dtype)
    if grad.shape != tensor.data.shape:
        try:
            np.broadcast_shapes(grad.shape, tensor.data.shape)
        except ValueError:
            raise RuntimeError(f"{node.name}.backward returned a gradient of shape {grad.shape} for an input of "
                               f"shape {tensor.data.shape}") from None
        if grad.ndim < tensor.data.ndim or any(g < t for g, t in zip(grad.shape[::-1], tensor.data.shape[::-1])):
            grad = _expand(grad, tensor.data.shape)
        if grad.shape != tensor.data.shape:
            grad = _sum_to_shape(grad, tensor.data.shape)
    if grad.dtype != tensor.data.dtype:
        grad = grad.astype(tensor.data.dtype)
    return grad


def _expand(grad, shape):
    if isinstance(grad, Tensor):
        return grad.broadcast_to(np.broadcast_shapes(grad.shape, shape))
    return np.broadcast_to(grad, np.broadcast_shapes(grad.shape, shape))


def _lift_saved(node):
    """For create_graph: the saved arrays as Tensors (the node's inputs and output keep their graph)."""
    by_id = {}
    out = node._output_ref()
    if out is not None:
        by_id[id(out.data)] = out
    for parent in node.parents:
        if parent is not None:
            by_id[id(parent.data)] = parent
    lifted = []
    for saved in node.saved_tensors:
        if isinstance(saved, np.ndarray):
            lifted_tensor = by_id.get(id(saved))
            saved = Tensor(saved) if lifted_tensor is None else lifted_tensor
        lifted.append(saved)
    return tuple(lifted)


def _seed_grad(root, grad, create_graph):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be created implicitly only for a scalar output, but the output "
                               f"has shape {root.data.shape}; pass grad= with that shape")
        seed = np.ones(root.data.shape, root.data.dtype)
    else:
        values = grad.data if isinstance(grad, Tensor) else grad
        seed = np.array(values, dtype=root.data.dtype)  # a copy: the engine may accumulate into it
        if seed.shape != root.data.shape:
            raise RuntimeError(f"backward: grad has shape {seed.shape} but the output has shape {root.data.shape}")
        if create_graph and isinstance(grad, Tensor):
            return grad
    return Tensor(seed) if create_graph else seed


def run_backward(roots, grads=None, retain_graph=False, create_graph=False, inputs=None, on_step=None):
    """Backpropagate from ``roots`` (a Tensor or a list) seeded with ``grads``.

    With ``inputs`` (a list of tensors), return their gradients instead of accumulating into ``.grad``.
    ``on_step(step, node, grad_of_output, input_grads)`` is called for every node visited (used by viz).
    """
    if isinstance(roots, Tensor):
        roots, grads = [roots], [grads]
    elif grads is None:
        grads = [None] * len(roots)
    if create_graph and not retain_graph:
        retain_graph = True
    pending = {}  # node -> accumulated gradient of its output
    owned = set()  # nodes whose pending buffer the engine allocated (safe to add into in place)
    leaf_grads = {}  # id(leaf) -> [leaf, accumulated gradient]
    for root, grad in zip(roots, grads):
        if not root.requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; create its inputs "
                               "with requires_grad=True (or call requires_grad_()) before computing it")
        seed = _seed_grad(root, grad, create_graph)
        if root.grad_fn is None:
            _accumulate_leaf(root, seed, leaf_grads)
        elif root.grad_fn in pending:
            pending[root.grad_fn] = pending[root.grad_fn] + seed
        else:
            pending[root.grad_fn] = seed
    capture = None if inputs is None else {id(t): t for t in inputs}
    captured = None if capture is None else {}
    deliver = capture is not None
    was_enabled = _grad_mode.enabled
    _grad_mode.enabled = create_graph  # the backward pass is recorded only for create_graph
    try:
        for step, node in enumerate(backward_order(roots)):
            grad = pending.pop(node, None)
            if grad is None:
                continue
            if node.saved_tensors is None:
                raise RuntimeError(f"backward: trying to backward through {node.name} a second time, but its saved "
                                   "values were freed after the first backward; pass retain_graph=True to the "
                                   "first backward() if you need to backpropagate twice")
            if deliver or node._retains_output_grad:
                _deliver_output_grad(node, grad, capture, captured)
            if create_graph:
                input_grads = _call_backward_on_tensors(node, grad)
            else:
                input_grads = type(node).backward(node, grad)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)  # a one-input op may return its gradient bare
            if len(input_grads) != len(node.parents):
                raise RuntimeError(f"{node.name}.backward returned {len(input_grads)} gradients for "
                                   f"{len(node.parents)} inputs")
            if on_step is not None:
                on_step(step, node, grad, input_grads)
            for parent, input_grad in zip(node.parents, input_grads):
                if parent is None or input_grad is None:
                    continue
                data = parent.data
                # fast path: a gradient that already has the input's shape and dtype needs no fitting
                if type(input_grad) is not np.ndarray or input_grad.shape != data.shape or input_grad.dtype != data.dtype:
                    input_grad = _fit_grad(input_grad, parent, node)
                parent_node = parent.grad_fn
                if parent_node is None:  # a leaf: collect, written to .grad once at the end
                    _accumulate_leaf(parent, input_grad, leaf_grads)
                    continue
                current = pending.get(parent_node)
                if current is None:
                    pending[parent_node] = input_grad
                elif parent_node in owned and not create_graph:
                    current += input_grad  # our own buffer: add in place
                else:
                    pending[parent_node] = current + input_grad
                    owned.add(parent_node)
            if not retain_graph:
                node.saved_tensors = None  # frees the saved arrays and marks the node as used up
    finally:
        _grad_mode.enabled = was_enabled
    return _finish_leaves(leaf_grads, capture, captured, inputs)


def _call_backward_on_tensors(node, grad):
    """create_graph: run the node's backward on Tensors so the backward pass is recorded too."""
    if not node.supports_create_graph:
        raise RuntimeError(f"backward: {node.name} does not support create_graph=True (its backward is not "
                           "itself differentiable)")
    saved = node.saved_tensors
    node.saved_tensors = _lift_saved(node)
    try:
        return type(node).backward(node, grad)
    finally:
        node.saved_tensors = saved


def _accumulate_leaf(leaf, grad, leaf_grads):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, grad]
    else:
        entry[1] = entry[1] + grad


def _deliver_output_grad(node, grad, capture, captured):
    out = node._output_ref()
    if out is None:
        return
    if capture is not None:
        if id(out) in capture:
            captured[id(out)] = grad
    elif out._retains_grad:
        out.grad = _as_grad_tensor(grad)


def _finish_leaves(leaf_grads, capture, captured, inputs):
    if capture is not None:
        for key, (leaf, grad) in leaf_grads.items():
            if key in capture:
                captured[key] = grad
        return [None if id(t) not in captured else _as_grad_tensor(captured[id(t)], copy=True) for t in inputs]
    seen = set()
    for leaf, grad in leaf_grads.values():
        current = leaf.grad
        if current is not None:
            leaf.grad = current + grad if isinstance(grad, Tensor) else Tensor._wrap(current.data + grad)
        elif type(grad) is np.ndarray and grad.flags.writeable and id(grad) not in seen:
            leaf.grad = Tensor._wrap(grad)  # the common case: a fresh array only this leaf receives
        else:
            # a Tensor (create_graph), a read-only broadcast view, or the very array another leaf got (a + b)
            leaf.grad = _as_grad_tensor(grad, copy=id(grad) in seen)
        seen.add(id(grad))
    return None


def _as_grad_tensor(grad, copy=False):
    if isinstance(grad, Tensor):
        return grad
    if copy or type(grad) is not np.ndarray or not grad.flags.writeable:
        grad = np.array(grad)
    return Tensor._wrap(grad)


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, create_graph=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a list, without touching ``.grad``.

    Like ``torch.autograd.grad``: ``outputs`` is a Tensor or a list, ``grad_outputs`` their seeds (None for
    scalars). An input the outputs do not depend on gets None.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    if isinstance(outputs, Tensor):
        outputs = [outputs]
        grad_outputs = [grad_outputs]
    result = run_backward(list(outputs), grad_outputs, retain_graph, create_graph, inputs=inputs)
    return result


from .tensor import Tensor  # noqa: E402  (tensor.py builds on Function; imported last to close the cycle)
