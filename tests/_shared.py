"""Helpers several test files share (a test helper: pytest collects no tests here).

Imported as ``tests._shared`` (setup.cfg puts the checkout on sys.path for pytest: pythonpath = .).
"""
import numpy as np

from tinygrad_dl import Function, generic


class Softplus(Function):
    """The README's own op, log(1 + e^x); its backward uses tinygrad_dl.generic, so it is differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * generic.sigmoid(x)


def snapshot(t):
    """Everything about a tensor that a failed call must leave as it was."""
    return t.data.copy(), None if t.grad is None else t.grad.data.copy(), t._version, t.grad_fn, t.requires_grad


def assert_unchanged(t, before):
    data, grad, version, grad_fn, requires_grad = before
    np.testing.assert_array_equal(t.data, data)
    assert (t._version, t.grad_fn, t.requires_grad) == (version, grad_fn, requires_grad)
    if grad is None:
        assert t.grad is None
    else:
        np.testing.assert_array_equal(t.grad.data, grad)
