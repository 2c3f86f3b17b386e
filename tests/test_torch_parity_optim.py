"""Optimizers and schedulers side by side with PyTorch 2.x (skipped where torch is not installed).

Run with an environment that has torch, e.g. ``/work/torchenv/bin/python -m pytest tests/test_torch_parity_optim.py``.
Each test trains the same float64 parameters on the same gradients in both libraries and compares every step.
"""
import math

import numpy as np
import pytest

from tinygrad_dl import Tensor, optim

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 3, 2)]


def _gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(steps)]


def _run_both(make_ours, make_theirs, steps=6, seed=0):
    """Step both optimizers on the same gradients; return the parameters of each after every step."""
    rng = np.random.default_rng(seed + 100)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    ours = [Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    our_opt, their_opt = make_ours(ours), make_theirs(theirs)
    for step_grads in _gradients(steps, seed):
        for p, q, g in zip(ours, theirs, step_grads):
            p.grad = Tensor(g.copy())
            q.grad = torch.tensor(g.copy())
        our_opt.step()
        their_opt.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-11, atol=1e-13)
    return ours, theirs


OPTIMIZERS = [
    ("SGD plain", lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("SGD momentum", lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("SGD nesterov wd", lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("RMSprop", lambda p: optim.RMSprop(p), lambda p: torch.optim.RMSprop(p)),
    ("RMSprop momentum", lambda p: optim.RMSprop(p, lr=0.02, momentum=0.9),
     lambda p: torch.optim.RMSprop(p, lr=0.02, momentum=0.9)),
    ("RMSprop centered", lambda p: optim.RMSprop(p, lr=0.02, centered=True, weight_decay=0.01),
     lambda p: torch.optim.RMSprop(p, lr=0.02, centered=True, weight_decay=0.01)),
    ("RMSprop centered momentum", lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True)),
    ("Adagrad", lambda p: optim.Adagrad(p), lambda p: torch.optim.Adagrad(p)),
    ("Adagrad decay", lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                              initial_accumulator_value=0.5, eps=1e-6),
     lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                                   eps=1e-6)),
    ("Adam", lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    ("Adam L2", lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
     lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    ("Adam amsgrad", lambda p: optim.Adam(p, lr=0.05, betas=(0.5, 0.9), amsgrad=True),
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.5, 0.9), amsgrad=True)),
    ("AdamW", lambda p: optim.AdamW(p), lambda p: torch.optim.AdamW(p)),
    ("AdamW amsgrad", lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.1, amsgrad=True),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW strong", lambda p: optim.AdamW(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3),
     lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)),
]


@pytest.mark.parametrize("name, ours, theirs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizer_steps_match_pytorch(name, ours, theirs):
    _run_both(ours, theirs)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_amsgrad_keeps_the_largest_second_moment_as_pytorch_does(kind, amsgrad):
    # gradients that shrink a hundredfold after two steps: the second moment falls, so amsgrad's maximum matters
    scales = [10.0, 10.0, 0.1, 0.1, 0.1, 0.1]
    start = np.linspace(-1.0, 1.0, 6)
    ours, theirs = Tensor(start.copy(), requires_grad=True), torch.tensor(start.copy(), requires_grad=True)
    our_opt = getattr(optim, kind)([ours], lr=0.1, amsgrad=amsgrad)
    their_opt = getattr(torch.optim, kind)([theirs], lr=0.1, amsgrad=amsgrad)
    plain = optim.Adam([Tensor(start.copy(), requires_grad=True)], lr=0.1) if kind == "Adam" else None
    for scale in scales:
        grad = scale * np.cos(np.arange(6.0))
        ours.grad, theirs.grad = Tensor(grad.copy()), torch.tensor(grad.copy())
        our_opt.step()
        their_opt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-11, atol=1e-13)
        if plain is not None:
            plain.param_groups[0]["params"][0].grad = Tensor(grad.copy())
            plain.step()
    assert ("max_exp_avg_sq" in our_opt.state[ours]) == amsgrad
    if plain is not None:  # amsgrad changes the path (the test would not see a missing maximum otherwise)
        changed = not np.allclose(plain.param_groups[0]["params"][0].data, ours.data, rtol=1e-6)
        assert changed == amsgrad


def _lr_trace(scheduler, optimizer, steps, metrics=None):
    trace = []
    for i in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[i])
        trace.append(list(scheduler.get_last_lr()))
    return trace


def _two_group_optimizers(kind="sgd", **kw):
    ours = [{"params": [Tensor(np.zeros(2), requires_grad=True)], "lr": 0.1},
            {"params": [Tensor(np.zeros(1), requires_grad=True)], "lr": 0.02}]
    theirs = [{"params": [torch.zeros(2, dtype=torch.float64, requires_grad=True)], "lr": 0.1},
              {"params": [torch.zeros(1, dtype=torch.float64, requires_grad=True)], "lr": 0.02}]
    if kind == "adam":
        return optim.Adam(ours, **kw), torch.optim.Adam(theirs, **kw)
    return optim.SGD(ours, lr=0.1, **kw), torch.optim.SGD(theirs, lr=0.1, **kw)


SCHEDULERS = [
    ("LambdaLR", lambda o: optim.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * e),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * e), 30),
    ("LambdaLR per group", lambda o: optim.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.5 ** (e // 3)]),
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.5 ** (e // 3)]), 20),
    ("CosineAnnealingLR", lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 35),
    ("StepLR", lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12),
    ("ExponentialLR", lambda o: optim.ExponentialLR(o, gamma=0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 12),
]


@pytest.mark.parametrize("name, ours, theirs, steps", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_schedulers_match_pytorch(name, ours, theirs, steps):
    our_opt, their_opt = _two_group_optimizers()
    a, b = ours(our_opt), theirs(their_opt)
    assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-12)
    np.testing.assert_allclose(_lr_trace(a, our_opt, steps), _lr_trace(b, their_opt, steps), rtol=1e-10,
                               atol=1e-15)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("settings", [
    dict(max_lr=1.0, total_steps=40),
    dict(max_lr=[0.5, 0.1], epochs=4, steps_per_epoch=7, pct_start=0.25, anneal_strategy="linear"),
    dict(max_lr=0.3, total_steps=30, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    dict(max_lr=0.3, total_steps=25, cycle_momentum=False),
])
def test_one_cycle_matches_pytorch_lr_and_momentum(kind, settings):
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    our_opt, their_opt = _two_group_optimizers(kind, **extra)
    a = optim.OneCycleLR(our_opt, **settings)
    b = torch.optim.lr_scheduler.OneCycleLR(their_opt, **settings)
    total = settings.get("total_steps") or settings["epochs"] * settings["steps_per_epoch"]
    key = "betas" if kind == "adam" else "momentum"
    for _ in range(total - 1):
        assert a.get_last_lr() == pytest.approx(b.get_last_lr(), rel=1e-10, abs=1e-15)
        for ours, theirs in zip(our_opt.param_groups, their_opt.param_groups):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-12)
        our_opt.step()
        their_opt.step()
        a.step()
        b.step()


@pytest.mark.parametrize("settings", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.05, cooldown=1),
    dict(patience=1, threshold=0.1, threshold_mode="abs", min_lr=[0.005, 0.01]),
    dict(patience=0, factor=0.2, min_lr=0.004, eps=1e-3),
])
def test_reduce_lr_on_plateau_matches_pytorch(settings):
    rng = np.random.default_rng(4)
    metrics = list(np.round(np.cumsum(rng.normal(0, 1, 60)) * 0.1 + 5, 2))
    metrics[7] = math.nan  # a NaN counts as a bad epoch in both
    our_opt, their_opt = _two_group_optimizers()
    a = optim.ReduceLROnPlateau(our_opt, **settings)
    b = torch.optim.lr_scheduler.ReduceLROnPlateau(their_opt, **settings)
    ours = _lr_trace(a, our_opt, len(metrics), metrics)
    theirs = _lr_trace(b, their_opt, len(metrics), [float(m) for m in metrics])
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    assert len({tuple(lrs) for lrs in ours}) > 1  # the schedule really moved
