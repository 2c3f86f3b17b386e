"""SGD (with momentum / Nesterov), RMSprop and Adam.

Every update is written in the course's order of operations, so float64 parameters follow the
course's NumPy code bit for bit.  Buffers are updated in place (``v *= beta; v += (1 - beta) * g``),
which rounds exactly like the course's ``v = beta * v + (1 - beta) * g`` without allocating a new
buffer every step; temporaries are reused where the order of operations allows it.
"""
import functools

import numpy as np

from .optimizer import Optimizer, check_number


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


class SGD(Optimizer):
    """Gradient descent, optionally with momentum: ``SGD(params, lr, momentum=0., dampening=0.,
    nesterov=False, weight_decay=0.)``.

    The velocity v starts at zero and each step does ``v = momentum*v + (1-dampening)*g`` then
    ``p -= lr*v`` (Nesterov: ``p -= lr*(g + momentum*v)``).  ``momentum=β, dampening=β`` is the
    course's momentum ``v = βv + (1-β)dW``; ``dampening=0`` is PyTorch's.  With ``momentum=0`` it is
    plain gradient descent ``p -= lr*g``.  The velocity is ``optimizer.state[p]["momentum_buffer"]``.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        group["momentum"] = check_number(self._name, "momentum", group["momentum"], low=0.0, high=1.0,
                                         high_inclusive=False)
        group["dampening"] = check_number(self._name, "dampening", group["dampening"], low=0.0, high=1.0)
        group["weight_decay"] = check_number(self._name, "weight_decay", group["weight_decay"], low=0.0)
        if not isinstance(group["nesterov"], (bool, np.bool_)):
            raise ValueError(f"{self._name}: nesterov must be True or False, got {group['nesterov']!r}")
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and group["momentum"] == 0:
            raise ValueError(f"{self._name}: nesterov=True needs a momentum > 0, got momentum=0.0")

    def update_parameter(self, param, grad, state, group):
        if group["weight_decay"]:
            grad = _with_weight_decay(grad, param, group["weight_decay"])
        lr, momentum = group["lr"], group["momentum"]
        if momentum == 0:  # plain gradient descent: the course's W = W - lr * dW
            param.data -= lr * grad
            return
        velocity = state.get("momentum_buffer")
        if velocity is None:
            velocity = state["momentum_buffer"] = np.zeros_like(param.data)
        velocity *= momentum
        dampening = group["dampening"]
        velocity += (1 - dampening) * grad if dampening else grad
        if group["nesterov"]:
            param.data -= lr * (grad + momentum * velocity)
        else:
            param.data -= lr * velocity


class RMSprop(Optimizer):
    """``RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.)``.

    ``s = alpha*s + (1-alpha)*g²`` (s starts at zero) and ``p -= lr*g/(sqrt(s)+eps)``.
    The running average is ``optimizer.state[p]["square_avg"]``.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        group["alpha"] = check_number(self._name, "alpha", group["alpha"], low=0.0, high=1.0, high_inclusive=False)
        group["eps"] = check_number(self._name, "eps", group["eps"], low=0.0)
        group["weight_decay"] = check_number(self._name, "weight_decay", group["weight_decay"], low=0.0)

    def update_parameter(self, param, grad, state, group):
        grad = _with_weight_decay(grad, param, group["weight_decay"])
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = np.zeros_like(param.data)
        alpha = group["alpha"]
        square_avg *= alpha
        square_avg += _scaled_square(grad, 1 - alpha)
        # p -= lr * g / (sqrt(s) + eps), in that order, with two temporaries instead of four
        denominator = np.sqrt(square_avg)
        denominator += group["eps"]
        step = group["lr"] * grad
        step /= denominator
        param.data -= step


class Adam(Optimizer):
    """``Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.)``.

    Per step t (counted per parameter update, i.e. per mini-batch): ``v = β1 v + (1-β1) g``,
    ``s = β2 s + (1-β2) g²``, ``v̂ = v/(1-β1^t)``, ``ŝ = s/(1-β2^t)``, ``p -= lr * v̂ / (sqrt(ŝ) + eps)``,
    the course's ``update_parameters_with_adam`` exactly.  The state is
    ``optimizer.state[p] = {"step": t, "exp_avg": v, "exp_avg_sq": s}``.  weight_decay adds
    ``weight_decay*p`` to g (L2, as PyTorch's Adam; not AdamW).
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def check_hyperparameters(self, group):
        super().check_hyperparameters(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(check_number(self._name, f"betas[{i}]", b, low=0.0, high=1.0, high_inclusive=False)
                               for i, b in enumerate(betas))
        group["eps"] = check_number(self._name, "eps", group["eps"], low=0.0)
        group["weight_decay"] = check_number(self._name, "weight_decay", group["weight_decay"], low=0.0)

    def update_parameter(self, param, grad, state, group):
        grad = _with_weight_decay(grad, param, group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] = step = state["step"] + 1
        beta1, beta2 = group["betas"]
        v, s = state["exp_avg"], state["exp_avg_sq"]
        v *= beta1
        v += (1 - beta1) * grad
        s *= beta2
        s += _scaled_square(grad, 1 - beta2)
        correction1, correction2 = _bias_corrections(beta1, beta2, step)
        v_corrected = v / correction1
        s_corrected = s / correction2
        # p -= lr * v_corrected / (sqrt(s_corrected) + eps), in that order, reusing the temporaries
        denominator = np.sqrt(s_corrected, out=s_corrected)
        denominator += group["eps"]
        v_corrected *= group["lr"]
        v_corrected /= denominator
        param.data -= v_corrected
