"""The shortcuts taken for speed give exactly what the plain computation gives.

Each fast path (slice gradients added straight into one array, leaf gradients accumulated in place, the
in-place sigmoid, tanh's and sigmoid's gradients in one array, the bias gradient by ones @ grad, Linear's products
by ndarray.dot, the loss's fused backward, the gradient reductions of broadcast inputs, the per-thread scope a
module call switches itself, Linear's three-input recording, the optimizer's shortcut for plain SGD, gradients
stored as arrays until ``.grad`` is read, the LSTM's loops without temporaries, 0-d arrays in place of Python
numbers) is checked against the computation it replaces, bit for bit where the old code's arithmetic is kept, and
against central differences where it is a new gradient path. (The ops' ``exact_grads`` claims are tested in
test_engine.py.)
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_dl as tg
import tinygrad_dl.nn.functional as F
from tinygrad_dl import AnomalyError, Tensor, detect_anomaly, generic, gradcheck, name_scope, nn, optim
from tinygrad_dl.autograd import run_backward


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------------------------------
# Slice gradients: the pieces of x go into one accumulated array


@st.composite
def basic_index(draw, shape):
    """A basic index for ``shape``: per axis an int, a slice (negative steps too), or nothing; maybe a None
    or an Ellipsis."""
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start, stop = draw(st.integers(-n, n)), draw(st.integers(-n, n))
            parts.append(slice(start, stop, draw(st.sampled_from([1, 2, -1]))))
        else:
            parts.append(slice(None))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if parts and draw(st.booleans()):
        cut = draw(st.integers(0, len(parts) - 1))
        parts = parts[:cut] + [Ellipsis]
    return tuple(parts)


def scattered(shape, pieces):
    """Reference gradient of sum_k w_k * x[index_k] with respect to x: np.add.at of each weight array."""
    total = np.zeros(shape)
    for index, weight in pieces:
        view = np.zeros(shape)
        view[index] = weight
        total += view
    return total


@given(st.data())
def test_slices_of_a_leaf_and_of_a_node_add_up(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    indices = [data.draw(basic_index(shape)) for _ in range(data.draw(st.integers(1, 4)))]
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = leaf(rng.standard_normal(shape))
    through_node = data.draw(st.booleans())
    source = x * 1.0 if through_node else x  # a slice of a node, or of the leaf itself
    pieces = []
    total = None
    for index in indices:
        part = source[index]
        weight = rng.standard_normal(part.shape)
        pieces.append((index, weight))
        term = (part * weight).sum()
        total = term if total is None else total + term
    if data.draw(st.booleans()):  # a dense contribution as well: the slices add to an array the engine got
        total = total + (source * 0.5).sum()
        pieces.append(((Ellipsis,), np.full(shape, 0.5)))
    total.backward()
    np.testing.assert_allclose(x.grad.data, scattered(shape, pieces), rtol=1e-12, atol=1e-12)


def lstm_gates_loss(pre):
    i, f, g, o = pre[:, :2].sigmoid(), pre[:, 2:4].sigmoid(), pre[:, 4:6].tanh(), pre[:, 6:].sigmoid()
    return (f * i + g * o).sum()


def test_the_four_gates_of_an_lstm_step():
    values = np.random.default_rng(0).standard_normal((3, 8))
    assert gradcheck(lambda t: lstm_gates_loss(t * 2.0), [leaf(values)])
    assert gradcheck(lstm_gates_loss, [leaf(values)])  # slices of the leaf itself


def test_one_element_picked_by_ints_on_every_axis():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x[0, 1] * 3 + x[0, 1] * 2 + x[1, 0]).backward()  # the same element twice, as NumPy scalars
    np.testing.assert_array_equal(x.grad.data, [[0.0, 5.0], [1.0, 0.0]])


def test_split_pieces_each_get_their_gradient():
    x = leaf(np.arange(12.0).reshape(3, 4))
    a, b = tg.split(x, 2, axis=1)
    (a * 2 + b * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2, 3, 3]] * 3)


def test_slice_gradients_second_order():
    x = leaf([0.3, -0.7, 1.1, 0.4])
    assert tg.gradgradcheck(lambda t: (t[:2] * t[2:] * t[1:3]).sum(), [x])


def test_a_nan_in_a_slice_gradient_is_caught_by_anomaly_mode():
    x = leaf([1.0, -1.0, 4.0])
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        (x * 1.0)[:2].backward(np.array([np.nan, 1.0]))  # the slice's gradient is the first to hold the NaN
    assert caught.value.phase == "backward" and caught.value.node.name == "GetItem"


def test_traced_backward_sees_dense_slice_gradients():
    x = leaf(np.ones((2, 3)))
    y = x * 2.0
    loss = (y[:, 0] + y[:, 2]).sum()
    seen = []
    run_backward(loss, on_step=lambda step, node, grad, grads: seen.append((node.name, grads)))
    for name, grads in seen:
        if name == "GetItem":
            assert type(grads[0]) is np.ndarray and grads[0].shape == (2, 3)


def test_retain_grad_of_a_sliced_node_and_grad_of_inputs():
    x = leaf(np.arange(6.0))
    y = (x * 1.0).retain_grad()
    (y[:3].sum() * 2 + y[2:].sum()).backward()
    np.testing.assert_array_equal(y.grad.data, [2, 2, 3, 1, 1, 1])
    x2 = leaf(np.arange(6.0))
    (gx,) = tg.grad((x2[:3] * 2).sum() + x2[2:].sum(), [x2])
    np.testing.assert_array_equal(gx.data, [2, 2, 3, 1, 1, 1])


# ----------------------------------------------------------------------------------------------------
# Leaf gradients accumulated in place, and the reductions of broadcast inputs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_leaf_used_many_times_gets_every_contribution(dtype):
    w = leaf([[1.0, 2.0], [3.0, 4.0]], dtype)
    b = leaf([0.5, -0.5], dtype)
    total = None
    for k in range(1, 6):  # w.T and b broadcast over a batch, five times: five contributions each
        term = ((np.full((3, 2), k, dtype) @ w.T + b) * k).sum()
        total = term if total is None else total + term
    total.backward()
    squares = sum(k * k for k in range(1, 6))  # 55
    np.testing.assert_array_equal(w.grad.data, np.full((2, 2), 3 * squares, dtype))
    np.testing.assert_array_equal(b.grad.data, np.full(2, 3 * sum(range(1, 6)), dtype))
    assert w.grad.dtype == dtype and b.grad.dtype == dtype


def test_leaves_do_not_share_gradient_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b + a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 2.0


@pytest.mark.parametrize("view", ["reshape", "transpose", "slice"])
def test_leaves_do_not_share_gradient_memory_through_a_view(view):
    """A view of the gradient one leaf receives (reshape, transpose, a basic slice pass it on as a view) must not
    become another leaf's .grad: an in-place change of one gradient (hand-made scaling) would change the other."""
    rng = np.random.default_rng(9)
    a, b = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal(6))
    seed = rng.standard_normal(6)
    moved = {"reshape": lambda: a.reshape(6), "transpose": lambda: a.T.reshape(6),
             "slice": lambda: a[:, :].reshape(6)}[view]()
    (moved + b).backward(seed)
    expected_b = b.grad.data.copy()
    a.grad.data[...] = 0.0
    np.testing.assert_array_equal(b.grad.data, expected_b)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    c, d = leaf(rng.standard_normal(6)), leaf(rng.standard_normal((2, 3)))  # the view second
    (c + d.reshape(6)).backward(seed)
    assert not np.shares_memory(c.grad.data, d.grad.data)


@given(st.sampled_from([((4, 3), (3,)), ((4, 3), (1, 3)), ((2, 4, 3), (3,)), ((2, 4, 3), (4, 1)),
                        ((2, 4, 3), (1, 1, 1)), ((5, 1), (1,)), ((4, 3), ())]), st.integers(0, 100))
def test_gradients_of_broadcast_inputs_are_summed_exactly(shapes, seed):
    big, small = shapes
    rng = np.random.default_rng(seed)
    x, b = leaf(rng.standard_normal(big)), leaf(rng.standard_normal(small))
    weights = rng.standard_normal(big)
    ((x + b) * weights).sum().backward()
    extra = len(big) - len(small)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(small) if n == 1 and big[i + extra] != 1)
    np.testing.assert_array_equal(b.grad.data, weights.sum(axis=axes, keepdims=True).reshape(small))


# ----------------------------------------------------------------------------------------------------
# The sigmoid, the bias gradient and the losses keep the course's arithmetic bit for bit


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_the_course_formula_bit_for_bit(dtype):
    x = np.concatenate([np.random.default_rng(1).standard_normal(200) * 30,
                        [-1000.0, 1000.0, 0.0, -0.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning for e^1000
        result = generic.sigmoid(x)
        via_op = Tensor(x).sigmoid().data
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x))
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(via_op, expected)
    assert result.dtype == dtype and result[-7] == 0.0 and result[-6] == 1.0
    assert np.isnan(result[-1])


@pytest.mark.parametrize("shape", [(), (1,), (400, 4), (3, 2, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_gradient_is_built_in_one_fresh_array(shape, dtype):
    """Tanh's backward squares the output into a new array and finishes it in place: bit for bit grad * (1 - out*out),
    with the output and the incoming gradient left as they were (a second backward gets the same)."""
    rng = np.random.default_rng(len(shape))
    x = leaf(rng.standard_normal(shape) * 2, dtype)
    out = x.tanh()
    out_before = out.data.copy()
    grad = rng.standard_normal(shape).astype(dtype)
    grad_before = grad.copy()
    out.backward(grad, retain_graph=True)
    expected = grad_before * (1 - out_before * out_before)
    np.testing.assert_array_equal(x.grad.data, expected)
    assert x.grad.dtype == dtype and x.grad.shape == shape
    np.testing.assert_array_equal(out.data, out_before)
    np.testing.assert_array_equal(grad, grad_before)
    x.grad = None
    out.backward(grad)
    np.testing.assert_array_equal(x.grad.data, expected)


@pytest.mark.parametrize("shape", [(), (7,), (5, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_relu_gradients_are_the_plain_products(shape, dtype):
    """sigmoid's gradient is (grad * s) * (1 - s) bit for bit (the course's order) in a new array; relu's is
    grad * (x > 0); both keep x's shape and dtype, 0-d included."""
    rng = np.random.default_rng(len(shape))
    values, grad = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    x = leaf(values, dtype)
    x.sigmoid().backward(grad)
    s = x.sigmoid().data
    assert type(x.grad.data) is np.ndarray and x.grad.shape == shape and x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.data, grad * s * (1 - s))
    y = leaf(values, dtype)
    y.relu().backward(grad)
    assert type(y.grad.data) is np.ndarray and y.grad.dtype == dtype
    np.testing.assert_array_equal(y.grad.data, grad * (values > 0))


def test_sigmoid_of_zero_d_and_integer_inputs():
    assert generic.sigmoid(np.float64(0.0)) == 0.5
    assert Tensor(np.array(0.0)).sigmoid().data.shape == ()
    np.testing.assert_allclose(generic.sigmoid(np.array([0, 1])), [0.5, 1 / (1 + np.exp(-1))])


@pytest.mark.parametrize("layout", ["C", "F", "strided", "3-d"])
@pytest.mark.parametrize("rows", [1, 7, 64, 400])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bias_gradient_is_the_column_sum(layout, rows, dtype):
    """Linear's bias gradient is ones @ grad (one BLAS call): any order of adding rows, so the test bounds its
    error the way any summation is bounded, (rows - 1) eps sum|g|, against the exact sums."""
    rng = np.random.default_rng(rows)
    columns = 5
    grad = (rng.standard_normal((rows, columns)) * 10.0 ** rng.uniform(-4, 4, (rows, 1))).astype(dtype)
    x_shape = (rows, 3)
    if layout == "F":
        grad = np.asfortranarray(grad)
    elif layout == "strided":
        grad = np.repeat(grad, 2, axis=1)[:, ::2]
    elif layout == "3-d":
        grad, x_shape = grad.reshape(1, rows, columns), (1, rows, 3)
    x = Tensor(rng.standard_normal(x_shape).astype(dtype))
    weight, bias = leaf(np.ones((columns, 3)), dtype), leaf(np.zeros(columns), dtype)
    F.linear(x, weight, bias).backward(grad)
    rows_of_grad = grad.reshape(-1, columns).astype(np.float64)
    exact = np.array([math.fsum(column) for column in rows_of_grad.T])
    bound = max(rows - 1, 1) * np.finfo(dtype).eps * np.abs(rows_of_grad).sum(axis=0)
    assert bias.grad.data.dtype == dtype
    assert np.all(np.abs(bias.grad.data - exact) <= bound)


@pytest.mark.parametrize("x_shape", [(7, 3), (1, 3), (3,), (2, 5, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_output_unit_takes_the_outer_product_by_np_dot(x_shape, dtype):
    """With out_features = 1 the input's gradient grad @ weight is an outer product (every entry one product), which
    np.dot computes for a third less than matmul: the same products bit for bit, in the input's shape."""
    rng = np.random.default_rng(len(x_shape))
    x = leaf(rng.standard_normal(x_shape), dtype)
    weight, bias = leaf(rng.standard_normal((1, 3)), dtype), leaf(rng.standard_normal(1), dtype)
    out = F.linear(x, weight, bias)
    grad = rng.standard_normal(out.shape).astype(dtype)
    out.backward(grad)
    expected = grad.reshape(-1, 1) @ weight.data
    assert x.grad.shape == x_shape and x.grad.dtype == dtype
    assert np.array_equal(x.grad.data, expected.reshape(x_shape))
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), [x.detach().astype(np.float64).requires_grad_(),
                                                         weight.detach().astype(np.float64).requires_grad_(),
                                                         bias.detach().astype(np.float64).requires_grad_()])


def test_the_bias_gradient_reuses_the_last_vector_of_ones():
    from tinygrad_dl.nn import _ops
    float32, float64 = np.dtype(np.float32), np.dtype(np.float64)  # (it is handed an array's dtype)
    first = _ops._ones(400, float64)
    assert _ops._ones(400, float64) is first and not first.flags.writeable
    assert _ops._ones(7, float64).shape == (7,) and _ops._ones(7, float32).dtype == np.float32
    assert _ops._ones(7, float64).dtype == np.float64 and _ops._ones(400, float64).shape == (400,)


def test_bias_gradients_as_batch_sizes_and_dtypes_alternate():
    """The one cached vector of ones follows every change of batch size and dtype."""
    rng = np.random.default_rng(5)
    for rows, dtype in [(3, np.float64), (5, np.float64), (3, np.float32), (3, np.float64), (1, np.float32)]:
        x = Tensor(rng.standard_normal((rows, 2)).astype(dtype))
        weight, bias = leaf(rng.standard_normal((4, 2)), dtype), leaf(np.zeros(4), dtype)
        grad = rng.standard_normal((rows, 4)).astype(dtype)
        F.linear(x, weight, bias).backward(grad)
        assert bias.grad.dtype == dtype
        np.testing.assert_allclose(bias.grad.data, grad.sum(axis=0), rtol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_follows_the_plain_formulas(dtype):
    """The loss is the plain stable formula bit for bit; the gradient is (sigmoid(z) - y) / n with sigmoid taken
    from forward's e^-|z|: bit for bit the course's 1 / (1 + e^-z) where z >= 0, within an ulp or two below."""
    rng = np.random.default_rng(3)
    z_values = (rng.standard_normal((50, 1)) * 4).astype(dtype)
    y = (rng.random((50, 1)) > 0.5).astype(dtype)
    z = Tensor(z_values.copy(), requires_grad=True)
    loss = nn.BCEWithLogitsLoss()(z, Tensor(y))
    loss.backward()
    losses = np.maximum(z_values, 0) - z_values * y + np.log1p(np.exp(-np.abs(z_values)))
    assert loss.data == losses.sum() / losses.size
    scale = np.array(1, dtype) * (1.0 / losses.size)
    plain = scale * (1 / (1 + np.exp(-z_values)) - y)
    nonnegative = z_values >= 0
    np.testing.assert_array_equal(z.grad.data[nonnegative], plain[nonnegative])
    np.testing.assert_allclose(z.grad.data, plain, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_of_a_fitted_model_keeps_its_tiny_loss(dtype):
    """Confident, right logits: each loss is about e^-|z|. Summing max(z, 0) + log(1 + e^-|z|) and z y apart (one dot
    product fewer) would cancel the large terms and leave rounding noise, zero or even a negative loss."""
    rng = np.random.default_rng(5)
    y = (rng.random((400, 1)) > 0.5).astype(dtype)
    z_values = (np.where(y == 1, 1, -1) * rng.uniform(15, 25, (400, 1))).astype(dtype)
    loss = nn.BCEWithLogitsLoss()(Tensor(z_values), Tensor(y))
    exact = np.mean(np.log1p(np.exp(-np.abs(z_values.astype(np.float64)))))
    assert loss.item() == pytest.approx(exact, rel=1e-5)


def test_bce_with_logits_gradient_does_not_overflow_for_very_negative_logits():
    z = leaf([[-800.0], [800.0], [-30.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        nn.BCEWithLogitsLoss()(z, Tensor(np.array([[0.0], [1.0], [1.0]]))).backward()
    np.testing.assert_allclose(z.grad.data, [[0.0], [0.0], [(1 / (1 + np.exp(30.0)) - 1) / 3]], rtol=1e-15)


def test_bce_with_logits_of_a_zero_d_logit():
    z = leaf(0.3)
    loss = F.binary_cross_entropy_with_logits(z, np.array(1.0))
    loss.backward()
    assert loss.item() == pytest.approx(np.log1p(np.exp(-0.3)))
    assert z.grad.item() == pytest.approx(1 / (1 + np.exp(-0.3)) - 1)


# ----------------------------------------------------------------------------------------------------
# name_scope.run, in-place methods, the optimizer's shortcut


def test_name_scope_run_is_a_with_block_in_one_call():
    outer = name_scope("outer")
    inner = name_scope("inner")

    def inside(value, factor=1):
        return tg.current_scope(), (leaf([value]) * factor).grad_fn.scope

    with outer:
        scope, node_scope = inner.run(inside, (1.0,), {"factor": 2})
    assert scope == node_scope == ("outer", "inner")
    assert inner.run(inside, (1.0,))[0] == ("inner",)  # the same scope object elsewhere: a new tuple

    def fails():
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        inner.run(fails)
    assert tg.current_scope() == ()


def test_a_module_call_restores_the_scope_when_forward_raises():
    """Module.__call__ switches the thread's scope itself: an exception in forward leaves the outer scope active, and
    the next call of the module labels its nodes as before."""
    class Failing(nn.Module):
        fail = True

        def forward(self, x):
            if self.fail:
                raise ValueError("inside forward")
            return x * 2

    module = Failing()
    with name_scope("outer"):
        with pytest.raises(ValueError, match="inside forward"):
            module(leaf([1.0]))
        assert tg.current_scope() == ("outer",)
        module.fail = False
        assert module(leaf([1.0])).grad_fn.scope == ("outer", "Failing")
    assert tg.current_scope() == ()


def test_each_thread_has_its_own_name_scope():
    """The active scope is per thread (each thread's own list): a scope entered in one thread labels none of the
    nodes another thread makes meanwhile, and a new thread starts at top level."""
    import threading

    entered, made = threading.Event(), threading.Event()
    seen = {}

    def other_thread():
        seen["start"] = tg.current_scope()
        with name_scope("worker"):
            entered.set()
            made.wait(5)
            seen["node"] = (leaf([1.0]) * 2).grad_fn.scope

    thread = threading.Thread(target=other_thread)
    with name_scope("main"):
        thread.start()
        entered.wait(5)
        main_node = (leaf([1.0]) * 2).grad_fn
        made.set()
        thread.join(5)
    assert seen == {"start": (), "node": ("worker",)}
    assert main_node.scope == ("main",) and tg.current_scope() == ()


def test_in_place_methods_keep_their_checks_and_names():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="sub_: a leaf tensor that requires grad"):
        w.sub_(1.0)
    with tg.no_grad():
        with pytest.raises(ValueError, match=r"add_: cannot update a float64 tensor of shape \(2,\) in place"):
            w.add_(np.ones(3))
        with pytest.raises(TypeError, match="mul_: cannot update"):
            w.mul_("a")
        w.sub_(np.array([0.5, 0.5]))
        w.div_(2.0)
    np.testing.assert_array_equal(w.data, [0.25, 0.75])
    assert w._version == 2
    assert Tensor.sub_.__name__ == "sub_"
    t = Tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"\+=: cannot update"):
        t += np.ones(3)
    saved = leaf([3.0])
    y = saved * saved
    with tg.no_grad():
        saved.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_plain_sgd_shortcut_and_its_subclasses():
    w = leaf([1.0, 2.0])
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])  # w - 0.5 * 2w
    assert w._version == 1

    class Halving(optim.SGD):
        def update_parameter(self, param, grad, state, group):
            param.sub_(0.5 * group["lr"] * grad)

    v = leaf([1.0, 2.0])
    Halving([v], lr=0.5).step() if v.grad is not None else None
    (v * v).sum().backward()
    Halving([v], lr=0.5).step()
    np.testing.assert_array_equal(v.data, [0.5, 1.0])


def test_plain_sgd_groups_next_to_a_group_with_momentum():
    """Plain groups take the shortcut, a group with momentum the general update; a parameter without a gradient
    is skipped; every update bumps its parameter's version once."""
    w, b, u, idle = leaf([1.0, 2.0]), leaf([3.0]), leaf([1.0, -1.0]), leaf([5.0])
    opt = optim.SGD([{"params": [w, idle]}, {"params": [u], "momentum": 0.9}, {"params": [b], "lr": 0.5}], lr=0.1)
    velocity = np.zeros(2)
    for step in range(2):
        opt.zero_grad()
        (w * w + u * u * 3).sum().backward()
        (b * 4).sum().backward()
        expected_w, expected_b = w.data - 0.1 * 2 * w.data, b.data - 0.5 * 4
        velocity = 0.9 * velocity + 6 * u.data
        expected_u = u.data - 0.1 * velocity
        opt.step()
        np.testing.assert_array_equal(w.data, expected_w)
        np.testing.assert_array_equal(b.data, expected_b)
        np.testing.assert_allclose(u.data, expected_u, rtol=1e-15)
    assert (w._version, b._version, u._version, idle._version) == (2, 2, 2, 0)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_plain_sgd_with_its_lr_as_a_0d_array_rounds_like_the_python_number(dtype):
    """The shortcut multiplies by lr as a 0-d array of the parameters' dtype (NumPy 2 spends time on a Python number):
    the same product as the Python number gives, bit for bit, in every float dtype; groups of two dtypes each get
    their own; a new lr is used at once."""
    rng = np.random.default_rng(7)
    small, wide = leaf(rng.standard_normal(5), dtype), leaf(rng.standard_normal(3), np.float64)
    opt = optim.SGD([small, wide], lr=0.1)
    for lr in (0.1, 0.1, 0.037):
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        ((small * small).sum() * 3 + (wide * wide * wide).sum()).backward()
        expected = small.data - lr * small.grad.data, wide.data - lr * wide.grad.data
        opt.step()
        assert small.data.dtype == dtype and wide.data.dtype == np.float64
        np.testing.assert_array_equal(small.data, expected[0])
        np.testing.assert_array_equal(wide.data, expected[1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cached_constants_are_read_only_0d_arrays_that_combine_like_python_numbers(dtype):
    from tinygrad_dl import _constants
    x = np.random.default_rng(8).standard_normal(6).astype(dtype)
    for cache, number in ((_constants.ONE, 1), (_constants.ZERO, 0), (_constants.MINUS_ONE, -1)):
        value = cache[x.dtype]
        assert value is cache[np.dtype(dtype)] and value.shape == () and not value.flags.writeable
        for operation in (np.add, np.subtract, np.multiply, np.maximum, np.copysign):
            result = operation(x, value)
            assert result.dtype == dtype and np.array_equal(result, operation(x, number), equal_nan=True)
    lr = _constants.constant(0.3, x.dtype)
    assert lr is _constants.constant(0.3, x.dtype) and lr.dtype == dtype and not lr.flags.writeable
    assert np.array_equal(lr * x, 0.3 * x)


def test_bce_with_logits_at_a_negative_zero_logit():
    """backward picks the z < 0 formula by the sign bit: at z = -0.0 both formulas give sigmoid = 1/2."""
    z = leaf([[-0.0], [0.0], [-1.5]])
    y = Tensor(np.array([[1.0], [0.0], [1.0]]))
    nn.BCEWithLogitsLoss()(z, y).backward()
    np.testing.assert_array_equal(z.grad.data[:2], [[-0.5 / 3], [0.5 / 3]])
    np.testing.assert_allclose(z.grad.data[2], (1 / (1 + np.exp(1.5)) - 1) / 3, rtol=1e-15)


def test_a_gradient_stored_by_backward_is_one_tensor_at_every_read():
    """backward leaves a fresh gradient as a bare array; .grad wraps it once and returns that Tensor from then on,
    and accumulation and the optimizer see the same values whether .grad was read in between or not."""
    def run(read_between):
        w = leaf([1.0, -2.0, 3.0])
        opt = optim.SGD([w], lr=0.25)
        (w * w).sum().backward()
        if read_between:
            first = w.grad
            assert w.grad is first and isinstance(first, Tensor) and first.grad_fn is None
            assert w.grad.data is first.data and first.data.flags.writeable
        (w * 3).sum().backward()  # accumulates into the stored gradient
        accumulated = w.grad.data.copy()
        opt.step()
        return accumulated, w.data.copy()

    (grad_a, w_a), (grad_b, w_b) = run(False), run(True)
    np.testing.assert_array_equal(grad_a, [5.0, -1.0, 9.0])
    np.testing.assert_array_equal(grad_a, grad_b)
    np.testing.assert_array_equal(w_a, w_b)


@pytest.mark.parametrize("needs", [(False, True, True), (True, True, True), (True, False, True), (False, False, True),
                                   (False, True, False), (False, False, False)])
def test_a_linear_layer_records_what_apply_records(needs):
    """nn.Linear records its node through the unrolled three-input path: the same needs, parents, values and
    gradients as Function.apply, with frozen parameters, data inputs and no_grad."""
    from tinygrad_dl.nn import _ops
    rng = np.random.default_rng(sum(needs))
    layer = nn.Linear(3, 2, dtype=np.float64)
    layer.weight.requires_grad, layer.bias.requires_grad = needs[1], needs[2]
    x = Tensor(rng.standard_normal((4, 3)), requires_grad=needs[0])
    out = layer(x)
    reference = _ops.Linear.apply(x, layer.weight, layer.bias)
    np.testing.assert_array_equal(out.data, reference.data)
    assert out.requires_grad == reference.requires_grad == any(needs)
    if any(needs):
        node = out.grad_fn
        assert node.needs_input_grad == needs == reference.grad_fn.needs_input_grad
        assert node.parents == tuple(t if n else None for t, n in zip((x, layer.weight, layer.bias), needs))
        grad = rng.standard_normal((4, 2))
        out.backward(grad)
        for tensor, expected in zip((x, layer.weight, layer.bias), (grad @ layer.weight.data, grad.T @ x.data,
                                                                     grad.sum(axis=0))):
            if tensor.requires_grad:
                np.testing.assert_allclose(tensor.grad.data, expected, rtol=1e-12)
            else:
                assert tensor.grad is None
    else:
        assert out.grad_fn is None
    with tg.no_grad():
        assert layer(x).grad_fn is None and not layer(x).requires_grad


def test_matmul_still_refuses_zero_d_operands():
    with pytest.raises(ValueError, match="matmul does not take 0-d operands"):
        leaf(2.0) @ leaf([1.0])


# ----------------------------------------------------------------------------------------------------
# The LSTM sequence op against its own cell, step by step


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_sequence_op_matches_its_cell_replayed(reverse):
    from tinygrad_dl.nn._rnn_ops import LSTMCellOp, LSTMSequenceOp

    rng = np.random.default_rng(4)
    steps, batch, features, hidden = 5, 3, 4, 6
    arrays = [rng.standard_normal(s) for s in ((steps, batch, features), (batch, hidden), (batch, hidden),
                                               (4 * hidden, features), (4 * hidden, hidden), (4 * hidden,),
                                               (4 * hidden,))]
    weights = rng.standard_normal((steps + 1, batch, hidden))
    inputs = [leaf(a) for a in arrays]
    (LSTMSequenceOp.apply(*inputs, reverse=reverse) * weights).sum().backward()
    fused = [t.grad.data for t in inputs]
    replay = [leaf(a) for a in arrays]
    x, h, c, w_ih, w_hh, b_ih, b_hh = replay
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        hc = LSTMCellOp.apply(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        h, c = hc[0], hc[1]
        outputs[t] = h
    (tg.stack(outputs + [c]) * weights).sum().backward()
    for a, b in zip(fused, [t.grad.data for t in replay]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
