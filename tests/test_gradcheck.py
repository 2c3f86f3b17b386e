"""gradcheck / gradgradcheck: the course's numbers, and that wrong gradients are caught with a readable report."""
import numpy as np
import pytest

from tinygrad_dl import Function, GradcheckError, Tensor, gradcheck, gradgradcheck


class Cube(Function):
    """x^3 with a backward written in ndarray/Tensor-common operators: differentiable twice."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class CubeWrongFirstDerivative(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x * x  # should be 3 x^2


class CubeLyingAboutCreateGraph(Function):
    """Right first derivative, but x kept as a ctx attribute is a constant under create_graph, so the second
    derivative comes out as 0 instead of 6x."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        return grad * (3 * ctx.x ** 2)


class WrongForSecondInput(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * b  # the second should be grad * a


POINTS = np.array([-1.5, -0.3, 0.4, 2.0])


def test_course_one_dimensional_check():
    # Course 2, week 1: J(theta) = theta * x at theta = 4, x = 2, epsilon = 1e-7
    result = gradcheck(lambda theta, x: theta * x, [Tensor(np.array(4.0), requires_grad=True), Tensor(np.array(2.0))],
                       eps=1e-7)
    assert result
    assert 2.9e-10 < result.relative_difference < 3.0e-10
    np.testing.assert_allclose(result.relative_difference, 2.9193358103083e-10, rtol=1e-6)
    assert len(result.reports) == 1  # x does not require grad: it is held constant


def test_correct_gradient_passes_with_a_tiny_difference():
    result = gradcheck(Cube.apply, [POINTS])
    assert result and result.passed
    assert result.relative_difference < 1e-8
    assert "gradcheck passed" in repr(result) and "input 0: ok" in repr(result)


def test_wrong_gradient_raises_a_readable_report():
    with pytest.raises(GradcheckError) as failure:
        gradcheck(CubeWrongFirstDerivative.apply, [POINTS])
    report = str(failure.value)
    assert "gradcheck FAILED" in report
    assert "input 0: MISMATCH" in report and "relative difference 2.000e-01" in report
    assert "analytic" in report and "numeric" in report and "at (3,)" in report  # worst entry: x = 2.0


def test_wrong_gradient_returns_a_falsy_result_without_raising():
    result = gradcheck(CubeWrongFirstDerivative.apply, [POINTS], raise_exception=False)
    assert not result and not result.passed
    report = result.reports[0]
    # 2x^2 against 3x^2 everywhere: ||g - gn|| / (||g|| + ||gn||) = 1 / 5
    np.testing.assert_allclose(report.relative_difference, 0.2, rtol=1e-6)
    np.testing.assert_allclose(report.numeric, 3 * POINTS ** 2 * _weights(POINTS.shape), rtol=1e-6)


def _weights(shape):
    # gradcheck reduces a non-scalar output with these fixed weights
    return np.random.default_rng(0).standard_normal(shape)


def test_the_report_names_the_wrong_input_by_position():
    result = gradcheck(WrongForSecondInput.apply, [np.array([1.0, 2.0]), np.array([3.0, -1.0])],
                       raise_exception=False)
    assert [r.passed for r in result.reports] == [True, False]
    assert "input 1: MISMATCH" in repr(result)
    constant_first = gradcheck(WrongForSecondInput.apply, [Tensor(np.array([1.0, 2.0])), np.array([3.0, -1.0])],
                               raise_exception=False)
    assert [r.index for r in constant_first.reports] == [1]


def test_one_wrong_entry_of_a_vector_output_is_caught():
    class WrongAtOneEntry(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            result = grad * 2
            return result + np.eye(1, result.size, 2).reshape(result.shape)  # off by one at entry 2

    result = gradcheck(WrongAtOneEntry.apply, [np.ones((2, 3))], raise_exception=False)
    assert not result
    assert result.reports[0].worst[0][0] == (0, 2)


def test_float32_inputs_are_checked_in_float64():
    result = gradcheck(lambda x: (x * x).exp().sum(), [np.array([0.1, 0.7], dtype=np.float32)], atol=1e-9,
                       rtol=1e-7)
    assert result and result.relative_difference < 1e-9


def test_integer_tensor_inputs_stay_constant_indices():
    index = Tensor(np.array([2, 0, 2]))
    result = gradcheck(lambda x, i: x[i] * x[i], [POINTS, index])
    assert result and len(result.reports) == 1


def test_bad_usage_errors():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, [Tensor(np.ones(2))])
    with pytest.raises(TypeError, match="fn must return a Tensor"):
        gradcheck(lambda x: 2.0, [np.ones(2)])


# ----------------------------------------------------------------------------------------------------
# Second order


@pytest.mark.parametrize("fn", [Cube.apply, Tensor.tanh, Tensor.sigmoid, lambda x: (x * x).sum() * x.exp()])
def test_gradgradcheck_passes_on_correct_ops(fn):
    result = gradgradcheck(fn, [POINTS])
    assert result and result.relative_difference < 1e-7
    assert "gradgradcheck passed" in repr(result)


def test_gradgradcheck_passes_on_a_linear_op():
    # the first derivative is a constant, with no graph: its derivative is zero
    assert gradgradcheck(lambda a, b: a + 2 * b, [POINTS, POINTS[::-1].copy()])


def test_gradgradcheck_catches_a_wrong_second_derivative():
    assert gradcheck(CubeLyingAboutCreateGraph.apply, [POINTS])  # the first derivative is right...
    with pytest.raises(GradcheckError, match=r"gradgradcheck FAILED\ninput 0: MISMATCH"):
        gradgradcheck(CubeLyingAboutCreateGraph.apply, [POINTS])  # ...the second is not
    result = gradgradcheck(CubeLyingAboutCreateGraph.apply, [POINTS], raise_exception=False)
    assert not result
    np.testing.assert_array_equal(result.reports[0].analytic, np.zeros(4))
    assert result.relative_difference == pytest.approx(1.0)

