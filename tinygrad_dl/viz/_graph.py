"""Collect the graph behind one or more output tensors: op nodes in backward order and the tensors between them.

The core keeps a graph as Function nodes that point at their input tensors (``node.parents``) and weakly at
their output (``node._output_ref()``); inputs that need no gradient appear there as None. This module turns
that into plain records the drawing code can lay out, without running anything.
"""
from ..autograd import backward_order
from ..tensor import Tensor


class TensorInfo:
    """One tensor of the picture."""

    # Links to ops are step numbers (Graph.op(step)), not objects: no reference cycles, so a picture's graph
    # dies by reference counting like the core's own graphs.
    __slots__ = ("key", "tensor", "kind", "name", "producer_step", "consumers", "scope", "is_output", "first_step")

    def __init__(self, key, tensor, kind, name):
        self.key = key  # id of the tensor: unique while the graph (which holds the tensor) is alive
        self.tensor = tensor  # the Tensor itself (None when an op's output is no longer alive)
        self.kind = kind  # "leaf" (requires grad, no grad_fn), "constant" (named data) or "intermediate"
        self.name = name  # a name from `names` or Tensor.name, else None
        self.producer_step = None  # the step of the op that computed it (intermediates only)
        self.consumers = []  # (step of the op, input slot) for every op that used it (slot None: named data)
        self.scope = ()  # the naming scope it belongs to (see Graph._assign_leaf_scopes)
        self.is_output = False
        self.first_step = 0  # the earliest backward step touching it: nodes near the output come first


class OpInfo:
    """One op node of the picture."""

    __slots__ = ("node", "step", "output", "inputs", "scope", "constants")

    def __init__(self, node, step):
        self.node = node  # the Function instance
        self.step = step  # 1-based position in the backward pass (backward_order)
        self.output = None  # TensorInfo
        self.inputs = []  # (slot, TensorInfo) for inputs that are in the graph
        self.scope = tuple(node.scope or ())
        self.constants = []  # TensorInfo of named inputs that need no grad (found through saved arrays)

    @property
    def name(self):
        return self.node.name


class Graph:
    """Ops in backward order and the tensors they connect, for the outputs ``roots``.

    ``names`` maps names to tensors (``dict(model.named_parameters())``, ``{"X": X}``) or is an iterable of
    (name, tensor) pairs. A named tensor that needs no gradient (data such as X or Y) is not recorded by the
    graph; it is found, while the graph still holds the ops' saved arrays, as the array an op saved.
    """

    def __init__(self, roots, names=None, model=None):
        self.roots = _as_tensor_list(roots)
        self._names = _names_by_id(_model_parameters(model) + _pairs(names))
        self.scope_titles = module_titles(model)  # scope tuple -> "0: Linear(2→4)"
        self.tensors = {}  # key -> TensorInfo, outputs first, then in the order the backward pass meets them
        self.ops = [OpInfo(node, step) for step, node in enumerate(backward_order(self.roots), start=1)]
        self._add_outputs()
        self._add_ops()
        self._add_named_constants()
        self._assign_leaf_scopes()
        self._assign_first_steps()

    def op(self, step):
        """The OpInfo of a backward step (1-based)."""
        return self.ops[step - 1]

    # -- building ----------------------------------------------------------------------------------
    def _tensor_info(self, tensor):
        key = id(tensor)
        info = self.tensors.get(key)
        if info is None:
            if tensor.grad_fn is not None:
                kind = "intermediate"
            elif tensor.requires_grad:
                kind = "leaf"
            else:
                kind = "constant"
            info = TensorInfo(key, tensor, kind, self._names.get(key, tensor.name))
            self.tensors[key] = info
        return info

    def _add_outputs(self):
        for root in self.roots:
            info = self._tensor_info(root)
            info.is_output = True

    def _add_ops(self):
        for op in self.ops:
            out = op.node._output_ref()
            if out is None:  # the output tensor died; keep a placeholder so the op still has an output
                op.output = TensorInfo(("output of", id(op.node)), None, "intermediate", None)
                self.tensors[op.output.key] = op.output
            else:
                op.output = self._tensor_info(out)
            op.output.producer_step = op.step
            for slot, parent in enumerate(op.node.parents):
                if parent is None:
                    continue
                info = self._tensor_info(parent)  # its producer comes later in backward order
                info.consumers.append((op.step, slot))
                op.inputs.append((slot, info))

    def _add_named_constants(self):
        """Named tensors outside the graph (data) that an op saved for its backward: draw them as inputs."""
        candidates = {}
        for key, (name, tensor) in self._names.tensors.items():
            if key not in self.tensors:
                candidates[id(tensor.data)] = (name, tensor)
        if not candidates:
            return
        for op in self.ops:
            saved = op.node.saved_tensors
            if not saved or all(parent is not None for parent in op.node.parents):
                continue
            for array in saved:
                found = candidates.get(id(array))
                if found is None:
                    continue
                info = self._tensor_info(found[1])
                if info.kind == "constant" and info not in op.constants:
                    info.consumers.append((op.step, None))
                    op.constants.append(info)

    def _assign_leaf_scopes(self):
        """An intermediate lives in its op's scope; a leaf or constant in the scope all its consumers share.

        So a module's parameters sit inside the module's box, and data used by several modules sits outside.
        """
        for info in self.tensors.values():
            if info.producer_step is not None:
                info.scope = self.op(info.producer_step).scope
            elif info.consumers:
                info.scope = _common_prefix([self.op(step).scope for step, _ in info.consumers])

    def _assign_first_steps(self):
        """Outputs 0, an intermediate its op's step, a leaf its first consumer's: nearness to the output."""
        for info in self.tensors.values():
            if info.is_output:
                info.first_step = 0
            elif info.producer_step is not None:
                info.first_step = info.producer_step
            elif info.consumers:
                info.first_step = min(step for step, _ in info.consumers)


class _Names(dict):
    """id(tensor) -> name, remembering the tensors too (so their ids stay valid while we draw)."""

    def __init__(self):
        super().__init__()
        self.tensors = {}


def _pairs(names):
    """``names`` as a list of (name, tensor) pairs (a mapping or an iterable of pairs)."""
    if names is None:
        return []
    pairs = names.items() if hasattr(names, "items") else names
    try:
        pairs = list(pairs)
    except TypeError:
        raise TypeError(f"draw_graph: names must be a mapping of names to tensors (such as "
                        f"dict(model.named_parameters())) or (name, tensor) pairs, got "
                        f"{type(names).__name__}") from None
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"draw_graph: names must hold (name, tensor) pairs, got {pair!r}")
    return pairs


def _names_by_id(pairs):
    result = _Names()
    for name, tensor in pairs:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"draw_graph: names[{name!r}] must be a Tensor, got {type(tensor).__name__}")
        result[id(tensor)] = str(name)
        result.tensors[id(tensor)] = (str(name), tensor)
    return result


def _model_parameters(model):
    if model is None:
        return []
    if not (hasattr(model, "named_parameters") and hasattr(model, "named_children")):
        raise TypeError(f"draw_graph: model must be an nn.Module, got {type(model).__name__}")
    return list(model.named_parameters())


def module_titles(model):
    """Cluster titles for the scopes a model's modules enter when called: ("Net", "fc1") -> "fc1: Linear(2→4)".

    Follows nn.Module's naming (each module's ``scope_name``; containers that are never called, such as
    ModuleList, add no level of their own).
    """
    if model is None:
        return {}
    root = (model.scope_name,)
    titles = {root: _titled(model.scope_name, model)}
    pending = [(model, root)]
    while pending:
        module, path = pending.pop()
        for _, child in module.named_children():
            if getattr(child, "_transparent", False):
                pending.append((child, path))
                continue
            child_path = path + (child.scope_name,)
            titles.setdefault(child_path, _titled(child.scope_name, child))
            pending.append((child, child_path))
    return titles


def _titled(scope_name, module):
    summary = module_summary(module)
    return summary if summary == scope_name else f"{scope_name}: {summary}"


def module_summary(module):
    """A module in a few characters: Linear(64→128), Conv2d(3→8, 3×3), BatchNorm1d(20), Dropout(p=0.5), Tanh."""
    name = type(module).__name__

    def integer(attribute):
        value = getattr(module, attribute, None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    for source, target in (("in_features", "out_features"), ("in_channels", "out_channels"),
                           ("input_size", "hidden_size")):
        if integer(source) is not None and integer(target) is not None:
            extra = ""
            kernel = getattr(module, "kernel_size", None)
            if isinstance(kernel, tuple) and all(isinstance(k, int) for k in kernel):
                extra = ", " + "×".join(str(k) for k in kernel)
            elif isinstance(kernel, int):
                extra = f", {kernel}×{kernel}"
            return f"{name}({integer(source)}→{integer(target)}{extra})"
    if integer("num_features") is not None:
        return f"{name}({integer('num_features')})"
    p = getattr(module, "p", None)
    if isinstance(p, float):
        return f"{name}(p={p:g})"
    return name


def _as_tensor_list(outputs):
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, (list, tuple)) and outputs and all(isinstance(t, Tensor) for t in outputs):
        return list(outputs)
    raise TypeError(f"draw_graph: output must be a Tensor or a non-empty list of Tensors, got "
                    f"{_describe(outputs)}")


def _describe(value):
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {[type(v).__name__ for v in value][:5]}"
    return type(value).__name__


def _common_prefix(scopes):
    first = scopes[0]
    length = len(first)
    for scope in scopes[1:]:
        length = min(length, len(scope))
        for i in range(length):
            if scope[i] != first[i]:
                length = i
                break
    return first[:length]
