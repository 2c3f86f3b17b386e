"""In-place updates (issue 7 §3): version counters, PyTorch's leaf rule, and backward refusing stale saved values.

A backward pass refuses when a value it needs was changed in place after the forward pass saved it
(PyTorch's semantics: only values the backward actually reads count); writes through ``.data`` are the
documented, untracked escape hatch.
"""
import gc

import numpy as np
import pytest

import tinygrad_dl as tg
from tinygrad_dl import Tensor, autograd, no_grad
from tests._shared import assert_unchanged, snapshot

STALE = "modified in place after it was saved"


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ----------------------------------------------------------------------------------------------------
# A backward that needs a changed value refuses; one that does not, goes ahead


def test_the_issue_example_an_update_between_forward_and_backward_is_refused():
    w = leaf([1.0, 2.0, 3.0])
    loss = (w * w).sum()
    with no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match=rf"Mul needs its input 0, a float64 tensor of shape \(3,\), which was "
                                           rf"{STALE}, now at version 1"):
        loss.backward()


def test_an_op_that_saved_nothing_of_the_changed_tensor_still_runs():
    w = leaf([1.0, 2.0, 3.0])
    y = w + 1
    with no_grad():
        w -= 0.1
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("make", [lambda w: w.relu(), lambda w: w.sigmoid(), lambda w: w.tanh(), lambda w: w.exp(),
                                  lambda w: w * 2.0, lambda w: w.sum(), lambda w: w[0]])
def test_ops_that_keep_only_their_output_or_constants_allow_changing_the_input(make):
    w = leaf([0.5, -1.5, 2.0])
    reference = leaf([0.5, -1.5, 2.0])
    make(reference).sum().backward()
    y = make(w)
    with no_grad():
        w.mul_(3.0)
    y.sum().backward()  # the gradient of the computation that happened, as PyTorch gives it
    np.testing.assert_allclose(w.grad.data, reference.grad.data)


def test_a_changed_output_that_the_backward_needs_is_refused():
    x = leaf([0.0, 1.0])
    y = x.exp()  # Exp's backward reads its output
    with no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=rf"Exp needs its output, a float64 tensor of shape \(2,\), which was {STALE}"):
        y.sum().backward()


def test_a_changed_constant_input_is_refused_too():
    w = leaf(np.ones((2, 3)))
    X = Tensor(np.arange(6.0).reshape(3, 2))  # no grad: in-place is allowed on it even with grad mode on
    out = (w @ X).sum()
    X.add_(1.0)
    with pytest.raises(RuntimeError, match=rf"MatMul needs a value it saved, a float64 tensor of shape \(3, 2\), "
                                           rf"which was {STALE}"):
        out.backward()


def test_changes_through_a_view_or_a_detached_tensor_are_seen():
    w = leaf([[1.0, 2.0], [3.0, 4.0]])
    loss = (w * w).sum()
    with no_grad():
        w.reshape(-1).add_(1.0)  # a view of w's memory
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()

    v = leaf([1.0, 2.0])
    loss = (v * v).sum()
    v.detach().mul_(2.0)  # detach shares the data, as in PyTorch
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()


def test_writes_through_data_are_the_untracked_escape_hatch():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data -= 1.0  # not tracked: the backward uses the new values, as PyTorch's .data does
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [0.0, 2.0])
    assert w._version == 0


def test_an_optimizer_step_between_two_backward_calls_of_a_retained_graph_is_refused():
    w = leaf([1.0, -1.0])
    loss = (w * w * w).sum()
    loss.backward(retain_graph=True)
    with no_grad():
        w.sub_(0.1 * w.grad)
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()


def test_a_training_loop_of_in_place_steps_runs_and_learns():
    # minimise sum((w - 3)^2): w -> 3
    w = leaf([0.0, 10.0])
    for _ in range(200):
        w.grad = None
        ((w - 3.0) * (w - 3.0)).sum().backward()
        with no_grad():
            w -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, [3.0, 3.0], atol=1e-9)
    assert w._version == 200 and w.is_leaf and w.requires_grad


def test_create_graph_backward_checks_too():
    x = leaf([0.5, 1.5])
    y = (x * x * x).sum()
    with no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=STALE):
        tg.grad(y, [x], create_graph=True)


def test_the_bookkeeping_forgets_arrays_that_died():
    before = len(autograd._writes)
    for _ in range(500):
        t = Tensor(np.zeros(3))
        t.add_(1.0)
    del t
    gc.collect()
    assert len(autograd._writes) <= before + 1


# ----------------------------------------------------------------------------------------------------
# PyTorch's rule for leaves, and the operators on recorded tensors


def test_an_in_place_step_outside_no_grad_on_a_leaf_fails_clearly_and_changes_nothing():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    before = snapshot(w)
    with pytest.raises(RuntimeError, match=r"\-=: a leaf tensor that requires grad \(shape \(2,\)\) is used in an "
                                           r"in-place operation; do it under `with no_grad\(\):`"):
        w -= 0.1 * w.grad
    assert_unchanged(w, before)
    for method in ("add_", "sub_", "mul_", "div_"):
        with pytest.raises(RuntimeError, match=rf"{method}: a leaf tensor that requires grad"):
            getattr(w, method)(1.0)
    for call in (lambda: w.zero_(), lambda: w.fill_(1.0), lambda: w.copy_(np.ones(2)), lambda: w.clamp_(0, 1)):
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
            call()
    assert_unchanged(w, before)


def test_in_place_methods_on_a_recorded_tensor_are_refused():
    x = leaf([1.0, 2.0])
    y = x * 2
    before = snapshot(y)
    with pytest.raises(RuntimeError, match=r"add_: in-place operation on a tensor that is part of a recorded graph "
                                           r"\(made by Mul, shape \(2,\)\)"):
        y.add_(1.0)
    assert_unchanged(y, before)


def test_an_in_place_method_with_an_operand_that_requires_grad_is_refused():
    x = Tensor(np.zeros(2))
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"add_: the operand requires grad"):
        x.add_(w)
    np.testing.assert_array_equal(x.data, [0.0, 0.0])


def test_augmented_operators_on_recorded_tensors_are_recorded_out_of_place():
    # micrograd-style code: c += c + 1 on a non-leaf records c + (c + 1) and rebinds the name
    x = leaf([1.0, 2.0])
    c = x * 2
    alias = c
    c += c + 1  # c = 4x + 1
    c *= x  # c = 4x^2 + x
    c -= 1.0
    c /= 2.0  # (4x^2 + x - 1) / 2
    c.sum().backward()
    np.testing.assert_allclose(x.grad.data, (8 * x.data + 1) / 2)
    np.testing.assert_array_equal(alias.data, 2 * x.data)  # the old tensor keeps its value and its graph
    assert alias._version == 0


def test_augmented_operator_with_an_operand_that_requires_grad_records_it():
    total = Tensor(np.zeros(2))  # a plain accumulator
    w = leaf([1.0, 2.0])
    total += w * w
    total.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])


def test_augmented_operators_on_plain_tensors_work_in_place():
    t = Tensor(np.ones(3))
    data = t.data
    t += 1.0
    t *= Tensor(np.array([1.0, 2.0, 3.0]))
    t -= 1.0
    t /= 2.0
    assert t.data is data and t._version == 4
    np.testing.assert_array_equal(t.data, [0.5, 1.5, 2.5])


def test_under_no_grad_a_recorded_tensor_may_change_in_place():
    x = leaf([1.0, 2.0])
    y = x + 1  # Add saves nothing
    with no_grad():
        y.mul_(10.0)
    assert y._version == 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


# ----------------------------------------------------------------------------------------------------
# What each in-place method does, and what a failing call leaves behind


@pytest.mark.parametrize("method, argument, expected", [
    ("add_", 2.0, [3.0, 4.0, 5.0]), ("sub_", 1.0, [0.0, 1.0, 2.0]), ("mul_", [1.0, 2.0, 3.0], [1.0, 4.0, 9.0]),
    ("div_", 2.0, [0.5, 1.0, 1.5]), ("fill_", 7.0, [7.0, 7.0, 7.0]), ("copy_", [9.0, 8.0, 7.0], [9.0, 8.0, 7.0]),
])
def test_in_place_methods_update_data_bump_the_version_and_return_self(method, argument, expected):
    t = Tensor(np.array([1.0, 2.0, 3.0]))
    data = t.data
    assert getattr(t, method)(argument) is t
    assert t.data is data and t._version == 1
    np.testing.assert_array_equal(t.data, expected)


def test_zero_and_clamp():
    t = Tensor(np.array([-2.0, 0.5, 3.0]))
    t.clamp_(-1.0, 1.0)
    np.testing.assert_array_equal(t.data, np.clip([-2.0, 0.5, 3.0], -1.0, 1.0))
    t.clamp_(max=0.0)
    np.testing.assert_array_equal(t.data, [-1.0, 0.0, 0.0])
    t.zero_()
    np.testing.assert_array_equal(t.data, [0.0, 0.0, 0.0])
    assert t._version == 3


def test_copy_broadcasts_and_casts_to_the_tensor_dtype():
    t = Tensor(np.zeros((2, 3), dtype=np.float32))
    t.copy_(np.arange(3.0))
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, [[0, 1, 2], [0, 1, 2]])


@pytest.mark.parametrize("call, error, message", [
    (lambda t: t.add_(np.ones((4, 3))), ValueError, r"add_: cannot update a float64 tensor of shape \(3,\)"),
    (lambda t: t.mul_("x"), TypeError, r"mul_: cannot update a float64 tensor of shape \(3,\) with 'x'"),
    (lambda t: t.sub_(None), TypeError, r"sub_: cannot update a float64 tensor of shape \(3,\) with None"),
    (lambda t: t.fill_(None), TypeError, r"fill_: the value must be a number, got None.*\(3,\)"),
    (lambda t: t.fill_([1.0, 2.0]), TypeError, r"fill_: the value must be a number"),
    (lambda t: t.copy_([1.0, 2.0]), ValueError, r"copy_: cannot copy a float32 array of shape \(2,\) into a float64 "
                                                r"tensor of shape \(3,\)"),
    (lambda t: t.copy_(None), TypeError, r"copy_: cannot make a tensor from None"),
    (lambda t: t.clamp_(), ValueError, r"clamp_: give min, max or both \(tensor of shape \(3,\)\)"),
    (lambda t: t.clamp_("a", 1.0), TypeError, r"clamp_: the bounds must be numbers"),
])
def test_failing_in_place_calls_change_nothing(call, error, message):
    t = Tensor(np.array([1.0, 2.0, 3.0]))
    before = snapshot(t)
    with pytest.raises(error, match=message):
        call(t)
    assert_unchanged(t, before)


def test_in_place_on_an_integer_tensor_with_a_float_is_refused():
    t = Tensor(np.array([1, 2, 3]))
    with pytest.raises(TypeError, match=r"add_: cannot update a int64 tensor of shape \(3,\) in place with 0.5"):
        t.add_(0.5)
    with pytest.raises(TypeError, match=r"div_: cannot update a int64 tensor"):
        t.div_(2)
    np.testing.assert_array_equal(t.data, [1, 2, 3])
    assert t._version == 0


def test_in_place_on_read_only_data_is_refused():
    frozen = np.ones(3)
    frozen.flags.writeable = False
    t = Tensor(frozen)
    with pytest.raises(ValueError, match=r"add_: cannot update a float64 tensor of shape \(3,\).*read-only"):
        t.add_(1.0)
    assert t._version == 0
