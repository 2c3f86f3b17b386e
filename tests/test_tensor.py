"""Tensor construction, dtypes, attributes, factories, error messages and numerical stability."""
import numpy as np
import pytest

import tinygrad_dl as tg
from tinygrad_dl import Tensor

# ----------------------------------------------------------------------------------------------------
# Construction and dtypes


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.int8, np.bool_])
def test_numpy_arrays_are_used_as_is(dtype):
    array = np.zeros((2, 3), dtype=dtype)
    t = Tensor(array)
    assert t.data is array and t.dtype == dtype


@pytest.mark.parametrize("data, shape", [(2.5, ()), (3, ()), ([1, 2], (2,)), ([[1.0, 2.0], [3.0, 4.0]], (2, 2))])
def test_python_numbers_and_lists_become_float32(data, shape):
    t = Tensor(data)
    assert t.dtype == np.float32 and t.shape == shape
    np.testing.assert_array_equal(t.data, np.array(data, dtype=np.float32))


def test_python_bools_stay_bool_and_numpy_scalars_keep_their_dtype():
    assert Tensor([True, False]).dtype == np.bool_
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert Tensor(np.int32(2)).dtype == np.int32


def test_explicit_dtype():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.arange(3), dtype=np.float32).dtype == np.float32
    assert tg.tensor([1, 2], dtype=np.float64, requires_grad=True).requires_grad


def test_attributes():
    t = Tensor(np.arange(6.0).reshape(2, 3), name="w")
    assert (t.shape, t.ndim, t.size, t.dtype, t.name) == ((2, 3), 2, 6, np.float64, "w")
    np.testing.assert_array_equal(t.T.data, t.data.T)
    assert t.numpy() is t.data
    assert not t.requires_grad and t.grad is None and t.grad_fn is None and t.is_leaf
    t.name = "renamed"
    assert t.name == "renamed"
    assert len(t) == 2 and [row.shape for row in t] == [(3,), (3,)]
    assert Tensor(2.5).item() == 2.5 and float(Tensor([[3.0]])) == 3.0 and int(Tensor(4.0)) == 4
    np.testing.assert_array_equal(np.asarray(t), t.data)


def test_requires_grad_and_leaves():
    t = Tensor(np.ones(2))
    assert t.requires_grad_() is t and t.requires_grad and t.is_leaf
    child = t * 2
    assert child.requires_grad and not child.is_leaf
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        child.requires_grad_(False)


def test_detach_shares_data_and_cuts_the_graph():
    child = Tensor(np.ones(2), requires_grad=True) * 2
    cut = child.detach()
    assert cut.data is child.data and cut.grad_fn is None and not cut.requires_grad


def test_repr_shows_values_dtype_and_grad_state():
    assert repr(Tensor([1.0], requires_grad=True)) == "Tensor([1.], dtype=float32, requires_grad=True)"
    assert "grad_fn=Mul" in repr(Tensor([1.0], requires_grad=True) * 2)


def test_numpy_operands_on_either_side():
    t = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    left = np.array([3.0, 4.0]) - t
    assert isinstance(left, Tensor) and left.grad_fn is not None
    np.testing.assert_array_equal(left.data, [2.0, 2.0])
    product = np.eye(2) @ t
    assert isinstance(product, Tensor)
    np.testing.assert_array_equal(product.data, [1.0, 2.0])


def test_item_assignment_raises():
    t = Tensor(np.zeros(3))
    with pytest.raises(TypeError, match="does not support item assignment"):
        t[0] = 1.0


# ----------------------------------------------------------------------------------------------------
# Factories


@pytest.mark.parametrize("make, shape", [
    (lambda **kw: tg.zeros(2, 3, **kw), (2, 3)),
    (lambda **kw: tg.zeros((2, 3), **kw), (2, 3)),
    (lambda **kw: tg.ones(4, **kw), (4,)),
    (lambda **kw: tg.full((2, 2), 7.0, **kw), (2, 2)),
    (lambda **kw: tg.full(3, 7.0, **kw), (3,)),
    (lambda **kw: tg.randn(3, 2, **kw), (3, 2)),
    (lambda **kw: tg.rand(5, **kw), (5,)),
    (lambda **kw: tg.arange(0, 1, 0.25, **kw), (4,)),
    (lambda **kw: tg.eye(3, **kw), (3, 3)),
    (lambda **kw: tg.eye(2, 3, **kw), (2, 3)),
])
def test_factories_default_to_float32_and_take_dtype_and_requires_grad(make, shape):
    t = make()
    assert t.dtype == np.float32 and t.shape == shape and not t.requires_grad
    t64 = make(dtype=np.float64, requires_grad=True)
    assert t64.dtype == np.float64 and t64.requires_grad


def test_factory_values():
    np.testing.assert_array_equal(tg.zeros(2).data, [0, 0])
    np.testing.assert_array_equal(tg.ones(2).data, [1, 1])
    np.testing.assert_array_equal(tg.full((2,), 7.0).data, [7, 7])
    np.testing.assert_array_equal(tg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_array_equal(tg.arange(0, 1, 0.25).data, [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(tg.eye(2).data, [[1, 0], [0, 1]])
    uniform = tg.rand(1000, generator=np.random.default_rng(0)).data
    assert uniform.min() >= 0 and uniform.max() < 1


def test_random_factories_follow_the_global_numpy_seed_and_generators():
    np.random.seed(1)
    expected = np.random.randn(2, 3).astype(np.float32)
    np.random.seed(1)
    np.testing.assert_array_equal(tg.randn(2, 3).data, expected)
    drawn = tg.randn(4, generator=np.random.default_rng(5), dtype=np.float64).data
    np.testing.assert_array_equal(drawn, np.random.default_rng(5).standard_normal(4))
    np.testing.assert_array_equal(tg.rand(3, generator=np.random.RandomState(2)).data,
                                  np.random.RandomState(2).random_sample(3).astype(np.float32))


@pytest.mark.parametrize("make", [tg.zeros_like, tg.ones_like, tg.randn_like, tg.rand_like,
                                  lambda t, **kw: tg.full_like(t, 3.0, **kw)])
def test_like_factories_keep_shape_and_dtype(make):
    for source in (Tensor(np.ones((2, 3))), np.ones((2, 3), np.float16)):
        made = make(source)
        assert made.shape == (2, 3) and made.dtype == source.dtype
    assert make(Tensor(np.ones(2)), dtype=np.float32).dtype == np.float32


def test_like_factory_values():
    source = Tensor(np.ones((2, 2)))
    np.testing.assert_array_equal(tg.zeros_like(source).data, np.zeros((2, 2)))
    np.testing.assert_array_equal(tg.full_like(source, 3.0).data, np.full((2, 2), 3.0))


# ----------------------------------------------------------------------------------------------------
# Bad input: clear errors naming the operation and the shapes


def _float(*shape):
    return Tensor(np.zeros(shape))


def test_matmul_shape_mismatch():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        _float(2, 3) @ _float(4, 5)
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(2,\)"):
        _float(3) @ _float(2)
    with pytest.raises(ValueError, match="matmul.*0-d"):
        _float(3) @ Tensor(np.float64(2.0))


def test_broadcasting_mismatch_in_add():
    with pytest.raises(ValueError, match=r"add.*\(2, ?3\).*\(4, ?5\)"):
        _float(2, 3) + _float(4, 5)
    with pytest.raises(ValueError, match=r"mul.*\(3,\).*\(2,\)"):
        _float(3) * _float(2)


def test_reshape_to_a_wrong_size():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*6 elements.*\(4, 2\)"):
        _float(2, 3).reshape(4, 2)


def test_concatenate_and_stack_mismatch():
    with pytest.raises(ValueError, match=r"concatenate.*\[\(2, 3\), \(4, 5\)\]"):
        tg.concatenate([_float(2, 3), _float(4, 5)])
    with pytest.raises(ValueError, match=r"stack.*\[\(2, 3\), \(2, 4\)\]"):
        tg.stack([_float(2, 3), _float(2, 4)])


def test_split_into_unequal_sections():
    with pytest.raises(ValueError, match=r"split.*\(5, 2\).*3"):
        tg.split(_float(5, 2), 3)


@pytest.mark.parametrize("index", [2, (0, 5), np.array([0, 7]), -3])
def test_getitem_out_of_bounds(index):
    with pytest.raises(IndexError, match=r"getitem.*out of bounds.*\(2, 3\)"):
        _float(2, 3)[index]


def test_getitem_mask_of_the_wrong_shape():
    with pytest.raises(IndexError, match=r"getitem.*boolean index.*\(2, 3\)"):
        _float(2, 3)[np.array([True, False, True])]


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match=r"sum.*axis 3.*\(2, 3\)"):
        _float(2, 3).sum(axis=3)


def test_requires_grad_on_an_integer_tensor():
    with pytest.raises(TypeError, match=r"requires_grad.*int64.*\(3,\)"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"requires_grad.*int"):
        tg.arange(3, dtype=np.int32, requires_grad=True)


def test_item_on_a_non_scalar():
    with pytest.raises(ValueError, match=r"item.*one element.*\(2, 3\)"):
        _float(2, 3).item()


def test_variance_with_too_few_values():
    with pytest.raises(ValueError, match=r"var.*ddof=1"):
        _float(1).var(ddof=1)


# ----------------------------------------------------------------------------------------------------
# Numerics: stable at |x| = 1e3, edge values like NumPy

LARGE = [-1e3, -20.0, 0.0, 20.0, 1e3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, expected_value, expected_grad", [
    # written with exp(-|v|) so that the reference itself cannot overflow
    ("sigmoid", lambda v: np.where(v >= 0, 1, np.exp(-np.abs(v))) / (1 + np.exp(-np.abs(v))),
     lambda v: np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v))) ** 2),
    ("tanh", np.tanh, lambda v: 1 / np.cosh(v) ** 2),
])
def test_sigmoid_and_tanh_at_large_magnitudes(dtype, name, expected_value, expected_grad):
    x = Tensor(np.array(LARGE, dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out = getattr(x, name)()
        out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
    with np.errstate(over="ignore"):
        reference = np.array(LARGE, dtype=np.float64)
        np.testing.assert_allclose(out.data, expected_value(reference), atol=1e-6)
        np.testing.assert_allclose(x.grad.data, expected_grad(reference), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_at_large_magnitudes(dtype):
    x = Tensor(np.array([[-1e3, 1e3], [1e3, 1e3], [-1e3, -1e3]], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        out = x.logsumexp(axis=1)
        out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(out.data, [1e3, 1e3 + np.log(2), -1e3 + np.log(2)], rtol=1e-6)
    # float32 cannot hold 1000 + log 2 to better than 6e-5, hence the tolerance
    np.testing.assert_allclose(x.grad.data, [[0, 1], [0.5, 0.5], [0.5, 0.5]], atol=1e-4)


def test_logsumexp_of_minus_infinity_is_minus_infinity():
    with np.errstate(divide="ignore"):
        out = Tensor(np.array([-np.inf, -np.inf])).logsumexp()
    assert out.item() == -np.inf


@pytest.mark.parametrize("name, values", [
    ("exp", [-np.inf, -1e3, 0.0, 88.0, 1e3, np.inf, np.nan]),
    ("log", [-1.0, 0.0, 1e-300, 1.0, np.inf, np.nan]),
    ("sqrt", [-1.0, 0.0, 4.0, np.inf]),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_log_sqrt_edge_values_behave_like_numpy(name, values, dtype):
    array = np.array(values, dtype=dtype)
    with np.errstate(all="ignore"):
        got = getattr(Tensor(array), name)().data
        expected = getattr(np, name)(array)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)  # inf, -inf and nan in the same places


def test_exp_overflow_warns_like_numpy():
    with pytest.warns(RuntimeWarning, match="overflow"):
        Tensor(np.array([1e3])).exp()


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_ndarray_subclasses_become_plain_arrays():
    """np.matrix makes * a matrix product: as a Tensor's data or as an operand it must act as a plain array (the
    elementwise product), and the gradient must be the elementwise one too."""
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    plain = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = Tensor(m, requires_grad=True)
    assert type(t.data) is np.ndarray
    np.testing.assert_array_equal((t * t).data, plain * plain)
    u = Tensor(plain.copy(), requires_grad=True)
    for product in (u * m, m * u, u + m - m * u):
        assert type(product.data) is np.ndarray
    np.testing.assert_array_equal((u * m).data, plain * plain)
    np.testing.assert_array_equal((m * u).data, plain * plain)
    (u * m).sum().backward()
    np.testing.assert_array_equal(u.grad.data, plain)


def test_masked_arrays_are_refused_clearly():
    """A masked array's mask would be dropped silently: refused, naming the way out."""
    masked = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(TypeError, match=r"Tensor: masked arrays are not supported.*filled"):
        Tensor(masked)
    with pytest.raises(TypeError, match=r"mul: masked arrays are not supported.*filled"):
        Tensor(np.ones(3)) * masked
