"""Convolutions (F.conv2d, F.conv1d, nn.Conv2d, nn.Conv1d), F.pad / nn.ZeroPad2d and nn.BatchNorm2d.

Values are compared with a direct loop over output pixels (the course's conv_forward, generalised to
stride, dilation, groups and asymmetric padding); gradients with central differences in float64 over
hypothesis-drawn shapes, strides, paddings ("same" included), dilations and groups; second derivatives
with gradgradcheck; and, when PyTorch is importable, values and gradients with torch's.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, gradgradcheck, nn, no_grad
from tinygrad_dl.testing import assert_gradients_match
from tinygrad_dl.nn._conv_ops import same_padding

from tests._window_reference import padding_sides

# ----------------------------------------------------------------------------------------------------
# A direct loop implementation, the reference for values


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_loop(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, i, j] = b[o] + sum over (c, a, e) of w[o, c, a, e] * x_pad[n, g*Cg + c, i*sh + a*dh, j*sw + e*dw]."""
    stride, dilation = _pair(stride), _pair(dilation)
    n, c_in, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    top, bottom, left, right = padding_sides(padding, (kh, kw), stride, dilation, (h, wd))
    xp = np.zeros((n, c_in, h + top + bottom, wd + left + right))
    xp[:, :, top:top + h, left:left + wd] = x
    ho = (xp.shape[2] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    wo = (xp.shape[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, c_out, ho, wo))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(ho):
            for j in range(wo):
                rows = slice(i * stride[0], i * stride[0] + (kh - 1) * dilation[0] + 1, dilation[0])
                cols = slice(j * stride[1], j * stride[1] + (kw - 1) * dilation[1] + 1, dilation[1])
                window = xp[:, g * c_group:(g + 1) * c_group, rows, cols]
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            out[:, o] += b[o]
    return out


CASES = [  # (x shape, weight shape, stride, padding, dilation, groups)
    ((2, 3, 5, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 7, 7), (4, 3, 3, 2), (2, 1), (1, 2), 1, 1),
    ((1, 4, 6, 5), (6, 2, 3, 3), 2, "same", 1, 2),
    ((1, 2, 7, 8), (3, 2, 2, 3), 3, "same", (2, 1), 1),     # odd total "same" padding, with dilation
    ((2, 6, 5, 5), (6, 1, 3, 3), 1, "same", 1, 6),          # depthwise
    ((1, 3, 4, 4), (2, 3, 1, 1), 2, "valid", 1, 1),         # 1x1, strided
    ((1, 1, 8, 8), (1, 1, 4, 4), 4, 0, 1, 1),               # windows that tile the input
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CASES)
def test_conv2d_values_equal_a_loop(x_shape, w_shape, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out = F.conv2d(Tensor(x), Tensor(w), Tensor(b), stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, conv2d_loop(x, w, b, stride, padding, dilation, groups), rtol=1e-12,
                               atol=1e-12)


def test_same_padding_is_tensorflows_for_any_stride():
    # TF SAME: output ceil(size / stride); total padding max((out - 1) * stride + k - size, 0), extra at the end
    assert same_padding(64, 4, 1, 1) == (1, 2)       # the SIGNS net's 4x4 conv: 3 rows, the odd one at the bottom
    assert same_padding(64, 8, 8, 1) == (0, 0)       # its 8x8/8 max pool
    assert same_padding(5, 3, 2, 1) == (1, 1)
    assert same_padding(6, 3, 2, 1) == (0, 1)        # odd total with stride 2
    assert same_padding(7, 2, 3, 2) == (1, 1)        # dilated kernel of extent 3
    x = Tensor(np.ones((1, 1, 6, 6)))
    assert F.conv2d(x, Tensor(np.ones((1, 1, 3, 3))), stride=2, padding="same").shape == (1, 1, 3, 3)
    assert F.max_pool2d(x, 4, 4, padding="same").shape == (1, 1, 2, 2)


# ----------------------------------------------------------------------------------------------------
# Gradients over drawn geometries


@st.composite
def conv_configs(draw, max_side=6):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.one_of(st.just("same"), st.just("valid"), st.integers(0, 2),
                             st.tuples(st.integers(0, 2), st.integers(0, 2))))
    hw = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    top, bottom, left, right = padding_sides(padding, kernel, stride, dilation, hw)
    assume((kernel[0] - 1) * dilation[0] + 1 <= hw[0] + top + bottom)
    assume((kernel[1] - 1) * dilation[1] + 1 <= hw[1] + left + right)
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draw(st.integers(1, 2)), c_in) + hw)
    w = rng.standard_normal((c_out, c_in // groups) + kernel)
    b = rng.standard_normal(c_out)
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@settings(deadline=None)
@given(conv_configs())
def test_conv2d_gradients_match_numerical_differences(config):
    x, w, b, kwargs = config
    assert_gradients_match(lambda x, w, b: F.conv2d(x, w, b, **kwargs), x, w, b,
                           reference=lambda x, w, b: conv2d_loop(x, w, b, **kwargs))


@settings(deadline=None, max_examples=10)
@given(conv_configs(max_side=4))
def test_conv2d_second_derivatives(config):
    x, w, b, kwargs = config
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), [x, w, b])


@settings(deadline=None, max_examples=15)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.one_of(st.just("same"), st.integers(0, 2)),
       st.integers(5, 9), st.integers(0, 999))  # (length >= 5: the widest kernel, 3 dilated by 2, fits unpadded)
def test_conv1d_is_conv2d_of_height_one(kernel, stride, dilation, padding, length, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((2, 3, length)), rng.standard_normal((4, 3, kernel)), rng.standard_normal(4)
    out = F.conv1d(Tensor(x), Tensor(w), Tensor(b), stride, padding, dilation)
    pad2 = padding if padding == "same" else (0, padding)
    expected = conv2d_loop(x[:, :, None], w[:, :, None], b, (1, stride), pad2, (1, dilation))[:, :, 0]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert_gradients_match(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation), x, w, b)


def test_conv1d_second_derivatives_and_layer():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 2, 7)), rng.standard_normal((3, 2, 3))
    assert gradgradcheck(lambda x, w: F.conv1d(x, w, stride=2, padding="same"), [x, w])
    layer = nn.Conv1d(2, 3, 3, padding=1, dtype=np.float64)
    assert layer.weight.shape == (3, 2, 3) and layer(Tensor(x)).shape == (2, 3, 7)
    assert repr(layer) == "Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=(1,))"


def test_float32_stays_float32_and_no_grad_builds_no_graph():
    rng = np.random.default_rng(2)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), requires_grad=True)
    out = conv(x)
    assert out.dtype == np.float32 and out.grad_fn is not None
    out.sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == np.float32
    with no_grad():
        assert conv(x).grad_fn is None


def test_conv_gradient_is_one_node_with_a_transposed_convolution_for_create_graph():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    out = F.conv2d(x, w, stride=2, padding=1)
    assert out.grad_fn.name == "Convolution" and out.grad_fn.parents[0] is x
    (gx,) = __import__("tinygrad_dl").grad(out.sum(), [x], create_graph=True)
    assert gx.grad_fn.name == "ConvInputGrad"
    penalty = (gx * gx).sum()  # a gradient penalty: differentiable with respect to w
    penalty.backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad.data))


# ----------------------------------------------------------------------------------------------------
# Errors name the function or layer and the shapes


def test_conv_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\).*expected a 4-D input.*\(3, 16, 16\)"):
        conv(Tensor(np.zeros((3, 16, 16), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*input has 4 channels.*\(1, 4, 8, 8\).*\(8, 3, 3, 3\)"):
        conv(Tensor(np.zeros((1, 4, 8, 8), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*kernel 3x3 is larger than the padded input 2x2"):
        conv(Tensor(np.zeros((1, 3, 2, 2), np.float32)))
    with pytest.raises(TypeError, match=r"Conv2d\(3, 8.*floating-point.*uint8"):
        conv(Tensor(np.zeros((1, 3, 8, 8), np.uint8)))
    with pytest.raises(ValueError, match="Conv2d: stride must be >= 1, got 0"):
        nn.Conv2d(3, 8, 3, stride=0)
    with pytest.raises(ValueError, match=r"Conv2d: groups=2 must divide in_channels \(3\)"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be an int, a tuple, 'valid' or 'same'"):
        nn.Conv2d(3, 8, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        nn.Conv1d(3, 8, 0)


def test_functional_conv_errors():
    x, w = Tensor(np.zeros((1, 4, 6, 6))), Tensor(np.zeros((6, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"conv2d: groups=4 does not divide the weight's 6 output channels"):
        F.conv2d(x, w, groups=4)
    with pytest.raises(ValueError, match=r"conv2d: the input has 4 channels .* expects 6"):
        F.conv2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"conv2d: stride must be >= 1, got -1"):
        F.conv2d(x, w, stride=-1, groups=2)
    with pytest.raises(ValueError, match=r"conv2d: bias has shape \(5,\), expected \(6,\)"):
        F.conv2d(x, w, np.zeros(5), groups=2)
    with pytest.raises(ValueError, match="conv2d: padding must be an int, a pair, 'valid' or 'same'"):
        F.conv2d(x, w, padding="full", groups=2)
    with pytest.raises(ValueError, match=r"conv2d: the kernel 3x3 \(dilated to 7x7\) is larger than the padded input 6x6"):
        F.conv2d(x, w, dilation=3, groups=2)
    with pytest.raises(ValueError, match=r"conv1d: expected a 3-D input \(N, C_in, L\), got shape \(1, 4, 6, 6\)"):
        F.conv1d(x, Tensor(np.zeros((6, 4, 3))))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D weight"):
        F.conv2d(x, Tensor(np.zeros((6, 4, 3))))


# ----------------------------------------------------------------------------------------------------
# Layers: PyTorch's names, shapes and default initialisation; the course's initialisations


def test_conv2d_layer_shapes_names_and_default_init():
    conv = nn.Conv2d(6, 8, (3, 5), stride=2, padding="same", groups=2, generator=np.random.default_rng(0))
    assert conv.weight.shape == (8, 3, 3, 5) and conv.bias.shape == (8,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(3 * 3 * 5)  # PyTorch: kaiming_uniform(a=sqrt(5)) -> 1/sqrt(fan_in), fan_in = C_in/groups*kH*kW
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.8 * bound
    assert np.abs(conv.bias.data).max() <= bound
    assert repr(conv) == "Conv2d(6, 8, kernel_size=(3, 5), stride=(2, 2), padding='same', groups=2)"
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert conv(Tensor(np.zeros((2, 6, 9, 9), np.float32))).shape == (2, 8, 5, 5)


def test_conv_weights_get_the_courses_initialisations_from_conv_fans():
    fan_in, fan_out = nn.init.fan_in_and_fan_out((16, 8, 2, 2))
    assert (fan_in, fan_out) == (8 * 2 * 2, 16 * 2 * 2)  # Keras/PyTorch: C * kH * kW on each side
    np.random.seed(0)
    glorot = nn.Conv2d(8, 16, 2, init="xavier_uniform", dtype=np.float64)
    np.random.seed(0)
    expected = np.random.uniform(-1, 1, (16, 8, 2, 2)) * math.sqrt(6 / (32 + 64))
    np.testing.assert_allclose(glorot.weight.data, expected, rtol=1e-12)
    assert np.all(glorot.bias.data == 0)
    np.random.seed(1)
    he = nn.Conv2d(3, 4, 3, init="he", dtype=np.float64)
    np.random.seed(1)
    np.testing.assert_allclose(he.weight.data, np.random.randn(4, 3, 3, 3) * math.sqrt(2 / 27), rtol=1e-12)


def test_conv_layer_gradients_in_float64():
    rng = np.random.default_rng(4)
    conv = nn.Conv2d(2, 3, 3, stride=(1, 2), padding="same", dtype=np.float64, generator=rng)
    x = rng.standard_normal((2, 2, 5, 6))
    assert_gradients_match(lambda x, w, b: F.conv2d(x, w, b, (1, 2), "same"), x, conv.weight.data, conv.bias.data)
    out = conv(Tensor(x))
    np.testing.assert_allclose(out.data, conv2d_loop(x, conv.weight.data, conv.bias.data, (1, 2), "same"),
                               atol=1e-12)


# ----------------------------------------------------------------------------------------------------
# Padding


def test_pad_takes_pytorchs_last_axis_first_order():
    x = Tensor(np.arange(6.0).reshape(1, 1, 2, 3), requires_grad=True)
    out = F.pad(x, (1, 2, 3, 0))  # W: 1 left, 2 right; H: 3 on top, 0 below
    assert out.shape == (1, 1, 5, 6)
    np.testing.assert_array_equal(out.data[0, 0, 3:, 1:4], x.data[0, 0])
    assert out.data.sum() == x.data.sum()
    (out * np.arange(30.0).reshape(1, 1, 5, 6)).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], np.arange(30.0).reshape(5, 6)[3:, 1:4])
    assert F.pad(Tensor(np.ones((2, 3))), (1, 1), value=7.0).data[0].tolist() == [7, 1, 1, 1, 7]
    with pytest.raises(ValueError, match="pad: pads must be >= 0"):
        F.pad(x, (1, -1))
    with pytest.raises(ValueError, match=r"pad: pad must be a tuple of \(before, after\) int pairs"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="only mode='constant'"):
        F.pad(x, (1, 1), mode="reflect")


def test_zero_pad2d_is_the_courses_zero_pad():
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)  # the course's zero_pad test case, NHWC
    out = nn.ZeroPad2d(2)(Tensor(x.transpose(0, 3, 1, 2))).data.transpose(0, 2, 3, 1)
    assert out.shape == (4, 7, 7, 2)
    np.testing.assert_array_equal(out[:, 2:5, 2:5], x)
    np.testing.assert_array_equal(out[1, 1], np.zeros((7, 2)))
    assert nn.ZeroPad2d((1, 0, 2, 3))(Tensor(np.ones((1, 1, 2, 2)))).shape == (1, 1, 7, 3)
    with pytest.raises(ValueError, match=r"ZeroPad2d\(\(1, 1, 1, 1\)\): expected a 4-D input .* \(3, 5\)"):
        nn.ZeroPad2d(1)(Tensor(np.ones((3, 5))))
    with pytest.raises(ValueError, match="ZeroPad2d: padding must be an int or"):
        nn.ZeroPad2d((1, 2))


# ----------------------------------------------------------------------------------------------------
# BatchNorm2d


def test_batchnorm2d_normalises_each_channel_over_batch_and_positions():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm2d(3, momentum=0.1, dtype=np.float64)
    bn.weight.data[:] = [1.0, 2.0, 0.5]
    bn.bias.data[:] = [0.0, -1.0, 3.0]
    x = rng.standard_normal((4, 3, 5, 6)) * 3 + 1
    out = bn(Tensor(x)).data
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * bn.weight.data[:, None, None] + bn.bias.data[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    count = 4 * 5 * 6
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean.ravel(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * var.ravel() * count / (count - 1), rtol=1e-12)
    bn.eval()
    expected_eval = (x - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] + 1e-5)
    np.testing.assert_allclose(bn(Tensor(x)).data, expected_eval * bn.weight.data[:, None, None]
                               + bn.bias.data[:, None, None], rtol=1e-10)
    bn.train()
    assert_gradients_match(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x[:2, :, :3, :3],
                           bn.weight.data, bn.bias.data)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input \(N, 3, H, W\), got shape \(4, 3, 5\)"):
        bn(Tensor(x[:, :, :, 0]))
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]


# ----------------------------------------------------------------------------------------------------
# PyTorch cross-check (run when torch is importable)


def test_conv_values_and_gradients_equal_pytorchs():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for x_shape, w_shape, stride, padding, dilation, groups in CASES:
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
        weights = rng.standard_normal(conv2d_loop(x, w, b, stride, padding, dilation, groups).shape)
        ours = [Tensor(a, requires_grad=True) for a in (x, w, b)]
        (F.conv2d(*ours, stride, padding, dilation, groups) * weights).sum().backward()
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        tx = theirs[0]
        top, bottom, left, right = padding_sides(padding, w_shape[2:], _pair(stride), _pair(dilation), x_shape[2:])
        tx = torch.nn.functional.pad(tx, (left, right, top, bottom))  # torch's "same" is stride-1 only
        out = torch.nn.functional.conv2d(tx, theirs[1], theirs[2], stride, 0, dilation, groups)
        (out * torch.tensor(weights)).sum().backward()
        for mine, other in zip(ours, theirs):
            np.testing.assert_allclose(mine.grad.data, other.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_a_pytorch_state_dict_loads_into_conv2d():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1, dtype=torch.float64)
    ours = nn.Conv2d(3, 5, 3, stride=2, padding=1, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((2, 3, 9, 9))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12,
                               atol=1e-12)
