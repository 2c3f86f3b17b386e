"""Layers as modules: Linear, activations, Flatten, Identity, Dropout, BatchNorm1d, LayerNorm.

Each layer's gradients (inputs and parameters) are checked against central differences in float64."""
import numpy as np
import pytest

from tinygrad_dl import Tensor, gradcheck, nn


def _module_gradcheck(module, x, eps=1e-6, rtol=1e-6, atol=1e-8):
    """Compare every parameter's .grad with central differences of sum(module(x) * w), and check the
    input gradient with tinygrad_dl.gradcheck. Parameters must be float64."""
    weights = np.random.default_rng(123).standard_normal(module(Tensor(x)).shape)

    def objective():
        return float((module(Tensor(x)).data * weights).sum())

    module.zero_grad()
    (module(Tensor(x)) * weights).sum().backward()
    checked = 0
    for name, p in module.named_parameters():
        assert p.dtype == np.float64, name
        numeric = np.zeros_like(p.data)
        for i in np.ndindex(p.shape):
            original = p.data[i]
            p.data[i] = original + eps
            plus = objective()
            p.data[i] = original - eps
            minus = objective()
            p.data[i] = original
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(p.grad.data, numeric, rtol=rtol, atol=atol, err_msg=name)
        checked += 1
    assert gradcheck(lambda t: module(t), [x])
    return checked


def _away_from_zero(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)


# -- Linear ---------------------------------------------------------------------------------------------------


def test_linear_layout_and_forward():
    layer = nn.Linear(3, 2, generator=np.random.default_rng(0))
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    out = layer(Tensor(x))
    np.testing.assert_allclose(out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    assert out.dtype == np.float32


def test_linear_gradients_in_float64():
    layer = nn.Linear(4, 3, dtype=np.float64, generator=np.random.default_rng(2))
    assert _module_gradcheck(layer, np.random.default_rng(3).standard_normal((5, 4))) == 2
    no_bias = nn.Linear(4, 3, bias=False, dtype=np.float64)
    assert no_bias.bias is None and len(no_bias.parameters()) == 1
    assert _module_gradcheck(no_bias, np.random.default_rng(4).standard_normal((2, 6, 4))) == 1


def test_linear_float64_end_to_end_reproduces_the_course_propagate_test():
    # C1 W2 propagate (K): w = [[1], [2]], b = 2, X = [[1, 2], [3, 4]], Y = [[1, 0]] (examples are columns)
    layer = nn.Linear(2, 1, dtype=np.float64)
    layer.weight.data[...] = [[1.0, 2.0]]
    layer.bias.data[...] = 2.0
    X, Y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1, 0]])
    cost = nn.BCELoss()(nn.Sigmoid()(layer(Tensor(X.T))), Y.T)
    cost.backward()
    assert cost.dtype == np.float64 and layer.weight.grad.dtype == np.float64
    assert cost.item() == pytest.approx(6.000064773192205, rel=1e-12)
    np.testing.assert_allclose(layer.weight.grad.data.T, [[0.99993216], [1.99980262]], atol=5e-9)
    assert layer.bias.grad.item() == pytest.approx(0.499935230625, abs=5e-12)


def test_linear_init_choices():
    np.random.seed(3)
    expected = np.random.randn(5, 4) * np.sqrt(2. / 4)
    np.random.seed(3)
    layer = nn.Linear(4, 5, dtype=np.float64, init="kaiming_normal")
    np.testing.assert_array_equal(layer.weight.data, expected)
    assert not layer.bias.data.any()
    zeros = nn.Linear(4, 1, init="zeros")
    assert not zeros.weight.data.any() and not zeros.bias.data.any()
    default = nn.Linear(16, 8, generator=np.random.default_rng(0))
    assert np.abs(default.weight.data).max() <= 0.25 and np.abs(default.bias.data).max() <= 0.25
    assert default.bias.data.any()  # PyTorch's default draws the bias too
    custom = nn.Linear(2, 2, init=lambda w: nn.init.constant_(w, 0.5))
    np.testing.assert_array_equal(custom.weight.data, np.full((2, 2), 0.5, dtype=np.float32))
    with pytest.raises(ValueError, match="unknown init 'gaussian'"):
        nn.Linear(2, 2, init="gaussian")


def test_linear_rejects_a_wrong_input_width():
    with pytest.raises(ValueError, match=r"input of shape \(4, 5\) does not fit a weight of shape \(2, 3\)"):
        nn.Linear(3, 2)(Tensor(np.ones((4, 5), dtype=np.float32)))


# -- activations, Flatten, Identity -----------------------------------------------------------------------


@pytest.mark.parametrize("module, formula", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Softmax(axis=-1), lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    (nn.Softmax(axis=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
    (nn.Identity(), lambda x: x),
])
def test_activation_modules(module, formula):
    x = _away_from_zero((4, 3))
    np.testing.assert_allclose(module(Tensor(x)).data, formula(x), rtol=1e-13)
    assert gradcheck(lambda t: module(t), [x]).relative_difference < 1e-7


def test_flatten_module():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    assert nn.Flatten()(Tensor(x)).shape == (2, 60)
    assert nn.Flatten(1, 2)(Tensor(x)).shape == (2, 12, 5)
    np.testing.assert_array_equal(nn.Flatten()(Tensor(x)).data, x.reshape(2, 60))
    assert gradcheck(lambda t: nn.Flatten()(t), [x[:, :2, :2, :2]])


# -- Dropout --------------------------------------------------------------------------------------------------


def test_dropout_mask_is_the_course_mask_after_seeding():
    x = np.random.default_rng(0).uniform(1, 2, (4, 6))
    np.random.seed(1)
    out = nn.Dropout(p=0.3)(Tensor(x)).data
    np.random.seed(1)
    mask = np.random.rand(4, 6) < 0.7
    np.testing.assert_array_equal(out, x * mask / 0.7)  # bit-identical to the course's A * D / keep_prob


def test_dropout_columns_layout_gives_the_course_masks_to_a_row_layout_net():
    A = np.random.default_rng(1).uniform(1, 2, (3, 5))  # course layout: (units, examples)
    np.random.seed(2)
    course = A * (np.random.rand(*A.shape) < 0.8) / 0.8
    np.random.seed(2)
    ours = nn.Dropout(0.2, layout="columns")(Tensor(A.T)).data  # the same activations in row layout
    np.testing.assert_array_equal(ours, course.T)


def test_dropout_reproduces_the_course_forward_propagation_with_dropout():
    # C2 W1 Regularization, forward_propagation_with_dropout_test_case with keep_prob = 0.7
    np.random.seed(1)
    X = np.random.randn(3, 5)
    W1, b1 = np.random.randn(2, 3), np.random.randn(2, 1)
    W2, b2 = np.random.randn(3, 2), np.random.randn(3, 1)
    W3, b3 = np.random.randn(1, 3), np.random.randn(1, 1)

    def linear(W, b):
        layer = nn.Linear(W.shape[1], W.shape[0], dtype=np.float64)
        layer.weight.data[...], layer.bias.data[...] = W, b.ravel()
        return layer

    net = nn.Sequential(linear(W1, b1), nn.ReLU(), nn.Dropout(0.3, layout="columns"),
                        linear(W2, b2), nn.ReLU(), nn.Dropout(0.3, layout="columns"),
                        linear(W3, b3), nn.Sigmoid())
    np.random.seed(1)  # the notebook seeds inside forward_propagation_with_dropout
    A3 = net(Tensor(X.T)).data.T
    np.testing.assert_allclose(A3, [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]], atol=5e-9)


def test_dropout_with_a_generator_is_reproducible_and_scales_the_kept_units():
    x = np.ones((200, 50))
    a = nn.Dropout(0.25, generator=np.random.default_rng(3))(Tensor(x)).data
    b = nn.Dropout(0.25, generator=np.random.default_rng(3))(Tensor(x)).data
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {0.0, 1 / 0.75}
    assert abs((a == 0).mean() - 0.25) < 0.01  # about p of the units are dropped
    assert abs(a.mean() - 1.0) < 0.02  # inverted dropout keeps the expected value


def test_dropout_is_the_identity_in_eval_mode_and_backward_uses_the_mask():
    model = nn.Sequential(nn.Dropout(0.5, generator=np.random.default_rng(0)))
    x = Tensor(np.arange(1.0, 13.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(model.eval()(x).data, x.data)
    out = model.train()(x)
    out.sum().backward()
    kept = out.data != 0
    np.testing.assert_array_equal(x.grad.data, kept * 2.0)


def test_dropout_gradient_and_dtype():
    x = np.random.default_rng(4).standard_normal((3, 5))
    assert gradcheck(lambda t: nn.Dropout(0.3, generator=np.random.default_rng(9))(t), [x])
    x32 = Tensor(x.astype(np.float32), requires_grad=True)
    out = nn.Dropout(0.3, generator=np.random.default_rng(9))(x32)
    out.sum().backward()
    assert out.dtype == np.float32 and x32.grad.dtype == np.float32


def test_dropout_rejects_bad_arguments():
    with pytest.raises(ValueError, match="probability of dropping"):
        nn.Dropout(p=-0.1)
    with pytest.raises(ValueError, match="layout"):
        nn.Dropout(layout="cols")


# -- BatchNorm1d ------------------------------------------------------------------------------------------------


def test_batchnorm_train_then_eval():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm1d(3, momentum=0.1)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]  # PyTorch's keys
    batches = [(rng.standard_normal((16, 3)) * [1, 2, 3] + [5, -1, 0]).astype(np.float32) for _ in range(3)]
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    for batch in batches:
        out = bn(Tensor(batch)).data
        np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)  # batch statistics in training
        np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-3)
        expected_mean = 0.9 * expected_mean + 0.1 * batch.mean(axis=0)
        expected_var = 0.9 * expected_var + 0.1 * batch.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, expected_var, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32
    bn.eval()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(bn(Tensor(x)).data, (x - expected_mean) / np.sqrt(expected_var + 1e-5), rtol=1e-4,
                               atol=1e-5)
    frozen = bn.running_mean.copy()
    bn(Tensor(x))
    np.testing.assert_array_equal(bn.running_mean, frozen)  # eval does not update the statistics


def test_batchnorm_gradients_in_training_and_eval():
    rng = np.random.default_rng(6)
    bn = nn.BatchNorm1d(4, dtype=np.float64)
    bn.weight.data[...] = rng.standard_normal(4)
    bn.bias.data[...] = rng.standard_normal(4)
    x = rng.standard_normal((6, 4))
    assert _module_gradcheck(bn, x, rtol=1e-5, atol=1e-7) == 2
    bn.eval()
    bn.running_var[...] = rng.uniform(0.5, 2, 4)
    assert _module_gradcheck(bn, x) == 2


def test_batchnorm_without_affine_and_on_sequences():
    bn = nn.BatchNorm1d(2, affine=False, dtype=np.float64)
    assert bn.parameters() == [] and list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    x = np.random.default_rng(7).standard_normal((3, 2, 4))
    out = bn(Tensor(x)).data
    expected = (x - x.mean(axis=(0, 2), keepdims=True)) / np.sqrt(x.var(axis=(0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\): expected input \(N, 2\)"):
        bn(Tensor(np.ones((3, 5))))


def test_batchnorm_state_dict_round_trip_with_buffers(tmp_path):
    rng = np.random.default_rng(8)
    bn = nn.BatchNorm1d(3)
    bn.weight.data[...] = [1.0, 2.0, 3.0]
    for _ in range(2):
        bn(Tensor(rng.standard_normal((10, 3)).astype(np.float32)))
    fresh = nn.BatchNorm1d(3)
    fresh.load(bn.save(tmp_path / "bn"))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_array_equal(fresh.eval()(x).data, bn.eval()(x).data)


# -- LayerNorm -----------------------------------------------------------------------------------------------


def test_layernorm_values_and_gradients():
    rng = np.random.default_rng(9)
    ln = nn.LayerNorm(5, dtype=np.float64)
    ln.weight.data[...] = rng.standard_normal(5)
    ln.bias.data[...] = rng.standard_normal(5)
    x = rng.standard_normal((3, 5)) * 4
    out = ln(Tensor(x)).data
    x_hat = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, x_hat * ln.weight.data + ln.bias.data, rtol=1e-12)
    assert _module_gradcheck(ln, x) == 2
    assert ln(Tensor(x)).dtype == np.float64


def test_layernorm_over_two_axes_and_without_affine():
    ln = nn.LayerNorm((2, 3), elementwise_affine=False)
    assert ln.parameters() == []
    x = np.random.default_rng(10).standard_normal((4, 2, 3)).astype(np.float32)
    out = ln(Tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data.reshape(4, 6).mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(out.data.reshape(4, 6).var(axis=1), 1, rtol=1e-4)


def test_layer_norm_without_bias_keeps_only_the_weight():
    ln = nn.LayerNorm(4, bias=False, dtype=np.float64)
    assert [name for name, _ in ln.named_parameters()] == ["weight"] and "bias=False" in repr(ln)
    ln.weight.data[:] = [1.0, 2.0, 3.0, 4.0]
    x = np.random.RandomState(0).randn(3, 4)
    normalised = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln(Tensor(x)).data, normalised * ln.weight.data, rtol=1e-12)


@pytest.mark.parametrize("layer, shape", [(nn.BatchNorm1d, (4, 3)), (nn.BatchNorm2d, (2, 3, 2, 2))])
def test_batch_norm_refuses_integer_input_and_changes_nothing(layer, shape):
    bn = layer(3)
    with pytest.raises(TypeError, match=rf"{layer.__name__}\(3\): expected a floating-point input, got int64"):
        bn(Tensor(np.ones(shape, dtype=np.int64)))
    assert int(bn.num_batches_tracked) == 0 and np.all(bn.running_mean == 0)
