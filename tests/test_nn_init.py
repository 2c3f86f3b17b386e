"""nn.init: in place, dtype kept, the course's draws reproduced exactly, PyTorch's bounds."""
import math

import numpy as np
import pytest

import tinygrad_dl.nn.init as init
from tinygrad_dl import Tensor, nn


def _param(shape, dtype=np.float64):
    return nn.Parameter(np.full(shape, np.nan, dtype=dtype))


@pytest.mark.parametrize("fn", [init.scaled_normal_, init.normal_fan_in_, init.kaiming_normal_, init.kaiming_uniform_,
                                init.xavier_normal_, init.xavier_uniform_, init.normal_, init.uniform_])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_inits_fill_in_place_and_keep_the_dtype(fn, dtype):
    p = _param((3, 4), dtype)
    array = p.data
    assert fn(p, generator=np.random.default_rng(0)) is p
    assert p.data is array and p.dtype == dtype and np.all(np.isfinite(p.data))
    assert len(np.unique(p.data)) == 12  # really random


def test_constant_inits():
    p = _param((2, 3))
    np.testing.assert_array_equal(init.zeros_(p).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones_(p).data, np.ones((2, 3)))
    np.testing.assert_array_equal(init.constant_(p, 2.5).data, np.full((2, 3), 2.5))


def test_course_arithmetic_is_bit_identical_in_float64():
    shape = (5, 4)
    np.random.seed(3)
    expected = [np.random.randn(*shape) * 0.01, np.random.randn(*shape) / np.sqrt(4),
                np.random.randn(*shape) * np.sqrt(2. / 4)]
    np.random.seed(3)
    got = [init.scaled_normal_(_param(shape)).data, init.normal_fan_in_(_param(shape)).data,
           init.kaiming_normal_(_param(shape)).data]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_float32_gets_the_float64_draw_rounded():
    np.random.seed(7)
    expected = (np.random.randn(3, 2) * np.sqrt(2. / 2)).astype(np.float32)
    np.random.seed(7)
    np.testing.assert_array_equal(init.kaiming_normal_(_param((3, 2), np.float32)).data, expected)


def test_course_planar_initialize_parameters_seed_2():
    # C1 W3 initialize_parameters(2, 4, 1): np.random.seed(2); W = randn * 0.01; b = 0
    np.random.seed(2)
    layer1 = nn.Linear(2, 4, dtype=np.float64, init="scaled_normal")
    layer2 = nn.Linear(4, 1, dtype=np.float64, init="scaled_normal")
    np.testing.assert_allclose(layer1.weight.data, [[-0.00416758, -0.00056267], [-0.02136196, 0.01640271],
                                                    [-0.01793436, -0.00841747], [0.00502881, -0.01245288]],
                               atol=5e-9)
    np.testing.assert_allclose(layer2.weight.data, [[-0.01057952, -0.00909008, 0.00551454, 0.02292208]], atol=5e-9)
    assert not layer1.bias.data.any() and not layer2.bias.data.any()


def test_course_step_by_step_initializations():
    np.random.seed(1)  # v8a initialize_parameters(3, 2, 1)
    w1 = nn.Linear(3, 2, dtype=np.float64, init="scaled_normal").weight.data
    w2 = nn.Linear(2, 1, dtype=np.float64, init="scaled_normal").weight.data
    np.testing.assert_allclose(w1, [[0.01624345, -0.00611756, -0.00528172], [-0.01072969, 0.00865408, -0.02301539]],
                               atol=5e-9)
    np.testing.assert_allclose(w2, [[0.01744812, -0.00761207]], atol=5e-9)
    np.random.seed(3)  # initialize_parameters_deep([5, 4, 3])
    w1 = nn.Linear(5, 4, dtype=np.float64, init="scaled_normal").weight.data
    np.testing.assert_allclose(w1[0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388], atol=5e-9)


def test_course_he_and_large_random_initializations():
    np.random.seed(3)  # C2 W1 initialize_parameters_he([2, 4, 1])
    w1 = nn.Linear(2, 4, dtype=np.float64, init="he").weight.data
    np.testing.assert_allclose(w1, [[1.78862847, 0.43650985], [0.09649747, -1.8634927], [-0.2773882, -0.35475898],
                                    [-0.08274148, -0.62700068]], atol=5e-9)
    np.random.seed(3)  # initialize_parameters_random([3, 2, 1]): randn * 10
    w1 = init.scaled_normal_(_param((2, 3)), scale=10).data
    np.testing.assert_allclose(w1, [[17.88628473, 4.36509851, 0.96497468], [-18.63492703, -2.77388203, -3.54758979]],
                               atol=5e-8)


def test_generators_reproduce_their_draws():
    a = init.kaiming_normal_(_param((4, 3)), generator=np.random.default_rng(5)).data
    b = init.kaiming_normal_(_param((4, 3)), generator=np.random.default_rng(5)).data
    np.testing.assert_array_equal(a, b)
    expected = np.random.RandomState(2).standard_normal((4, 3)) / np.sqrt(3)
    np.testing.assert_array_equal(init.normal_fan_in_(_param((4, 3)), generator=np.random.RandomState(2)).data,
                                  expected)


def test_kaiming_uniform_default_is_pytorch_linear_bound():
    fan_in = 50
    p = init.kaiming_uniform_(_param((400, fan_in)), generator=np.random.default_rng(0))
    bound = 1 / math.sqrt(fan_in)  # sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in)
    assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.99 * bound
    np.testing.assert_allclose(p.data.std(), bound / math.sqrt(3), rtol=0.02)


def test_xavier_scales():
    rng = np.random.default_rng(1)
    p = init.xavier_uniform_(_param((300, 200)), gain=2.0, generator=rng)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.99 * bound
    q = init.xavier_normal_(_param((300, 200)), generator=rng)
    np.testing.assert_allclose(q.data.std(), math.sqrt(2 / 500), rtol=0.02)


def test_normal_and_uniform_parameters():
    p = init.normal_(_param((200, 100)), mean=3.0, std=0.5, generator=np.random.default_rng(0))
    np.testing.assert_allclose([p.data.mean(), p.data.std()], [3.0, 0.5], rtol=0.01)
    q = init.uniform_(_param((100, 100)), -2.0, -1.0, generator=np.random.default_rng(0))
    assert q.data.min() >= -2.0 and q.data.max() < -1.0


def test_fan_in_of_convolution_shaped_weights():
    assert init.fan_in_and_fan_out((8, 3, 5, 5)) == (75, 200)
    np.random.seed(0)
    expected = np.random.randn(8, 3, 5, 5) * np.sqrt(2. / 75)
    np.random.seed(0)
    np.testing.assert_array_equal(init.kaiming_normal_(_param((8, 3, 5, 5))).data, expected)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="kaiming_normal_.*at least 2 axes"):
        init.kaiming_normal_(_param((5,)))
    with pytest.raises(TypeError, match="floating-point"):
        init.normal_(Tensor(np.zeros(3, dtype=np.int64)))
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))
    readonly = np.zeros((2, 2))
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        init.ones_(Tensor(readonly))
