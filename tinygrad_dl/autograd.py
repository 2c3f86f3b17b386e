"""The autograd machinery: grad mode, naming scopes, ``Function`` and the backward engine.

A ``Function`` instance is at once the context handed to ``forward``/``backward`` (``ctx``) and the node
of the graph: it remembers its input tensors (``ctx.parents``) and what ``forward`` saved. The tensor an
op produces points at it through ``Tensor.grad_fn``. Nodes hold their inputs, never their output (only a
weak reference), so a graph has no reference cycles and dies with its last tensor.
"""
import contextlib
import heapq
import itertools
import threading
import weakref
from operator import attrgetter

import numpy as np

# ----------------------------------------------------------------------------------------------------
# Grad mode


class _GradMode(threading.local):
    enabled = True
    # True while the engine runs a backward on Tensors (create_graph): Tensor.__array__ then refuses, because
    # a NumPy function turning a Tensor into an array there would silently drop second-order terms.
    tensor_backward = False


_grad_mode = _GradMode()


def is_grad_enabled():
    """True when operations record a graph (the default)."""
    return _grad_mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that switches graph recording on or off inside its block."""

    __slots__ = ("_enabled", "_previous")

    def __init__(self, enabled):
        self._enabled = enabled
        self._previous = []  # a stack: one object may be entered again while active (a recursive decorated call)

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
    """The active scope of each thread, in a one-element list: a module call reads this thread-local once and then
    swaps the list's item (every attribute access of a threading.local looks the thread up again)."""

    def __init__(self):
        self.cell = [None]  # [a tuple of names from the outermost scope inwards, or None at top level]


_scopes = _ScopeStack()


class name_scope:
    """Group the operations made inside the block under ``name`` (nested scopes make a tuple of names).

    ``nn.Module.__call__`` enters a scope named after the module, so ``tinygrad_dl.viz`` can collapse a
    module's operations into one box; use it directly to group your own code::

        with name_scope("attention"):
            scores = q @ k.T
    """

    __slots__ = ("name", "_outer", "_last_outer", "_last_inner")

    def __init__(self, name):
        self.name = str(name)
        self._outer = []  # a stack, so one scope object can be entered again while active (recursion)
        self._last_outer = self._last_inner = None  # the tuple made last time, reused when the outer scope is the same

    def _inner(self, outer):
        """The scope tuple inside this one, given the scope outside (the tuple made last time when it is the same)."""
        if outer is not self._last_outer or self._last_inner is None:
            self._last_outer = outer
            self._last_inner = (outer + (self.name,)) if outer else (self.name,)
        return self._last_inner

    def __enter__(self):
        cell = _scopes.cell
        outer = cell[0]
        self._outer.append(outer)
        cell[0] = self._inner(outer)
        return self

    def __exit__(self, *exc):
        _scopes.cell[0] = self._outer.pop()
        return False

    def run(self, fn, args=(), kwargs=None):
        """``fn(*args, **kwargs)`` inside the scope: what ``with`` does, in one call."""
        with self:
            return fn(*args, **kwargs) if kwargs else fn(*args)


def current_scope():
    """The active scope as a tuple of names (empty at top level)."""
    return _scopes.cell[0] or ()


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
    that broadcasts to it: the engine sums broadcast dimensions away and casts to the input's dtype. An op
    whose gradients are always new ndarrays of exactly their inputs' shapes and dtypes may say so with
    ``exact_grads = True`` (on the class, or ``ctx.exact_grads = True`` in ``forward``): a plain backward then
    skips those checks, and ``gradcheck`` and anomaly mode verify the claim.
    ``ctx.needs_input_grad`` says which inputs need a gradient. Keyword arguments of ``apply`` reach
    ``forward`` unchanged (they are not differentiated).

    Second derivatives (``backward(create_graph=True)``): the engine then calls ``backward`` with a Tensor
    ``grad`` and with the saved inputs/output replaced by their Tensors, so a backward written with
    operators and methods that both ndarray and Tensor have is differentiable again. Arrays saved that are
    neither an input nor the output (masks, indices, attributes set on ctx) are constants there. An op
    whose backward cannot work on Tensors sets ``supports_create_graph = False`` and gets a clear error.
    """

    # Slots for what every node has: no per-node dict for them (a graph of thousands of nodes is thousands of
    # objects fewer for Python's garbage collector to walk). saved_tensors becomes None once a backward
    # without retain_graph has freed them.
    __slots__ = ("parents", "needs_input_grad", "sequence_number", "_output_ref", "saved_tensors", "scope",
                 "__dict__", "__weakref__")

    supports_create_graph = True
    op_name = None  # the name error messages use (default: the class name in lower case)
    # Defaults read from the class until a node sets its own (saves work on the hot path of every op).
    _creation_site = None
    _retains_output_grad = False
    # True (on the class, or set on a node by forward) when backward returns every gradient as a new ndarray of
    # exactly its input's shape and dtype, or None: the engine then skips fitting them and may add into them.
    # gradcheck and anomaly mode verify the claim, so the test suite's gradient checks prove it.
    exact_grads = False

    def __init__(self):  # (apply makes its nodes without calling this: it sets the same slots itself)
        self.saved_tensors = ()
        self.scope = None

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

    @property
    def creation_site(self):
        """``"file.py:12 in fn"``: the line that created this op, recorded in anomaly mode (else None)."""
        return self._creation_site

    def __repr__(self):
        """<Mul node in layer1: (4, 5) float64, data -> (4, 5) float64>: what a printed graph node was (and, in
        anomaly mode, the line that made it)."""
        parents = getattr(self, "parents", None)
        site = f" at {self.creation_site}" if self.creation_site else ""
        if parents is None:
            return f"<{self.name} (not recorded){site}>"
        inputs = ", ".join("data" if p is None else f"{_shape(p.data)} {p.data.dtype}" for p in parents)
        out = self._output_ref()
        result = "(output freed)" if out is None else f"{_shape(out.data)} {out.data.dtype}"
        where = f" in {'/'.join(self.scope)}" if self.scope else ""
        freed = ", saved values freed" if self.saved_tensors is None else ""
        return f"<{self.name} node{where}: {inputs} -> {result}{freed}{site}>"

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' arrays; when grad mode is on and an input requires grad, record the node."""
        # The hot path of every op with several inputs: plain loops (Tensor methods use the unrolled twins below).
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
            elif type(x) in _PASSED or isinstance(x, _PASS_THROUGH):
                arrays.append(x)
            else:
                arrays.append(_operand_array(cls, x, inputs))
            parents.append(None)
            needs.append(False)
        ctx = _new(cls)
        ctx.saved_tensors = ()
        record = True in needs and _grad_mode.enabled
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as err:
            raise _op_error(cls, err, arrays) from None
        return _output(cls, ctx, out, tuple(parents) if record else None, inputs, arrays)


def apply_unary(cls, x, kwargs=None):
    """``cls.apply(x, **kwargs)`` for a Tensor ``x``, unrolled (Tensor's methods call it: the hot path of every
    program, so it skips ``apply``'s loop over the inputs)."""
    ctx = _new(cls)
    ctx.saved_tensors = ()
    record = x.requires_grad and _grad_mode.enabled
    ctx.needs_input_grad = _ONE_GRAD if record else _NO_GRAD
    data = x.data
    try:
        out = cls.forward(ctx, data, **kwargs) if kwargs else cls.forward(ctx, data)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(cls, err, [data]) from None
    return _output(cls, ctx, out, (x,) if record else None, (x,), (data,))


def apply_binary(cls, a, b, kwargs=None):
    """``cls.apply(a, b, **kwargs)``, unrolled (Tensor's operators and the losses call it)."""
    if isinstance(a, Tensor):
        a_data, a_needs = a.data, a.requires_grad
    else:  # a number or an array is handed to forward as it is (a Python scalar stays weak)
        a_data = a if type(a) in _PASSED or isinstance(a, _PASS_THROUGH) else _operand_array(cls, a, (a, b))
        a_needs = False
    if isinstance(b, Tensor):
        b_data, b_needs = b.data, b.requires_grad
    else:
        b_data = b if type(b) in _PASSED or isinstance(b, _PASS_THROUGH) else _operand_array(cls, b, (a, b))
        b_needs = False
    ctx = _new(cls)
    ctx.saved_tensors = ()
    record = (a_needs or b_needs) and _grad_mode.enabled
    ctx.needs_input_grad = (a_needs, b_needs) if record else _NO_GRADS
    try:
        out = cls.forward(ctx, a_data, b_data, **kwargs) if kwargs else cls.forward(ctx, a_data, b_data)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(cls, err, [a_data, b_data]) from None
    return _output(cls, ctx, out, (a if a_needs else None, b if b_needs else None) if record else None, (a, b),
                   (a_data, b_data))


def apply_ternary(cls, a, b, c):
    """``cls.apply(a, b, c)`` for three Tensors, unrolled (a Linear layer's input, weight and bias: apply's loop over
    its inputs cost 3-4 % of a small network's training step)."""
    a_needs, b_needs, c_needs = a.requires_grad, b.requires_grad, c.requires_grad
    ctx = _new(cls)
    ctx.saved_tensors = ()
    record = (a_needs or b_needs or c_needs) and _grad_mode.enabled
    ctx.needs_input_grad = (a_needs, b_needs, c_needs) if record else _NO_GRADS3
    a_data, b_data, c_data = a.data, b.data, c.data
    try:
        out = cls.forward(ctx, a_data, b_data, c_data)  # (a plain call: unpacking a tuple of arrays costs more)
    except (ValueError, IndexError, TypeError) as err:
        raise _op_error(cls, err, [a_data, b_data, c_data]) from None
    parents = (a if a_needs else None, b if b_needs else None, c if c_needs else None) if record else None
    return _output(cls, ctx, out, parents, (a, b, c), (a_data, b_data, c_data))


def _output(cls, ctx, out, parents, inputs, arrays):
    """The result Tensor of an op; with ``parents`` (a tuple) ``ctx`` is recorded as its grad_fn: its inputs, its
    creation number (a topological order for backward), the scope it was made in, and a weak reference to its
    output (a strong one would be a reference cycle). Integer/bool results are constants, as in PyTorch."""
    if type(out) is not _ndarray:
        out = _output_array(cls, out)
    result = _new(Tensor)  # data, grad_fn and requires_grad are set here; the rest keep class-level defaults
    result.data = out
    if parents is not None and out.dtype.kind == "f":
        ctx.parents = parents
        ctx.sequence_number = next(_node_counter)
        ctx.scope = _scopes.cell[0]
        ctx._output_ref = _weak_reference(result)
        result.requires_grad = True
        result.grad_fn = ctx
    else:
        result.requires_grad = False
        result.grad_fn = None
    if _anomaly_enabled:
        anomaly.after_forward(ctx, inputs, arrays, result)
    return result


_node_counter = itertools.count()
_new, _ndarray, _weak_reference = object.__new__, np.ndarray, weakref.ref  # module-level names: one lookup fewer
# Non-Tensor operands handed to forward as they are (Python scalars stay weak): the common types by one set lookup,
# then subclasses of the numbers and NumPy scalars. An ndarray only when it is exactly one (np.matrix's * is a matrix
# product: a subclass becomes a plain array).
_PASSED = frozenset((float, int, bool, type(None), np.ndarray))
_PASS_THROUGH = (int, float, bool, np.generic)
_ONE_GRAD, _NO_GRAD, _NO_GRADS, _NO_GRADS3 = (True,), (False,), (False, False), (False, False, False)
_anomaly_enabled = False  # switched by detect_anomaly() (anomaly.py); read once per op


def _label(op):
    """The op's name in error messages: ``op_name`` or the class name in lower case (a string stays as is)."""
    if isinstance(op, str):
        return op
    cls = op if isinstance(op, type) else type(op)
    return cls.op_name or cls.__name__.lower()


def _operand_array(op, value, inputs):
    """A non-Tensor operand (a list, a nested list...) as an array of numbers, or a clear error."""
    described = _describe_inputs([x.data if isinstance(x, Tensor) else x for x in inputs])
    if isinstance(value, np.ndarray):  # a subclass (np.matrix...): as a plain array (a masked one is refused)
        array = _plain_array(_label(op), value)
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{_label(op)}: the operand {_short_repr(value)} is not an array of numbers ({err}); "
                             f"nested lists must all have the same length (inputs: {described})") from None
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{_label(op)}: unsupported operand {_short_repr(value)} of type {type(value).__name__}; "
                        f"operands are Tensors, NumPy arrays, numbers or lists of numbers (inputs: {described})")
    return array


def _output_array(op, out):
    """What forward returned, as an ndarray (a NumPy scalar from a 0-d computation is fine)."""
    array = np.asarray(out)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{_label(op)}: forward returned {_short_repr(out)} ({type(out).__name__}); it must return "
                        "a NumPy array of numbers")
    return array


def _short_repr(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _shape(array):
    return "scalar" if array.ndim == 0 else str(array.shape)


def _describe_inputs(arrays):
    parts = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            parts.append(f"{a.shape} {a.dtype}")
        else:
            parts.append(_short_repr(a, 40))
    return ", ".join(parts)


def _op_error(op, err, arrays):
    """Re-raise NumPy's complaint under the op's name, with the shapes and dtypes that caused it.

    The new exception keeps the kind of the original: an axis out of range stays an AxisError (both a
    ValueError and an IndexError); NumPy's own subclasses (``_UFuncNoLoopError``...) become their public
    base, which can be built from a message alone."""
    message = str(err)
    label = _label(op)
    if not message.startswith(f"{label}:"):
        message = f"{label}: {message}"
    message = f"{message} (inputs: {_describe_inputs(arrays)})"
    if isinstance(err, np.exceptions.AxisError):
        return np.exceptions.AxisError(message)
    for kind in (IndexError, TypeError, ValueError):
        if isinstance(err, kind):
            return kind(message)
    return RuntimeError(message)


# ----------------------------------------------------------------------------------------------------
# In-place writes: which arrays changed after a node saved them


_last_write = -1  # the stamp (from the node counter) of the newest in-place write
_writes = {}  # id(root array) -> [weak reference to the root array, stamp of its last in-place write]


def _root_array(array):
    """The array that owns the memory ``array`` views (itself when it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def note_inplace_write(array):
    """Record that ``array`` was changed in place (Tensor's in-place methods call this).

    Stamps share the node counter, so a node made before the write has a smaller sequence number: a
    backward pass then refuses to use a value that node saved from the same memory."""
    note_inplace_writes((array,))


def note_inplace_writes(arrays):
    """``note_inplace_write`` for several arrays changed together (an optimizer step): one stamp for all."""
    global _last_write
    stamp = next(_node_counter)
    for array in arrays:
        root = array if array.base is None else _root_array(array)
        entry = _writes.get(id(root))
        if entry is None:
            key = id(root)
            _writes[key] = [_weak_reference(root, lambda _, key=key: _forget_write(key)), stamp]
        else:  # (an entry under this id is this array's: a dead array's entry is removed as the array dies)
            entry[1] = stamp
    _last_write = stamp


def _forget_write(key):
    entry = _writes.get(key)
    if entry is not None and entry[0]() is None:
        del _writes[key]


def _check_saved_values(node):
    """Refuse to run ``node``'s backward when a value it saved was changed in place after it was saved."""
    for saved in node.saved_tensors:
        if not isinstance(saved, np.ndarray):
            continue
        root = _root_array(saved)
        entry = _writes.get(id(root))
        if entry is not None and entry[0]() is root and entry[1] > node.sequence_number:
            raise RuntimeError(_modified_message(node, saved, root))


def _modified_message(node, saved, root):
    which = "a value it saved"
    version = ""
    out = node._output_ref()
    candidates = [(f"its input {i}", p) for i, p in enumerate(node.parents) if p is not None]
    candidates += [("its output", out)] if out is not None else []
    for label, tensor in candidates:
        if _root_array(tensor.data) is root:
            which = label
            version = f", now at version {tensor._version}" if tensor._version else ""
            break
    site = f" (created at {node.creation_site})" if node.creation_site else ""
    return (f"backward: {node.name}{site} needs {which}, a {saved.dtype} tensor of shape {saved.shape}, which was "
            f"modified in place after it was saved{version}. An in-place change (add_, +=, zero_, an optimizer "
            "step...) between the forward pass and backward() changes the values the gradient is computed from; "
            "call backward() first, or compute the forward pass again after the change")


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


def _fit_grad(grad, tensor, node, input_grads):
    """Give ``grad`` the shape and dtype of ``tensor`` (the input it belongs to, among ``input_grads``)."""
    original = grad
    if not isinstance(grad, (np.ndarray, Tensor)):
        try:
            grad = np.asarray(grad, dtype=tensor.data.dtype)  # a NumPy scalar (0-d ops), a Python number
        except (TypeError, ValueError):
            raise TypeError(f"{node.name}.backward returned {_short_repr(grad)} as the gradient of input "
                            f"{_position(original, input_grads)}; a gradient is an array (or None)") from None
    shape = tensor.data.shape
    if grad.shape != shape:
        axes = _broadcast_axes(grad.shape, shape)
        if axes is None:  # not a plain sum (the usual case: a bias added to a batch): broadcast up first
            try:
                np.broadcast_shapes(grad.shape, shape)
            except ValueError:
                raise RuntimeError(f"{node.name}.backward returned a gradient of shape {grad.shape} for input "
                                   f"{_position(original, input_grads)} of shape {shape}") from None
            grad = _expand(grad, shape)
            axes = _broadcast_axes(grad.shape, shape)
        if axes:  # sum the broadcast axes away
            grad = _add_reduce(grad, axes) if type(grad) is _ndarray else grad.sum(axis=axes)
        if grad.shape != shape:
            grad = grad.reshape(shape)
    return _fit_dtype(grad, tensor, node, original, input_grads)


def _fit_dtype(grad, tensor, node, original, input_grads):
    if grad.dtype != tensor.data.dtype:
        if grad.dtype.kind not in "biuf":
            raise TypeError(f"{node.name}.backward returned a {grad.dtype} gradient for input "
                            f"{_position(original, input_grads)}, a {tensor.data.dtype} tensor; gradients are real "
                            "numbers")
        grad = grad.astype(tensor.data.dtype)
    return grad


def _broadcast_axes(grad_shape, shape):
    """The axes to sum a gradient of ``grad_shape`` over so it gets ``shape`` (the input was broadcast up to the
    gradient's shape), or None when that is not a plain reduction (to expand first, or not fitting at all)."""
    extra = len(grad_shape) - len(shape)
    if extra < 0:
        return None
    axes = list(range(extra))
    for i, n in enumerate(shape):
        if grad_shape[i + extra] != n:
            if n != 1:
                return None
            axes.append(i + extra)
    return tuple(axes)


_add_reduce = np.add.reduce  # what ndarray.sum calls, without its Python layer


def _position(gradient, input_grads):
    """Which input a gradient belongs to (only for messages: a search by identity)."""
    return next((i for i, g in enumerate(input_grads) if g is gradient), "?")


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
    """The gradient a backward pass starts from at ``root`` (checked)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"backward: outputs must be Tensors, got {type(root).__name__}")
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; create its inputs "
                           "with requires_grad=True (or call requires_grad_()) before computing it")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be created implicitly only for a scalar output, but the output "
                               f"has shape {root.data.shape}; pass grad= with that shape")
        seed = np.array(1, dtype=root.data.dtype)  # (faster than np.ones for the one-element case)
        if root.data.ndim:
            seed = seed.reshape(root.data.shape)
    else:
        values = grad.data if isinstance(grad, Tensor) else grad
        try:
            values = np.asarray(values)
        except (ValueError, TypeError) as err:
            raise ValueError(f"backward: grad {_short_repr(grad)} is not an array of numbers ({err})") from None
        if values.dtype.kind not in "biuf":
            raise TypeError(f"backward: grad must hold real numbers, got {_short_repr(grad)} (dtype {values.dtype}) "
                            f"for an output of shape {root.data.shape}")
        if values.shape != root.data.shape:
            raise RuntimeError(f"backward: grad has shape {values.shape} but the output has shape {root.data.shape}")
        seed = np.array(values, dtype=root.data.dtype)  # a copy: the engine may accumulate into it
        if create_graph and isinstance(grad, Tensor):
            return grad
    return Tensor(seed) if create_graph else seed


def _add_grads(current, extra):
    """current + extra as a fresh array the engine owns. Adding two 0-d arrays gives a NumPy scalar, which
    `+=` would only rebind (issue 7: contributions were lost that way), so it becomes a 0-d array."""
    total = current + extra
    return np.array(total) if isinstance(total, np.generic) else total


class SliceGrad:
    """The gradient of a basic slice ``x[index]``: zeros of ``shape`` except ``values`` at ``index``.

    ``GetItem.backward`` returns one instead of the dense array; the engine adds ``values`` straight into the
    input's accumulated gradient, so the k pieces of a split (an LSTM's four gates) fill one array instead of
    each zero-filling its own and adding them up. Only the engine sees these (``dense()`` everywhere else).
    """

    __slots__ = ("shape", "index", "values")

    def __init__(self, shape, index, values):
        self.shape, self.index, self.values = shape, index, values

    def dense(self):
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.index] = self.values
        return out

    def add_to(self, total):
        view = total[self.index]  # a basic index: a view, picking every element at most once
        if type(view) is np.ndarray:
            view += self.values
        else:  # an int for every axis picks one element, as a NumPy scalar: write it back
            total[self.index] += self.values
        return total


def run_backward(roots, grads=None, retain_graph=False, create_graph=False, inputs=None, on_step=None):
    """Backpropagate from ``roots`` (a Tensor or a list) seeded with ``grads``.

    With ``inputs`` (a list of tensors), return their gradients instead of accumulating into ``.grad``.
    ``on_step(step, node, grad_of_output, input_grads)`` is called for every node visited (used by viz; ``step``
    counts the visited nodes from 0).

    The nodes are visited newest first, the order of ``backward_order``: a node is made after the nodes of its
    inputs, so when it is visited every node that consumes its output has already added its gradient. A heap of
    the nodes that have a gradient waiting gives that order without walking the graph first.
    """
    if isinstance(roots, Tensor):
        roots, grads = (roots,), (grads,)
    elif grads is None:
        grads = [None] * len(roots)
    if create_graph:
        retain_graph = True
    pending = {}  # node -> accumulated gradient of its output
    leaf_grads = {}  # leaf Tensor -> its accumulated gradient
    owned = set()  # nodes and leaves whose accumulated gradient the engine allocated (safe to add into in place)
    heap = []  # (-creation number, node) for every node in pending: popped newest first
    for root, grad in zip(roots, grads):
        if grad is None and type(root) is Tensor and root.grad_fn is not None and not create_graph and \
                root.data.ndim == 0:
            seed = np.array(1, dtype=root.data.dtype)  # loss.backward(): the usual seed, without the checks
        else:
            seed = _seed_grad(root, grad, create_graph)
        node = root.grad_fn
        if node is None:
            if root in leaf_grads:
                _accumulate(leaf_grads, root, seed, owned, create_graph)
            else:
                leaf_grads[root] = seed
        elif node in pending:
            _accumulate(pending, node, seed, owned, create_graph)
        else:
            pending[node] = seed
            _heappush(heap, (-node.sequence_number, node))
    # Everything beyond "call backward, route the gradients" costs one test per node when unused.
    hooks = _Hooks(create_graph, inputs, on_step) if (
        create_graph or inputs is not None or on_step is not None or _anomaly_enabled) else None
    was_enabled = _grad_mode.enabled
    _grad_mode.enabled = create_graph  # the backward pass is recorded only for create_graph
    try:
        while heap:
            node = _heappop(heap)[1]
            grad = pending.pop(node)
            if node.saved_tensors is None:
                raise _freed_error(node)
            if hooks is None:
                if node.sequence_number < _last_write:  # something was written in place after this node was made
                    _check_saved_values(node)
                if node._retains_output_grad:
                    _deliver_output_grad(node, grad, None)
                input_grads = type(node).backward(node, grad)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)  # a one-input op may return its gradient bare
            else:
                input_grads = hooks.backward(node, grad)
            if len(input_grads) != len(node.parents):
                raise _gradient_count_error(node, input_grads)
            exact = node.exact_grads and hooks is None  # (the checked path verifies the claim instead)
            for parent, input_grad in zip(node.parents, input_grads):
                if parent is None or input_grad is None:
                    continue
                # a gradient that already has the input's shape and dtype needs no fitting
                if not exact and (type(input_grad) is not _ndarray or input_grad.shape != parent.data.shape or
                                  input_grad.dtype is not parent.data.dtype):
                    if type(input_grad) is SliceGrad:
                        _route_slice(input_grad, parent, pending, owned, leaf_grads, heap)
                        continue
                    input_grad = _fit_grad(input_grad, parent, node, input_grads)
                key = parent.grad_fn
                if key is None:  # a leaf: its gradient is collected under the leaf, written to .grad at the end
                    if parent in leaf_grads:
                        _accumulate(leaf_grads, parent, input_grad, owned, create_graph)
                    else:
                        leaf_grads[parent] = input_grad  # not ours: it may be a view or another op's array...
                        if exact:  # ...unless its op claims exact_grads: then a new array only this input gets
                            owned.add(parent)
                elif key in pending:
                    _accumulate(pending, key, input_grad, owned, create_graph)
                else:
                    pending[key] = input_grad
                    _heappush(heap, (-key.sequence_number, key))
            if not retain_graph:
                node.saved_tensors = None  # frees the saved arrays and marks the node as used up
    finally:
        _grad_mode.enabled = was_enabled
    if inputs is not None:
        return hooks.captured_grads(leaf_grads)
    _write_leaf_grads(leaf_grads, owned)
    return None


_heappush, _heappop = heapq.heappush, heapq.heappop


def _accumulate(sums, key, grad, owned, create_graph):
    """Add a further contribution ``grad`` into ``sums[key]``: in place into a buffer the engine made, else into a
    fresh sum that becomes the engine's (the first contribution may be a view or another op's array)."""
    if key in owned:
        sums[key] += grad  # our own buffer (an ndarray, never a NumPy scalar): add in place
    else:
        sums[key] = _add_grads(sums[key], grad)
        if not create_graph:
            owned.add(key)


class _Hooks:
    """What a backward pass does beyond the plain loop, when any of it is asked for: stale-value checks,
    grad(inputs=...) captures, anomaly checks, create_graph and the viz trace (``on_step``)."""

    __slots__ = ("create_graph", "inputs", "captured", "on_step", "steps", "verify_claims")

    def __init__(self, create_graph, inputs, on_step):
        self.create_graph, self.inputs, self.on_step = create_graph, inputs, on_step
        self.verify_claims = _anomaly_enabled or _verifying_claims  # exact_grads claims: in anomaly mode and gradcheck
        self.captured = None if inputs is None else {id(t): None for t in inputs}  # id(tensor) -> its gradient
        self.steps = 0  # the nodes visited so far

    def backward(self, node, grad):
        if node.sequence_number < _last_write:
            _check_saved_values(node)
        if self.captured is not None or node._retains_output_grad:
            _deliver_output_grad(node, grad, self.captured)
        if _anomaly_enabled:
            input_grads = anomaly.run_checked_backward(node, grad, self.create_graph)
        elif self.create_graph:
            input_grads = _call_backward_on_tensors(node, grad)
        else:
            input_grads = type(node).backward(node, grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if self.verify_claims and node.exact_grads and not self.create_graph:
            _verify_exact_grads(node, grad, input_grads)
        if self.on_step is not None:
            if len(input_grads) != len(node.parents):
                raise _gradient_count_error(node, input_grads)
            input_grads = tuple(g.dense() if type(g) is SliceGrad else g for g in input_grads)
            self.on_step(self.steps, node, grad, input_grads)
        self.steps += 1
        return input_grads

    def captured_grads(self, leaf_grads):
        """grad(outputs, inputs): the gradient of each input (a fresh copy), None where it got none."""
        captured = self.captured
        for leaf, grad in leaf_grads.items():
            if id(leaf) in captured:
                captured[id(leaf)] = grad
        return [None if captured[id(t)] is None else _as_grad_tensor(captured[id(t)], copy=True) for t in self.inputs]


_verifying_claims = False  # True while gradcheck computes its gradients (see verifying_claims)
# (np.may_share_memory without the Python-level __array_function__ dispatch it runs first)
_may_share_memory = getattr(np.may_share_memory, "_implementation", np.may_share_memory)


@contextlib.contextmanager
def verifying_claims():
    """Inside the block every backward verifies the ``exact_grads`` claims of the ops it runs (gradcheck's own
    backward passes do; anomaly mode always does)."""
    global _verifying_claims
    outer, _verifying_claims = _verifying_claims, True
    try:
        yield
    finally:
        _verifying_claims = outer


def _verify_exact_grads(node, grad, input_grads):
    """Refuse a backward whose node claims ``exact_grads`` but returned a gradient that would need fitting, or one
    that is not a new array of its own (it may overlap the incoming gradient, an input, a saved value or another
    of the gradients: the engine adds into these arrays and hands them over as they are)."""
    others = [grad] + [p.data for p in node.parents if p is not None]
    others += [a for a in (node.saved_tensors or ()) if isinstance(a, np.ndarray)]
    for position, (parent, input_grad) in enumerate(zip(node.parents, input_grads)):
        if parent is None or input_grad is None:
            continue
        if type(input_grad) is not _ndarray or input_grad.shape != parent.data.shape or \
                input_grad.dtype is not parent.data.dtype:
            got = (f"a {type(input_grad).__name__}" if not isinstance(input_grad, np.ndarray)
                   else f"{input_grad.shape} {input_grad.dtype}")
            raise RuntimeError(f"{node.name} claims exact_grads, but its backward returned {got} as the gradient of "
                               f"input {position}, which is {_shape(parent.data)} {parent.data.dtype}")
        siblings = [g for i, g in enumerate(input_grads) if i != position and isinstance(g, np.ndarray)]
        if not input_grad.flags.writeable or _overlaps(input_grad, others + siblings):
            raise RuntimeError(f"{node.name} claims exact_grads, but its backward returned an array that is not new as "
                               f"the gradient of input {position} (read-only, or sharing memory with the incoming "
                               "gradient, an input, a saved value or another gradient)")


def _overlaps(array, others):
    """True when ``array`` shares memory with one of ``others`` (itself included, if it is among them)."""
    if array.base is None:  # it owns its memory: only itself and views of it overlap it (no bounds computed)
        return any(o is array or (o.base is not None and _root_array(o) is array) for o in others)
    return any(_may_share_memory(array, o) for o in others)


def _freed_error(node):
    return RuntimeError(f"backward: trying to backward through {node.name} a second time, but its saved values were "
                        "freed after the first backward; pass retain_graph=True to the first backward() if you need "
                        "to backpropagate twice")


def _gradient_count_error(node, input_grads):
    return RuntimeError(f"{node.name}.backward returned {len(input_grads)} gradients for {len(node.parents)} inputs")


def _route_slice(piece, parent, pending, owned, leaf_grads, heap):
    """Add a slice's gradient into the accumulated gradient of ``parent`` (allocated, zero, on first use)."""
    node = parent.grad_fn
    key, sums = (parent, leaf_grads) if node is None else (node, pending)  # a leaf's is kept under the leaf itself
    current = sums.get(key)
    if current is None:
        sums[key] = piece.dense()
        if node is not None:
            _heappush(heap, (-node.sequence_number, node))
    elif key in owned:
        piece.add_to(current)
    else:
        sums[key] = piece.add_to(np.array(current))  # a copy we own (it may be a view)
    owned.add(key)


def _call_backward_on_tensors(node, grad):
    """create_graph: run the node's backward on Tensors so the backward pass is recorded too."""
    if not node.supports_create_graph:
        raise RuntimeError(f"backward: {node.name} does not support create_graph=True (its backward is not "
                           "itself differentiable)")
    saved = node.saved_tensors
    node.saved_tensors = _lift_saved(node)
    outer = _grad_mode.tensor_backward
    _grad_mode.tensor_backward = node
    try:
        return type(node).backward(node, grad)
    except TypeError as err:
        if "does not support ufuncs" in str(err):
            raise TypeError(f"{node.name}.backward called a NumPy function on a Tensor ({err}). With "
                            "create_graph=True the engine hands backward Tensors; write it with operators, "
                            "Tensor methods and tinygrad_dl.generic (exp, log, where, maximum, sigmoid...), "
                            "which work on arrays and Tensors alike") from None
        raise
    finally:
        node.saved_tensors = saved
        _grad_mode.tensor_backward = outer


def _deliver_output_grad(node, grad, captured):
    out = node._output_ref()
    if out is None:
        return
    if captured is not None:
        if id(out) in captured:
            captured[id(out)] = grad
    elif out._retains_grad:
        # a copy: the engine hands this very array on to the node's inputs (Add passes it through)
        out._grad = _as_grad_tensor(grad, copy=True)


def _write_leaf_grads(leaf_grads, owned):
    """Accumulate the collected gradients into each leaf's ``.grad``. A fresh array only this leaf receives is stored
    bare (``Tensor.grad`` wraps it at the first read); anything else is stored as a Tensor of its own."""
    # ids of the memory handed out: an array that reached two leaves (a + b), or a view of it (a.reshape(6) + b: the
    # reshape's backward passes a view on), is copied for the second, so no two gradients share memory
    seen = set()
    for leaf, grad in leaf_grads.items():
        current = leaf._grad
        if current is None and leaf in owned:  # an array the engine or an exact_grads op made for this leaf alone
            leaf._grad = grad
            continue
        key = id(grad if type(grad) is not _ndarray or grad.base is None else _root_array(grad))
        if current is None and type(grad) is _ndarray and key not in seen and grad.flags.writeable:
            leaf._grad = grad  # a fresh array nobody else was handed
        elif current is None:
            # a Tensor (create_graph), a read-only broadcast view, or the very array another leaf got (a + b)
            leaf._grad = _as_grad_tensor(grad, copy=key in seen)
        elif isinstance(grad, Tensor):
            leaf._grad = leaf.grad + grad
        else:
            leaf._grad = _add_grads(current if type(current) is _ndarray else current.data, grad)
        seen.add(key)


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
    inputs = [inputs] if isinstance(inputs, Tensor) else _as_list("grad", "inputs", inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}, {t.dtype}) does not require grad; create it with "
                               "requires_grad=True")
    if isinstance(outputs, Tensor):
        outputs, grad_outputs = [outputs], [grad_outputs]
    else:
        outputs = _as_list("grad", "outputs", outputs)
        grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list("grad", "grad_outputs",
                                                                                   grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    return run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)


def _as_list(op, what, values):
    if isinstance(values, (list, tuple)):
        return list(values)
    raise TypeError(f"{op}: {what} must be a Tensor or a list of Tensors, got {type(values).__name__}")


from . import anomaly  # noqa: E402  (anomaly mode's checks; it reads this module's flags)
from .tensor import Tensor, _plain_array  # noqa: E402  (tensor.py builds on Function; imported last to close the cycle)
