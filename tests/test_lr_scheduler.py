"""Tests for tinygrad_dl.optim.lr_scheduler: the course's decay functions and the four schedulers."""
import math

import numpy as np
import pytest

from tinygrad_dl import Tensor, optim
from tinygrad_dl.optim import lr_scheduler


def make_optimizer(lrs=(0.5,), kind="sgd"):
    groups = [{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "adam":
        return optim.Adam(groups)
    return optim.SGD(groups, lr=lrs[0])


# ----------------------------------------------------------------------------- the course's functions


def test_course_unit_tests_for_the_decay_functions():
    # C2 W2 (2021) update_lr_test / schedule_lr_decay_test: exact equality, as the course asserts.
    assert optim.update_lr(0.5, 2, 1) == 0.16666666666666666
    assert optim.schedule_lr_decay(0.5, 10, 0.3, 100) == 0.5
    assert optim.schedule_lr_decay(0.5, 100, 0.3, 100) == 0.3846153846153846
    assert optim.schedule_lr_decay(0.5, 1999, 1) == 0.5 / 2  # default time_interval = 1000
    assert lr_scheduler.update_lr is optim.update_lr


def test_schedule_lr_decay_rejects_a_non_positive_interval():
    with pytest.raises(ValueError, match="schedule_lr_decay: time_interval must be > 0, got 0"):
        optim.schedule_lr_decay(0.1, 5, 1.0, 0)


# --------------------------------------------------------------------------------------- schedulers


def test_inverse_time_decay_follows_update_lr_every_epoch():
    optimizer = make_optimizer((0.5, 0.2))
    scheduler = optim.InverseTimeDecay(optimizer, decay_rate=1)
    assert scheduler.last_epoch == 0 and scheduler.get_lr() == [0.5, 0.2]
    for epoch in range(1, 12):
        scheduler.step()
        assert scheduler.last_epoch == epoch
        want = [optim.update_lr(0.5, epoch, 1), optim.update_lr(0.2, epoch, 1)]
        assert [g["lr"] for g in optimizer.param_groups] == want == scheduler.get_lr() == scheduler.get_last_lr()
    assert optimizer.param_groups[0]["lr"] == 0.5 / 12


def test_scheduled_inverse_time_decay_steps_every_time_interval():
    optimizer = make_optimizer((0.5,))
    scheduler = optim.ScheduledInverseTimeDecay(optimizer, decay_rate=0.3, time_interval=100)
    seen = {}
    for epoch in range(1, 251):
        scheduler.step()
        seen[epoch] = optimizer.param_groups[0]["lr"]
    assert seen[10] == seen[99] == 0.5
    assert seen[100] == seen[199] == 0.3846153846153846
    assert seen[250] == 0.5 / (1 + 0.3 * 2)


def test_exponential_and_step_lr_against_their_formulas():
    optimizer = make_optimizer((0.1, 0.03), kind="adam")
    exponential = optim.ExponentialLR(optimizer, gamma=0.9)
    for epoch in range(1, 8):
        exponential.step()
        assert exponential.get_last_lr() == [0.1 * 0.9 ** epoch, 0.03 * 0.9 ** epoch]

    optimizer = make_optimizer((0.1,))
    step_lr = optim.StepLR(optimizer, step_size=3, gamma=0.5)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(7):
        step_lr.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]


def test_step_with_an_explicit_epoch_reproduces_the_course_loop():
    # The course: after epoch i, learning_rate = schedule_lr_decay(learning_rate0, i, decay_rate).
    lr0, decay_rate, num_epochs = 0.1, 1.0, 3500
    course = []
    learning_rate = lr0
    for i in range(num_epochs):
        course.append(learning_rate)  # the rate epoch i trains with
        learning_rate = optim.schedule_lr_decay(lr0, i, decay_rate)
    optimizer = make_optimizer((lr0,))
    scheduler = optim.ScheduledInverseTimeDecay(optimizer, decay_rate=decay_rate)
    ours = []
    for i in range(num_epochs):
        ours.append(optimizer.param_groups[0]["lr"])
        scheduler.step(i)
    assert ours == course


def test_scheduled_learning_rate_is_the_one_the_optimizer_uses():
    w = Tensor(np.zeros(1), requires_grad=True)
    optimizer = optim.SGD([w], lr=1.0)
    scheduler = optim.InverseTimeDecay(optimizer, decay_rate=1.0)
    for _ in range(3):  # epochs with lr 1, 1/2, 1/3, each with gradient 1
        w.grad = Tensor(np.ones(1))
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(w.data, [-(1.0 + 1 / 2 + 1 / 3)], rtol=1e-15)


def test_scheduler_state_dict_round_trip():
    optimizer = make_optimizer((0.5, 0.25))
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.1)
    for _ in range(5):
        scheduler.step()
    saved = scheduler.state_dict()
    assert saved == {"last_epoch": 5, "base_lrs": [0.5, 0.25], "step_size": 2, "gamma": 0.1}

    other_optimizer = make_optimizer((9.0, 9.0))
    other = optim.StepLR(other_optimizer, step_size=7, gamma=0.9)
    other.load_state_dict(saved)
    assert other.last_epoch == 5 and other.step_size == 2 and other.gamma == 0.1
    assert other.get_last_lr() == scheduler.get_last_lr()
    other.step()
    scheduler.step()
    assert other.get_last_lr() == scheduler.get_last_lr() == [0.5 * 0.1 ** 3, 0.25 * 0.1 ** 3]


def test_scheduler_load_state_dict_errors_change_nothing():
    optimizer = make_optimizer((0.5,))
    scheduler = optim.ScheduledInverseTimeDecay(optimizer, decay_rate=0.3, time_interval=10)
    scheduler.step(25)
    with pytest.raises(ValueError, match="expected keys"):
        scheduler.load_state_dict({"last_epoch": 3, "base_lrs": [0.1]})
    with pytest.raises(ValueError, match="time_interval must be a positive integer, got 0"):
        scheduler.load_state_dict({"last_epoch": 3, "base_lrs": [0.1], "decay_rate": 1.0, "time_interval": 0})
    with pytest.raises(ValueError, match="1 parameter groups"):
        scheduler.load_state_dict({"last_epoch": 3, "base_lrs": [0.1, 0.2], "decay_rate": 1.0, "time_interval": 5})
    assert scheduler.last_epoch == 25 and scheduler.time_interval == 10 and scheduler.base_lrs == [0.5]
    assert optimizer.param_groups[0]["lr"] == 0.5 / 1.6


def test_scheduler_bad_input():
    optimizer = make_optimizer()
    with pytest.raises(ValueError, match="InverseTimeDecay: invalid decay_rate=-1.0"):
        optim.InverseTimeDecay(optimizer, decay_rate=-1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer, got 0"):
        optim.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="ScheduledInverseTimeDecay: time_interval must be a positive integer"):
        optim.ScheduledInverseTimeDecay(optimizer, decay_rate=1, time_interval=2.5)
    with pytest.raises(ValueError, match="ExponentialLR: invalid gamma=nan"):
        optim.ExponentialLR(optimizer, gamma=math.nan)
    with pytest.raises(TypeError, match="expected an optimizer"):
        optim.ExponentialLR([Tensor(np.ones(1), requires_grad=True)], gamma=0.5)
    scheduler = optim.ExponentialLR(optimizer, gamma=0.5)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer, got -1"):
        scheduler.step(-1)
    assert optimizer.param_groups[0]["lr"] == 0.5  # nothing changed
