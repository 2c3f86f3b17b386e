"""Pooling: F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d and their layers.

Values against a direct loop over windows; gradients against central differences over drawn kernels,
strides, paddings ("same" included) and dilations, with inputs whose values are pairwise apart (no ties
inside a window, so max pooling is differentiable there); the tie rule on purpose-built ties; second
derivatives; PyTorch's values and gradients when torch is importable.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, gradgradcheck, nn
from tinygrad_dl.testing import assert_gradients_match, distinct_values

from tests._window_reference import padding_sides


def pool_loop(x, kernel, stride, padding=0, dilation=(1, 1), mode="max", count_include_pad=True):
    """Every window of the padded input, reduced by max (padding never wins) or mean."""
    n, c, h, w = x.shape
    top, bottom, left, right = padding_sides(padding, kernel, stride, dilation, (h, w))
    xp = np.full((n, c, h + top + bottom, w + left + right), np.nan)
    xp[:, :, top:top + h, left:left + w] = x
    ho = (xp.shape[2] - (kernel[0] - 1) * dilation[0] - 1) // stride[0] + 1
    wo = (xp.shape[3] - (kernel[1] - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride[0]:i * stride[0] + (kernel[0] - 1) * dilation[0] + 1:dilation[0],
                        j * stride[1]:j * stride[1] + (kernel[1] - 1) * dilation[1] + 1:dilation[1]]
            if mode == "max":
                out[:, :, i, j] = np.nanmax(window, axis=(2, 3))
            elif count_include_pad:
                out[:, :, i, j] = np.nansum(window, axis=(2, 3)) / (kernel[0] * kernel[1])
            else:
                out[:, :, i, j] = np.nanmean(window, axis=(2, 3))
    return out


@st.composite
def pool_configs(draw, max_side=6, dilation=True):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    padding = draw(st.one_of(st.just("same"), st.just("valid"), st.integers(0, 1),
                             st.tuples(st.integers(0, 1), st.integers(0, 1))))
    if not isinstance(padding, str):
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        assume(ph <= kernel[0] // 2 and pw <= kernel[1] // 2)
    hw = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    top, bottom, left, right = padding_sides(padding, kernel, stride, dil, hw)
    assume((kernel[0] - 1) * dil[0] + 1 <= hw[0] + top + bottom)
    assume((kernel[1] - 1) * dil[1] + 1 <= hw[1] + left + right)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmax of a window that holds only padding
        assume(not np.isnan(pool_loop(np.ones((1, 1) + hw), kernel, stride, padding, dil)).any())  # refused below
    (x,) = draw(distinct_values(((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + hw,), gap=0.01))
    return x, dict(kernel_size=kernel, stride=stride, padding=padding), dil


@settings(deadline=None)
@given(pool_configs())
def test_max_pool_gradients_match_numerical_differences(config):
    x, kwargs, dilation = config
    reference = pool_loop(x, kwargs["kernel_size"], kwargs["stride"], kwargs["padding"], dilation, "max")
    out = F.max_pool2d(Tensor(x), dilation=dilation, **kwargs)
    np.testing.assert_array_equal(out.data, reference)
    assert_gradients_match(lambda x: F.max_pool2d(x, dilation=dilation, **kwargs), x)


@settings(deadline=None)
@given(pool_configs(dilation=False), st.sampled_from([None, True, False]))
def test_avg_pool_gradients_match_numerical_differences(config, count_include_pad):
    x, kwargs, _ = config
    include = (kwargs["padding"] != "same") if count_include_pad is None else count_include_pad
    assert_gradients_match(lambda x: F.avg_pool2d(x, count_include_pad=count_include_pad, **kwargs), x,
                           reference=lambda x: pool_loop(x, kwargs["kernel_size"], kwargs["stride"],
                                                         kwargs["padding"], mode="avg", count_include_pad=include))


@settings(deadline=None, max_examples=10)
@given(pool_configs(max_side=4))
def test_pooling_second_derivatives(config):
    x, kwargs, dilation = config
    weights = np.random.default_rng(0).standard_normal(x.shape)
    # max pooling is piecewise linear: its gradient's own derivative routes through the same winners
    assert gradgradcheck(lambda x: F.max_pool2d(x * x * weights, dilation=dilation, **kwargs), [x])
    assert gradgradcheck(lambda x: F.avg_pool2d(x * x, **kwargs), [x])


def test_dilated_windows_holding_only_padding_are_refused():
    with pytest.raises(ValueError, match=r"max_pool2d: with padding 'same' and dilation \(2, 1\), some windows of the "
                                         r"input of shape \(1, 1, 1, 1\) hold only padding"):
        F.max_pool2d(Tensor(np.ones((1, 1, 1, 1))), (2, 1), 1, "same", dilation=(2, 1))


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_only():
    x = Tensor(np.array([[[[1.0, 3.0, 3.0],
                           [3.0, 0.0, 3.0],
                           [2.0, 3.0, 1.0]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2, stride=1)  # four overlapping windows, each holding several 3s
    np.testing.assert_array_equal(out.data, [[[[3, 3], [3, 3]]]])
    out.backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]))
    # window (0,0): first 3 in row-major order is (0,1); (0,1): (0,1); (1,0): (1,0); (1,1): (1,2)
    np.testing.assert_array_equal(x.grad.data, [[[[0, 11, 0], [100, 0, 1000], [0, 0, 0]]]])
    np.testing.assert_allclose(x.grad.data.sum(), 1111.0)


def test_avg_pool_spreads_the_gradient_evenly_and_same_padding_excludes_the_padding():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    F.avg_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((1, 1, 4, 4), 0.25))  # the course's distribute_value
    y = Tensor(np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(F.avg_pool2d(y, 2, padding="same").data, np.ones((1, 1, 2, 2)))  # TensorFlow
    np.testing.assert_array_equal(F.avg_pool2d(y, 3, 1, padding=1).data[0, 0, 0], [4 / 9, 6 / 9, 4 / 9])  # PyTorch
    np.testing.assert_array_equal(F.avg_pool2d(y, 3, 1, padding=1, count_include_pad=False).data, np.ones((1, 1, 3, 3)))


def test_adaptive_avg_pool_uses_pytorchs_bins():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 7))
    out = F.adaptive_avg_pool2d(Tensor(x), (3, 2)).data
    for i, (r0, r1) in enumerate([(0, 2), (1, 4), (3, 5)]):  # floor(i*5/3) .. ceil((i+1)*5/3)
        for j, (c0, c1) in enumerate([(0, 4), (3, 7)]):
            np.testing.assert_allclose(out[:, :, i, j], x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(Tensor(x), 1).data, x.mean(axis=(2, 3), keepdims=True))
    assert F.adaptive_avg_pool2d(Tensor(x), (None, 2)).shape == (2, 3, 5, 2)
    assert_gradients_match(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), x)
    assert_gradients_match(lambda x: F.adaptive_avg_pool2d(x, 1), x)
    assert gradgradcheck(lambda x: F.adaptive_avg_pool2d(x * x, (2, 3)), [x[:1, :1]])
    assert nn.AdaptiveAvgPool2d((3, 2))(Tensor(x)).shape == (2, 3, 3, 2)


def test_pool_layers_defaults_and_errors():
    pool = nn.MaxPool2d(2)
    assert pool.stride == (2, 2) and repr(pool) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2))"
    assert repr(nn.AvgPool2d(3, 1, "same")) == "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding='same')"
    x = Tensor(np.zeros((1, 2, 5, 5)))
    assert pool(x).shape == (1, 2, 2, 2) and nn.MaxPool2d(8, 8, "same")(Tensor(np.zeros((1, 1, 64, 64)))).shape == \
        (1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=\(2, 2\).*expected a 4-D input.*\(2, 5, 5\)"):
        pool(Tensor(np.zeros((2, 5, 5))))
    with pytest.raises(ValueError, match=r"max_pool2d: the kernel 6x6 is larger than the padded input 5x5"):
        F.max_pool2d(x, 6)
    with pytest.raises(ValueError, match=r"MaxPool2d: padding 2 must be at most half the kernel size \(3, 3\)"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d: stride must be >= 1, got 0"):
        F.avg_pool2d(x, 2, stride=0)
    with pytest.raises(TypeError, match=r"avg_pool2d: the input must be a floating-point tensor, got dtype int64"):
        F.avg_pool2d(Tensor(np.zeros((1, 1, 4, 4), np.int64)), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be >= 1"):
        F.adaptive_avg_pool2d(x, 0)


def test_pooling_keeps_float32():
    x = Tensor(np.random.default_rng(2).standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, "same"), F.adaptive_avg_pool2d(x, (2, 3))):
        assert out.dtype == np.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_pooling_values_and_gradients_equal_pytorchs():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 3 * 9 * 8).reshape(2, 3, 9, 8) / 10.0  # distinct values: no ties
    cases = [
        (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: tf.max_pool2d(t, 3, 2, 1)),
        (lambda t: F.max_pool2d(t, (2, 3), 1, dilation=2), lambda t: tf.max_pool2d(t, (2, 3), 1, dilation=2)),
        (lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: tf.avg_pool2d(t, 3, 2, 1)),
        (lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
         lambda t: tf.avg_pool2d(t, 3, 2, 1, count_include_pad=False)),
        (lambda t: F.adaptive_avg_pool2d(t, (4, 3)), lambda t: tf.adaptive_avg_pool2d(t, (4, 3))),
        (lambda t: F.adaptive_avg_pool2d(t, 1), lambda t: tf.adaptive_avg_pool2d(t, 1)),
    ]
    for ours, theirs in cases:
        mine, other = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_mine, out_other = ours(mine), theirs(other)
        np.testing.assert_allclose(out_mine.data, out_other.detach().numpy(), rtol=1e-12, atol=1e-12)
        weights = rng.standard_normal(out_mine.shape)
        (out_mine * weights).sum().backward()
        (out_other * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(mine.grad.data, other.grad.numpy(), rtol=1e-12, atol=1e-12)
