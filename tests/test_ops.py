"""Property tests of every differentiable op: forward values against NumPy, gradients (and second
derivatives) against central differences in float64, across random shapes, broadcasting and axes.

Everything is drawn with the shipped tools of ``tinygrad_dl.testing``; inputs stay away from kinks and
ties (see the strategies' ``away_from`` and ``distinct_values``) so no run can flake.
"""
import operator

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_dl as tg
from tinygrad_dl import Tensor
from tinygrad_dl.testing import (arrays, assert_gradients_match, broadcastable_shapes, check_gradients,
                                 distinct_values, index_expressions, shapes, valid_axes)

# Second derivatives cost a backward pass per numerical difference: draw fewer, smaller examples.
FEW = max(5, settings.default.max_examples // 4)
second_order = settings(max_examples=FEW)
small_shapes = shapes(max_dims=2, max_side=3)


def arrays_for(shape_tuples, *options):
    """One array per drawn shape; ``options[i]`` are the ``arrays()`` keywords of the i-th input."""
    return shape_tuples.flatmap(lambda shape_tuple: st.tuples(
        *(arrays(shape=shape, **opts) for shape, opts in zip(shape_tuple, options))))


# ----------------------------------------------------------------------------------------------------
# Binary elementwise ops with broadcasting

POSITIVE = dict(min_value=0.2, max_value=3.0)
NONZERO = dict(away_from=0, margin=0.5)  # divisors: |b| >= 0.5 keeps 1/b^2 and 1/b^3 tame

BINARY = {
    "add": (operator.add, np.add, {}, {}),
    "sub": (operator.sub, np.subtract, {}, {}),
    "mul": (operator.mul, np.multiply, {}, {}),
    "div": (operator.truediv, np.divide, {}, NONZERO),
    "pow": (operator.pow, np.power, dict(min_value=0.5, max_value=2.5), dict(min_value=-2.0, max_value=2.0)),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_broadcasting(name, data):
    op, reference, options_a, options_b = BINARY[name]
    a, b = data.draw(arrays_for(broadcastable_shapes(), options_a, options_b))
    assert_gradients_match(op, a, b, reference=reference)


@pytest.mark.parametrize("name", BINARY)
@second_order
@given(data=st.data())
def test_binary_op_second_order(name, data):
    op, reference, options_a, options_b = BINARY[name]
    a, b = data.draw(arrays_for(broadcastable_shapes(max_dims=2, max_side=3), options_a, options_b))
    assert_gradients_match(op, a, b, second_order=True)


REFLECTED = {
    "scalar - t": (lambda t: 2.5 - t, lambda x: 2.5 - x, {}),
    "scalar + t": (lambda t: 2.5 + t, lambda x: 2.5 + x, {}),
    "scalar * t": (lambda t: 2.5 * t, lambda x: 2.5 * x, {}),
    "scalar / t": (lambda t: 2.5 / t, lambda x: 2.5 / x, NONZERO),
    "scalar ** t": (lambda t: 2.5 ** t, lambda x: 2.5 ** x, {}),
    "t ** scalar": (lambda t: t ** 3, lambda x: x ** 3, {}),
    "t ** -0.5": (lambda t: t ** -0.5, lambda x: x ** -0.5, POSITIVE),
    "array - t": (lambda t: np.linspace(-1, 1, 3) - t, lambda x: np.linspace(-1, 1, 3) - x, {}),
    "array * t": (lambda t: np.linspace(-1, 1, 3) * t, lambda x: np.linspace(-1, 1, 3) * x, {}),
    "array / t": (lambda t: np.linspace(-1, 1, 3) / t, lambda x: np.linspace(-1, 1, 3) / x, NONZERO),
}


@pytest.mark.parametrize("name", REFLECTED)
@given(data=st.data())
def test_reflected_operators_with_scalars_and_arrays(name, data):
    op, reference, options = REFLECTED[name]
    x = data.draw(arrays(shape=shapes(max_dims=2, max_side=3).map(lambda s: s[:-1] + (3,) if s else (3,)),
                         **options))
    assert isinstance(op(Tensor(x)), Tensor)
    assert_gradients_match(op, x, reference=reference)


# ----------------------------------------------------------------------------------------------------
# matmul: 1-D, 2-D, batched, broadcast batch dimensions


@st.composite
def matmul_operands(draw, max_batch_dims=2):
    """Operands of every matmul form: each side 1-D, 2-D or batched; batch dimensions broadcast."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=max_batch_dims, max_side=3))
    a_is_vector, b_is_vector = draw(st.booleans()), draw(st.booleans())
    shape_a = (k,) if a_is_vector else batch_a + (m, k)
    shape_b = (k,) if b_is_vector else batch_b + (k, n)
    return draw(arrays(shape=shape_a)), draw(arrays(shape=shape_b))


@given(matmul_operands())
def test_matmul(operands):
    assert_gradients_match(operator.matmul, *operands, reference=np.matmul)


@given(matmul_operands())
def test_matmul_function_and_reflected_numpy_left_operand(operands):
    a, b = operands
    assert_gradients_match(tg.matmul, a, b, reference=np.matmul)
    assert_gradients_match(lambda t: a @ t, b, reference=lambda y: a @ y)  # ndarray @ Tensor


@second_order
@given(matmul_operands(max_batch_dims=1))
def test_matmul_second_order(operands):
    assert_gradients_match(operator.matmul, *operands, second_order=True)


# ----------------------------------------------------------------------------------------------------
# Unary elementwise ops


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = {
    "neg": (operator.neg, np.negative, {}),
    "exp": (Tensor.exp, np.exp, {}),
    "log": (Tensor.log, np.log, POSITIVE),
    "sqrt": (Tensor.sqrt, np.sqrt, POSITIVE),
    "tanh": (Tensor.tanh, np.tanh, {}),
    "sigmoid": (Tensor.sigmoid, _sigmoid, {}),
    "relu": (Tensor.relu, lambda x: np.maximum(x, 0), dict(away_from=0)),
    "abs": (Tensor.abs, np.abs, dict(away_from=0)),
    "abs()": (abs, np.abs, dict(away_from=0)),
    "module exp": (tg.exp, np.exp, {}),
    "module log": (tg.log, np.log, POSITIVE),
    "module sqrt": (tg.sqrt, np.sqrt, POSITIVE),
    "module tanh": (tg.tanh, np.tanh, {}),
    "module sigmoid": (tg.sigmoid, _sigmoid, {}),
    "module relu": (tg.relu, lambda x: np.maximum(x, 0), dict(away_from=0)),
    "module abs": (tg.abs, np.abs, dict(away_from=0)),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op(name, data):
    op, reference, options = UNARY[name]
    x = data.draw(arrays(**options))
    assert_gradients_match(op, x, reference=reference)


@pytest.mark.parametrize("name", [n for n in UNARY if not n.startswith("module")])
@second_order
@given(data=st.data())
def test_unary_op_second_order(name, data):
    op, _, options = UNARY[name]
    x = data.draw(arrays(shape=small_shapes, **options))
    assert_gradients_match(op, x, second_order=True)


# maximum / minimum: all values distinct, so no element sits on the tie where the gradient jumps
@pytest.mark.parametrize("op, reference", [(Tensor.maximum, np.maximum), (Tensor.minimum, np.minimum),
                                           (tg.maximum, np.maximum), (tg.minimum, np.minimum)])
@given(pair=distinct_values(broadcastable_shapes()))
def test_maximum_minimum(op, reference, pair):
    assert_gradients_match(op, *pair, reference=reference)


@pytest.mark.parametrize("op", [Tensor.maximum, Tensor.minimum])
@second_order
@given(pair=distinct_values(broadcastable_shapes(max_dims=2, max_side=3)))
def test_maximum_minimum_second_order(op, pair):
    assert_gradients_match(op, *pair, second_order=True)


@st.composite
def clip_case(draw):
    """Bounds (either may be None) and values at least 0.1 away from both bounds."""
    low = draw(st.none() | st.floats(-2.0, 0.0))
    high = draw(st.none() | st.floats(0.5, 2.0))
    kinks = [b for b in (low, high) if b is not None]
    return draw(arrays(away_from=kinks or None)), low, high


@given(clip_case())
def test_clip(case):
    x, low, high = case
    assert_gradients_match(lambda t: t.clip(low, high), x, reference=lambda v: np.clip(v, low, high))
    assert_gradients_match(lambda t: tg.clip(t, low, high), x, reference=lambda v: np.clip(v, low, high))


@second_order
@given(clip_case())
def test_clip_second_order(case):
    x, low, high = case
    assert_gradients_match(lambda t: t.clip(low, high) ** 2, x, second_order=True)


@given(data=st.data())
def test_where(data):
    shape_c, shape_x, shape_y = data.draw(broadcastable_shapes(num_shapes=3))
    condition = data.draw(arrays(shape=shape_c)) > 0
    x, y = data.draw(arrays(shape=shape_x)), data.draw(arrays(shape=shape_y))
    assert_gradients_match(lambda a, b: tg.where(condition, a, b), x, y,
                           reference=lambda a, b: np.where(condition, a, b))
    # a bool Tensor works as the condition too
    assert_gradients_match(lambda a, b: tg.where(Tensor(condition), a, b), x, y)


@second_order
@given(data=st.data())
def test_where_second_order(data):
    shape_c, shape_x, shape_y = data.draw(broadcastable_shapes(num_shapes=3, max_dims=2, max_side=3))
    condition = data.draw(arrays(shape=shape_c)) > 0
    x, y = data.draw(arrays(shape=shape_x)), data.draw(arrays(shape=shape_y))
    assert_gradients_match(lambda a, b: tg.where(condition, a * a, b * a.sum()), x, y, second_order=True)


# ----------------------------------------------------------------------------------------------------
# Reductions: axis None / int / negative / tuple (empty included), keepdims


def _logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {
    "sum": (Tensor.sum, np.sum),
    "mean": (Tensor.mean, np.mean),
    "var": (Tensor.var, np.var),
    "logsumexp": (Tensor.logsumexp, _logsumexp),
    "module sum": (tg.sum, np.sum),
    "module mean": (tg.mean, np.mean),
    "module var": (tg.var, np.var),
    "module logsumexp": (tg.logsumexp, _logsumexp),
}


@st.composite
def array_axis_keepdims(draw, array_shapes=shapes(), distinct=False):
    shape = draw(array_shapes)
    x = draw(distinct_values(shape))[0] if distinct else draw(arrays(shape=shape))
    return x, draw(valid_axes(shape)), draw(st.booleans())


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=array_axis_keepdims())
def test_reduction(name, case):
    op, reference = REDUCTIONS[name]
    x, axis, keepdims = case
    assert_gradients_match(lambda t: op(t, axis=axis, keepdims=keepdims), x,
                           reference=lambda v: reference(v, axis=axis, keepdims=keepdims))


@given(case=array_axis_keepdims(), ddof=st.integers(0, 2))
def test_var_ddof(case, ddof):
    x, axis, keepdims = case
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    assume(count > ddof)
    assert_gradients_match(lambda t: t.var(axis=axis, keepdims=keepdims, ddof=ddof), x,
                           reference=lambda v: np.var(v, axis=axis, keepdims=keepdims, ddof=ddof))


@pytest.mark.parametrize("op, reference", [(Tensor.max, np.max), (Tensor.min, np.min),
                                           (tg.max, np.max), (tg.min, np.min)])
@given(case=array_axis_keepdims(distinct=True))
def test_max_min_reduction(op, reference, case):
    x, axis, keepdims = case
    assert_gradients_match(lambda t: op(t, axis=axis, keepdims=keepdims), x,
                           reference=lambda v: reference(v, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp", "max", "min"])
@second_order
@given(data=st.data())
def test_reduction_second_order(name, data):
    x, axis, keepdims = data.draw(array_axis_keepdims(small_shapes, distinct=name in ("max", "min")))
    op = getattr(Tensor, name)
    # squared, so that the second derivative of the linear reductions is not trivially zero
    assert_gradients_match(lambda t: op(t, axis=axis, keepdims=keepdims) ** 2, x, second_order=True)


@given(case=array_axis_keepdims(distinct=True))
def test_argmax_argmin_are_plain_integer_tensors(case):
    x, axis, keepdims = case
    assume(not isinstance(axis, tuple))
    t = Tensor(x, requires_grad=True)
    for method, reference in ((t.argmax, np.argmax), (t.argmin, np.argmin)):
        result = method(axis=axis, keepdims=keepdims)
        assert result.grad_fn is None and not result.requires_grad
        np.testing.assert_array_equal(result.data, reference(x, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(tg.argmax(t, axis).data, np.argmax(x, axis))
    np.testing.assert_array_equal(tg.argmin(t, axis).data, np.argmin(x, axis))


@given(pair=distinct_values(broadcastable_shapes()))
def test_comparisons_are_not_differentiable(pair):
    a, b = pair
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
        result = op(ta, tb)
        assert result.dtype == np.bool_ and result.grad_fn is None and not result.requires_grad
        np.testing.assert_array_equal(result.data, op(a, b))


# ----------------------------------------------------------------------------------------------------
# Movement ops


@st.composite
def reshape_case(draw):
    """An array and another shape with the same number of elements (one side may be -1)."""
    x = draw(arrays())
    remaining, target = x.size, []
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, remaining + 1) if remaining % d == 0]
        side = draw(st.sampled_from(divisors))
        target.append(side)
        remaining //= side
    target.append(remaining)
    target = draw(st.permutations(target))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return x, tuple(target)


@given(reshape_case())
def test_reshape(case):
    x, target = case
    assert_gradients_match(lambda t: t.reshape(target), x, reference=lambda v: v.reshape(target))
    assert_gradients_match(lambda t: t.reshape(*target), x, reference=lambda v: v.reshape(target))
    assert_gradients_match(lambda t: tg.reshape(t, target), x, reference=lambda v: v.reshape(target))


@st.composite
def transpose_case(draw):
    x = draw(arrays())
    axes = draw(st.none() | st.permutations(range(x.ndim)).map(tuple))
    if axes is not None and draw(st.booleans()):
        axes = tuple(a - x.ndim for a in axes)  # the same permutation written with negative axes
    return x, axes


@given(transpose_case())
def test_transpose(case):
    x, axes = case
    assert_gradients_match(lambda t: tg.transpose(t, axes), x, reference=lambda v: np.transpose(v, axes))
    if axes is not None:
        assert_gradients_match(lambda t: t.transpose(axes), x, reference=lambda v: np.transpose(v, axes))
        assert_gradients_match(lambda t: t.transpose(*axes), x, reference=lambda v: np.transpose(v, axes))
    else:
        assert_gradients_match(lambda t: t.transpose(), x, reference=lambda v: v.transpose())


def test_transpose_method_accepts_none_like_numpy():
    # ndarray.transpose(None) reverses the axes; Tensor.transpose should too
    x = np.arange(6.0).reshape(2, 3)
    assert_gradients_match(lambda t: t.transpose(None), x, reference=lambda v: v.transpose(None))


@given(arrays())
def test_T(x):
    assert_gradients_match(lambda t: t.T, x, reference=lambda v: v.T)


@st.composite
def two_axes_case(draw):
    x = draw(arrays(shape=shapes(min_dims=1)))
    axis = st.integers(-x.ndim, x.ndim - 1)
    return x, draw(axis), draw(axis)


@given(two_axes_case())
def test_swapaxes(case):
    x, axis1, axis2 = case
    assert_gradients_match(lambda t: t.swapaxes(axis1, axis2), x,
                           reference=lambda v: np.swapaxes(v, axis1, axis2))
    assert_gradients_match(lambda t: tg.swapaxes(t, axis1, axis2), x,
                           reference=lambda v: np.swapaxes(v, axis1, axis2))


@st.composite
def squeeze_case(draw):
    """Shapes with sides of 1, and an axis that names only such sides (or None)."""
    shape = draw(shapes(max_dims=4, max_side=3).map(lambda s: tuple(1 if n == 3 else n for n in s)))
    ones = [i for i, n in enumerate(shape) if n == 1]
    options = st.none()
    if ones:
        options = options | st.sampled_from(ones) | st.lists(st.sampled_from(ones), unique=True).map(tuple)
    return draw(arrays(shape=shape)), draw(options)


@given(squeeze_case())
def test_squeeze(case):
    x, axis = case
    assert_gradients_match(lambda t: t.squeeze(axis), x, reference=lambda v: np.squeeze(v, axis))
    assert_gradients_match(lambda t: tg.squeeze(t, axis), x, reference=lambda v: np.squeeze(v, axis))


@st.composite
def expand_dims_case(draw):
    x = draw(arrays())
    return x, draw(st.integers(-x.ndim - 1, x.ndim))


@given(expand_dims_case())
def test_expand_dims(case):
    x, axis = case
    assert_gradients_match(lambda t: t.expand_dims(axis), x, reference=lambda v: np.expand_dims(v, axis))
    assert_gradients_match(lambda t: tg.expand_dims(t, axis), x, reference=lambda v: np.expand_dims(v, axis))


@st.composite
def flatten_case(draw):
    x = draw(arrays(shape=shapes(min_dims=1, max_dims=4, max_side=3)))
    start = draw(st.integers(-x.ndim, x.ndim - 1))
    end = draw(st.integers(start % x.ndim, x.ndim - 1))
    if draw(st.booleans()):
        end -= x.ndim
    return x, start, end


def _numpy_flatten(v, start, end):
    start, end = start % v.ndim, end % v.ndim
    return v.reshape(v.shape[:start] + (-1,) + v.shape[end + 1:])


@given(flatten_case())
def test_flatten(case):
    x, start, end = case
    assert_gradients_match(lambda t: t.flatten(start, end), x, reference=lambda v: _numpy_flatten(v, start, end))
    assert_gradients_match(lambda t: tg.flatten(t, start, end), x,
                           reference=lambda v: _numpy_flatten(v, start, end))
    assert_gradients_match(Tensor.flatten, x, reference=np.ravel)


@given(data=st.data())
def test_broadcast_to(data):
    shape, other = data.draw(broadcastable_shapes())
    target = np.broadcast_shapes(shape, other)
    x = data.draw(arrays(shape=shape))
    assert_gradients_match(lambda t: t.broadcast_to(target), x, reference=lambda v: np.broadcast_to(v, target))
    assert_gradients_match(lambda t: tg.broadcast_to(t, target), x,
                           reference=lambda v: np.broadcast_to(v, target))


@st.composite
def pad_case(draw):
    x = draw(arrays(shape=shapes(min_dims=1)))
    form = draw(st.sampled_from(["per axis", "same for all", "one int"]))
    if form == "per axis":
        width = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    elif form == "same for all":
        width = ((draw(st.integers(0, 2)), draw(st.integers(0, 2))),)
    else:
        width = draw(st.integers(0, 2))
    return x, width, draw(st.sampled_from([0, 1.5, -2.0]))


@given(pad_case())
def test_pad(case):
    x, width, value = case
    assert_gradients_match(lambda t: t.pad(width, constant_values=value), x,
                           reference=lambda v: np.pad(v, width, constant_values=value))
    assert_gradients_match(lambda t: tg.pad(t, width, value), x,
                           reference=lambda v: np.pad(v, width, constant_values=value))


@st.composite
def getitem_case(draw):
    x = draw(arrays(shape=shapes(max_dims=3, max_side=4)))
    return x, draw(index_expressions(x.shape))


@given(getitem_case())
def test_getitem(case):
    x, index = case
    assert_gradients_match(lambda t: t[index], x, reference=lambda v: v[index])


@given(getitem_case())
def test_getitem_with_tensor_index(case):
    x, index = case
    parts = index if isinstance(index, tuple) else (index,)
    tensor_index = tuple(Tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
    assert_gradients_match(lambda t: t[tensor_index], x, reference=lambda v: v[parts])


def test_getitem_repeated_integer_indices_accumulate():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 2, 2, -1, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 2.0, 1.0])
    y = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y[[1, 1], [2, 2]].sum().backward()  # a list index, picking (1, 2) twice
    np.testing.assert_array_equal(y.grad.data, [[0, 0, 0], [0, 0, 2]])


@second_order
@given(getitem_case())
def test_getitem_second_order(case):
    x, index = case
    assert_gradients_match(lambda t: (t * t)[index], x, second_order=True)


@st.composite
def concatenate_case(draw):
    """2 or 3 arrays equal in every side except along ``axis`` (drawn negative at times)."""
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        piece_shape = list(shape)
        piece_shape[axis] = draw(st.integers(1, 3))
        pieces.append(draw(arrays(shape=tuple(piece_shape))))
    return pieces, axis


@given(concatenate_case())
def test_concatenate(case):
    pieces, axis = case
    assert_gradients_match(lambda *ts: tg.concatenate(ts, axis=axis), *pieces,
                           reference=lambda *vs: np.concatenate(vs, axis=axis))


@st.composite
def stack_case(draw):
    shape = draw(shapes())
    count = draw(st.integers(1, 3))
    pieces = [draw(arrays(shape=shape)) for _ in range(count)]
    return pieces, draw(st.integers(-len(shape) - 1, len(shape)))


@given(stack_case())
def test_stack(case):
    pieces, axis = case
    assert_gradients_match(lambda *ts: tg.stack(ts, axis=axis), *pieces,
                           reference=lambda *vs: np.stack(vs, axis=axis))


@st.composite
def split_case(draw):
    x = draw(arrays(shape=shapes(min_dims=1, max_side=6)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    length = x.shape[axis]
    if draw(st.booleans()):
        sections = draw(st.sampled_from([d for d in range(1, length + 1) if length % d == 0]))
    else:
        sections = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
    return x, sections, axis


@given(split_case())
def test_split(case):
    x, sections, axis = case
    pieces = tg.split(Tensor(x), sections, axis=axis)
    expected = np.split(x, sections, axis=axis)
    assert len(pieces) == len(expected)
    for piece, reference in zip(pieces, expected):
        np.testing.assert_array_equal(piece.data, reference)
    # weight each piece differently, so a gradient routed to the wrong piece shows
    assert_gradients_match(lambda t: tg.concatenate([p * (i + 1) for i, p in enumerate(tg.split(t, sections, axis))],
                                                    axis=axis), x)


@second_order
@given(data=st.data())
def test_movement_ops_second_order(data):
    x = data.draw(arrays(shape=shapes(min_dims=2, max_dims=2, max_side=3)))
    rows, cols = x.shape
    movements = [
        lambda t: t.reshape(-1),
        lambda t: t.T,
        lambda t: t.transpose(1, 0),
        lambda t: t.swapaxes(0, 1),
        lambda t: t.expand_dims(0).squeeze(0),
        lambda t: t.flatten(),
        lambda t: t.broadcast_to((2, rows, cols)),
        lambda t: t.pad(((1, 0), (0, 2))),
        lambda t: t[::-1, np.array([0, 0, cols - 1])],
        lambda t: tg.concatenate([t, t[:1]], axis=0),
        lambda t: tg.stack([t, 2 * t], axis=-1),
    ]
    for move in movements:
        # multiplied by itself: a movement op alone is linear and has a zero second derivative
        assert_gradients_match(lambda t: move(t) * move(t), x, second_order=True)


# ----------------------------------------------------------------------------------------------------
# astype


@given(arrays(dtype=np.float64))
def test_astype_casts_forward_and_casts_the_gradient_back(x):
    t = Tensor(x, requires_grad=True)
    low = t.astype(np.float32)
    assert low.dtype == np.float32
    np.testing.assert_array_equal(low.data, x.astype(np.float32))
    weights = np.linspace(-1, 1, x.size, dtype=np.float32).reshape(x.shape)
    (low * weights).sum().backward()
    assert t.grad.dtype == np.float64
    np.testing.assert_array_equal(t.grad.data, weights.astype(np.float64))
    assert_gradients_match(lambda v: v.astype(np.float64) * v, x, reference=lambda v: v * v)
    assert_gradients_match(lambda v: v.double().exp(), x, reference=np.exp)


@given(arrays(dtype=np.float32))
def test_float32_to_float64_and_back(x):
    t = Tensor(x, requires_grad=True)
    wide = t.double()
    assert wide.dtype == np.float64
    (wide * 3.0).float().sum().backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_array_equal(t.grad.data, np.full(x.shape, 3.0, np.float32))


# ----------------------------------------------------------------------------------------------------
# float32 stays float32: forward values and grads, with Python scalars mixed in

FLOAT32_CASES = {
    "t * 2.5": (lambda t: t * 2.5, {}),
    "2.5 - t": (lambda t: 2.5 - t, {}),
    "t / 3": (lambda t: t / 3, {}),
    "3 / t": (lambda t: 3 / t, NONZERO),
    "t ** 2": (lambda t: t ** 2, {}),
    "t ** 0.5": (lambda t: t ** 0.5, POSITIVE),
    "2 ** t": (lambda t: 2 ** t, {}),
    "exp": (lambda t: t.exp(), {}),
    "log": (lambda t: t.log(), POSITIVE),
    "sqrt": (lambda t: t.sqrt(), POSITIVE),
    "tanh": (lambda t: t.tanh(), {}),
    "sigmoid": (lambda t: t.sigmoid(), {}),
    "relu": (lambda t: t.relu(), dict(away_from=0)),
    "abs": (lambda t: abs(t), dict(away_from=0)),
    "clip": (lambda t: t.clip(-1.0, 1.0), dict(away_from=[-1, 1])),
    "maximum scalar": (lambda t: t.maximum(0.5), dict(away_from=0.5)),
    "mean": (lambda t: t.mean(axis=0), {}),
    "var": (lambda t: t.var(axis=-1, ddof=1) + 1.0, {}),
    "logsumexp": (lambda t: t.logsumexp(axis=-1), {}),
    "max": (lambda t: t.max(axis=0), {}),
    "matmul": (lambda t: t @ t.T, {}),
    "getitem": (lambda t: t[np.array([0, 0, 1]), ::-1], {}),
    "pad": (lambda t: t.pad(1, constant_values=0.5), {}),
    "where": (lambda t: tg.where(t.data > 0, t, 2.0 * t), dict(away_from=0)),
}


@pytest.mark.parametrize("name", FLOAT32_CASES)
@given(data=st.data())
def test_float32_with_python_scalars_stays_float32(name, data):
    op, options = FLOAT32_CASES[name]
    x = data.draw(arrays(dtype=np.float32, shape=shapes(min_dims=2, max_dims=2, min_side=2), **options))
    if name == "max":
        x = data.draw(distinct_values(x.shape, dtype=np.float32))[0]
    t = Tensor(x, requires_grad=True)
    out = op(t)
    assert out.dtype == np.float32, f"{name}: forward gave {out.dtype}"
    expected = op(Tensor(x.astype(np.float64))).data
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert t.grad.dtype == np.float32, f"{name}: grad is {t.grad.dtype}"
    t64 = Tensor(x.astype(np.float64), requires_grad=True)
    op(t64).backward(np.ones(out.shape))
    np.testing.assert_allclose(t.grad.data, t64.grad.data, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------------------------
# The shipped helper itself, used the way the module docstring shows

test_softplus_via_check_gradients = check_gradients(
    lambda t: (1 + t.exp()).log(), arrays(shape=shapes(max_dims=2)),
    reference=lambda v: np.logaddexp(0, v), second_order=True, max_examples=FEW)
