"""Every public core op, method and factory given bad input (issue 7 §5): the fitting exception, a message
that names the op and the shapes/dtypes involved, and no state changed by the failed call.

One table row per (call, kind of bad input); hypothesis draws the tensor (shape, float32/float64, a leaf
that requires grad and already holds a gradient) and the bad value for each example. ``CASES_TRIED``
counts the examples run; ``test_zz_enough_cases_were_tried`` checks the table ran hundreds of them.
"""
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_dl as tg
from tinygrad_dl import Function, Tensor
from tinygrad_dl.testing import shapes
from tests._shared import assert_unchanged, snapshot

AxisError = np.exceptions.AxisError  # both a ValueError and an IndexError, like NumPy's
EXAMPLES = 12  # per row; about 320 rows
CASES_TRIED = []


# ----------------------------------------------------------------------------------------------------
# Bad values


NOT_NUMBERS = st.sampled_from(["x", b"bytes", None, object(), {}, {1, 2}, ["a", "b"], [1.0, None]])
NOT_NUMBERS_OR_NONE = st.sampled_from(["x", b"bytes", object(), {}, {1, 2}, ["a", "b"], [1.0, None]])
RAGGED = st.sampled_from([[[1.0, 2.0], [3.0]], [1.0, [2.0, 3.0]], [[1.0], [2.0, 3.0], []]])
NOT_INTEGERS = st.sampled_from([1.5, "1", b"1", [0.5], object(), 2.0])
BAD_DTYPES = st.sampled_from(["foo", "float99", "U5", str, object, dict, np.dtype("U3"), "datetime64[s]"])
NEGATIVE = st.integers(-10, -1)


def axis_out_of_range(shape):
    ndim = len(shape)
    return st.one_of(st.integers(ndim, ndim + 5), st.integers(-ndim - 6, -ndim - 1))


def mismatched_shape(shape):
    """A shape that does not broadcast with ``shape`` (a last side that is neither equal nor 1)."""
    return st.integers(2, 5).map(lambda extra: shape[:-1] + (shape[-1] + extra,) if shape else (2, 3))


def duplicate_axes(shape):
    return st.integers(0, len(shape) - 1).map(lambda a: (a, a))


def wrong_permutation(shape):
    """Too many axes, a repeated axis, or (2-D and up) too few axes."""
    ndim = len(shape)
    options = [tuple(range(ndim + 1)), (0,) * (ndim + 1)]
    if ndim >= 2:
        options += [(0,) * ndim, tuple(range(ndim - 1))]
    return st.sampled_from(options)


# ----------------------------------------------------------------------------------------------------
# The table


@dataclass
class Case:
    name: str  # the op as the message must name it
    call: Callable  # call(tensor, bad)
    bad: Callable  # bad(shape) -> strategy of bad values
    error: type
    min_dims: int = 1
    mentions_shape: bool = True  # the message shows the tensor's shape
    mentions: Callable = None  # mentions(tensor, bad) -> extra text the message must contain
    dtypes: tuple = (np.float32, np.float64)
    extra: dict = field(default_factory=dict)

    def __str__(self):
        return self.name


def fixed(strategy):
    return lambda shape: strategy


def row(name, call, bad, error, **options):
    if bad is mismatched_shape:  # a tensor with a side of 1 would broadcast with anything on that axis
        options.setdefault("extra", {})["min_side"] = 2
    return Case(name, call, bad if callable(bad) and not isinstance(bad, st.SearchStrategy) else fixed(bad), error,
                **options)


OPERATORS = [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
             ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b), ("matmul", lambda a, b: a @ b),
             ("add", lambda a, b: b + a), ("sub", lambda a, b: b - a), ("mul", lambda a, b: b * a),
             ("div", lambda a, b: b / a), ("maximum", lambda a, b: a.maximum(b)), ("minimum", lambda a, b: a.minimum(b))]
COMPARISONS = [("less", lambda a, b: a < b), ("less_equal", lambda a, b: a <= b), ("greater", lambda a, b: a > b),
               ("greater_equal", lambda a, b: a >= b), ("equal", lambda a, b: a == b),
               ("not_equal", lambda a, b: a != b)]
REDUCTIONS = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "argmax", "argmin", "any", "all"]
DIFFERENTIABLE_REDUCTIONS = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "norm"]
UNARY_FUNCTIONS = ["exp", "log", "log1p", "expm1", "sqrt", "tanh", "sigmoid", "relu", "abs", "softmax", "log_softmax",
                   "sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "argmax", "argmin", "numel",
                   "squeeze", "flatten", "transpose"]

CASES = []
for name, op in OPERATORS:
    CASES.append(row(name, op, NOT_NUMBERS_OR_NONE, TypeError, mentions_shape=False))
    CASES.append(row(name, op, RAGGED, ValueError, mentions_shape=False))
    if name != "matmul":
        CASES.append(row(name, lambda t, shape, op=op: op(t, Tensor(np.ones(shape))), mismatched_shape, ValueError))
CASES += [
    row("add", lambda t, bad: t + bad, st.just(None), TypeError),
    row("matmul", lambda t, bad: t @ bad, st.just(None), TypeError),
    row("matmul", lambda t, bad: t @ Tensor(np.ones((t.shape[-1] + bad, 2))), st.integers(1, 3), ValueError),
    row("matmul", lambda t, bad: t @ bad, st.floats(-2, 2), ValueError),
]
for name, op in COMPARISONS:
    if name not in ("equal", "not_equal"):  # == and != keep NumPy's meaning: False against None or a string
        CASES.append(row(name, op, st.sampled_from(["x", None, b"b"]), TypeError))
    CASES.append(row(name, lambda t, shape, op=op: op(t, Tensor(np.ones(shape))), mismatched_shape, ValueError))
for name in REDUCTIONS:
    method = lambda t, axis, name=name: getattr(t, name)(axis=axis)  # noqa: E731
    CASES.append(row(name, method, axis_out_of_range, AxisError))
    CASES.append(row(name, lambda t, axis, name=name: getattr(t, name)(dim=axis), axis_out_of_range, AxisError))
    if hasattr(tg, name):
        CASES.append(row(name, lambda t, axis, name=name: getattr(tg, name)(t, axis=axis), axis_out_of_range,
                         AxisError))
    CASES.append(row(name, method, st.sampled_from([1.5, "0", [0.5]]), TypeError))
    CASES.append(row(name, lambda t, d, name=name: getattr(t, name)(axis=0, dim=d), st.integers(0, 0), TypeError,
                     mentions_shape=False))
for name in DIFFERENTIABLE_REDUCTIONS:
    CASES.append(row(name, lambda t, axes, name=name: getattr(t, name)(axis=axes), duplicate_axes, ValueError,
                     min_dims=1))
CASES += [
    row("var", lambda t, ddof: t.var(ddof=ddof), lambda shape: st.integers(int(np.prod(shape)), 50), ValueError),
    row("std", lambda t, ddof: t.std(ddof=ddof), lambda shape: st.integers(int(np.prod(shape)), 50), ValueError),
    row("var", lambda t, ddof: t.var(ddof=ddof), st.sampled_from(["1", None, [1]]), TypeError),
    row("norm", lambda t, p: t.norm(p=p), st.sampled_from(["a", [2], b"2"]), TypeError),
    row("norm", lambda t, p: t.norm(p=p), st.sampled_from([0, -1, -2.5, float("nan")]), ValueError),
    row("norm", lambda t, o: t.norm(o), st.sampled_from([1, np.inf, 3]), ValueError, min_dims=2,
        dtypes=(np.float64,), extra={"max_dims": 2}),
    row("softmax", lambda t, axis: t.softmax(axis), axis_out_of_range, AxisError),
    row("log_softmax", lambda t, axis: t.log_softmax(dim=axis), axis_out_of_range, AxisError),
    row("softmax", lambda t, axis: t.softmax(axis), st.sampled_from([1.5, "a"]), TypeError),
    row("astype", lambda t, dtype: t.astype(dtype), BAD_DTYPES, TypeError, mentions_shape=False),
    row("clip", lambda t, low: t.clip(low), st.sampled_from(["a", b"b"]), TypeError),
    row("clip", lambda t, shape: t.clip(np.zeros(shape)), mismatched_shape, ValueError),
    # movement
    row("reshape", lambda t, extra: t.reshape(t.size + extra), st.integers(1, 5), ValueError),
    row("reshape", lambda t, n: t.reshape(n, -1), NOT_INTEGERS, TypeError),
    row("reshape", lambda t, n: t.reshape(-1, -1), st.just(0), ValueError),
    row("reshape", lambda t, n: t.view(n, -1), NEGATIVE.filter(lambda n: n != -1), ValueError),
    row("transpose", lambda t, axes: t.transpose(axes), wrong_permutation, ValueError),
    row("transpose", lambda t, axes: t.permute(*axes), wrong_permutation, ValueError),
    row("transpose", lambda t, axis: t.transpose(tuple(range(t.ndim - 1)) + (axis,)), axis_out_of_range, AxisError),
    row("swapaxes", lambda t, axis: t.swapaxes(0, axis), axis_out_of_range, AxisError),
    row("swapaxes", lambda t, axis: t.swapaxes(axis, 0), NOT_INTEGERS, TypeError),
    row("squeeze", lambda t, axis: t.squeeze(axis), axis_out_of_range, AxisError),
    row("squeeze", lambda t, axis: t.squeeze(dim=axis), axis_out_of_range, AxisError),
    row("squeeze", lambda t, axis: t.squeeze(axis), st.just(0), ValueError,
        extra={"min_side": 2}),
    row("expand_dims", lambda t, axis: t.expand_dims(axis + (1 if axis > 0 else -1)), axis_out_of_range, AxisError),
    row("unsqueeze", lambda t, axis: t.unsqueeze(axis + (1 if axis > 0 else -1)), axis_out_of_range, AxisError),
    row("flatten", lambda t, axis: t.flatten(axis), axis_out_of_range, AxisError),
    row("flatten", lambda t, axis: t.flatten(0, axis), axis_out_of_range, AxisError),
    row("flatten", lambda t, axis: t.flatten(start_dim=axis), NOT_INTEGERS, TypeError),
    row("flatten", lambda t, _: t.flatten(-1, 0), st.just(0), ValueError, min_dims=2),
    row("broadcast_to", lambda t, shape: t.broadcast_to(shape), mismatched_shape, ValueError),
    row("broadcast_to", lambda t, n: t.broadcast_to((n,) + t.shape), NEGATIVE, ValueError),
    row("broadcast_to", lambda t, n: t.broadcast_to((n,) + t.shape), NOT_INTEGERS, TypeError),
    row("broadcast_to", lambda t, bad: t.broadcast_to(bad), st.sampled_from(["ab", None, 2.5]), TypeError),
    row("pad", lambda t, width: t.pad(width), NEGATIVE, ValueError),
    row("pad", lambda t, width: t.pad(width), st.sampled_from([1.5, "1", [0.5, 1.0]]), TypeError),
    row("pad", lambda t, n: t.pad([(1, 1)] * (t.ndim + n)), st.integers(1, 3), ValueError),
    row("pad", lambda t, value: t.pad(1, constant_values=value), st.sampled_from(["a", None, object()]), TypeError),
    row("pad", lambda t, width: t.sum().pad(width), st.integers(0, 2), ValueError, mentions_shape=False,
        mentions=lambda t, b: "0-d"),
    row("getitem", lambda t, i: t[t.shape[0] + i], st.integers(0, 5), IndexError),
    row("getitem", lambda t, i: t[-t.shape[0] - 1 - i], st.integers(0, 5), IndexError),
    row("getitem", lambda t, i: t[i], st.sampled_from([1.5, "a", object(), (0.5,)]), IndexError),
    row("getitem", lambda t, n: t[(0,) * (t.ndim + n)], st.integers(1, 3), IndexError),
    row("getitem", lambda t, n: t[np.ones(t.shape[0] + n, dtype=bool)], st.integers(1, 3), IndexError),
    row("getitem", lambda t, n: t[np.array([0, t.shape[0] + n])], st.integers(0, 3), IndexError),
    row("setitem", lambda t, value: t.__setitem__(0, value), st.floats(-1, 1), TypeError, mentions_shape=False,
        mentions=lambda t, b: "item assignment"),
    # elementwise functions of the module, given things that are not tensors
    *[row(name, lambda t, bad, name=name: getattr(tg, name)(bad), NOT_NUMBERS, TypeError, mentions_shape=False)
      for name in UNARY_FUNCTIONS],
    *[row(name, lambda t, bad, name=name: getattr(tg, name)(bad), RAGGED, ValueError, mentions_shape=False)
      for name in ("exp", "sum", "tanh")],
    # scalars out of tensors
    row("item", lambda t, _: t.item(), st.just(0), ValueError, extra={"min_side": 2}),
    row("float", lambda t, _: float(t), st.just(0), ValueError, extra={"min_side": 2}),
    row("int", lambda t, _: int(t), st.just(0), ValueError, extra={"min_side": 2}),
    row("bool", lambda t, _: bool(t), st.just(0), ValueError, extra={"min_side": 2}),
    row("len", lambda t, _: len(t.sum()), st.just(0), TypeError, mentions_shape=False, mentions=lambda t, b: "()"),
    # in-place updates (under no_grad, where they are allowed)
    *[row(name, lambda t, bad, name=name: getattr(t, name)(bad), NOT_NUMBERS, TypeError)
      for name in ("add_", "sub_", "mul_", "div_")],
    *[row(name, lambda t, shape, name=name: getattr(t, name)(np.ones(shape)), mismatched_shape, ValueError)
      for name in ("add_", "sub_", "mul_", "div_")],
    row("fill_", lambda t, bad: t.fill_(bad), NOT_NUMBERS, TypeError),
    row("fill_", lambda t, shape: t.fill_(np.ones(shape)), mismatched_shape, TypeError),
    row("copy_", lambda t, bad: t.copy_(bad), NOT_NUMBERS_OR_NONE, TypeError, mentions_shape=False),
    row("copy_", lambda t, shape: t.copy_(np.ones(shape)), mismatched_shape, ValueError),
    row("clamp_", lambda t, bad: t.clamp_(bad, None), st.sampled_from(["a", b"b", object()]), TypeError,
        mentions_shape=False),
    row("clamp_", lambda t, _: t.clamp_(), st.just(0), ValueError),
    row("add_", lambda t, bad: t.add_(bad), st.just(0.5), TypeError, dtypes=(np.int64,), extra={"integer": True}),
    # autograd entry points
    row("backward", lambda t, seed: (t * 2).backward(seed), NOT_NUMBERS_OR_NONE, TypeError, mentions_shape=True),
    row("backward", lambda t, seed: (t * 2).backward(seed), st.sampled_from([[1.0, None, 2.0], [None]]), TypeError),
    row("backward", lambda t, shape: (t * 2).backward(np.ones(shape)), mismatched_shape, RuntimeError),
    row("backward", lambda t, _: (t * 2).backward(), st.just(0), RuntimeError, extra={"min_side": 2}),
    row("backward", lambda t, _: t.detach().backward(), st.just(0), RuntimeError, mentions_shape=False,
        mentions=lambda t, b: "does not require grad"),
    row("grad", lambda t, bad: t.__setattr__("grad", bad), st.sampled_from([5, "x", [1.0], 2.5]), TypeError),
    row("grad", lambda t, shape: t.__setattr__("grad", Tensor(np.ones(shape, t.dtype))), mismatched_shape, ValueError),
    row("grad", lambda t, _: t.__setattr__("grad", Tensor(np.ones(t.shape, np.float16))), st.just(0), TypeError),
    row("requires_grad", lambda t, _: t.astype(np.int64).requires_grad_(), st.just(0), TypeError),
    row("requires_grad", lambda t, _: t.astype(np.complex128).requires_grad_(), st.just(0), TypeError),
    row("retain_grad", lambda t, _: t.detach().retain_grad(), st.just(0), RuntimeError),
    row("grad", lambda t, bad: tg.grad((t * t).sum(), [bad]), st.sampled_from([None, "x", 1.0, np.ones(2)]),
        TypeError, mentions_shape=False),
    row("grad", lambda t, _: tg.grad((t * t).sum(), [t.detach()]), st.just(0), RuntimeError),
    row("grad", lambda t, bad: tg.grad(bad, [t]), st.sampled_from(["x", 1.0, None]), TypeError, mentions_shape=False),
    row("grad", lambda t, n: tg.grad([(t * t).sum()], [t], grad_outputs=[None] * n), st.integers(2, 4), ValueError,
        mentions_shape=False),
    # joining and splitting
    *[row(name, lambda t, bad, f=f: f([t, bad]), NOT_NUMBERS, TypeError)
      for name, f in (("concatenate", tg.concatenate), ("cat", tg.cat), ("stack", tg.stack))],
    *[row(name, lambda t, _, f=f: f(t), st.just(0), TypeError)
      for name, f in (("concatenate", tg.concatenate), ("cat", tg.cat), ("stack", tg.stack))],
    row("concatenate", lambda t, shape: tg.concatenate([t, Tensor(np.ones((1,) + shape[1:-1] + (shape[-1] + 1,)))]),
        mismatched_shape, ValueError, min_dims=2),
    row("stack", lambda t, shape: tg.stack([t, Tensor(np.ones(shape))]), mismatched_shape, ValueError),
    row("concatenate", lambda t, axis: tg.concatenate([t, t], axis=axis), axis_out_of_range, AxisError),
    row("concatenate", lambda t, _: tg.cat([t.sum(), t.sum()]), st.just(0), ValueError, mentions_shape=False,
        mentions=lambda t, b: "0-d"),
    row("stack", lambda t, axis: tg.stack([t, t], dim=axis + (1 if axis > 0 else -1)), axis_out_of_range, AxisError),
    row("stack", lambda t, _: tg.stack([]), st.just(0), ValueError, mentions_shape=False),
    row("split", lambda t, axis: tg.split(t, 1, axis=axis), axis_out_of_range, AxisError),
    row("split", lambda t, n: tg.split(t, t.shape[0] + n), st.integers(1, 4), ValueError),
    row("split", lambda t, n: tg.split(t, n), st.integers(-3, 0), ValueError),
    row("split", lambda t, bad: tg.split(t, bad), st.sampled_from([1.5, "2", None]), TypeError, mentions_shape=False),
    row("split", lambda t, bad: tg.split(t, [bad]), st.sampled_from([1.5, "2", None]), TypeError),
    row("split", lambda t, _: tg.split(t.sum(), 1), st.just(0), ValueError, mentions_shape=False,
        mentions=lambda t, b: "0-d"),
    # module functions of two operands, and the ones with arguments, given bad operands or arguments
    *[row(name, lambda t, bad, f=f: f(t, bad), NOT_NUMBERS_OR_NONE, TypeError, mentions_shape=False)
      for name, f in (("maximum", tg.maximum), ("minimum", tg.minimum), ("matmul", tg.matmul))],
    *[row(name, lambda t, bad, f=f: f(bad, t), NOT_NUMBERS, TypeError, mentions_shape=False)
      for name, f in (("maximum", tg.maximum), ("minimum", tg.minimum))],
    row("clip", lambda t, bad: tg.clip(t, bad, None), st.sampled_from(["a", b"b"]), TypeError),
    row("clip", lambda t, bad: tg.clamp(t, min=bad), st.sampled_from(["a", b"b"]), TypeError),
    row("reshape", lambda t, extra: tg.reshape(t, (t.size + extra,)), st.integers(1, 5), ValueError),
    row("broadcast_to", lambda t, shape: tg.broadcast_to(t, shape), mismatched_shape, ValueError),
    row("swapaxes", lambda t, axis: tg.swapaxes(t, 0, axis), axis_out_of_range, AxisError),
    row("expand_dims", lambda t, axis: tg.expand_dims(t, axis + (1 if axis > 0 else -1)), axis_out_of_range,
        AxisError),
    row("unsqueeze", lambda t, axis: tg.unsqueeze(t, axis + (1 if axis > 0 else -1)), axis_out_of_range, AxisError),
    row("transpose", lambda t, axes: tg.permute(t, axes), wrong_permutation, ValueError),
    row("transpose", lambda t, axes: tg.transpose(t, axes), wrong_permutation, ValueError),
    row("pad", lambda t, width: tg.pad(t, width), NEGATIVE, ValueError),
    row("flatten", lambda t, axis: tg.flatten(t, axis), axis_out_of_range, AxisError),
    row("squeeze", lambda t, axis: tg.squeeze(t, dim=axis), axis_out_of_range, AxisError),
    row("where", lambda t, bad: tg.where(t > 1, t, bad), NOT_NUMBERS_OR_NONE, TypeError),
    # the gradient checker
    row("gradcheck", lambda t, bad: tg.gradcheck(bad, [t]), st.sampled_from([None, 3, "f"]), TypeError,
        mentions_shape=False),
    row("gradcheck", lambda t, bad: tg.gradcheck(lambda x: bad, [t]), st.sampled_from([None, 3.0, np.ones(2)]),
        TypeError),
    row("gradcheck", lambda t, bad: tg.gradcheck(lambda x: x * 2, [bad]), NOT_NUMBERS, TypeError,
        mentions_shape=False),
    row("gradcheck", lambda t, bad: tg.gradcheck(lambda x: x * 2, bad), st.sampled_from([None, 3.0, "x"]),
        TypeError, mentions_shape=False),
    row("gradcheck", lambda t, eps: tg.gradcheck(lambda x: x * 2, [t], eps=eps), st.sampled_from([0.0, -1e-6]),
        ValueError, mentions_shape=False),
    row("gradcheck", lambda t, _: tg.gradcheck(lambda x: x * 2, [t.detach()]), st.just(0), ValueError),
    row("gradgradcheck", lambda t, bad: tg.gradgradcheck(bad, [t]), st.sampled_from([None, 3, "f"]), TypeError,
        mentions_shape=False),
    row("where", lambda t, bad: tg.where(bad, t, t), st.sampled_from([None, "x", object()]), TypeError),
    row("where", lambda t, shape: tg.where(np.ones(shape, bool), t, t), mismatched_shape, ValueError),
]

# factories: (name, call(bad)) rows; the message names the factory and shows the bad value
FACTORY_CASES = [
    *[(name, f, NEGATIVE.map(lambda n: (2, n)), ValueError) for name, f in
      (("zeros", tg.zeros), ("ones", tg.ones), ("randn", tg.randn), ("rand", tg.rand))],
    *[(name, f, NOT_INTEGERS.map(lambda n: (2, n)), TypeError) for name, f in
      (("zeros", tg.zeros), ("ones", tg.ones), ("randn", tg.randn), ("rand", tg.rand))],
    ("zeros", lambda n: tg.zeros(n), st.sampled_from([2.5, "3", None]), TypeError),
    *[(name, lambda d, f=f: f(2, dtype=d), BAD_DTYPES, TypeError) for name, f in
      (("zeros", tg.zeros), ("ones", tg.ones), ("randn", tg.randn), ("rand", tg.rand), ("eye", tg.eye))],
    ("randn", lambda d: tg.randn(2, dtype=d), st.sampled_from([np.int32, int, bool, "int64"]), TypeError),
    ("rand", lambda d: tg.rand(2, dtype=d), st.sampled_from([np.int32, int, bool, "int64"]), TypeError),
    ("randn", lambda g: tg.randn(2, generator=g), st.sampled_from(["seed", 3, object()]), TypeError),
    ("full", lambda v: tg.full((2,), v), NOT_NUMBERS, TypeError),
    ("full", lambda n: tg.full((n, 2), 1.0), NEGATIVE, ValueError),
    ("full", lambda n: tg.full(n, 1.0), NOT_INTEGERS, TypeError),
    ("full", lambda d: tg.full((2,), 1.0, dtype=d), BAD_DTYPES, TypeError),
    ("arange", lambda step: tg.arange(0, 5, step), st.sampled_from([0, 0.0]), ValueError),
    ("arange", lambda v: tg.arange(v), st.sampled_from(["a", None, [1, 2], object()]), TypeError),
    ("arange", lambda v: tg.arange(0, v), st.sampled_from([float("inf"), float("nan")]), ValueError),
    ("arange", lambda d: tg.arange(3, dtype=d), BAD_DTYPES, TypeError),
    ("eye", lambda n: tg.eye(n), NEGATIVE, ValueError),
    ("eye", lambda n: tg.eye(n), NOT_INTEGERS, TypeError),
    ("eye", lambda n: tg.eye(2, n), NEGATIVE, ValueError),
    ("zeros", lambda d: tg.zeros(2, dtype=np.int32, requires_grad=d), st.just(True), TypeError),
    ("arange", lambda d: tg.arange(3, dtype=np.int64, requires_grad=d), st.just(True), TypeError),
    *[(name, lambda bad, f=f: f(bad), NOT_NUMBERS, TypeError) for name, f in
      (("zeros_like", tg.zeros_like), ("ones_like", tg.ones_like), ("randn_like", tg.randn_like),
       ("rand_like", tg.rand_like))],
    ("full_like", lambda v: tg.full_like(Tensor(np.ones(2)), v), NOT_NUMBERS, TypeError),
    ("full_like", lambda bad: tg.full_like(bad, 1.0), NOT_NUMBERS, TypeError),
    *[(name, lambda values, f=f: f(Tensor(values)), st.sampled_from([np.arange(3), np.array([True, False])]),
       TypeError) for name, f in (("randn_like", tg.randn_like), ("rand_like", tg.rand_like))],
    *[(name, lambda d, f=f: f(Tensor(np.ones(2)), dtype=d), BAD_DTYPES, TypeError) for name, f in
      (("zeros_like", tg.zeros_like), ("ones_like", tg.ones_like), ("randn_like", tg.randn_like))],
    ("tensor", lambda bad: Tensor(bad), NOT_NUMBERS, TypeError),
    ("tensor", lambda bad: Tensor(bad), RAGGED, ValueError),
    ("tensor", lambda bad: tg.tensor(bad), st.sampled_from([np.array(["a", "b"]), np.array([None, 1.0])]), TypeError),
    ("tensor", lambda d: Tensor([1.0, 2.0], dtype=d), BAD_DTYPES, TypeError),
    ("requires_grad", lambda v: Tensor(v, requires_grad=True), st.sampled_from([np.array([1j]), np.arange(3),
                                                                               np.array([True])]), TypeError),
    ("manual_seed", tg.manual_seed, st.sampled_from(["a", 1.5, None, [1]]), TypeError),
    ("manual_seed", tg.manual_seed, st.sampled_from([-1, 2 ** 32, 2 ** 40]), ValueError),
]


# ----------------------------------------------------------------------------------------------------
# The checks


def tensors(case):
    extra = case.extra
    shape = shapes(min_dims=case.min_dims, max_dims=extra.get("max_dims", 3), min_side=extra.get("min_side", 1),
                   max_side=4)
    values = st.floats(0.5, 2.0) if not extra.get("integer") else st.integers(1, 5)

    def build(drawn):
        shape, dtype, value = drawn
        t = Tensor(np.full(shape, value, dtype=dtype), requires_grad=np.dtype(dtype).kind == "f")
        if t.requires_grad:
            t.grad = Tensor(np.full(shape, 0.25, dtype=dtype))  # a gradient the failed call must leave alone
        return t

    return st.tuples(shape, st.sampled_from(case.dtypes), values).map(build)


def check_message(message, *parts):
    lowered = message.lower()
    for part in parts:
        assert part.lower() in lowered, f"{part!r} missing from the message: {message}"
    assert not re.match(r"^\s*$", message)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.name}" for i, c in enumerate(CASES)])
def test_bad_input_to_a_tensor_op(case):
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(st.data())
    def run(data):
        t = data.draw(tensors(case), label="tensor")
        bad = data.draw(case.bad(t.shape), label="bad")
        before = snapshot(t)
        with tg.no_grad() if case.name.endswith("_") else _nothing():
            with pytest.raises(case.error) as caught:
                case.call(t, bad)
        CASES_TRIED.append(case.name)
        message = str(caught.value)
        check_message(message, case.name)
        if case.mentions_shape:
            check_message(message, str(t.shape))
        if case.mentions is not None:
            check_message(message, case.mentions(t, bad))
        assert_unchanged(t, before)

    run()


@pytest.mark.parametrize("name, call, bad, error", FACTORY_CASES, ids=[f"{i}-{c[0]}" for i, c in
                                                                     enumerate(FACTORY_CASES)])
def test_bad_input_to_a_factory(name, call, bad, error):
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(bad)
    def run(value):
        state = np.random.get_state()[1].copy()
        with pytest.raises(error) as caught:
            call(value)
        CASES_TRIED.append(name)
        check_message(str(caught.value), name)
        np.testing.assert_array_equal(np.random.get_state()[1], state)  # a failed draw consumes no randomness

    run()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ----------------------------------------------------------------------------------------------------
# Specific promises of the issue


def test_the_error_wrapper_handles_numpys_own_exception_classes():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"add: unsupported operand 'x'"):
        t + "x"
    with pytest.raises(TypeError, match=r"less: cannot compare a tensor of shape \(2, 3\)"):
        t < "x"


def test_pow_gradients_at_zero_follow_pytorch():
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** 0).sum().backward()  # d/dx x^0 = 0, also at x = 0
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    b = Tensor(np.array([0.0, 1.5, 2.0]), requires_grad=True)
    (Tensor(np.zeros(3)) ** b).sum().backward()  # d/db 0^b = 0^b log 0, taken as 0 (b >= 0)
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, 0.0])


def test_complex_tensors_exist_but_cannot_require_grad():
    z = Tensor(np.array([1 + 2j]))
    assert z.dtype == np.complex128
    with pytest.raises(TypeError, match=r"requires_grad: only floating-point tensors.*complex128"):
        z.requires_grad_()


def test_a_custom_forward_returning_something_else_than_an_array_is_named():
    class ReturnsNone(Function):
        @staticmethod
        def forward(ctx, x):
            return None

    with pytest.raises(TypeError, match=r"returnsnone: forward returned None"):
        ReturnsNone.apply(Tensor(np.ones(2)))


def test_a_custom_backward_returning_a_string_is_named():
    class ReturnsText(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return "oops"

    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match=r"ReturnsText.backward returned 'oops' as the gradient of input 0"):
        ReturnsText.apply(x).sum().backward()


def test_zz_enough_cases_were_tried():
    # runs last in this file: every row above added its examples (hypothesis may stop a row early when it
    # runs out of distinct values, e.g. a row whose bad value is st.just(0))
    print(f"\nbad-input cases tried: {len(CASES_TRIED)} over {len(CASES)} op rows and {len(FACTORY_CASES)} "
          "factory rows")
    if len(CASES_TRIED) >= len(CASES):  # the whole file ran (not a -k selection)
        assert len(set(CASES_TRIED)) >= 80  # distinct ops, methods and factories named
        assert len(CASES_TRIED) >= 2000
