"""Tests for tinygrad_dl.optim.lr_scheduler: the course's decay functions and every scheduler, by its formula."""
import io
import math

import numpy as np
import pytest

import tinygrad_dl
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


# ------------------------------------------------------------------- PyTorch's schedulers, by their formulas


def _trace(scheduler, steps, metrics=None):
    lrs = [scheduler.get_last_lr()]
    for i in range(steps):
        scheduler.step() if metrics is None else scheduler.step(metrics[i])
        lrs.append(scheduler.get_last_lr())
    return lrs


def test_lambda_lr_multiplies_lr0_by_the_function_of_the_epoch():
    optimizer = make_optimizer((0.5, 0.2))
    scheduler = optim.LambdaLR(optimizer, [lambda e: 0.9 ** e, lambda e: 1 / (1 + e)])
    assert _trace(scheduler, 4) == [[0.5 * 0.9 ** e, 0.2 * (1 / (1 + e))] for e in range(5)]
    assert optimizer.param_groups[0]["lr"] == 0.5 * 0.9 ** 4
    assert scheduler.state_dict() == {"last_epoch": 4, "base_lrs": [0.5, 0.2]}  # functions are not saved


def test_cosine_annealing_follows_the_closed_form_and_keeps_going_periodically():
    scheduler = optim.CosineAnnealingLR(make_optimizer((0.1,)), T_max=4, eta_min=0.01)
    lrs = [lr for (lr,) in _trace(scheduler, 8)]
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(9)]
    assert lrs == pytest.approx(expected, rel=1e-15)
    assert lrs[4] == pytest.approx(0.01) and lrs[8] == pytest.approx(0.1)


def test_one_cycle_warms_up_to_max_lr_then_anneals_while_momentum_moves_the_other_way():
    optimizer = make_optimizer((0.5,))
    optimizer.param_groups[0]["momentum"] = 0.9
    scheduler = optim.OneCycleLR(optimizer, max_lr=1.0, total_steps=20, pct_start=0.25)
    lrs, momentums = [], []
    for _ in range(20):
        lrs.append(scheduler.get_last_lr()[0])
        momentums.append(optimizer.param_groups[0]["momentum"])
        if len(lrs) < 20:
            scheduler.step()
    peak = 0.25 * 20 - 1  # the end of the warm-up phase
    for step, (lr, momentum) in enumerate(zip(lrs, momentums)):
        if step <= peak:
            pct = step / peak
            expected = 1.0 + (0.04 - 1.0) / 2 * (math.cos(math.pi * pct) + 1)
            expected_momentum = 0.85 + (0.95 - 0.85) / 2 * (math.cos(math.pi * pct) + 1)
        else:
            pct = (step - peak) / (19 - peak)
            expected = 0.04 / 1e4 + (1.0 - 0.04 / 1e4) / 2 * (math.cos(math.pi * pct) + 1)
            expected_momentum = 0.95 + (0.85 - 0.95) / 2 * (math.cos(math.pi * pct) + 1)
        assert lr == pytest.approx(expected, rel=1e-12) and momentum == pytest.approx(expected_momentum, rel=1e-12)
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0) and lrs[-1] == pytest.approx(4e-6)
    scheduler.step()  # step 20 == total_steps is still allowed (as in PyTorch) ...
    before = (scheduler.last_epoch, optimizer.param_groups[0]["lr"])
    with pytest.raises(ValueError, match="tried to step 21 times; the schedule has total_steps=20"):
        scheduler.step()  # ... one more is not, and changes nothing
    assert (scheduler.last_epoch, optimizer.param_groups[0]["lr"]) == before


def test_one_cycle_cycles_adams_beta1_and_refuses_an_optimizer_without_momentum():
    optimizer = make_optimizer((0.5,), kind="adam")
    optim.OneCycleLR(optimizer, max_lr=0.1, epochs=2, steps_per_epoch=5)
    assert optimizer.param_groups[0]["betas"] == (0.95, 0.999)
    adagrad = optim.Adagrad([Tensor(np.zeros(1), requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with a momentum or betas"):
        optim.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="leaves a phase without steps"):
        optim.OneCycleLR(adagrad, max_lr=0.1, total_steps=3, cycle_momentum=False)
    assert optim.OneCycleLR(adagrad, max_lr=0.1, total_steps=10, cycle_momentum=False).get_last_lr() == [
        pytest.approx(0.004, rel=1e-14)]


def test_reduce_lr_on_plateau_step_by_step():
    optimizer = make_optimizer((1.0, 0.5))
    scheduler = optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=1, threshold=0.1, cooldown=1,
                                        min_lr=[0.2, 0.3])
    # rel mode: improving means < best * 0.9
    metrics = [10.0, 9.5, 9.2, 8.0, 7.9, 7.8, 7.7, 7.6, 7.5]
    lrs = _trace(scheduler, len(metrics), metrics)
    assert lrs == [[1.0, 0.5],  # start
                   [1.0, 0.5],  # 10.0 best
                   [1.0, 0.5],  # 9.5: 1 bad epoch
                   [0.5, 0.3],  # 9.2: 2 bad > patience -> halve (0.25 clipped to min_lr 0.3), cooldown 1
                   [0.5, 0.3],  # 8.0 < 10 * 0.9: new best (cooldown ends)
                   [0.5, 0.3],  # 7.9: 1 bad
                   [0.25, 0.3],  # 7.8: 2 bad -> halve again; the second group is already at its min_lr
                   [0.25, 0.3],  # 7.7: cooldown
                   [0.25, 0.3],  # 7.6: 1 bad
                   [0.2, 0.3]]  # 7.5: 2 bad -> max(0.125, 0.2)
    state = scheduler.state_dict()
    assert state["best"] == 8.0 and state["last_epoch"] == 9
    other = optim.ReduceLROnPlateau(make_optimizer((1.0, 0.5)))
    other.load_state_dict(tinygrad_dl.load(_saved(state)))
    assert other.state_dict() == state
    with pytest.raises(TypeError, match="metric must be a number"):
        scheduler.step("low")
    scheduler.step(Tensor(np.array(7.0)))  # a 0-d tensor is fine
    assert scheduler.last_epoch == 10


def _saved(obj):
    buffer = io.BytesIO()
    tinygrad_dl.save(obj, buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("make", [
    lambda o: optim.StepLR(o, step_size=2), lambda o: optim.ExponentialLR(o, gamma=0.5),
    lambda o: optim.InverseTimeDecay(o, decay_rate=1.0), lambda o: optim.ScheduledInverseTimeDecay(o, 1.0, 2),
    lambda o: optim.LambdaLR(o, lambda e: 1 / (1 + e)), lambda o: optim.CosineAnnealingLR(o, T_max=5),
    lambda o: optim.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=12), lambda o: optim.ReduceLROnPlateau(o),
])
def test_every_scheduler_has_get_last_lr_and_a_state_that_saves_without_pickle(make):
    optimizer = make_optimizer((0.5, 0.25))
    scheduler = make(optimizer)
    plateau = isinstance(scheduler, optim.ReduceLROnPlateau)
    for i in range(3):
        scheduler.step(5.0 - i) if plateau else scheduler.step()
    assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    twin = make(make_optimizer((0.5, 0.25)))
    twin.load_state_dict(tinygrad_dl.load(_saved(scheduler.state_dict())))
    twin.optimizer.load_state_dict(optimizer.state_dict())
    for i in range(3):
        for s in (scheduler, twin):
            s.step(1.0) if plateau else s.step()
        assert twin.get_last_lr() == scheduler.get_last_lr()
