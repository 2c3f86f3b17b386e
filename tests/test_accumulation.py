"""How the engine adds up gradient contributions: every path, every shape, no contribution lost.

Regression tests of issue 7 §1: a non-leaf 0-d tensor receiving three or more contributions kept only the
first two (adding two 0-d arrays gives a NumPy scalar, and the engine's in-place accumulation into "its
own" buffer then only rebound a local name). Expected values come from central differences in float64
(``gradcheck``) or from derivatives worked out by hand in the comments, never from the engine itself.
"""
import numpy as np
import pytest

import tinygrad_dl as tg
from tinygrad_dl import Function, Tensor, gradcheck


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------------------------------
# The examples and micrograd's two expressions


def test_zero_d_non_leaf_used_three_times():
    x = leaf(2.0)
    z = x * 3
    (z + z + z).backward()
    assert x.grad.item() == 9.0  # d(9x)/dx


def test_mean_reused_as_a_scalar():
    # f(x) = sum((x - m) * m + m^2) with m = mean(x): sum(x - m) = 0, so f = n m^2 and df/dx_i = 2 m.
    x = leaf([1.0, 2.0, 3.0])
    m = x.mean()
    ((x - m) * m + m * m).sum().backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 4.0, 4.0])


def micrograd_sanity(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def test_micrograd_sanity_check_expression():
    # At x = -4: z = -10 (relu(z) = 0), q = z x = 40, h = z^2 = 100, y = h + q + q x = -20.
    # dy/dx = dh + dq (1 + x) + q with dh = 2 z * 3 = -60 and dq = 3 x + z = -22: -60 + 88 + 40 = 46.
    x = leaf(-4.0)
    y = micrograd_sanity(x)
    y.backward()
    assert y.item() == -20.0
    assert x.grad.item() == 46.0
    assert gradcheck(micrograd_sanity, [np.array(-4.0)])


def micrograd_more_ops(a, b):
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_micrograd_more_ops_expression():
    a, b = leaf(-4.0), leaf(2.0)
    g = micrograd_more_ops(a, b)
    g.backward()
    # forward by hand: c = -2 -> -3 -> -1; d = 0 -> 0 -> 6 (relu(b - a) = 6); e = -7, f = 49,
    # g = 24.5 + 10/49
    np.testing.assert_allclose(g.item(), 24.5 + 10 / 49, rtol=1e-15)
    numeric = gradcheck(micrograd_more_ops, [np.array(-4.0), np.array(2.0)])
    np.testing.assert_allclose(a.grad.item(), numeric.reports[0].numeric, rtol=1e-6)
    np.testing.assert_allclose(b.grad.item(), numeric.reports[1].numeric, rtol=1e-6)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [138.83381924198252, 645.5772594752186],
                               rtol=1e-12)  # the values PyTorch gives (micrograd's test)


# ----------------------------------------------------------------------------------------------------
# Every accumulation path: k contributions into one tensor, for each shape, dtype, kind of tensor, mode

SHAPES = [(), (1,), (2, 3)]
DTYPES = [np.float32, np.float64]
COUNTS = [1, 2, 3, 4, 5]


def sum_of_copies(value, count):
    total = value
    for _ in range(count - 1):
        total = total + value
    return total


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_non_leaf_receiving_k_contributions(shape, dtype, count):
    x = Tensor(np.full(shape, 0.5, dtype=dtype), requires_grad=True)
    z = x * 3
    sum_of_copies(z, count).sum().backward()
    assert x.grad.dtype == dtype and x.grad.shape == shape and type(x.grad.data) is np.ndarray
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 3.0 * count, dtype=dtype))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_leaf_receiving_k_contributions(shape, dtype, count):
    x = Tensor(np.full(shape, 0.5, dtype=dtype), requires_grad=True)
    sum_of_copies(x, count).sum().backward()
    assert x.grad.dtype == dtype and type(x.grad.data) is np.ndarray
    np.testing.assert_array_equal(x.grad.data, np.full(shape, count, dtype=dtype))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_contributions_through_separate_ops(shape, count):
    # z feeds `count` different ops (not one chain of adds): z*1 + z*2 + ... ; d/dx = 3 * (1 + ... + count)
    x = leaf(np.full(shape, 0.25))
    z = x * 3
    total = None
    for k in range(1, count + 1):
        term = (z * k).sum()
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 3.0 * count * (count + 1) / 2))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_retain_grad_sees_every_contribution(shape, count):
    x = leaf(np.full(shape, 0.5))
    z = x * 3
    z.retain_grad()
    sum_of_copies(z, count).sum().backward()
    np.testing.assert_array_equal(z.grad.data, np.full(shape, float(count)))
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 3.0 * count))


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_grad_function_sees_every_contribution(shape, count, create_graph):
    x = leaf(np.full(shape, 0.5))
    z = x * 3
    gz, gx = tg.grad(sum_of_copies(z, count).sum(), [z, x], create_graph=create_graph)
    np.testing.assert_array_equal(gz.data, np.full(shape, float(count)))
    np.testing.assert_array_equal(gx.data, np.full(shape, 3.0 * count))
    assert x.grad is None and z.grad is None


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_create_graph_backward_sees_every_contribution(shape, count):
    # f = sum(k (x^2)) with x^2 reused k times: df/dx = 2 k x, d2f/dx2 = 2 k
    x = leaf(np.full(shape, 0.5))
    square = x * x
    sum_of_copies(square, count).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, np.full(shape, 2 * count * 0.5))
    (second,) = tg.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(second.data, np.full(shape, 2.0 * count))


@pytest.mark.parametrize("count", COUNTS)
def test_broadcast_view_contributions(count):
    # Sum's backward hands out read-only broadcast views; z (2, 3) receives `count` of them.
    x = leaf(np.ones((2, 3)))
    z = x * 2
    total = z.sum()
    for _ in range(count - 1):
        total = total + z.sum()
    total.backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0 * count))


@pytest.mark.parametrize("count", COUNTS)
def test_zero_d_broadcast_into_a_matrix(count):
    # a 0-d value broadcast back against a matrix, `count` times: d/ds sum(count * s * M) = count * sum(M)
    s = leaf(1.5)
    hidden = s * 2
    matrix = Tensor(np.arange(6.0).reshape(2, 3))
    total = None
    for _ in range(count):
        term = (hidden * matrix).sum()
        total = term if total is None else total + term
    total.backward()
    assert s.grad.item() == 2 * count * 15.0


class ReadOnlyGrad(Function):
    """Identity whose backward returns a read-only array (as a broadcast view is)."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        frozen = np.array(grad)
        frozen.flags.writeable = False
        return frozen


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_read_only_contributions(shape, count):
    x = leaf(np.full(shape, 0.5))
    z = x * 3
    total = None
    for _ in range(count):
        term = ReadOnlyGrad.apply(z).sum()
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 3.0 * count))
    assert x.grad.data.flags.writeable


@pytest.mark.parametrize("shape", SHAPES)
def test_grads_accumulate_across_calls_and_stay_arrays(shape):
    x = leaf(np.full(shape, 0.5))
    for call in range(1, 4):
        (x * 2).sum().backward()
        assert type(x.grad.data) is np.ndarray and x.grad.shape == shape
        np.testing.assert_array_equal(x.grad.data, np.full(shape, 2.0 * call))


def test_retained_grad_does_not_share_its_array_with_a_leaf_grad():
    x = leaf([1.0, 2.0])
    y = x + 1.0  # Add hands its upstream gradient to x unchanged
    y.retain_grad()
    (y * 2).sum().backward()
    y.grad.data[0] = 100.0  # editing one tensor's grad must not edit another's
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_seed_is_not_aliased_or_modified():
    x = leaf(1.0)
    z = x * 1.0
    seed = np.array(1.0)
    sum_of_copies(z, 4).backward(seed)
    assert seed == 1.0 and x.grad.item() == 4.0
