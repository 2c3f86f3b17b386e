"""Learning-rate schedules (C2 W2 "learning rate decay" and two PyTorch classics).

A scheduler wraps an optimizer, remembers each group's initial learning rate ``lr0`` and, on
``step()`` (once per epoch), writes ``lr = f(lr0, epoch)`` into every parameter group.  Every
schedule here is a closed formula of the epoch, so ``step(epoch)`` can jump to any epoch and the
rates do not drift by repeated multiplication.

Epoch counting follows PyTorch: after construction ``last_epoch`` is 0 (the lr is ``f(0) = lr0``)
and each ``step()`` adds one.  The course's loop sets ``lr = decay(lr0, i, ...)`` *after* epoch i,
so epoch i+1 trains with ``f(i)``; call ``scheduler.step(i)`` at the end of epoch i to reproduce it.
"""
import math
from numbers import Integral

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
    """Base class: a subclass defines ``lr_at(lr0, epoch)`` and lists its settings in ``_settings``."""

    _settings = ()

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an optimizer (tinygrad_dl.optim.Optimizer), got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply(self.get_lr())

    def _check_setting(self, name, value):
        """Validate one of ``_settings`` (shared by the constructors and load_state_dict)."""
        owner = type(self).__name__
        if name in _EPOCH_COUNT_SETTINGS:
            return _check_positive_int(owner, name, value)
        return check_number(owner, name, value, low=0.0)

    def lr_at(self, lr0, epoch):
        raise NotImplementedError(f"{type(self).__name__} must implement lr_at(lr0, epoch)")

    def get_lr(self):
        """The learning rate of every parameter group at ``last_epoch``."""
        return [float(self.lr_at(lr0, self.last_epoch)) for lr0 in self.base_lrs]

    def get_last_lr(self):
        """The learning rates the optimizer's groups hold now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``) and set the optimizer's learning rates."""
        if epoch is None:
            self.last_epoch += 1
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, Integral) or epoch < 0:
                raise ValueError(f"{type(self).__name__}.step: epoch must be a non-negative integer, got {epoch!r}")
            self.last_epoch = int(epoch)
        self._apply(self.get_lr())

    def _apply(self, lrs):
        groups = self.optimizer.param_groups
        if len(lrs) != len(groups):
            raise ValueError(f"{type(self).__name__}: the optimizer now has {len(groups)} parameter groups but the "
                             f"scheduler was made for {len(lrs)}")
        for group, lr in zip(groups, lrs):
            group["lr"] = lr

    def state_dict(self):
        """``{"last_epoch": ..., "base_lrs": [...], <setting>: value}`` (the optimizer is not included)."""
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}
        state.update({name: getattr(self, name) for name in self._settings})
        return state

    def load_state_dict(self, state_dict):
        """Restore a saved schedule and set the optimizer's learning rates to match it."""
        name = f"{type(self).__name__}.load_state_dict"
        expected = {"last_epoch", "base_lrs", *self._settings}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected keys {sorted(expected)}, got {got}")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}: the saved schedule has {len(state_dict['base_lrs'])} learning rates, the "
                             f"optimizer has {len(self.optimizer.param_groups)} parameter groups")
        epoch = state_dict["last_epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, Integral) or epoch < 0:
            raise ValueError(f"{name}: last_epoch must be a non-negative integer, got {epoch!r}")
        checked = {"last_epoch": int(epoch),
                   "base_lrs": [check_number(name, "base lr", lr, low=0.0) for lr in state_dict["base_lrs"]]}
        for setting in self._settings:
            checked[setting] = self._check_setting(setting, state_dict[setting])
        for key, value in checked.items():
            setattr(self, key, value)
        self._apply(self.get_lr())

    def __repr__(self):
        settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._settings)
        return f"{type(self).__name__}({settings}, last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


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
