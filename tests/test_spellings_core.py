"""PyTorch's spellings beside NumPy's (issue 10 §2, the core): each against its definition and its NumPy twin."""
import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_dl as tg
from tinygrad_dl import Tensor
from tinygrad_dl.testing import arrays, assert_gradients_match, distinct_values

X = np.arange(24.0).reshape(2, 3, 4) / 7 - 1.5


def t(values=X, **kwargs):
    return Tensor(np.array(values), **kwargs)


# ----------------------------------------------------------------------------------------------------
# dim= / keepdim= on every reduction, as methods and module functions

REDUCTIONS = {  # name: NumPy twin
    "sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "var": np.var, "std": np.std,
    "logsumexp": scipy.special.logsumexp, "argmax": np.argmax, "argmin": np.argmin,
    "norm": lambda a, axis=None, keepdims=False: np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("axis", [None, 0, -1, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_take_dim_and_keepdim(name, axis, keepdims):
    twin = REDUCTIONS[name](X, axis=axis, keepdims=keepdims)
    numpy_spelling = getattr(t(), name)(axis=axis, keepdims=keepdims)
    torch_spelling = getattr(t(), name)(dim=axis, keepdim=keepdims)
    module_spelling = getattr(tg, name)(t(), dim=axis, keepdim=keepdims)
    for result in (numpy_spelling, torch_spelling, module_spelling):
        assert result.shape == np.shape(twin)
        np.testing.assert_allclose(result.data, twin, rtol=1e-12)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin", "norm",
                                  "any", "all"])
def test_giving_axis_and_dim_together_is_a_clear_error(name):
    with pytest.raises(TypeError, match=rf"{name}: got both axis= and dim= \(PyTorch's name for the same argument\)"):
        getattr(t(), name)(axis=0, dim=1)
    with pytest.raises(TypeError, match=rf"{name}: got both keepdims= and keepdim="):
        getattr(t(), name)(keepdims=True, keepdim=False)


def test_positional_axis_works_as_in_numpy_and_pytorch():
    np.testing.assert_array_equal(t().sum(1).data, X.sum(1))
    np.testing.assert_array_equal(t().mean(0, True).data, X.mean(0, keepdims=True))


def test_max_returns_values_only_like_numpy():
    result = t().max(dim=1)
    assert isinstance(result, Tensor)  # PyTorch would give (values, indices)
    np.testing.assert_array_equal(result.data, X.max(axis=1))


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_and_var_take_numpys_ddof_and_pytorchs_correction(ddof):
    np.testing.assert_allclose(t().std(axis=1, ddof=ddof).data, np.std(X, axis=1, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(t().std(dim=1, correction=ddof).data, np.std(X, axis=1, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(t().var(dim=1, correction=ddof).data, np.var(X, axis=1, ddof=ddof), rtol=1e-12)
    with pytest.raises(TypeError, match="std: got both ddof= and correction="):
        t().std(ddof=1, correction=0)


# ----------------------------------------------------------------------------------------------------
# Movement: view, permute, unsqueeze, flatten(start_dim=), cat, transpose's meaning


def test_view_is_reshape():
    np.testing.assert_array_equal(t().view(6, 4).data, X.reshape(6, 4))
    np.testing.assert_array_equal(t().view(-1).data, X.reshape(-1))
    np.testing.assert_array_equal(t().view((4, 6)).data, X.reshape(4, 6))


def test_permute_is_a_full_transpose():
    np.testing.assert_array_equal(t().permute(2, 0, 1).data, np.transpose(X, (2, 0, 1)))
    np.testing.assert_array_equal(tg.permute(t(), (1, 2, 0)).data, np.transpose(X, (1, 2, 0)))
    assert_gradients_match(lambda a: a.permute(2, 0, 1), X)


def test_transpose_keeps_numpys_meaning_and_hints_at_swapaxes():
    np.testing.assert_array_equal(t().transpose(1, 0, 2).data, X.transpose(1, 0, 2))
    np.testing.assert_array_equal(t(X[0]).transpose(1, 0).data, X[0].T)
    np.testing.assert_array_equal(t(X[0]).transpose(0, 1).data, X[0])  # NumPy: the identity (PyTorch: swap)
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 1\) do not match a tensor of shape \(2, 3, 4\); "
                                         r"NumPy's transpose takes a full permutation.*swapaxes\(dim0, dim1\)"):
        t().transpose(0, 1)
    np.testing.assert_array_equal(t().swapaxes(0, 1).data, np.swapaxes(X, 0, 1))


@pytest.mark.parametrize("dim", [0, 1, 3, -1, -4])
def test_unsqueeze_is_expand_dims(dim):
    np.testing.assert_array_equal(t().unsqueeze(dim).data, np.expand_dims(X, dim))
    np.testing.assert_array_equal(tg.unsqueeze(t(), dim).data, np.expand_dims(X, dim))


def test_unsqueeze_out_of_range():
    with pytest.raises(np.exceptions.AxisError,
                       match=r"unsqueeze: dim 4 is out of range for a tensor of shape \(2, 3, 4\) \(valid: -4 to 3\)"):
        t().unsqueeze(4)


def test_flatten_and_squeeze_take_pytorchs_names():
    np.testing.assert_array_equal(t().flatten(start_dim=1).data, X.reshape(2, 12))
    np.testing.assert_array_equal(t().flatten(0, 1).data, X.reshape(6, 4))
    np.testing.assert_array_equal(tg.flatten(t(), end_dim=1).data, X.reshape(6, 4))
    column = t(X[:, :1, :1])
    np.testing.assert_array_equal(column.squeeze(dim=1).data, X[:, 0, :1])
    np.testing.assert_array_equal(tg.squeeze(column, dim=2).data, X[:, :1, 0])


def test_cat_stack_split_take_dim():
    a, b = t(X[0]), t(X[1])
    np.testing.assert_array_equal(tg.cat([a, b], dim=1).data, np.concatenate([X[0], X[1]], axis=1))
    np.testing.assert_array_equal(tg.cat([a, b]).data, np.concatenate([X[0], X[1]]))
    np.testing.assert_array_equal(tg.concatenate([a, b], dim=1).data, np.concatenate([X[0], X[1]], axis=1))
    np.testing.assert_array_equal(tg.stack([a, b], dim=2).data, np.stack([X[0], X[1]], axis=2))
    pieces = tg.split(t(), 2, dim=2)  # NumPy's meaning: two sections
    assert [p.shape for p in pieces] == [(2, 3, 2), (2, 3, 2)]
    with pytest.raises(TypeError, match="cat: got both dim= and axis="):
        tg.cat([a, b], dim=0, axis=1)


# ----------------------------------------------------------------------------------------------------
# New elementwise ops and softmaxes: values against NumPy, gradients against central differences


@given(arrays(shape=(2, 3), min_value=-0.9, max_value=3.0))
def test_log1p_matches_numpy_and_its_gradients(x):
    np.testing.assert_array_equal(t(x).log1p().data, np.log1p(x))
    np.testing.assert_array_equal(tg.log1p(t(x)).data, np.log1p(x))
    assert_gradients_match(lambda a: a.log1p(), x, second_order=True)


@given(arrays(shape=(2, 3)))
def test_expm1_matches_numpy_and_its_gradients(x):
    np.testing.assert_array_equal(t(x).expm1().data, np.expm1(x))
    np.testing.assert_array_equal(tg.expm1(t(x)).data, np.expm1(x))
    assert_gradients_match(lambda a: a.expm1(), x, second_order=True)


def test_log1p_and_expm1_are_accurate_near_zero():
    tiny = np.array([1e-12, -1e-12])
    np.testing.assert_array_equal(t(tiny).log1p().data, np.log1p(tiny))
    np.testing.assert_array_equal(t(tiny).expm1().data, np.expm1(tiny))
    assert abs(t(tiny).expm1().data[0] - 1e-12) < 1e-24  # exp(x) - 1 would lose almost every digit


@pytest.mark.parametrize("axis", [-1, 0, 1, (0, 1)])
def test_softmax_and_log_softmax_match_scipy(axis):
    x = X[0] * 3
    np.testing.assert_allclose(t(x).softmax(axis).data, scipy.special.softmax(x, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(t(x).log_softmax(dim=axis).data, scipy.special.log_softmax(x, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(tg.softmax(t(x), dim=axis).data, scipy.special.softmax(x, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(tg.log_softmax(t(x), axis).data, scipy.special.log_softmax(x, axis=axis), rtol=1e-12)


@given(arrays(shape=(3, 4)), st.sampled_from([-1, 0, 1]))
def test_softmax_gradients_first_and_second_order(x, axis):
    assert_gradients_match(lambda a: a.softmax(axis), x, second_order=True)
    assert_gradients_match(lambda a: a.log_softmax(axis), x, second_order=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmaxes_are_stable_at_large_magnitudes(dtype):
    x = leaf_of(np.array([[1e3, -1e3, 0.0], [1e3, 1e3, -1e3]], dtype=dtype))
    probabilities = x.softmax(-1)
    log_probabilities = x.log_softmax(-1)
    assert probabilities.dtype == dtype and np.all(np.isfinite(probabilities.data))
    np.testing.assert_allclose(probabilities.data, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(log_probabilities.data[0], [0, -2e3, -1e3], rtol=1e-6)
    (probabilities[:, 0].sum() + log_probabilities.sum()).backward()
    assert np.all(np.isfinite(x.grad.data))


def leaf_of(values):
    return Tensor(values, requires_grad=True)


def test_softmax_axis_out_of_range_names_the_op():
    with pytest.raises(np.exceptions.AxisError, match=r"softmax: axis 3 is out of bounds.*\(2, 3, 4\) float64"):
        t().softmax(3)


# ----------------------------------------------------------------------------------------------------
# norm: NumPy's ord, PyTorch's p


@pytest.mark.parametrize("ord_", [None, 2, 1, np.inf])
@pytest.mark.parametrize("axis", [0, -1])
def test_vector_norms_match_numpy(ord_, axis):
    x = X[0]
    np.testing.assert_allclose(t(x).norm(ord_, axis=axis).data, np.linalg.norm(x, ord_, axis=axis), rtol=1e-12)


def test_frobenius_and_entrywise_norms():
    x = X[0]
    np.testing.assert_allclose(t(x).norm().data, np.linalg.norm(x), rtol=1e-12)
    np.testing.assert_allclose(t(x).norm("fro").data, np.linalg.norm(x, "fro"), rtol=1e-12)
    np.testing.assert_allclose(t(x).norm(p=1).data, np.abs(x).sum(), rtol=1e-12)  # PyTorch: entrywise
    np.testing.assert_allclose(t(X).norm(p=3, dim=(1, 2)).data, (np.abs(X) ** 3).sum(axis=(1, 2)) ** (1 / 3),
                               rtol=1e-12)
    with pytest.raises(ValueError, match=r"norm: ord=1 over two axes is a matrix norm in numpy.linalg.norm"):
        t(x).norm(1)
    with pytest.raises(TypeError, match="norm: got both ord= \\(NumPy\\) and p= \\(PyTorch\\)"):
        t(x).norm(2, p=2)
    with pytest.raises(ValueError, match="norm: the order must be a positive number"):
        t(x).norm(p=0)


@given(arrays(shape=(3, 4), away_from=0), st.sampled_from([None, 0, 1]), st.sampled_from([2, 1, 3]))
def test_norm_gradients(x, axis, order):
    assert_gradients_match(lambda a: a.norm(p=order, dim=axis), x, second_order=order == 2)


def test_norm_of_a_zero_vector_has_a_zero_gradient_like_pytorch():
    x = leaf_of(np.zeros((2, 3)))
    x.norm(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))


@given(distinct_values(((4,),), min_value=0.1, max_value=3.0))
def test_norm_inf_gradient_goes_to_the_largest_entry(values):
    x = values[0] * np.array([1.0, -1.0, 1.0, -1.0])  # magnitudes apart: no tie for the largest |x|
    leaf = leaf_of(x)
    leaf.norm(np.inf).backward()
    expected = np.zeros(4)
    expected[np.argmax(np.abs(x))] = np.sign(x[np.argmax(np.abs(x))])
    np.testing.assert_array_equal(leaf.grad.data, expected)


# ----------------------------------------------------------------------------------------------------
# numel, tolist, matmul, clamp, manual_seed


def test_numel_tolist_matmul_clamp():
    assert t().numel() == 24 == tg.numel(t()) and t(2.0).numel() == 1
    assert t(X[0, 0]).tolist() == X[0, 0].tolist() and isinstance(t(X[0, 0]).tolist()[0], float)
    a, b = X[0], X[1].T
    np.testing.assert_array_equal(t(a).matmul(t(b)).data, a @ b)
    np.testing.assert_array_equal(tg.matmul(t(a), t(b)).data, np.matmul(a, b))
    np.testing.assert_array_equal(t().clamp(min=-0.5, max=0.5).data, np.clip(X, -0.5, 0.5))
    np.testing.assert_array_equal(tg.clamp(t(), max=0.0).data, np.clip(X, None, 0.0))
    np.testing.assert_array_equal(tg.clip(t(), min=0.0).data, np.clip(X, 0.0, None))
    assert_gradients_match(lambda x: x.clamp(-0.25, 0.25), np.array([-1.0, 0.1, 2.0]))


def test_any_and_all():
    mask = t(X > 0)
    np.testing.assert_array_equal(mask.any(dim=1).data, (X > 0).any(axis=1))
    np.testing.assert_array_equal(mask.all(axis=0).data, (X > 0).all(axis=0))


def test_manual_seed_seeds_numpys_global_state_that_the_library_draws_from():
    tg.manual_seed(7)
    first = (tg.randn(3).data, tg.rand(2).data, np.random.randn(2))
    np.random.seed(7)
    second = (np.random.standard_normal(3).astype(np.float32), np.random.random(2).astype(np.float32),
              np.random.randn(2))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(7)
    np.testing.assert_array_equal(tg.randn(3).data, first[0])
    with pytest.raises(TypeError, match="manual_seed: the seed must be an integer, got 'a'"):
        tg.manual_seed("a")
    with pytest.raises(ValueError, match=r"manual_seed: the seed must be in \[0, 2\*\*32\), got -1"):
        tg.manual_seed(-1)
