"""SGD (with momentum / Nesterov), RMSprop (with momentum, centered), Adagrad, Adam and AdamW.

Every update is written in the course's order of operations, so float64 parameters follow the
course's NumPy code bit for bit.  Buffers are updated in place (``v *= beta; v += (1 - beta) * g``),
which rounds exactly like the course's ``v = beta * v + (1 - beta) * g`` without allocating a new
buffer every step; temporaries are reused where the order of operations allows it.  The parameter
itself changes through Tensor's in-place methods (``param.sub_(step)``), which bump its version.
"""
import functools

import numpy as np

from tinygrad_dl._constants import constant
from tinygrad_dl.autograd import note_inplace_writes

from .optimizer import _NO_GRAD, Optimizer, _ndarray, check_number


@functools.lru_cache(maxsize=64)
def _bias_corrections(beta1, beta2, step):
    """Adam's ``(1 - beta1^t, 1 - beta2^t)``, cached: every parameter of a model shares the same t.

    The course writes ``1 - np.power(beta, t)``; NumPy's power can differ from Python's ``**`` in the
    last bit, so the same function is used.  float(): a NumPy scalar would up-cast float32 arrays.
    """
    return float(1 - np.power(beta1, step)), float(1 - np.power(beta2, step))


def _scaled_square(grad, scale):
    """``scale * grad**2`` with one temporary (rounds exactly like ``scale * (grad * grad)``)."""
    square = grad * grad
    square *= scale
    return square


def _with_weight_decay(grad, param, weight_decay):
    # L2 regularisation folded into the gradient; a new array, so p.grad itself is left untouched.
    return grad + weight_decay * param.data if weight_decay else grad


def _buffer(state, name, param, fill=0.0):
    """The state array ``name``, created (filled with ``fill``) at the parameter's first step."""
    array = state.get(name)
    if array is None:
        array = state[name] = np.full_like(param.data, fill)
    return array


def _check_common(optimizer, group, *names):
    """Validate the non-negative real hyperparameters ``names`` of ``group`` (in place)."""
    for name in names:
        group[name] = check_number(optimizer._name, name, group[name], low=0.0)


def _check_flag(optimizer, group, name):
    if not isinstance(group[name], (bool, np.bool_)):
        raise ValueError(f"{optimizer._name}: {name} must be True or False, got {group[name]!r}")
    group[name] = bool(group[name])


class SGD(Optimizer):
    """Gradient descent, optionally with momentum: ``SGD(params, lr, momentum=0., dampening=0.,
    nesterov=False, weight_decay=0.)``.

    The velocity v starts at zero and each step does ``v = momentum*v + (1-dampening)*g`` then
    ``p -= lr*v`` (Nesterov: ``p -= lr*(g + momentum*v)``).  ``momentum=β, dampening=β`` is the
    course's momentum ``v = βv + (1-β)dW``; ``dampening=0`` is PyTorch's (whose first step also takes
    ``v = g``; with dampening > 0 PyTorch's first step skips the dampening, the course's does not).  With
    ``momentum=0`` it is plain gradient descent ``p -= lr*g``.  The velocity is
    ``optimizer.state[p]["momentum_buffer"]``.
    """

    _state_spec = {"momentum_buffer": "buffer"}

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        group["momentum"] = check_number(self._name, "momentum", group["momentum"], low=0.0, high=1.0,
                                         high_inclusive=False)
        group["dampening"] = check_number(self._name, "dampening", group["dampening"], low=0.0, high=1.0)
        _check_common(self, group, "weight_decay")
        _check_flag(self, group, "nesterov")
        if group["nesterov"] and group["momentum"] == 0:
            raise ValueError(f"{self._name}: nesterov=True needs a momentum > 0, got momentum=0.0")

    def _update_all(self, groups):
        if type(self).update_parameter is not SGD.update_parameter:  # a subclass changed the update: use it
            return super()._update_all(groups)
        written = []
        for group in groups:
            if group["momentum"] or group["weight_decay"]:
                super()._update_all((group,))
                continue
            # plain gradient descent, the course's W = W - lr * dW, straight on the arrays: step() has checked each
            # gradient's shape and dtype (what sub_ checks)
            lr, lr_dtype = group["lr"], None
            for param in group["params"]:
                grad = param._grad
                if grad is not None:
                    data = param.data
                    if data.dtype is not lr_dtype:  # lr as a 0-d array of the parameters' dtype: the same product,
                        # without the time NumPy 2 spends on a Python number in each operation
                        lr_dtype = data.dtype
                        lr_array = constant(lr, lr_dtype)
                    data -= lr_array * (grad if type(grad) is _ndarray else grad.data)
                    param._version += 1
                    written.append(data)
        note_inplace_writes(written)  # what sub_ tells the engine, for all the parameters at once

    def update_parameter(self, param, grad, state, group):
        if group["weight_decay"]:
            grad = _with_weight_decay(grad, param, group["weight_decay"])
        lr, momentum = group["lr"], group["momentum"]
        if momentum == 0:  # plain gradient descent: the course's W = W - lr * dW
            param.sub_(lr * grad)
            return
        velocity = _buffer(state, "momentum_buffer", param)
        velocity *= momentum
        dampening = group["dampening"]
        velocity += (1 - dampening) * grad if dampening else grad
        if group["nesterov"]:
            param.sub_(lr * (grad + momentum * velocity))
        else:
            param.sub_(lr * velocity)


class RMSprop(Optimizer):
    """``RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0., momentum=0., centered=False)``
    (PyTorch's defaults).

    ``s = alpha*s + (1-alpha)*g²`` (s starts at zero); the denominator is ``sqrt(s) + eps``, or with
    ``centered=True`` ``sqrt(s - m²) + eps`` where ``m = alpha*m + (1-alpha)*g`` is the running mean of g.
    Without momentum ``p -= lr*g/denominator``; with it ``b = momentum*b + g/denominator`` and
    ``p -= lr*b``.  State: ``square_avg`` (s), ``grad_avg`` (m), ``momentum_buffer`` (b).
    """

    _state_spec = {"square_avg": "buffer", "grad_avg": "buffer", "momentum_buffer": "buffer"}

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        group["alpha"] = check_number(self._name, "alpha", group["alpha"], low=0.0, high=1.0, high_inclusive=False)
        _check_common(self, group, "eps", "weight_decay")
        group["momentum"] = check_number(self._name, "momentum", group["momentum"], low=0.0, high=1.0,
                                         high_inclusive=False)
        _check_flag(self, group, "centered")

    def update_parameter(self, param, grad, state, group):
        grad = _with_weight_decay(grad, param, group["weight_decay"])
        alpha = group["alpha"]
        square_avg = _buffer(state, "square_avg", param)
        square_avg *= alpha
        square_avg += _scaled_square(grad, 1 - alpha)
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", param)
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            denominator = np.sqrt(square_avg)
        denominator += group["eps"]
        if group["momentum"]:
            buffer = _buffer(state, "momentum_buffer", param)
            buffer *= group["momentum"]
            buffer += grad / denominator
            param.sub_(group["lr"] * buffer)
            return
        # p -= lr * g / (sqrt(s) + eps), in that order, with two temporaries instead of four
        step = group["lr"] * grad
        step /= denominator
        param.sub_(step)


class Adagrad(Optimizer):
    """``Adagrad(params, lr=0.01, lr_decay=0., weight_decay=0., initial_accumulator_value=0., eps=1e-10)``
    (PyTorch's defaults).

    Per step t (from 1): ``s += g²`` (s starts at ``initial_accumulator_value``), and
    ``p -= lr / (1 + (t-1)*lr_decay) * g / (sqrt(s) + eps)``.  State: ``step`` (t) and ``sum`` (s).
    """

    _state_spec = {"step": "count", "sum": "buffer"}
    _state_all_or_nothing = True

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        _check_common(self, group, "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def update_parameter(self, param, grad, state, group):
        grad = _with_weight_decay(grad, param, group["weight_decay"])
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, group["initial_accumulator_value"])
        state["step"] = step = state["step"] + 1
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        denominator = np.sqrt(total)
        denominator += group["eps"]
        update = clr * grad
        update /= denominator
        param.sub_(update)


class Adam(Optimizer):
    """``Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0., amsgrad=False)``.

    Per step t (counted per parameter update, i.e. per mini-batch): ``v = β1 v + (1-β1) g``,
    ``s = β2 s + (1-β2) g²``, ``v̂ = v/(1-β1^t)``, ``ŝ = s/(1-β2^t)``, ``p -= lr * v̂ / (sqrt(ŝ) + eps)``,
    the course's ``update_parameters_with_adam`` exactly.  The state is
    ``optimizer.state[p] = {"step": t, "exp_avg": v, "exp_avg_sq": s}``.  weight_decay adds
    ``weight_decay*p`` to g (L2, as PyTorch's Adam; ``AdamW`` decays the weights instead).
    ``amsgrad=True`` (Reddi et al., as PyTorch) divides by the largest ŝ so far instead of the current one:
    ``s_max = max(s_max, s)``, kept as ``state[p]["max_exp_avg_sq"]``.
    """

    _state_spec = {"step": "count", "exp_avg": "buffer", "exp_avg_sq": "buffer"}
    _amsgrad_state_spec = dict(_state_spec, max_exp_avg_sq="buffer")
    _state_all_or_nothing = True

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def state_spec(self, group):
        return self._amsgrad_state_spec if group.get("amsgrad") else self._state_spec

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(check_number(self._name, f"betas[{i}]", b, low=0.0, high=1.0, high_inclusive=False)
                               for i, b in enumerate(betas))
        _check_common(self, group, "eps", "weight_decay")
        _check_flag(self, group, "amsgrad")

    def update_parameter(self, param, grad, state, group):
        self._adam_step(param, _with_weight_decay(grad, param, group["weight_decay"]), state, group)

    @staticmethod
    def _adam_step(param, grad, state, group):
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] = step = state["step"] + 1
        beta1, beta2 = group["betas"]
        v, s = state["exp_avg"], state["exp_avg_sq"]
        v *= beta1
        v += (1 - beta1) * grad
        s *= beta2
        s += _scaled_square(grad, 1 - beta2)
        correction1, correction2 = _bias_corrections(beta1, beta2, step)
        v_corrected = v / correction1
        if group["amsgrad"]:  # the largest second moment so far
            s = np.maximum(state["max_exp_avg_sq"], s, out=state["max_exp_avg_sq"])
        s_corrected = s / correction2
        # p -= lr * v_corrected / (sqrt(s_corrected) + eps), in that order, reusing the temporaries
        denominator = np.sqrt(s_corrected, out=s_corrected)
        denominator += group["eps"]
        v_corrected *= group["lr"]
        v_corrected /= denominator
        param.sub_(v_corrected)


class AdamW(Adam):
    """``AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False)`` (PyTorch's defaults):
    Adam with decoupled weight decay (Loshchilov & Hutter).

    Each step first shrinks the weights, ``p *= 1 - lr*weight_decay``, then takes Adam's step with the
    plain gradient (no ``weight_decay*p`` added to g).  Same state as Adam.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def update_parameter(self, param, grad, state, group):
        if group["weight_decay"]:
            param.mul_(1 - group["lr"] * group["weight_decay"])
        self._adam_step(param, grad, state, group)
