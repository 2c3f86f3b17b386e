"""Learning-rate schedules: the course's (C2 W2 "learning rate decay") and PyTorch's.

A scheduler wraps an optimizer, remembers each group's initial learning rate ``lr0`` and, on
``step()`` (once per epoch), writes ``lr = f(lr0, epoch)`` into every parameter group.  Every
schedule but ``ReduceLROnPlateau`` (which follows a metric) is a closed formula of the epoch, so
``step(epoch)`` can jump to any epoch and the rates do not drift by repeated multiplication.
``OneCycleLR`` counts batches instead of epochs: step it after every ``optimizer.step()``.

Epoch counting follows PyTorch: after construction ``last_epoch`` is 0 (the lr is ``f(0) = lr0``)
and each ``step()`` adds one.  The course's loop sets ``lr = decay(lr0, i, ...)`` *after* epoch i,
so epoch i+1 trains with ``f(i)``; call ``scheduler.step(i)`` at the end of epoch i to reproduce it.
"""
import math
from numbers import Integral, Real

import numpy as np

from tinygrad_dl import Tensor

from .optimizer import Optimizer, check_number


def update_lr(learning_rate0, epoch_num, decay_rate):
    """The course's inverse-time decay: ``learning_rate0 / (1 + decay_rate * epoch_num)``."""
    return learning_rate0 / (1 + decay_rate * epoch_num)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """The course's stepped inverse-time decay:
    ``learning_rate0 / (1 + decay_rate * floor(epoch_num / time_interval))``."""
    if time_interval <= 0:
        raise ValueError(f"schedule_lr_decay: time_interval must be > 0, got {time_interval!r}")
    return learning_rate0 / (1 + decay_rate * math.floor(epoch_num / time_interval))


# Settings that count epochs; every other setting is a non-negative real number.
_EPOCH_COUNT_SETTINGS = ("time_interval", "step_size")


def _check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class LRScheduler:
    """Base class: a subclass defines ``lr_at(lr0, epoch)`` and lists its settings in ``_settings``.

    Every scheduler has ``step()``, ``get_last_lr()`` (the rates it last set, one per parameter group),
    ``state_dict()`` and ``load_state_dict()`` (plain numbers and lists: ``tinygrad_dl.save`` writes them).
    """

    _settings = ()

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer (tinygrad_dl.optim.Optimizer), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = self._initial_lrs()
        self.last_epoch = 0
        self._apply(self.get_lr())

    def _initial_lrs(self):
        """The lr0 of every group (the rate each group holds when the scheduler is made)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def _check_setting(self, name, value):
        """Validate one of ``_settings`` (shared by the constructors and load_state_dict)."""
        owner = type(self).__name__
        if name in _EPOCH_COUNT_SETTINGS:
            return _check_positive_int(owner, name, value)
        return check_number(owner, name, value, low=0.0)

    def lr_at(self, lr0, epoch):
        raise NotImplementedError(f"{type(self).__name__} must implement lr_at(lr0, epoch)")

    def _lrs_at(self, epoch):
        return [float(self.lr_at(lr0, epoch)) for lr0 in self.base_lrs]

    def get_lr(self):
        """The learning rate of every parameter group at ``last_epoch``."""
        return self._lrs_at(self.last_epoch)

    def get_last_lr(self):
        """The learning rates this scheduler last set (what the optimizer's groups hold), one per group."""
        return list(self.__dict__.get("_last_lr") or [group["lr"] for group in self.optimizer.param_groups])

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``) and set the optimizer's learning rates."""
        if epoch is None:
            epoch = self.last_epoch + 1
        elif isinstance(epoch, bool) or not isinstance(epoch, Integral) or epoch < 0:
            raise ValueError(f"{type(self).__name__}.step: epoch must be a non-negative integer, got {epoch!r}")
        lrs = self._lrs_at(int(epoch))  # may refuse (OneCycleLR past its end): nothing has changed yet
        self.last_epoch = int(epoch)
        self._apply(lrs)

    def _apply(self, lrs):
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(f"{type(self).__name__}: the optimizer now has {len(groups)} parameter groups but the "
                             f"scheduler was made for {len(lrs)}")
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def state_dict(self):
        """``{"last_epoch": ..., "base_lrs": [...], <setting>: value}`` (the optimizer is not included)."""
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}
        state.update({name: _plain(getattr(self, name)) for name in self._settings})
        return state

    def load_state_dict(self, state_dict):
        """Restore a saved schedule and set the optimizer's learning rates to match it. Everything is checked
        first: on error nothing changes."""
        name = f"{type(self).__name__}.load_state_dict"
        expected = {"last_epoch", "base_lrs", *self._settings}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected keys {sorted(expected)}, got {got}")
        base_lrs = state_dict["base_lrs"]
        if not isinstance(base_lrs, (list, tuple)):
            raise ValueError(f"{name}: base_lrs must be a list of numbers, got {type(base_lrs).__name__}")
        if len(base_lrs) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}: the saved schedule has {len(base_lrs)} learning rates, the "
                             f"optimizer has {len(self.optimizer.param_groups)} parameter groups")
        epoch = state_dict["last_epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, Integral) or epoch < 0:
            raise ValueError(f"{name}: last_epoch must be a non-negative integer, got {epoch!r}")
        try:
            checked = {"last_epoch": int(epoch),
                       "base_lrs": [check_number(name, "base lr", lr, low=0.0) for lr in base_lrs]}
            for setting in self._settings:
                checked[setting] = self._check_setting(setting, state_dict[setting])
        except (TypeError, ValueError) as err:  # a corrupt state is a bad value, whatever its type
            raise ValueError(f"{name}: {err}") from None
        previous = {key: getattr(self, key) for key in checked}
        for key, value in checked.items():
            setattr(self, key, value)
        try:
            lrs = self.get_lr()  # the combination may still be invalid (OneCycleLR: last_epoch past the end)
        except ValueError:
            for key, value in previous.items():
                setattr(self, key, value)
            raise
        self._apply(lrs)

    def __repr__(self):
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._settings)
        return f"{type(self).__name__}({settings}, last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


class InverseTimeDecay(LRScheduler):
    """``lr = lr0 / (1 + decay_rate * epoch)`` (the course's ``update_lr``)."""

    _settings = ("decay_rate",)

    def __init__(self, optimizer, decay_rate):
        self.decay_rate = self._check_setting("decay_rate", decay_rate)
        super().__init__(optimizer)

    def lr_at(self, lr0, epoch):
        return update_lr(lr0, epoch, self.decay_rate)


class ScheduledInverseTimeDecay(LRScheduler):
    """``lr = lr0 / (1 + decay_rate * floor(epoch / time_interval))`` (the course's ``schedule_lr_decay``)."""

    _settings = ("decay_rate", "time_interval")

    def __init__(self, optimizer, decay_rate, time_interval=1000):
        self.decay_rate = self._check_setting("decay_rate", decay_rate)
        self.time_interval = self._check_setting("time_interval", time_interval)
        super().__init__(optimizer)

    def lr_at(self, lr0, epoch):
        return schedule_lr_decay(lr0, epoch, self.decay_rate, self.time_interval)


class ExponentialLR(LRScheduler):
    """``lr = lr0 * gamma ** epoch``."""

    _settings = ("gamma",)

    def __init__(self, optimizer, gamma):
        self.gamma = self._check_setting("gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, lr0, epoch):
        return lr0 * self.gamma ** epoch


class StepLR(LRScheduler):
    """``lr = lr0 * gamma ** (epoch // step_size)``: multiply by gamma every ``step_size`` epochs."""

    _settings = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = self._check_setting("step_size", step_size)
        self.gamma = self._check_setting("gamma", gamma)
        super().__init__(optimizer)

    def lr_at(self, lr0, epoch):
        return lr0 * self.gamma ** (epoch // self.step_size)


class LambdaLR(LRScheduler):
    """``lr = lr0 * lr_lambda(epoch)``; ``lr_lambda`` is a function of the epoch, or a list of them (one per
    parameter group). The functions are not part of ``state_dict()`` (as in PyTorch): pass them again to
    the constructor when resuming."""

    def __init__(self, optimizer, lr_lambda):
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else ()
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * len(groups)
        if isinstance(optimizer, Optimizer) and len(lambdas) != len(groups):
            raise ValueError(f"LambdaLR: got {len(lambdas)} lr_lambda functions for {len(groups)} parameter groups")
        for i, function in enumerate(lambdas):
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch (or a list of them), item {i} "
                                f"is a {type(function).__name__}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer)

    def _lrs_at(self, epoch):
        lrs = []
        for i, (lr0, function) in enumerate(zip(self.base_lrs, self.lr_lambdas)):
            factor = function(epoch)
            if isinstance(factor, bool) or not isinstance(factor, Real) or not math.isfinite(factor) or factor < 0:
                raise ValueError(f"LambdaLR: lr_lambda of group {i} returned {factor!r} at epoch {epoch}; it must "
                                 "return a finite number >= 0")
            lrs.append(float(lr0 * factor))
        return lrs


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (lr0 - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``: half a cosine from lr0 down to
    ``eta_min`` over ``T_max`` epochs (then back up, periodically). This is PyTorch's closed form; its
    ``step()`` uses an equivalent recursion that differs only by rounding (and when something else changes
    the learning rate between steps)."""

    _settings = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0):  # noqa: N803 (PyTorch's name)
        self.T_max = _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min, low=0.0)
        super().__init__(optimizer)

    def _check_setting(self, name, value):
        if name == "T_max":
            return _check_positive_int(type(self).__name__, name, value)
        return super()._check_setting(name, value)

    def lr_at(self, lr0, epoch):
        return self.eta_min + (lr0 - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), stepped once per batch: the learning rate climbs from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps``, then anneals to
    ``max_lr / div_factor / final_div_factor``; ``three_phase=True`` comes back to the start before the final
    annealing. With ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's ``betas[0]``) moves the
    opposite way between ``max_momentum`` and ``base_momentum``. ``anneal_strategy`` "cos" or "linear".

    ``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
    anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
    final_div_factor=1e4, three_phase=False)`` (PyTorch's signature and defaults); give ``total_steps`` or
    ``epochs`` and ``steps_per_epoch``. Stepping past ``total_steps`` raises a ValueError.
    """

    _settings = ("max_lrs", "total_steps", "pct_start", "anneal_strategy", "cycle_momentum", "base_momentum",
                 "max_momentum", "div_factor", "final_div_factor", "three_phase")

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected an optimizer (tinygrad_dl.optim.Optimizer), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = (_check_positive_int("OneCycleLR", "epochs", epochs)
                           * _check_positive_int("OneCycleLR", "steps_per_epoch", steps_per_epoch))
        if not isinstance(max_lr, (list, tuple)):
            max_lr = [max_lr] * len(optimizer.param_groups)
        for name, value in (("max_lrs", max_lr), ("total_steps", total_steps), ("pct_start", pct_start),
                            ("anneal_strategy", anneal_strategy), ("cycle_momentum", cycle_momentum),
                            ("base_momentum", base_momentum), ("max_momentum", max_momentum),
                            ("div_factor", div_factor), ("final_div_factor", final_div_factor),
                            ("three_phase", three_phase)):
            setattr(self, name, self._check_setting(name, value))
        self._check_phases()
        if self.cycle_momentum and not any(key in optimizer.defaults for key in ("momentum", "betas")):
            raise ValueError(f"OneCycleLR: cycle_momentum=True needs an optimizer with a momentum or betas "
                             f"hyperparameter; {type(optimizer).__name__} has neither (pass cycle_momentum=False)")
        super().__init__(optimizer)

    def _check_setting(self, name, value):
        owner = type(self).__name__
        if name == "max_lrs":
            if not isinstance(value, (list, tuple)) or len(value) != len(self.optimizer.param_groups):
                raise ValueError(f"{owner}: max_lr must be a number or a list of {len(self.optimizer.param_groups)} "
                                 f"numbers (one per parameter group), got {value!r}")
            return [check_number(owner, "max_lr", lr, low=0.0) for lr in value]
        if name == "total_steps":
            return _check_positive_int(owner, name, value)
        if name == "pct_start":
            return check_number(owner, name, value, low=0.0, high=1.0)
        if name == "anneal_strategy":
            if value not in ("cos", "linear"):
                raise ValueError(f"{owner}: anneal_strategy must be 'cos' or 'linear', got {value!r}")
            return value
        if name in ("cycle_momentum", "three_phase"):
            if not isinstance(value, bool):
                raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")
            return value
        if name in ("div_factor", "final_div_factor"):
            value = check_number(owner, name, value, low=0.0)
            if value == 0:
                raise ValueError(f"{owner}: invalid {name}=0.0; it must be > 0")
            return value
        return check_number(owner, name, value, low=0.0)

    def _phases(self):
        """(end step, start lr factor, end lr factor, start momentum, end momentum) per phase; lr factors
        are "initial", "max" or "min"."""
        steps, pct = self.total_steps, self.pct_start
        low, high = self.base_momentum, self.max_momentum
        if self.three_phase:
            return [(pct * steps - 1, "initial", "max", high, low), (2 * pct * steps - 2, "max", "initial", low, high),
                    (steps - 1, "initial", "min", high, high)]
        return [(pct * steps - 1, "initial", "max", high, low), (steps - 1, "max", "min", low, high)]

    def _check_phases(self):
        start = 0.0
        for end, *_ in self._phases():
            if end <= start:
                raise ValueError(f"OneCycleLR: total_steps={self.total_steps} with pct_start={self.pct_start}"
                                 f"{' and three_phase' if self.three_phase else ''} leaves a phase without steps; "
                                 "use more steps or another pct_start")
            start = end

    def _initial_lrs(self):
        return [lr / self.div_factor for lr in self.max_lrs]

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _values_at(self, step):
        """The learning rates and momentums at ``step``."""
        self._check_phases()
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the schedule has total_steps="
                             f"{self.total_steps}")
        lrs, momentums = [], []
        for max_lr in self.max_lrs:
            initial = max_lr / self.div_factor
            levels = {"initial": initial, "max": max_lr, "min": initial / self.final_div_factor}
            start_step = 0.0
            phases = self._phases()
            for i, (end_step, lr_from, lr_to, momentum_from, momentum_to) in enumerate(phases):
                if step <= end_step or i == len(phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(levels[lr_from], levels[lr_to], pct))
                    momentums.append(self._anneal(momentum_from, momentum_to, pct))
                    break
                start_step = end_step
        return lrs, momentums

    def _lrs_at(self, epoch):
        return self._values_at(epoch)[0]

    def _apply(self, lrs):
        super()._apply(lrs)
        if not self.cycle_momentum:
            return
        _, momentums = self._values_at(self.last_epoch)
        for group, momentum in zip(self.optimizer.param_groups, momentums):
            if "betas" in group:
                group["betas"] = (momentum, *group["betas"][1:])
            else:
                group["momentum"] = momentum


class ReduceLROnPlateau:
    """Divide the learning rate when a metric stops improving: ``scheduler.step(validation_loss)`` once per
    epoch.

    ``ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
    cooldown=0, min_lr=0, eps=1e-8)`` (PyTorch's signature and defaults). A metric improves on the best so far
    when it is below ``best * (1 - threshold)`` ("rel") or ``best - threshold`` ("abs") in "min" mode (above
    ``best * (1 + threshold)`` / ``best + threshold`` in "max" mode). After more than ``patience`` epochs
    without improvement every group's lr becomes ``max(lr * factor, min_lr)`` (skipped when that changes it
    by less than ``eps``), then ``cooldown`` epochs pass before bad epochs count again. A NaN metric counts
    as no improvement.
    """

    _settings = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lrs", "eps")
    _counters = ("last_epoch", "best", "num_bad_epochs", "cooldown_counter")

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an optimizer (tinygrad_dl.optim.Optimizer), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if not isinstance(min_lr, (list, tuple)):
            min_lr = [min_lr] * len(optimizer.param_groups)
        settings = dict(mode=mode, factor=factor, patience=patience, threshold=threshold,
                        threshold_mode=threshold_mode, cooldown=cooldown, min_lrs=min_lr, eps=eps)
        for name in self._settings:
            setattr(self, name, self._check_setting(name, settings[name]))
        self.last_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _check_setting(self, name, value):
        owner = type(self).__name__
        if name == "mode":
            if value not in ("min", "max"):
                raise ValueError(f"{owner}: mode must be 'min' or 'max', got {value!r}")
            return value
        if name == "threshold_mode":
            if value not in ("rel", "abs"):
                raise ValueError(f"{owner}: threshold_mode must be 'rel' or 'abs', got {value!r}")
            return value
        if name == "factor":
            return check_number(owner, name, value, low=0.0, high=1.0, high_inclusive=False)
        if name in ("patience", "cooldown"):
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
            return int(value)
        if name == "min_lrs":
            groups = len(self.optimizer.param_groups)
            if not isinstance(value, (list, tuple)) or len(value) != groups:
                raise ValueError(f"{owner}: min_lr must be a number or a list of {groups} numbers (one per "
                                 f"parameter group), got {value!r}")
            return [check_number(owner, "min_lr", lr, low=0.0) for lr in value]
        return check_number(owner, name, value, low=0.0)

    def _is_better(self, current):
        if self.mode == "min":
            bound = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return current < bound
        bound = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return current > bound

    def step(self, metrics):
        """Record one epoch's metric (a number or a one-element tensor) and lower the rates on a plateau."""
        current = _metric_value(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates after the last ``step`` (one per parameter group)."""
        return list(self._last_lr)

    def state_dict(self):
        state = {name: _plain(getattr(self, name)) for name in self._settings + self._counters}
        return state

    def load_state_dict(self, state_dict):
        """Restore a saved state (checked first: on error nothing changes). The optimizer's rates are its own
        state: load the optimizer's state_dict too."""
        name = f"{type(self).__name__}.load_state_dict"
        expected = set(self._settings + self._counters)
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(map(str, state_dict)) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected keys {sorted(expected)}, got {got}")
        try:
            checked = {setting: self._check_setting(setting, state_dict[setting]) for setting in self._settings}
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: {err}") from None
        for counter in ("last_epoch", "num_bad_epochs", "cooldown_counter"):
            value = state_dict[counter]
            if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
                raise ValueError(f"{name}: {counter} must be an integer >= 0, got {value!r}")
            checked[counter] = int(value)
        best = state_dict["best"]
        if isinstance(best, bool) or not isinstance(best, Real):
            raise ValueError(f"{name}: best must be a number, got {best!r}")
        checked["best"] = float(best)
        for key, value in checked.items():
            setattr(self, key, value)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"best={self.best}, num_bad_epochs={self.num_bad_epochs}, lr={self.get_last_lr()})")


def _metric_value(metrics):
    """A metric as a Python float: numbers, NumPy scalars and one-element arrays or tensors."""
    value = metrics.data if isinstance(metrics, Tensor) else metrics
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "fiu":
            raise TypeError(f"ReduceLROnPlateau.step: the metric must be one real number, got an array of shape "
                            f"{value.shape} and dtype {value.dtype}")
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"ReduceLROnPlateau.step: the metric must be a number (e.g. the validation loss), got "
                        f"{metrics!r} ({type(metrics).__name__})")
    return float(value)
