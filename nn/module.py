"""``Parameter``, ``Module`` and the containers ``Sequential`` and ``ModuleList``.

A Module registers what is assigned to its attributes: a ``Parameter`` becomes a parameter, a
``Module`` a submodule, and ``register_buffer`` adds a non-trainable array (BatchNorm's running
statistics). Everything is kept in registration (assignment) order, which is the order of
``named_parameters()`` and ``state_dict()``.

Calling a module enters ``tinygrad_dl.name_scope(<its name>)``, so every graph node made inside carries
the module path in ``node.scope`` (pictures collapse a module into one box). The naming rule:

* a module's name is the attribute name it was registered under in its parent ("fc1"; "0", "1", ... for
  the children of a ``Sequential``);
* children of a ``ModuleList`` (a container that is never called itself) get the list's name as a prefix:
  ``self.layers = ModuleList([...])`` names them "layers.0", "layers.1", ...;
* a module that was never registered in a parent (the root) uses its class name;
* a module registered in several places keeps the name from its first parent (while that parent lives),
  so slicing a Sequential or sharing a layer does not rename it.

So ``Sequential(Linear(2, 3), ReLU())(x)`` makes nodes with scope ("Sequential", "0") and
("Sequential", "1"), and a model ``Net`` with ``self.fc1`` makes ("Net", "fc1").
"""
import collections
import collections.abc
import os
import weakref

import numpy as np

from tinygrad_dl import Tensor, name_scope, no_grad
from tinygrad_dl.autograd import _scopes  # the per-thread active scope name_scope keeps

_PARAMETER, _BUFFER, _MODULE = "parameter", "buffer", "module"


class Parameter(Tensor):
    """A Tensor that is a trainable parameter of a Module: a leaf that requires grad by default.

    ``Parameter(data, requires_grad=True)``: a NumPy array is used as is (float64 stays float64); a
    Python number or list becomes float32; a Tensor gives its data (detached from any graph).
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class LoadResult(collections.namedtuple("LoadResult", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict(strict=False)`` skipped: keys the model has but the state lacks, and keys the
    state has but the model lacks."""


class StateDictError(KeyError):
    """Missing or unexpected keys in ``load_state_dict`` (a KeyError with a readable message)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class Module:
    """Base class of layers and models: assign Parameters and Modules as attributes, write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_members", {})  # name -> "parameter" | "buffer" | "module", in order
        object.__setattr__(self, "_scope_parent", None)  # weakref to the first parent (no reference cycle)
        object.__setattr__(self, "_scope_attribute", None)  # the attribute name in that parent
        object.__setattr__(self, "training", True)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        scope = self._scope  # built once: calling a module is on every training step's path
        if scope is None:
            scope = name_scope(self.scope_name)
            object.__setattr__(self, "_scope", scope)
        # `with scope:` written out (entering and leaving are two more calls, and a module call is on every
        # training step's path: 1.6 % of a small network's step against scope.run(self.forward, args, kwargs))
        cell = _scopes.cell  # [the thread's active scope]
        outer = cell[0]
        inner = scope._last_inner
        if outer is not scope._last_outer or inner is None:
            inner = scope._inner(outer)
        cell[0] = inner
        try:
            if kwargs:
                return self.forward(*args, **kwargs)
            if len(args) == 1:  # model(x), the usual call: a plain call costs less than unpacking args (0.07 us)
                return self.forward(args[0])
            return self.forward(*args)
        finally:
            cell[0] = outer

    _scope = None  # the name_scope this module enters, made at the first call
    _transparent = False  # True for containers that are never called (ModuleList): they prefix their items

    @property
    def scope_name(self):
        """The name this module's operations are grouped under (see the module docstring)."""
        parent = self._scope_parent() if self._scope_parent is not None else None
        if parent is None:
            return type(self).__name__
        if parent._transparent and parent._scope_parent is not None and parent._scope_parent() is not None:
            return f"{parent.scope_name}.{self._scope_attribute}"
        return self._scope_attribute

    # -- registration -----------------------------------------------------------------------------
    def _registry(self):
        members = self.__dict__.get("_members")
        if members is None:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() at the start of __init__, before "
                               "assigning parameters or submodules")
        return members

    def __setattr__(self, name, value):
        if isinstance(value, (Parameter, Module)) or name in self.__dict__.get("_members", ()):
            self._register(name, value)
        else:
            object.__setattr__(self, name, value)

    def _register(self, name, value):
        members = self._registry()
        kind = members.get(name)
        if isinstance(value, Parameter):
            new_kind = _PARAMETER
        elif isinstance(value, Module):
            new_kind = _MODULE
            _refuse_cycle(self, name, value)
            value._adopt(self, name)
        elif kind == _BUFFER:
            new_kind, value = _BUFFER, _buffer_array(name, value)
        elif value is None:
            new_kind = kind  # an empty slot (e.g. bias=None) keeps its place
        elif kind == _PARAMETER:
            raise TypeError(f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                            f"{type(self).__name__}: use nn.Parameter(...) or None")
        else:
            new_kind = None
        if new_kind is None:
            members.pop(name, None)
        else:
            members[name] = new_kind
        object.__setattr__(self, name, value)
        self.__dict__.pop("_layers", None)  # the submodules may have changed: Sequential makes its tuple again

    def __delattr__(self, name):
        self.__dict__.get("_members", {}).pop(name, None)
        object.__delattr__(self, name)
        self.__dict__.pop("_layers", None)

    def register_buffer(self, name, array):
        """Add a non-trainable array (saved in state_dict, e.g. running statistics); None leaves a slot."""
        members = self._registry()
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r} (a non-empty string without '.')")
        if name in self.__dict__ and name not in members:
            raise KeyError(f"register_buffer: attribute '{name}' already exists on {type(self).__name__}")
        if members.get(name) not in (None, _BUFFER):
            raise KeyError(f"register_buffer: '{name}' is already a {members[name]} of {type(self).__name__}")
        array = _buffer_array(name, array)
        members[name] = _BUFFER
        object.__setattr__(self, name, array)

    def _adopt(self, parent, attribute):
        """Remember the first live parent and our attribute name there, for ``scope_name``."""
        current = self._scope_parent() if self._scope_parent is not None else None
        if current is None or current is parent:
            object.__setattr__(self, "_scope_parent", weakref.ref(parent))
            object.__setattr__(self, "_scope_attribute", attribute)
            self.__dict__.pop("_scope", None)  # the name may have changed: rebuild it at the next call

    # -- traversal --------------------------------------------------------------------------------
    def _members_of(self, kind):
        return [(name, self.__dict__[name]) for name, k in self._registry().items() if k == kind]

    def named_children(self):
        """(name, module) for the direct submodules, in registration order."""
        return [(name, m) for name, m in self._members_of(_MODULE) if m is not None]

    def children(self):
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module ("" for itself) and every submodule, each once."""
        seen = set()
        stack = [(prefix, self)]
        result = []
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            result.append((name, module))
            children = [(f"{name}.{child}" if name else child, m) for child, m in module.named_children()]
            stack.extend(reversed(children))  # depth first, in registration order
        return result

    def modules(self):
        return [m for _, m in self.named_modules()]

    def _walk(self, prefix="", path=()):
        """(dotted name, kind, owner, attribute) for every parameter and buffer slot, in registration order,
        through every path (a module shared by two parents appears under both names)."""
        if id(self) in path:
            raise RuntimeError(f"{type(self).__name__} contains itself: module graphs must not have cycles")
        path = path + (id(self),)
        for name, kind in self._registry().items():
            full = f"{prefix}{name}"
            value = self.__dict__[name]
            if kind == _MODULE:
                if value is not None:
                    yield from value._walk(full + ".", path)
            elif value is not None:
                yield full, kind, self, name

    def named_parameters(self):
        """(dotted name, Parameter) in registration order; a parameter shared by two modules appears once."""
        return self._unique(_PARAMETER)

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        return self._unique(_BUFFER)

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    def _unique(self, wanted):
        seen = set()
        result = []
        for full, kind, owner, name in self._walk():
            value = owner.__dict__[name]
            if kind == wanted and id(value) not in seen:
                seen.add(id(value))
                result.append((full, value))
        return result

    # -- modes and grads --------------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active, batch statistics) for this module and all submodules."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (the default, as in PyTorch), or to zeros in place with
        ``set_to_none=False``."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            elif isinstance(p.grad, Tensor) and p.grad.grad_fn is None and p.grad.data.flags.writeable:
                p.grad.zero_()
            else:
                p.grad = Tensor(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad=True):
        """Make every parameter require grad (or not: ``requires_grad_(False)`` freezes the module). Returns self."""
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}.requires_grad_: expected True or False, got {requires_grad!r}")
        for p in self.parameters():
            p.requires_grad_(bool(requires_grad))
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule, then on this module (children first, in registration order,
        as PyTorch does); returns self. The usual use: ``model.apply(init_weights)``."""
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: expected a function of a module, got {type(fn).__name__}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- saving and loading -----------------------------------------------------------------------
    def state_dict(self):
        """Ordered dict: dotted name -> a copy of the array, for every parameter and buffer."""
        state = collections.OrderedDict()
        for full, kind, owner, name in self._walk():
            value = owner.__dict__[name]
            state[full] = np.array(value.data if kind == _PARAMETER else value)
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` (name -> array) into the parameters and buffers, in place.

        Everything is checked before anything is copied, so on error the model is unchanged:
        missing or unexpected keys raise a KeyError (unless ``strict=False``), a shape mismatch or a
        value that cannot be cast to the parameter's dtype a ValueError. Returns (missing, unexpected).
        """
        owner_name = type(self).__name__
        if not isinstance(state, collections.abc.Mapping):
            raise TypeError(f"load_state_dict for {owner_name}: expected a dict of name -> array (from "
                            f"state_dict()), got {type(state).__name__}")
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"load_state_dict for {owner_name}: strict must be True or False, got {strict!r}")
        targets = collections.OrderedDict((full, (kind, owner, name)) for full, kind, owner, name in self._walk())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise StateDictError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                                 f"unexpected keys {unexpected}")
        updates = []
        problems = []
        for full, (kind, owner, name) in targets.items():
            if full not in state:
                continue
            current = owner.__dict__[name]
            current = current.data if kind == _PARAMETER else current
            value = state[full]
            try:
                value = np.asarray(value.data if isinstance(value, Tensor) else value)
            except ValueError:  # ragged nested lists
                problems.append(f"'{full}': a {type(value).__name__} that is not a rectangular array")
                continue
            if value.dtype.kind not in "biuf":
                problems.append(f"'{full}': the state holds {type(value).__name__} of dtype {value.dtype}, not "
                                f"numbers (the model's is {current.dtype}, shape {current.shape})")
            elif value.shape != current.shape:
                problems.append(f"'{full}': the state has shape {value.shape}, the model {current.shape}")
            elif not np.can_cast(value.dtype, current.dtype, casting="same_kind"):
                problems.append(f"'{full}': cannot cast the state's {value.dtype} to the model's {current.dtype}")
            else:
                updates.append((kind, owner, name, value))
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + "; ".join(problems))
        for kind, owner, name, value in updates:
            _copy_into(kind, owner, name, value)
        return LoadResult(missing, unexpected)

    def save(self, path):
        """Write ``state_dict()`` to an .npz file (``np.savez``; ".npz" is added if missing). Returns the path."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        np.savez(path, **self.state_dict())
        return path

    def load(self, path, strict=True):
        """Load a file written by ``save`` (no pickles). A malformed or mismatching file raises a clear error
        and leaves the model unchanged."""
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"
        state = _read_npz(path)
        try:
            return self.load_state_dict(state, strict=strict)
        except (KeyError, ValueError) as err:
            raise type(err)(f"load: {path} does not match the model: {err}") from None

    # -- printing ---------------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        head = f"{type(self).__name__}(" + (self.extra_repr() + "\n" if self.extra_repr() else "\n")
        return head + "\n".join(lines) + "\n)"


def _refuse_cycle(parent, name, child):
    """A module may not contain itself (repr, calls and parameters() would never end)."""
    if child is parent or any(m is parent for m in child.modules()):
        raise ValueError(f"cannot register {type(child).__name__} as '{name}' of {type(parent).__name__}: it "
                         f"{'is' if child is parent else 'contains'} that module itself, and a module may not "
                         "contain itself")


def _buffer_array(name, value):
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    raise TypeError(f"buffer '{name}' must be a NumPy array (or None), got {type(value).__name__}")


def _copy_into(kind, owner, name, value):
    """Copy in place, so optimizers and anyone holding the array see the loaded values."""
    current = owner.__dict__[name]
    array = current.data if kind == _PARAMETER else current
    if array.flags.writeable:
        if kind == _PARAMETER:
            with no_grad():
                current.copy_(value)  # bumps the version: a graph that saved the old value refuses to backward
        else:
            np.copyto(array, value, casting="same_kind")
    elif kind == _PARAMETER:
        current.data = value.astype(array.dtype)
    else:
        object.__setattr__(owner, name, value.astype(array.dtype))


def _read_npz(path):
    """name -> array from an .npz file, refusing pickles, with one clear error for any malformed file."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as err:  # not a NumPy file at all, truncated, pickled, ...
        raise ValueError(f"load: {path} is not an .npz file written by Module.save ({type(err).__name__}: "
                         f"{err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {path} holds a single array, not an .npz file written by Module.save")
    try:
        return {key: archive[key] for key in archive.files}
    except Exception as err:
        raise ValueError(f"load: {path} is damaged or holds pickled objects ({type(err).__name__}: {err})") from None
    finally:
        archive.close()


class Sequential(Module):
    """Call the modules in order, each on the previous one's output. Children are named "0", "1", ...
    (or by the keys of an ordered dict: ``Sequential({"fc1": Linear(2, 3), "act": ReLU()})``)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            named = list(modules[0].items())
        else:
            named = [(str(i), m) for i, m in enumerate(modules)]
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {name!r} is a {type(module).__name__}, not a Module")
            setattr(self, name, module)

    _layers = None  # the submodules in order, a tuple made at the first call (Module's registration clears it)

    def forward(self, x):
        layers = self._layers
        if layers is None:
            layers = tuple(self.children())
            object.__setattr__(self, "_layers", layers)
        for layer in layers:
            x = layer(x)
        return x

    def __len__(self):
        return len(self.children())

    def __iter__(self):
        return iter(self.children())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.children()[index])
        return self.children()[index]


class ModuleList(Module):
    """A list of modules (indexable, iterable, ``append``/``extend``) whose parameters are registered.

    It is never called: call its items. They are named "<list name>.<index>" (see the module docstring).
    """

    def __init__(self, modules=None):
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    _transparent = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is not callable: call its items (e.g. `for layer in self.layers: "
                                  "x = layer(x)`)")

    def __len__(self):
        return len(self._registry())

    def __iter__(self):
        return iter(self.children())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(self.children()[index])
        return self.children()[index]

    def __setitem__(self, index, module):
        index = range(len(self))[index]  # negative indices, IndexError when out of range
        setattr(self, str(index), module)


class ModuleDict(Module):
    """An ordered dict of modules with string keys, whose parameters are registered:
    ``self.heads = ModuleDict({"cls": Linear(8, 3), "box": Linear(8, 4)})``, then ``self.heads["cls"](x)``.

    Like ``ModuleList`` it is never called itself: call its items. They are named "<dict name>.<key>".
    Keys are non-empty strings without "." that are not already attributes of a module (e.g. "train").
    """

    _transparent = True

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _checked_item(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings, got {key!r} ({type(key).__name__})")
        if not key or "." in key:
            raise KeyError(f"ModuleDict: invalid key {key!r} (a non-empty string without '.')")
        if key not in self._registry() and hasattr(self, key):
            raise KeyError(f"ModuleDict: key {key!r} is already an attribute of ModuleDict; choose another key")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value of {key!r} is a {type(module).__name__}, not a Module")
        return key, module

    def update(self, modules):
        """Add or replace modules from a dict or an iterable of (key, module) pairs (all checked first)."""
        if isinstance(modules, collections.abc.Mapping):
            pairs = list(modules.items())
        elif isinstance(modules, (str, bytes, Module)) or not isinstance(modules, collections.abc.Iterable):
            raise TypeError(f"ModuleDict.update: expected a dict or (key, module) pairs, got {type(modules).__name__}")
        else:
            pairs = []
            for i, pair in enumerate(modules):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise TypeError(f"ModuleDict.update: item {i} is not a (key, module) pair: {pair!r}")
                pairs.append(tuple(pair))
        checked = [self._checked_item(key, module) for key, module in pairs]
        for key, module in checked:
            setattr(self, key, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is not callable: call its items (e.g. `self.heads['cls'](x)`)")

    def __getitem__(self, key):
        if key not in self:
            raise KeyError(f"ModuleDict has no module {key!r}; its keys are {self.keys()}")
        return self.__dict__[key]

    def __setitem__(self, key, module):
        key, module = self._checked_item(key, module)
        setattr(self, key, module)

    def __delitem__(self, key):
        self[key]  # noqa: B018 (a KeyError naming the keys if missing)
        delattr(self, key)

    def __contains__(self, key):
        return isinstance(key, str) and self._registry().get(key) == _MODULE

    def __len__(self):
        return len(self.keys())

    def __iter__(self):
        return iter(self.keys())

    def keys(self):
        return [name for name, _ in self.named_children()]

    def values(self):
        return self.children()

    def items(self):
        return self.named_children()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        for key in self.keys():
            delattr(self, key)
