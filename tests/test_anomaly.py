"""Anomaly mode (issue 7 §4): the first NaN/Inf, forward or backward, names the op, the user's line, the shapes."""
import inspect
import warnings

import numpy as np
import pytest

import tinygrad_dl as tg
from tinygrad_dl import AnomalyError, Function, Tensor, backward_order, detect_anomaly, nn

HERE = __file__.rsplit("/", 1)[-1]


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def line_of(marker):
    """The line number of the source line in this file that contains ``marker``."""
    lines = inspect.getsource(inspect.getmodule(line_of)).splitlines()
    return next(i + 1 for i, text in enumerate(lines) if marker in text and "line_of(" not in text)


@pytest.fixture(autouse=True)
def quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own warnings about log(-1), 1/0
        yield


def test_a_nan_made_in_forward_names_the_op_the_line_and_the_inputs():
    x = leaf([0.5, 2.0, 3.0])
    with detect_anomaly():
        shifted = x - 1.0
        with pytest.raises(AnomalyError) as caught:
            shifted.log()  # MARK-forward-nan
    err = caught.value
    message = str(err)
    assert message.startswith("anomaly: Log produced NaN in its forward output (shape (3,), float64), created at ")
    assert f"{HERE}:{line_of('MARK-forward-nan')} in test_a_nan_made_in_forward" in message
    assert "shifted.log()" in message  # the source line itself
    assert "inputs: (3,) float64; its inputs were finite" in message
    assert isinstance(err, RuntimeError) and err.phase == "forward" and err.input_index is None
    assert err.node.name == "Log" and err.inputs[0] is shifted and np.isnan(err.value[0])


def test_a_nan_flowing_in_from_the_data_is_reported_as_such():
    data = Tensor(np.array([1.0, np.nan]))
    w = leaf([1.0, 1.0])
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"(?s)Mul produced NaN.*its input 1 already held NaN/Inf"):
        w * data


def test_an_infinite_gradient_in_backward_names_the_op_and_the_input():
    x = leaf([0.0, 4.0])
    with detect_anomaly():
        root = x.sqrt()  # MARK-backward-inf
        loss = (root * 3.0).sum()
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    err = caught.value
    message = str(err)
    assert message.startswith("anomaly: Sqrt.backward produced Inf in the gradient of its input 0 (shape (2,)), "
                              "created at ")
    assert f"{HERE}:{line_of('MARK-backward-inf')}" in message
    assert "the gradient arriving at its output was finite" in message
    assert err.phase == "backward" and err.input_index == 0
    assert err.node is root.grad_fn and err.node in backward_order(loss)  # the node a picture can mark
    assert x.grad is None  # nothing accumulated from a failed pass


def test_the_first_anomaly_wins():
    x = leaf([-1.0, 1.0])
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="Log produced NaN"):
            x.log().exp().sum()  # exp of NaN is NaN too, but log came first


def test_decorator_form_and_it_is_off_outside():
    @detect_anomaly()
    def step(x):
        return (x / 0.0).sum()

    assert not tg.is_anomaly_enabled()
    with pytest.raises(AnomalyError, match="Div produced Inf"):
        step(leaf([1.0]))
    assert not tg.is_anomaly_enabled()
    (leaf([1.0]) / 0.0).sum()  # off: no check, NumPy's inf goes through


def test_nesting_restores_the_outer_state():
    with detect_anomaly():
        with detect_anomaly(check_nan=False):
            assert not tg.is_anomaly_enabled()
        assert tg.is_anomaly_enabled()
    assert not tg.is_anomaly_enabled()


def test_nodes_record_where_they_were_made_only_in_anomaly_mode():
    x = leaf([1.0])
    assert (x * 2).grad_fn.creation_site is None
    with detect_anomaly():
        y = x * 2  # MARK-site
    assert y.grad_fn.creation_site.endswith(f"{HERE}:{line_of('MARK-site')} in "
                                            "test_nodes_record_where_they_were_made_only_in_anomaly_mode")
    assert f"at {y.grad_fn.creation_site}" in repr(y.grad_fn)


def test_the_site_is_the_users_line_even_inside_a_layer():
    layer = nn.Linear(2, 1, dtype=np.float64)
    with detect_anomaly():
        out = layer(Tensor(np.ones((3, 2))))  # MARK-layer
    assert out.grad_fn.creation_site.split(" in ")[0].endswith(f"{HERE}:{line_of('MARK-layer')}")


class Fragile(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        raise ValueError("something inside this backward broke")


def test_an_exception_inside_a_backward_gets_the_creation_line_as_a_note():
    x = leaf([1.0])
    with detect_anomaly():
        y = Fragile.apply(x)  # MARK-fragile
        with pytest.raises(ValueError, match="something inside this backward broke") as caught:
            y.sum().backward()
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert f"Fragile, created at" in notes and f"{HERE}:{line_of('MARK-fragile')}" in notes


def test_second_derivatives_are_checked_too():
    x = leaf([0.0, 1.0])
    with detect_anomaly():
        (g,) = tg.grad((x ** 1.5).sum(), [x], create_graph=True)  # 1.5 x^0.5: finite at 0
        with pytest.raises(AnomalyError, match=r"backward produced Inf"):
            tg.grad(g.sum(), [x])  # 0.75 x^-0.5: infinite at 0


def test_finite_computations_are_unchanged_by_anomaly_mode():
    x = leaf([0.5, -1.0, 2.0])
    with detect_anomaly():
        ((x * x).tanh() + x.sigmoid()).sum().backward()
    expected = leaf([0.5, -1.0, 2.0])
    ((expected * expected).tanh() + expected.sigmoid()).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected.grad.data)


def test_integer_outputs_are_not_checked():
    with detect_anomaly():
        Tensor(np.array([1, 2])) * 3  # integers cannot be NaN


def test_a_bad_gradient_is_reported_once_without_numpy_warnings_on_top():
    x = leaf([0.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # NumPy's "divide by zero" would fail the test
        with detect_anomaly():
            loss = (x.sqrt() * 3.0).sum()
            with pytest.raises(AnomalyError, match="Sqrt.backward produced Inf"):
                loss.backward()
