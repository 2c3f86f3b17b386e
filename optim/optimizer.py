"""The optimizer base class: parameter groups, per-parameter state, and resumable state dicts.

An optimizer holds a list of *parameter groups*, each a dict with the key ``"params"`` (a list of
Tensors) and one entry per hyperparameter (``"lr"``, ``"momentum"``...).  Per-parameter buffers
(momentum, running averages, step counts) live in ``optimizer.state[param]``, a dict of NumPy
arrays and numbers.  ``step()`` walks every parameter that has a gradient and hands it to
``update_parameter``, the one method a concrete optimizer implements.
"""
import math
from collections import defaultdict
from numbers import Real

import numpy as np

from tinygrad_dl import Tensor, enable_grad, no_grad


# --------------------------------------------------------------------------------------------------
# Hyperparameter checks shared by the optimizers (and the schedulers).


def check_number(owner, name, value, low=None, high=None, high_inclusive=True):
    """Return ``value`` as a Python float, or raise an error naming ``owner``, ``name`` and the value (TypeError
    for something that is not a real number, ValueError for a number out of range).

    The range is ``low <= value`` and ``value <= high`` (``value < high`` if not ``high_inclusive``).
    Python floats keep a float32 model in float32 (a NumPy float64 scalar would up-cast the update).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if not math.isfinite(value) or (low is not None and value < low) or too_high:
        upper = "" if high is None else (f" and <= {high}" if high_inclusive else f" and < {high}")
        lower = "" if low is None else f" >= {low}"
        raise ValueError(f"{owner}: invalid {name}={value!r}; it must be a finite number{lower}{upper}")
    return value


# --------------------------------------------------------------------------------------------------
# Parameter lists.


def _param_list(owner, params):
    """Turn what the user passed as the params of one group into a list of Tensors, with clear errors."""
    if isinstance(params, Tensor):
        return [params]
    if isinstance(params, (dict, str, bytes, np.ndarray)):
        hint = " (for a dict of named parameters pass its .values())" if isinstance(params, dict) else ""
        raise TypeError(f"{owner}: params must be an iterable of Tensors, got {type(params).__name__}{hint}")
    try:
        return list(params)
    except TypeError:
        raise TypeError(f"{owner}: params must be an iterable of Tensors, got {type(params).__name__}") from None


def _check_param(owner, position, param):
    if not isinstance(param, Tensor):
        raise TypeError(f"{owner}: parameter #{position} is a {type(param).__name__}, not a Tensor; wrap arrays "
                        "as Tensor(array, requires_grad=True) (or nn.Parameter)")
    described = f"parameter #{position} (shape {param.shape}, dtype {param.dtype})"
    if not param.requires_grad:
        raise ValueError(f"{owner}: {described} does not require grad, so it can never be updated; "
                         "create it with requires_grad=True or call .requires_grad_()")
    if not param.is_leaf:
        raise ValueError(f"{owner}: {described} is not a leaf tensor (it was computed by an operation); "
                         "optimize the leaf it was computed from, or .detach().requires_grad_() it")
    if not param.data.flags.writeable:
        raise ValueError(f"{owner}: the data of {described} is read-only, so it cannot be updated in place; "
                         "give the tensor a writable copy (np.array(data))")


_ndarray = np.ndarray
_NO_GRAD = no_grad()  # one shared block for every step (no_grad() objects can be entered again while active)


class Optimizer:
    """Base class of all optimizers: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of Tensors, or of dicts that each define a parameter group
    (``{"params": [...], "lr": 0.1}``); hyperparameters a group leaves out come from ``defaults``.
    A subclass implements ``update_parameter(param, grad, state, group)`` and validates its
    hyperparameters in ``check_hyperparameters(group)``.
    """

    _checked_groups = None  # copies of the groups as last validated by step()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = defaultdict(dict)
        groups = _param_list(self._name, params)
        if not groups:
            raise ValueError(f"{self._name}: got an empty parameter list")
        if all(isinstance(g, dict) for g in groups):
            for group in groups:
                self.add_param_group(group)
        elif any(isinstance(g, dict) for g in groups):
            raise TypeError(f"{self._name}: params mixes Tensors and parameter-group dicts; use one or the other")
        else:
            self.add_param_group({"params": groups})

    @property
    def _name(self):
        return type(self).__name__

    # -- groups -----------------------------------------------------------------------------------
    def add_param_group(self, group):
        """Add a dict ``{"params": ..., <hyperparameter>: value}``; missing hyperparameters take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{self._name}.add_param_group: a parameter group is a dict with a 'params' key, "
                            f"got {type(group).__name__}")
        unknown = sorted(set(group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{self._name}: unknown hyperparameter(s) {unknown} in a parameter group; "
                             f"known: {sorted(self.defaults)}")
        params = _param_list(self._name, group["params"])
        if not params:
            raise ValueError(f"{self._name}: a parameter group has an empty 'params' list")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        offset = len(known)
        for position, param in enumerate(params, start=offset):
            _check_param(self._name, position, param)
            if id(param) in known:
                raise ValueError(f"{self._name}: parameter #{position} (shape {param.shape}) appears more than "
                                 "once; every parameter may belong to one group only, once")
            known.add(id(param))
        new_group = {**self.defaults, **{k: v for k, v in group.items() if k != "params"}}
        self.check_hyperparameters(new_group)
        new_group["params"] = params
        self.param_groups.append(new_group)

    def check_hyperparameters(self, group):
        """Validate (and normalise in place) a group's hyperparameters; raise ValueError naming the optimizer."""
        if "lr" in group:
            group["lr"] = check_number(self._name, "learning rate lr", group["lr"], low=0.0)

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    # -- the update -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (the default, as in PyTorch), or to zeros in place with
        ``set_to_none=False``. Either way the next backward starts afresh."""
        for group in self.param_groups:
            if set_to_none:  # the usual case, once per training step: no helper call per parameter
                for param in group["params"]:
                    param._grad = None  # (what the .grad setter does with None, without its checks)
            else:
                for param in group["params"]:
                    _reset_grad(param, set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient (parameters whose .grad is None are skipped).

        Every gradient, every parameter's data and every hyperparameter is checked before the first parameter
        changes, so a step that fails leaves parameters and state as they were. Each update is in place under
        ``no_grad`` and bumps the parameter's version (a graph that saved the old value refuses to backward): an
        in-place Tensor method, or for plain SGD ``p.data -= lr * g`` with the bump and the engine's note made
        alongside. ``closure``, if given, is called first (with gradient recording on) and its result returned,
        like PyTorch's ``step(closure)``.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        groups = self.param_groups
        if self._checked_groups != groups:  # dict comparisons in C: cheap when nothing changed
            self._recheck_hyperparameters()
        for group in groups:  # every gradient is checked before the first parameter changes
            self._check_gradients(group["params"])
        self._update_all(groups)
        return loss

    def _check_gradients(self, params):
        """Raise (naming the parameter) for a gradient that does not fit its parameter, or a parameter whose data
        was replaced by one that cannot be updated in place."""
        for param in params:
            grad = param._grad  # None, a Tensor, or the array a backward pass stored (see Tensor._get_grad)
            if grad is not None:
                if type(grad) is not _ndarray:
                    grad = grad.data
                data = param.data  # (data may have been replaced since the constructor checked it)
                if grad.shape != data.shape or grad.dtype.kind != "f" or data.dtype.kind != "f" or \
                        not data.flags.writeable:
                    self._reject_gradient(param, grad)

    def _update_all(self, groups):
        """Call ``update_parameter`` under ``no_grad`` for every parameter of ``groups`` that has a gradient (all
        checked by ``step``; SGD takes a shortcut here)."""
        state, update = self.state, self.update_parameter
        with _NO_GRAD:
            for group in groups:
                for param in group["params"]:
                    grad = param._grad
                    if grad is not None:
                        update(param, grad if type(grad) is _ndarray else grad.data, state[param], group)

    def _reject_gradient(self, param, grad):
        position = next(i for i, p in enumerate(self._all_params()) if p is param)
        data = param.data
        where = f"{self._name}.step: the data of parameter #{position} (shape {data.shape}"
        if data.dtype.kind != "f":
            raise TypeError(f"{where}) was replaced by an array of dtype {data.dtype}, which cannot hold an update "
                            "(nothing was updated)")
        if not data.flags.writeable:
            raise ValueError(f"{where}, dtype {data.dtype}) is read-only, so it cannot be updated in place "
                             "(nothing was updated); give the tensor a writable copy (np.array(data))")
        described = (f"{self._name}.step: parameter #{position} (shape {data.shape}, dtype {data.dtype}) "
                     f"has a gradient of shape {grad.shape} and dtype {grad.dtype}")
        if grad.shape != data.shape:
            raise ValueError(f"{described}; the shapes must be equal (nothing was updated)")
        raise TypeError(f"{described}; a gradient must be floating-point (nothing was updated)")

    def _recheck_hyperparameters(self):
        """Validate the hyperparameters of every group again (a scheduler or the user replaced some since the last
        step), so a bad value fails before any parameter is updated."""
        validated = []
        for i, group in enumerate(self.param_groups):
            hypers = {k: v for k, v in group.items() if k != "params"}
            unknown = sorted(set(hypers) - set(self.defaults))
            missing = sorted(set(self.defaults) - set(hypers))
            if unknown or missing:
                raise ValueError(f"{self._name}.step: parameter group {i} has unknown hyperparameter(s) {unknown} "
                                 f"and lacks {missing} (nothing was updated)")
            try:
                self.check_hyperparameters(hypers)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{err} (in parameter group {i}; nothing was updated)") from None
            validated.append(hypers)
        for group, hypers in zip(self.param_groups, validated):  # all valid: keep the normalised values
            group.update(hypers)
        self._checked_groups = [dict(group) for group in self.param_groups]

    def update_parameter(self, param, grad, state, group):
        """Update ``param`` in place from ``grad`` (an ndarray, already checked) with Tensor's in-place methods
        (``param.sub_(...)``: they bump the version); ``state`` is this parameter's dict."""
        raise NotImplementedError(f"{self._name} must implement update_parameter(param, grad, state, group)")

    # -- saving and resuming ----------------------------------------------------------------------
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are referred to by their position across all groups; arrays are copies, so later
        steps do not change a saved state.
        """
        index_of = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index_of[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        state = {index_of[id(p)]: {k: _copy_value(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index_of and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and buffers saved by ``state_dict`` (the optimizer must hold parameters
        of the same shapes, in the same groups).

        Everything is validated before anything changes: the keys, every group's hyperparameters, the
        parameter ids, and every buffer (an array of the parameter's shape, floating-point) and counter
        (an integer >= 0). Unknown keys are refused. On any error the optimizer is unchanged.
        """
        groups, saved_state = self._read_state_dict(state_dict)
        new_hypers = [self._checked_group_hypers(i, saved) for i, saved in enumerate(groups)]
        param_of_id = self._saved_ids(groups)
        group_of_id = {saved_id: new_hypers[i] for i, saved in enumerate(groups) for saved_id in saved["params"]}
        new_state = defaultdict(dict)
        for key, entry in saved_state.items():
            saved_id = self._checked_index(key, param_of_id)
            param = param_of_id[saved_id]
            new_state[param] = self._checked_param_state(saved_id, param, entry, group_of_id[saved_id])
        # Everything is valid: commit.
        for group, hypers in zip(self.param_groups, new_hypers):
            group.update(hypers)
        self.state = new_state

    def _read_state_dict(self, state_dict):
        name = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups', got {keys}")
        groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_state, dict):
            raise ValueError(f"{name}: 'state' must be a dict, got {type(saved_state).__name__}")
        if not isinstance(groups, (list, tuple)):
            raise ValueError(f"{name}: 'param_groups' must be a list of dicts, got {type(groups).__name__}")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(groups)} parameter group(s), this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise ValueError(f"{name}: saved parameter group {i} is not a dict with a 'params' list")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: saved parameter group {i} has {len(saved['params'])} parameters, this "
                                 f"optimizer's has {len(group['params'])}")
        return groups, saved_state

    def _saved_ids(self, groups):
        """saved parameter id -> this optimizer's parameter, matched by position (as PyTorch does)."""
        param_of_id = {}
        for saved, group in zip(groups, self.param_groups):
            for saved_id, param in zip(saved["params"], group["params"]):
                if isinstance(saved_id, bool) or not isinstance(saved_id, (int, np.integer)):
                    raise ValueError(f"{self._name}.load_state_dict: parameter ids must be integers, got "
                                     f"{saved_id!r} ({type(saved_id).__name__})")
                if int(saved_id) in param_of_id:
                    raise ValueError(f"{self._name}.load_state_dict: parameter id {int(saved_id)} appears twice "
                                     "in 'param_groups'")
                param_of_id[int(saved_id)] = param
        return param_of_id

    def _checked_group_hypers(self, i, saved):
        hypers = {k: v for k, v in saved.items() if k != "params"}
        if set(hypers) != set(self.defaults):
            raise ValueError(f"{self._name}.load_state_dict: saved parameter group {i} has hyperparameters "
                             f"{sorted(map(str, hypers))}, expected {sorted(self.defaults)}")
        try:
            self.check_hyperparameters(hypers)
        except (TypeError, ValueError) as err:  # a corrupt state is a bad value, whatever its type
            raise ValueError(f"{self._name}.load_state_dict: saved parameter group {i}: {err}") from None
        return hypers

    def _checked_index(self, key, param_of_id):
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or int(key) not in param_of_id:
            raise ValueError(f"{self._name}.load_state_dict: state key {key!r} is not a parameter id of "
                             f"'param_groups' ({sorted(param_of_id)})")
        return int(key)

    # What a parameter's state may hold: name -> "buffer" (an array of the parameter's shape) or "count"
    # (an integer >= 0). Subclasses list theirs; ``_state_all_or_nothing`` says the entries only make sense
    # together (Adam's step counter and its two averages).
    _state_spec = {}
    _state_all_or_nothing = False

    def state_spec(self, group):
        """The state entries a parameter of ``group`` may have (see ``_state_spec``)."""
        return self._state_spec

    def _checked_param_state(self, saved_id, param, entry, group):
        where = f"{self._name}.load_state_dict: the state of parameter {saved_id} (shape {param.data.shape})"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be a dict, got {type(entry).__name__}")
        spec = self.state_spec(group)
        unknown = [k for k in entry if k not in spec]
        if unknown:
            raise ValueError(f"{where} has unknown entries {unknown}; {self._name} keeps {sorted(spec)}")
        if entry and self._state_all_or_nothing and set(entry) != set(spec):
            raise ValueError(f"{where} has {sorted(entry)} but needs all of {sorted(spec)} (or none)")
        restored = {}
        for name, value in entry.items():
            if spec[name] == "count":
                restored[name] = _checked_count(where, name, value)
            else:
                restored[name] = _checked_buffer(where, name, value, param)
        return restored

    def __repr__(self):
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            hypers = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameter(s), {hypers}")
        return "\n".join(lines + [")"])


def _checked_count(where, name, value):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where}: {name!r} must be an integer >= 0, got {value!r} ({type(value).__name__})")
    return int(value)


def _checked_buffer(where, name, value, param):
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{where}: {name!r} must be an array of shape {param.data.shape}, got "
                         f"{type(value).__name__}")
    if value.shape != param.data.shape:
        raise ValueError(f"{where}: {name!r} has shape {value.shape}, the parameter has shape {param.data.shape}")
    if value.dtype.kind != "f":
        raise ValueError(f"{where}: {name!r} has dtype {value.dtype}; it must be floating-point like the "
                         f"parameter ({param.data.dtype})")
    return value.astype(param.data.dtype, copy=True)


def _reset_grad(param, set_to_none):
    """zero_grad for one parameter: None, or zeros written into the gradient's own array when it is a plain
    writable one (a gradient recorded with create_graph is replaced by fresh zeros instead)."""
    grad = param.grad
    if set_to_none or grad is None:
        param.grad = None
    elif isinstance(grad, Tensor) and grad.grad_fn is None and grad.data.flags.writeable:
        grad.zero_()
    else:
        param.grad = Tensor(np.zeros_like(param.data))


def _copy_value(value):
    return value.copy() if isinstance(value, np.ndarray) else value
