"""The backward engine: order, accumulation, graph lifetime, grad modes, second derivatives, dtypes,
custom Functions and scopes."""
import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_dl as tg
from tinygrad_dl import Function, Tensor, backward_order, enable_grad, gradcheck, name_scope, no_grad
from tinygrad_dl.autograd import run_backward, verifying_claims
from tests._shared import Softplus  # the README's custom op


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def _stack_depth():
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


# ----------------------------------------------------------------------------------------------------
# Deep and wide graphs: iterative order, linear work


def _long_chain(x, length):
    y = x
    for _ in range(length):
        y = y * 1.00001
    return y.sum()


def test_100_000_op_chain_backward():
    x = leaf([1.0, 2.0])
    out = _long_chain(x, 100_000)
    out.backward()
    # d/dx of x * 1.00001^100000 is 1.00001^100000, about e
    np.testing.assert_allclose(x.grad.data, [1.00001 ** 100_000] * 2, rtol=1e-9)
    del out  # dropping a 100 000-node graph must not recurse either


def test_100_000_op_chain_with_a_low_recursion_limit():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 100)  # no room for recursion over the graph
    try:
        x = leaf([3.0])
        out = _long_chain(x, 100_000)
        assert len(backward_order(out)) == 100_001
        out.backward()
        del out
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(x.grad.data, [1.00001 ** 100_000], rtol=1e-9)


def _fan_in(count):
    """``count`` products of a shared x and its own weight, summed by a chain of ``+``."""
    x = leaf([1.0, -1.0])
    weights = [Tensor(np.array([i, 2.0 * i])) for i in range(count)]
    total = sum(x * w for w in weights).sum()  # Python's sum: 0 + p0 + p1 + ...
    return x, total


@pytest.mark.parametrize("count", [2_500, 10_000])
def test_fan_in_backward_is_correct(count):
    x, total = _fan_in(count)
    total.backward()
    expected = count * (count - 1) / 2
    np.testing.assert_allclose(x.grad.data, [expected, 2 * expected])


def test_fan_in_work_scales_linearly():
    visits = {}
    for count in (2_500, 10_000):
        _, total = _fan_in(count)
        steps = []
        run_backward(total, on_step=lambda step, node, g, grads: steps.append(node.name))
        order = backward_order(total)
        # count Mul + count Add (0 + p0 included) + the final Sum; each visited exactly once
        assert len(order) == len(steps) == 2 * count + 1
        assert steps.count("Mul") == count
        visits[count] = len(steps)
    assert visits[10_000] - 1 == 4 * (visits[2_500] - 1)


def test_10_000_way_fan_in_into_one_node():
    x = leaf(np.linspace(-1, 1, 10_000))
    products = [x[i] * x[i] for i in range(10_000)]
    total = tg.stack(products).sum()
    assert len(backward_order(total)) == 2 + 3 * 10_000  # Sum, Stack, 10 000 Mul and 20 000 GetItem
    total.backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_backward_order_puts_every_node_after_its_consumers():
    x = leaf([0.5, 1.5])
    a = x.exp()
    b = a * x
    c = (a + b).tanh() * b
    order = backward_order(c.sum())
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            if parent is not None and parent.grad_fn is not None:
                assert position[parent.grad_fn] > position[node]
    assert order[0].name == "Sum" and len(order) == len(set(order)) == 6


def test_the_pass_visits_backward_order_and_nodes_reached_only_through_slices():
    """run_backward takes its nodes newest first from a heap instead of sorting backward_order(): the visits are that
    order, and a node whose gradient arrives only as slices of its output (SliceGrad) is visited too."""
    values = np.array([[0.5, 1.5, -1.0], [2.0, 0.1, 0.3]])

    def graph():
        x = leaf(values)
        y = x.exp()  # its gradient comes only from y[0] and y[1:]
        return x, (y[0] * 3.0).sum() + (y[1:] * y[1:]).sum()

    x, total = graph()
    expected_order = backward_order(total)
    visited = []
    run_backward(total, on_step=lambda step, node, grad, input_grads: visited.append(node))
    assert visited == expected_order
    x, total = graph()
    total.backward()  # the plain loop (no on_step)
    np.testing.assert_allclose(x.grad.data, [3 * np.exp(values[0]), 2 * np.exp(2 * values[1])])


class _Logged(Function):
    """Identity that logs its backward calls; ``drop=True`` sends no gradient back."""

    calls = []

    @staticmethod
    def forward(ctx, x, tag, drop=False):
        ctx.tag, ctx.drop = tag, drop
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        _Logged.calls.append(ctx.tag)
        return None if ctx.drop else grad


def test_backward_visits_in_backward_order_and_skips_nodes_that_get_no_gradient():
    """The engine visits the nodes newest first (backward_order): a node runs once, after every consumer, even
    when its consumers were made in different branches; a node no gradient reaches (behind a consumer that
    returns None) is never called."""
    _Logged.calls = []
    x = leaf([1.0, 2.0])
    shared = _Logged.apply(x * 2, tag="shared")  # consumed by two branches made in different orders
    dead = _Logged.apply(x * 3, tag="dead")
    cut = _Logged.apply(dead, tag="cut", drop=True)
    late = _Logged.apply(shared, tag="late")
    early = _Logged.apply(shared * 5, tag="early")
    total = (early + late + cut).sum()
    expected = [node for node in backward_order(total) if node.name == "_Logged"]
    total.backward()
    assert _Logged.calls == ["early", "late", "cut", "shared"]  # "dead" got no gradient: never called
    assert [node.tag for node in expected] == ["early", "late", "cut", "dead", "shared"]
    np.testing.assert_array_equal(x.grad.data, [12.0, 12.0])  # 2 * (5 + 1) through "shared" only


# ----------------------------------------------------------------------------------------------------
# Accumulation: reuse, diamonds, repeated backward calls


def test_x_times_x():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, -4.0])


def test_a_plus_a():
    a = leaf([1.0, 2.0, 3.0])
    (a + a).sum().backward()
    np.testing.assert_allclose(a.grad.data, [2.0, 2.0, 2.0])


def test_a_plus_a_does_not_alias_the_upstream_gradient():
    a = leaf([1.0, 2.0])
    b = leaf([5.0, 6.0])
    (a + b).backward(np.array([1.0, 1.0]))
    a.grad.data[0] = 100.0  # editing one grad must not edit the other
    assert b.grad.data[0] == 1.0


def test_tensor_used_by_three_ops():
    a = leaf([0.3, -0.7])
    (a * 2 + a.exp() + a.tanh()).sum().backward()
    values = a.data
    np.testing.assert_allclose(a.grad.data, 2 + np.exp(values) + 1 - np.tanh(values) ** 2)


def test_diamond():
    a = leaf([2.0])
    b = a * 3  # b feeds both branches of the diamond
    c = b + b * b
    c.backward(np.ones(1))
    # dc/da = 3 + 2 * b * 3 = 3 + 18a
    np.testing.assert_allclose(a.grad.data, [3 + 18 * 2.0])


def test_intermediate_used_twice_in_one_op_and_again_later():
    x = leaf([1.0, 2.0])
    h = x * x
    out = (h * h + h).sum()  # h^2 + h = x^4 + x^2
    out.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data ** 3 + 2 * x.data)


def test_grads_accumulate_across_backward_calls_and_none_resets():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3, 3])


def test_backward_with_an_explicit_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, -6.0])
    with pytest.raises(RuntimeError, match=r"grad has shape \(2,\) but the output has shape \(3,\)"):
        (x * x).backward(np.ones(2))


def test_non_scalar_backward_without_grad_is_a_clear_error():
    x = leaf([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match=r"only for a scalar output.*shape \(1, 2\)"):
        (x * 2).backward()


def test_backward_on_a_tensor_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(1)).sum().backward()


def test_backward_twice_needs_retain_graph():
    x = leaf([1.0, 2.0])
    out = (x * x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        out.backward()


def test_backward_twice_with_retain_graph():
    x = leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    out.backward(retain_graph=True)
    first = x.grad.data.copy()
    out.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)
    np.testing.assert_allclose(first, np.exp(x.data) * (1 + x.data))


def test_saved_buffers_are_released_after_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()
    out = (y * x).sum()
    nodes = backward_order(out)
    out.backward()
    assert all(node.saved_tensors is None for node in nodes)


def test_grad_function_does_not_touch_dot_grad():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    (gx, gu) = tg.grad((x ** 3).sum(), [x, unused])
    np.testing.assert_allclose(gx.data, 3 * x.data ** 2)
    assert gu is None and x.grad is None and unused.grad is None


# ----------------------------------------------------------------------------------------------------
# Graph lifetime: reference counting alone frees everything


@pytest.fixture
def gc_disabled():
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _traced_bytes():
    """(all traced bytes, bytes of NumPy array buffers) according to tracemalloc."""
    arrays_only = tracemalloc.DomainFilter(inclusive=True, domain=np.lib.tracemalloc_domain)
    array_stats = tracemalloc.take_snapshot().filter_traces([arrays_only]).statistics("filename")
    return tracemalloc.get_traced_memory()[0], sum(stat.size for stat in array_stats)


@pytest.mark.parametrize("run_backward_first", [False, True])
def test_graph_dies_with_its_output_without_gc(gc_disabled, run_backward_first):
    x = leaf(np.ones((4, 4)))
    hidden = (x @ x).tanh()  # an intermediate tensor, its array saved by the next op
    out = (hidden * x).exp().sum()
    watched = [weakref.ref(hidden), weakref.ref(hidden.data), weakref.ref(out.grad_fn),
               weakref.ref(hidden.grad_fn)]
    del hidden
    if run_backward_first:
        out.backward()
    assert all(ref() is not None for ref in watched)
    del out
    assert [ref() for ref in watched] == [None] * len(watched)


def test_retained_graph_also_dies_without_gc(gc_disabled):
    x = leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    out.backward(retain_graph=True)
    node = weakref.ref(out.grad_fn)
    del out
    assert node() is None


def test_create_graph_does_not_leak_cycles(gc_disabled):
    x = leaf([1.0, 2.0])
    out = (x ** 3).sum()
    out.backward(create_graph=True)
    node = weakref.ref(out.grad_fn)
    grad_node = weakref.ref(x.grad.grad_fn)
    del out
    x.grad = None
    assert node() is None and grad_node() is None


def test_memory_stays_flat_over_1000_training_steps(gc_disabled):
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((16, 4))
    labels = (inputs[:, :1] > 0).astype(np.float64)
    w1, w2 = leaf(rng.standard_normal((4, 8)) * 0.5), leaf(rng.standard_normal((8, 1)) * 0.5)

    def step():
        prediction = ((Tensor(inputs) @ w1).relu() @ w2).sigmoid()
        loss = (-(labels * prediction.log() + (1 - labels) * (1 - prediction).log())).mean()
        loss.backward()
        with no_grad():
            for w in (w1, w2):
                w.data -= 0.1 * w.grad.data
                w.grad = None
        return loss.item()

    tracemalloc.start()
    try:
        for _ in range(100):  # warm up NumPy's and Python's caches
            first_loss = step()
        before = _traced_bytes()
        for _ in range(900):
            last_loss = step()
        after = _traced_bytes()
    finally:
        tracemalloc.stop()
    assert last_loss < first_loss  # it did train
    total_growth, array_growth = after[0] - before[0], after[1] - before[1]
    # Array buffers must not grow at all: keeping even one (16, 1) array per step would add 115 KB.
    assert array_growth < 4 * 1024, f"NumPy array memory grew by {array_growth} bytes over 900 steps"
    # Python's own free lists (up to 2000 spare tuples of each small size) fill up slowly and then stop
    # (about 100 KB here); one leaked graph per step would add about 9 MB.
    assert total_growth < 512 * 1024, f"memory grew by {total_growth} bytes over 900 steps"
    assert gc.collect() == 0  # and nothing was waiting for the cycle collector


# ----------------------------------------------------------------------------------------------------
# Grad modes


def test_no_grad_context_builds_no_graph():
    x = leaf([1.0, 2.0])
    with no_grad():
        y = x * 2 + x.exp()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert (x * 2).grad_fn is not None


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with no_grad():
        with enable_grad():
            y = x * 2
        z = x * 2
    assert y.grad_fn is not None and z.grad_fn is None


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @no_grad()
    def inference(t):
        return t * 2

    @enable_grad()
    def training(t):
        return t * 2

    assert inference(x).grad_fn is None
    with no_grad():
        assert training(x).grad_fn is not None
    assert tg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_retain_grad():
    x = leaf([1.0, 2.0])
    hidden = x * 3
    hidden.retain_grad()
    other = x * 5
    (hidden * hidden + other).sum().backward()
    np.testing.assert_allclose(hidden.grad.data, 2 * hidden.data)
    assert other.grad is None
    np.testing.assert_allclose(x.grad.data, 18 * x.data + 5)


# ----------------------------------------------------------------------------------------------------
# Second derivatives


def test_second_derivative_of_cube():
    x = leaf([-1.0, 0.5, 2.0])
    (first,) = tg.grad((x ** 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(first.data, 3 * x.data ** 2)
    (second,) = tg.grad(first.sum(), [x])
    np.testing.assert_allclose(second.data, 6 * x.data)


def test_backward_create_graph_then_backward_of_the_grad():
    x = leaf([1.5])
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert first.grad_fn is not None
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, [6 * 1.5])


def test_hessian_vector_product():
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((4, 4))
    direction = rng.standard_normal(4)
    x = leaf(rng.standard_normal(4))
    f = 0.5 * (x @ (Tensor(matrix) @ x)) + x.tanh().sum()
    (g,) = tg.grad(f, [x], create_graph=True)
    (hvp,) = tg.grad((g * direction).sum(), [x])
    t = np.tanh(x.data)
    hessian = 0.5 * (matrix + matrix.T) + np.diag(-2 * t * (1 - t ** 2))
    np.testing.assert_allclose(hvp.data, hessian @ direction, rtol=1e-10)


def test_third_derivative():
    x = leaf([0.7])
    (g1,) = tg.grad((x ** 4).sum(), [x], create_graph=True)
    (g2,) = tg.grad(g1.sum(), [x], create_graph=True)
    (g3,) = tg.grad(g2.sum(), [x])
    np.testing.assert_allclose(g3.data, [24 * 0.7])


# ----------------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_with_python_scalars(dtype):
    x = leaf([0.5, 1.5], dtype)
    out = ((x * 2.5 + 1) / 3 - 0.25) ** 2
    out = (out.exp() * 0.1 + (2.0 - x).tanh()).mean()
    assert out.dtype == dtype
    out.backward()
    assert x.grad.dtype == dtype


def test_mixed_float32_and_float64_follow_numpy_promotion():
    single = leaf([1.0, 2.0], np.float32)
    double = leaf([3.0, 4.0], np.float64)
    out = single * double
    assert out.dtype == np.result_type(np.float32, np.float64) == np.float64
    out.sum().backward()
    assert single.grad.dtype == np.float32 and double.grad.dtype == np.float64
    np.testing.assert_allclose(single.grad.data, [3.0, 4.0])
    np.testing.assert_allclose(double.grad.data, [1.0, 2.0])


def test_float32_with_a_float64_numpy_array_follows_numpy():
    x = leaf([1.0, 2.0], np.float32)
    out = x * np.array([2.0, 3.0])  # NumPy: float32 array * float64 array -> float64
    assert out.dtype == (np.ones(2, np.float32) * np.ones(2)).dtype
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("values", [np.arange(3), np.array([True, False]), np.arange(3, dtype=np.uint8)])
def test_integer_and_bool_tensors_cannot_require_grad(values):
    with pytest.raises(TypeError, match=rf"only floating-point.*{values.dtype}"):
        Tensor(values, requires_grad=True)
    with pytest.raises(TypeError, match=rf"only floating-point.*{values.dtype}"):
        Tensor(values).requires_grad_()


def test_integer_tensor_is_fine_as_a_constant():
    x = leaf([1.0, 2.0, 3.0])
    labels = Tensor(np.array([0, 1, 1]))
    (x * labels).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 1.0])
    assert x.grad.dtype == np.float64


# ----------------------------------------------------------------------------------------------------
# Custom Functions


def test_custom_softplus():
    x = leaf([-2.0, 0.0, 3.0])
    y = Softplus.apply(x)
    assert y.grad_fn.name == "Softplus"
    np.testing.assert_allclose(y.data, np.log1p(np.exp(x.data)))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-x.data)))
    assert gradcheck(Softplus.apply, [np.array([-2.0, 0.1, 3.0])])


def test_custom_function_with_numpy_only_backward_refuses_create_graph():
    class NumpyOnly(Softplus):
        supports_create_graph = False

    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="NumpyOnly does not support create_graph=True"):
        NumpyOnly.apply(x).sum().backward(create_graph=True)


def test_custom_function_returning_a_wrong_shape_is_a_clear_error():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.ones((5, 7))

    x = leaf([[1.0, 2.0, 3.0]])
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape \(5, 7\) for "
                                           r"input 0 of shape \(1, 3\)"):
        WrongShape.apply(x).sum().backward()


@pytest.mark.parametrize("returned, input_shape, expected", [
    (np.full((1, 3), 2.0), (4, 3), np.full((4, 3), 2.0)),  # smaller but broadcastable: expanded
    (2.0, (4, 3), np.full((4, 3), 2.0)),  # a number: expanded
    (np.ones((2, 1, 3)), (4, 1), np.full((4, 1), 6.0)),  # broadcast both ways: expanded, then summed
])
def test_a_custom_gradient_that_broadcasts_to_its_input_is_fitted(returned, input_shape, expected):
    class Fitted(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return returned

    x = leaf(np.ones(input_shape))
    Fitted.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected)


class _ClaimsExact(Function):
    """x * 2 (or a * b) claiming exact_grads, with the backward a test gives it: ``returned(ctx, grad)``."""

    exact_grads = True
    returned = None

    @staticmethod
    def forward(ctx, *arrays):
        ctx.save_for_backward(*arrays)
        return arrays[0] * 2 if len(arrays) == 1 else arrays[0] * arrays[1]

    @staticmethod
    def backward(ctx, grad):
        return _ClaimsExact.returned(ctx, grad)


@pytest.mark.parametrize("returned, problem", [
    (lambda ctx, grad: grad.sum(axis=0), r"\(3,\) float64 as the gradient of input 0, which is \(2, 3\) float64"),
    (lambda ctx, grad: grad.astype(np.float32), r"\(2, 3\) float32 as the gradient of input 0"),
    (lambda ctx, grad: float(grad.sum()), r"a float as the gradient of input 0"),
])
def test_a_false_exact_grads_claim_is_caught_by_every_checked_backward(returned, problem):
    """exact_grads lets a plain backward skip fitting; gradcheck and anomaly mode verify the claim."""
    _ClaimsExact.returned = staticmethod(returned)
    x = leaf(np.ones((2, 3)))
    message = "_ClaimsExact claims exact_grads, but its backward returned " + problem
    with pytest.raises(RuntimeError, match=message):
        gradcheck(_ClaimsExact.apply, [x])
    with tg.detect_anomaly(), pytest.raises(RuntimeError, match=message):
        _ClaimsExact.apply(x).sum().backward()


def _read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("returned", [
    lambda ctx, grad: (grad, grad * ctx.saved_tensors[0]),  # the incoming gradient itself
    lambda ctx, grad: (grad * 1.0, ctx.saved_tensors[0]),  # a saved input
    lambda ctx, grad: ((grad * 2.0,) * 2),  # one array for both inputs
    lambda ctx, grad: (grad[::-1][::-1], grad * 1.0),  # a view of the incoming gradient
    lambda ctx, grad: (_read_only(grad), grad * 1.0),  # read-only
])
def test_an_exact_grads_claim_also_promises_new_arrays(returned):
    """The engine adds into an exact_grads op's gradients and hands them to leaves as they are: each must be a new
    array of its own. gradcheck refuses one that is not; a plain backward would have shared it."""
    _ClaimsExact.returned = staticmethod(returned)
    with pytest.raises(RuntimeError, match="claims exact_grads, but its backward returned an array that is not new"):
        gradcheck(lambda a, b: _ClaimsExact.apply(a, b).sum() * 2, [np.array([1.0, 2.0]), np.array([3.0, 4.0])])


def test_gradients_of_exact_grads_ops_are_handed_to_leaves_as_they_are():
    """A leaf's gradient from an exact_grads op is stored without a copy and is the leaf's alone."""
    import tinygrad_dl.nn.functional as F
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((5, 3)))
    w, b = leaf(rng.standard_normal((4, 3))), leaf(rng.standard_normal(4))
    F.linear(x, w, b).tanh().sum().backward()
    assert w.grad.data.base is None and b.grad.data.base is None
    assert not np.shares_memory(w.grad.data, b.grad.data)
    np.testing.assert_allclose(b.grad.data, (1 - np.tanh(x.data @ w.data.T + b.data) ** 2).sum(axis=0), rtol=1e-12)


def test_built_in_exact_grads_claims_hold_for_mixed_dtypes_and_shapes():
    """Linear claims exact gradients only when its input, weight and bias share a dtype; tanh, sigmoid and relu
    always (0-d too); BCE-with-logits on its usual path. Inside verifying_claims() (what gradcheck uses) every claim
    is verified."""
    from tinygrad_dl import nn
    import tinygrad_dl.nn.functional as F
    rng = np.random.default_rng(0)
    for x_dtype, w_dtype, x_shape in [(np.float64, np.float64, (5, 3)), (np.float32, np.float64, (5, 3)),
                                      (np.float64, np.float32, (2, 5, 3)), (np.float32, np.float32, (3,))]:
        x = leaf(rng.standard_normal(x_shape), x_dtype)
        w, b = leaf(rng.standard_normal((4, 3)), w_dtype), leaf(rng.standard_normal(4), w_dtype)
        out = F.linear(x, w, b)
        assert out.grad_fn.exact_grads == (x_dtype == w_dtype)
        with verifying_claims():
            grads = tg.grad(out.tanh().sum(), [x, w, b])
        assert [g.dtype for g in grads] == [x_dtype, w_dtype, w_dtype] and grads[0].shape == x_shape
    for value in (leaf(0.3), leaf(0.3, np.float32), leaf([[0.5, -2.0]], np.float32), leaf([1.5, -1.0], np.float16)):
        for op in (Tensor.tanh, Tensor.sigmoid, Tensor.relu):
            with verifying_claims():
                (grad,) = tg.grad(op(value).sum(), [value])
            assert grad.shape == value.shape and grad.dtype == value.dtype
    z, y = leaf(rng.standard_normal((6, 1))), Tensor(np.ones((6, 1)))
    loss = nn.BCEWithLogitsLoss()(z, y)
    assert loss.grad_fn.exact_grads
    with verifying_claims():
        tg.grad(loss, [z])


def test_custom_function_returning_too_few_grads_is_a_clear_error():
    class TwoInputs(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="TwoInputs.backward returned 1 gradients for 2 inputs"):
        TwoInputs.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_kwargs_and_needs_input_grad():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, y, factor=1.0):
            ctx.factor = factor
            ctx.seen = ctx.needs_input_grad
            return x * y * factor

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.factor, None

    x = leaf([1.0, 2.0])
    out = Scale.apply(x, np.array([1.0, 1.0]), factor=4.0)
    assert out.grad_fn.seen == (True, False) and out.grad_fn.factor == 4.0
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 4.0])


def test_every_builtin_op_is_a_function_node():
    x = leaf([[1.0, 2.0]])
    results = [x + 1, x - 1, x * 2, x / 2, x ** 2, x @ x.T, -x, x.exp(), x.log(), x.sqrt(), x.tanh(),
               x.sigmoid(), x.relu(), abs(x), x.maximum(1.5), x.minimum(1.5), x.clip(0, 1),
               tg.where(np.array([[True, False]]), x, 0.0), x.sum(), x.mean(), x.max(), x.min(), x.var(),
               x.logsumexp(), x.reshape(2), x.T, x.swapaxes(0, 1), x.squeeze(), x.expand_dims(0),
               x.flatten(), x.broadcast_to((3, 1, 2)), x.pad(1), x[0], tg.concatenate([x, x]),
               tg.stack([x, x]), x.astype(np.float32)]
    for result in results:
        assert isinstance(result.grad_fn, Function)


# ----------------------------------------------------------------------------------------------------
# Scopes


def test_name_scope_records_the_scope_on_nodes():
    x = leaf([1.0])
    with name_scope("model"):
        with name_scope("fc1"):
            inner = x * 2
            assert tg.current_scope() == ("model", "fc1")
        outer = inner + 1
    top = outer * 3
    assert inner.grad_fn.scope == ("model", "fc1")
    assert outer.grad_fn.scope == ("model",)
    assert top.grad_fn.scope is None
    assert tg.current_scope() == ()


def test_name_scope_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with name_scope("broken"):
            raise KeyError
    assert tg.current_scope() == ()


def test_node_attributes_visible_for_tools():
    x = leaf(np.ones((2, 3)))
    y = x.sum(axis=-1, keepdims=True)
    node = y.grad_fn
    assert node.name == "Sum" and node.axis == (1,) and node.keepdims is True
    assert node.parents == (x,) and node._output_ref() is y
    assert x[np.array([0, 0])].grad_fn.index.tolist() == [0, 0]
    assert x.reshape(3, 2).grad_fn.shape == (3, 2)
