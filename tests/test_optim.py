"""Tests for tinygrad_dl.optim: SGD / momentum / Nesterov, RMSprop, Adam, state dicts, clipping, bad input.

Reference updates are written out in NumPy the way the course writes them (``v = beta*v + (1-beta)*g``,
``W = W - lr * v_corrected / (np.sqrt(s_corrected) + epsilon)``); in float64 the optimizers must match
them bit for bit, so most comparisons are exact.
"""
import math

import numpy as np
import pytest

from tinygrad_dl import Tensor, nn, optim

SHAPES = [(2, 3), (2, 1), (3, 3), (3, 1)]  # W1, b1, W2, b2 of the course's test cases


def course_test_case():
    """The course's update_parameters_with_{gd,momentum,adam}_test_case (C2 W2 testCases.py).

    np.random.seed(1); W1, b1, W2, b2 = randn(2,3), randn(2,1), randn(3,3), randn(3,1); then
    dW1, db1, dW2, db2 of the same shapes.  Returns the parameters with their .grad set.
    """
    np.random.seed(1)
    params = [Tensor(np.random.randn(*shape), requires_grad=True) for shape in SHAPES]
    for param, shape in zip(params, SHAPES):
        param.grad = Tensor(np.random.randn(*shape))
    return params


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True) for shape in SHAPES]


def grad_sequence(steps=3, seed=1, dtype=np.float64):
    """Different gradients for each of `steps` steps: a list (per step) of lists (per parameter)."""
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES] for _ in range(steps)]


def run_steps(optimizer, params, grads):
    for step_grads in grads:
        for param, grad in zip(params, step_grads):
            param.grad = Tensor(grad)
        optimizer.step()


def copies(params):
    return [p.data.copy() for p in params]


# ---------------------------------------------------------------------------------- course unit tests


def test_course_gradient_descent_update():
    params = course_test_case()
    optim.SGD(params, lr=0.01).step()
    np.testing.assert_allclose(params[0].data[0], [1.63535156, -0.62320365, -0.53718766], atol=5e-9)
    np.testing.assert_allclose(params[1].data, [[1.74604067], [-0.75184921]], atol=5e-9)
    np.testing.assert_allclose(params[3].data, [[-0.88020257], [0.02561572], [0.57539477]], atol=5e-9)


def test_course_momentum_update():
    # update_parameters_with_momentum(parameters, grads, v, beta=0.9, learning_rate=0.01), v from zeros
    params = course_test_case()
    optimizer = optim.SGD(params, lr=0.01, momentum=0.9, dampening=0.9)
    optimizer.step()
    v = [optimizer.state[p]["momentum_buffer"] for p in params]
    np.testing.assert_allclose(v[0], [[-0.11006192, 0.11447237, 0.09015907],
                                      [0.05024943, 0.09008559, -0.06837279]], atol=5e-9)
    np.testing.assert_allclose(v[1], [[-0.01228902], [-0.09357694]], atol=5e-9)
    np.testing.assert_allclose(params[0].data, [[1.62544598, -0.61290114, -0.52907334],
                                                [-1.07347112, 0.86450677, -2.30085497]], atol=5e-9)
    np.testing.assert_allclose(params[1].data, [[1.74493465], [-0.76027113]], atol=5e-9)
    np.testing.assert_allclose(params[2].data, [[0.31930698, -0.24990073, 1.4627996],
                                                [-2.05974396, -0.32173003, -0.38320915],
                                                [1.13444069, -1.0998786, -0.1713109]], atol=5e-9)
    np.testing.assert_allclose(params[3].data, [[-0.87809283], [0.04055394], [0.58207317]], atol=5e-9)


def test_course_adam_update_with_t_equal_2():
    # update_parameters_with_adam(parameters, grads, v, s, t=2, learning_rate=0.01) with v = s = 0:
    # restore a state whose step count is 1, so the next step is t = 2.
    params = course_test_case()
    optimizer = optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    saved = optimizer.state_dict()
    saved["state"] = {i: {"step": 1, "exp_avg": np.zeros(s), "exp_avg_sq": np.zeros(s)} for i, s in enumerate(SHAPES)}
    optimizer.load_state_dict(saved)
    optimizer.step()
    state = optimizer.state[params[0]]
    assert state["step"] == 2
    np.testing.assert_allclose(params[0].data, [[1.63178673, -0.61919778, -0.53561312],
                                                [-1.08040999, 0.85796626, -2.29409733]], atol=5e-9)
    np.testing.assert_allclose(params[1].data, [[1.75225313], [-0.75376553]], atol=5e-9)
    np.testing.assert_allclose(params[2].data, [[0.32648046, -0.25681174, 1.46954931],
                                                [-2.05269934, -0.31497584, -0.37661299],
                                                [1.14121081, -1.09244991, -0.16498684]], atol=5e-9)
    np.testing.assert_allclose(params[3].data, [[-0.88529979], [0.03477238], [0.57537385]], atol=5e-9)
    np.testing.assert_allclose(state["exp_avg"][0], [-0.11006192, 0.11447237, 0.09015907], atol=5e-9)
    np.testing.assert_allclose(state["exp_avg_sq"], [[0.00121136, 0.00131039, 0.00081287],
                                                     [0.0002525, 0.00081154, 0.00046748]], atol=5e-9)
    np.testing.assert_allclose(optimizer.state[params[1]]["exp_avg_sq"], [[1.51020075e-05], [8.75664434e-04]],
                               rtol=1e-8)


# ----------------------------------------------------------------- three steps against NumPy by hand


def reference_sgd(params, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    params = [p.copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if weight_decay:
                g = g + weight_decay * params[i]
            if momentum == 0:
                params[i] = params[i] - lr * g
                continue
            velocity[i] = momentum * velocity[i] + (1 - dampening) * g
            update = g + momentum * velocity[i] if nesterov else velocity[i]
            params[i] = params[i] - lr * update
    return params, velocity


@pytest.mark.parametrize("settings", [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),                           # PyTorch: dampening 0
    dict(lr=0.05, momentum=0.9, dampening=0.9),            # the course's momentum
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    dict(lr=0.1, weight_decay=0.1),
], ids=["gd", "momentum", "course-momentum", "nesterov", "momentum-wd", "gd-wd"])
def test_sgd_three_steps_match_numpy_exactly(settings):
    params, grads = make_params(), grad_sequence()
    expected, expected_velocity = reference_sgd(copies(params), grads, **settings)
    optimizer = optim.SGD(params, **settings)
    run_steps(optimizer, params, grads)
    for param, want in zip(params, expected):
        np.testing.assert_array_equal(param.data, want)
    if settings.get("momentum"):
        for param, want in zip(params, expected_velocity):
            np.testing.assert_array_equal(optimizer.state[param]["momentum_buffer"], want)
    else:
        assert all("momentum_buffer" not in optimizer.state[p] for p in params)  # plain GD keeps no buffer


def test_sgd_momentum_first_step_from_zero_velocity():
    # v starts at 0, so the first step moves by lr*(1-dampening)*g, not lr*g.
    param = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    param.grad = Tensor(np.array([0.5, 4.0]))
    optim.SGD([param], lr=0.1, momentum=0.9, dampening=0.9).step()
    np.testing.assert_allclose(param.data, [1.0 - 0.1 * 0.1 * 0.5, -2.0 - 0.1 * 0.1 * 4.0], rtol=1e-15)


def test_rmsprop_three_steps_match_numpy_exactly():
    params, grads = make_params(), grad_sequence()
    lr, alpha, eps, wd = 0.01, 0.9, 1e-8, 0.05
    expected = copies(params)
    square_avg = [np.zeros_like(p) for p in expected]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            g = g + wd * expected[i]
            square_avg[i] = alpha * square_avg[i] + (1 - alpha) * g ** 2
            expected[i] = expected[i] - lr * g / (np.sqrt(square_avg[i]) + eps)
    optimizer = optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, weight_decay=wd)
    run_steps(optimizer, params, grads)
    for param, want, s in zip(params, expected, square_avg):
        np.testing.assert_array_equal(param.data, want)
        np.testing.assert_array_equal(optimizer.state[param]["square_avg"], s)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_three_steps_match_course_formula_exactly(weight_decay):
    params, grads = make_params(), grad_sequence()
    lr, beta1, beta2, epsilon = 0.01, 0.9, 0.999, 1e-8
    expected = copies(params)
    v = [np.zeros_like(p) for p in expected]
    s = [np.zeros_like(p) for p in expected]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            g = g + weight_decay * expected[i] if weight_decay else g
            v[i] = beta1 * v[i] + (1 - beta1) * g
            s[i] = beta2 * s[i] + (1 - beta2) * np.power(g, 2)
            v_corrected = v[i] / (1 - np.power(beta1, t))
            s_corrected = s[i] / (1 - np.power(beta2, t))
            expected[i] = expected[i] - lr * v_corrected / (np.sqrt(s_corrected) + epsilon)
    optimizer = optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=epsilon, weight_decay=weight_decay)
    run_steps(optimizer, params, grads)
    for i, param in enumerate(params):
        np.testing.assert_array_equal(param.data, expected[i])
        state = optimizer.state[param]
        assert state["step"] == 3
        np.testing.assert_array_equal(state["exp_avg"], v[i])
        np.testing.assert_array_equal(state["exp_avg_sq"], s[i])


def test_update_is_computed_in_the_course_order():
    # From p = 0 the step itself is the result, so a different order of operations
    # (lr * (v / d) instead of (lr * v) / d) would show up as last-bit differences.
    grads = [np.random.default_rng(7).standard_normal(1000) * 10.0 ** np.arange(-3, 2).repeat(200)]
    lr, beta1, beta2, eps = 0.0123, 0.9, 0.999, 1e-8
    adam_param = Tensor(np.zeros(1000), requires_grad=True)
    adam_param.grad = Tensor(grads[0])
    optim.Adam([adam_param], lr=lr, betas=(beta1, beta2), eps=eps).step()
    v_corrected = ((1 - beta1) * grads[0]) / (1 - np.power(beta1, 1))
    s_corrected = ((1 - beta2) * np.power(grads[0], 2)) / (1 - np.power(beta2, 1))
    np.testing.assert_array_equal(adam_param.data, 0.0 - lr * v_corrected / (np.sqrt(s_corrected) + eps))
    rms_param = Tensor(np.zeros(1000), requires_grad=True)
    rms_param.grad = Tensor(grads[0])
    optim.RMSprop([rms_param], lr=lr, alpha=0.9).step()
    square_avg = (1 - 0.9) * grads[0] ** 2
    np.testing.assert_array_equal(rms_param.data, 0.0 - lr * grads[0] / (np.sqrt(square_avg) + 1e-8))


def test_adam_bias_correction_matches_np_power_for_every_t():
    # The course computes 1 - np.power(beta, t); on some machines that differs from Python's beta**t
    # in the last bit (e.g. t = 7 for beta = 0.999), which a restored state at step t-1 exposes.
    rng = np.random.default_rng(11)
    v0, s0, grad = rng.standard_normal(500), rng.random(500), rng.standard_normal(500)
    lr, beta1, beta2, epsilon = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, 61):
        param = Tensor(np.zeros(500), requires_grad=True)
        param.grad = Tensor(grad)
        optimizer = optim.Adam([param], lr=lr)
        optimizer.load_state_dict({"state": {0: {"step": t - 1, "exp_avg": v0, "exp_avg_sq": s0}},
                                   "param_groups": optimizer.state_dict()["param_groups"]})
        optimizer.step()
        v = beta1 * v0 + (1 - beta1) * grad
        s = beta2 * s0 + (1 - beta2) * np.power(grad, 2)
        v_corrected = v / (1 - np.power(beta1, t))
        s_corrected = s / (1 - np.power(beta2, t))
        np.testing.assert_array_equal(param.data, 0.0 - lr * v_corrected / (np.sqrt(s_corrected) + epsilon),
                                      err_msg=f"t={t}")


def test_adam_first_step_moves_every_entry_by_about_lr():
    # Bias correction makes the first step lr * g/|g| (up to eps), whatever the gradient's scale.
    param = Tensor(np.array([0.0, 0.0, 0.0]), requires_grad=True)
    param.grad = Tensor(np.array([1e-3, -50.0, 2.0]))
    optim.Adam([param], lr=0.1).step()
    np.testing.assert_allclose(param.data, [-0.1, 0.1, -0.1], rtol=1e-4)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, lr=0.01),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01),
], ids=["sgd", "rmsprop", "adam"])
def test_float32_parameters_stay_float32(make):
    params = make_params(dtype=np.float32)
    grads = grad_sequence(dtype=np.float32)
    optimizer = make(params)
    run_steps(optimizer, params, grads)
    assert all(p.dtype == np.float32 for p in params)
    assert all(v.dtype == np.float32 for p in params for v in optimizer.state[p].values() if isinstance(v, np.ndarray))
    # and the float32 run follows the float64 run closely
    params64 = make_params()
    run_steps(make(params64), params64, grad_sequence())
    for p32, p64 in zip(params, params64):
        np.testing.assert_allclose(p32.data, p64.data, rtol=1e-5, atol=1e-6)


def test_step_uses_gradients_from_backward_and_minimises():
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = Tensor(np.zeros((2, 2)), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    loss = ((w - target) ** 2).sum()
    loss.backward()
    optimizer.step()
    np.testing.assert_allclose(w.data, 0.1 * 2 * target)  # w - lr * 2(w - target) from w = 0
    for _ in range(200):
        optimizer.zero_grad()
        ((w - target) ** 2).sum().backward()
        optimizer.step()
    np.testing.assert_allclose(w.data, target, atol=1e-10)


def test_step_updates_data_in_place_and_builds_no_graph():
    w = Tensor(np.ones(3), requires_grad=True)
    buffer = w.data
    w.grad = Tensor(np.array([1.0, 2.0, 3.0]))
    optim.Adam([w], lr=0.5).step()
    assert w.data is buffer  # same array, updated in place
    assert w.is_leaf and w.grad_fn is None and w.requires_grad


def test_parameters_without_grad_are_skipped():
    a, b = make_params()[:2]
    before = b.data.copy()
    a.grad = Tensor(np.ones(a.shape))
    optimizer = optim.Adam([a, b], lr=0.1)
    optimizer.step()
    np.testing.assert_array_equal(b.data, before)
    assert optimizer.state[a]["step"] == 1 and not optimizer.state.get(b)
    assert 1 not in optimizer.state_dict()["state"]  # b has no state to save


def test_zero_grad_sets_grads_to_none():
    params = make_params()
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    optim.SGD(params, lr=0.1).zero_grad()
    assert all(p.grad is None for p in params)


def test_closure_is_called_and_its_loss_returned():
    w = Tensor(np.array([2.0]), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.data, [2.0 - 0.25 * 4.0])


def test_param_groups_with_their_own_hyperparameters():
    w, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(1), requires_grad=True)
    optimizer = optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
    assert optimizer.param_groups[1]["momentum"] == 0.0  # default filled in
    w.grad, b.grad = Tensor(np.ones(2)), Tensor(np.ones(1))
    optimizer.step()
    np.testing.assert_allclose(w.data, [0.9, 0.9])
    np.testing.assert_allclose(b.data, [0.5])


def test_generator_of_parameters_and_single_tensor_accepted():
    params = make_params()
    assert len(optim.Adam(p for p in params).param_groups[0]["params"]) == 4
    assert optim.SGD(params[0], lr=0.1).param_groups[0]["params"][0] is params[0]


# ------------------------------------------------------------------------------------- state dicts


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.9),
    lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9),
    lambda ps: optim.Adam(ps, lr=0.01),
], ids=["sgd", "rmsprop", "adam"])
def test_state_dict_round_trip_resumes_exactly(make):
    grads = grad_sequence(steps=6)
    params = make_params()
    optimizer = make(params)
    run_steps(optimizer, params, grads[:3])
    saved_params, saved_state = copies(params), optimizer.state_dict()
    run_steps(optimizer, params, grads[3:])
    finished = copies(params)

    # Resume: fresh tensors with the saved values and a fresh optimizer loaded with the saved state.
    resumed = [Tensor(p.copy(), requires_grad=True) for p in saved_params]
    resumed_optimizer = make(resumed)
    resumed_optimizer.load_state_dict(saved_state)
    run_steps(resumed_optimizer, resumed, grads[3:])
    for a, b in zip(finished, resumed):
        np.testing.assert_array_equal(a, b.data)
    # A fresh optimizer that is *not* loaded ends elsewhere (so the state really mattered).
    restarted = [Tensor(p.copy(), requires_grad=True) for p in saved_params]
    run_steps(make(restarted), restarted, grads[3:])
    assert not np.array_equal(restarted[0].data, finished[0])


def test_state_dict_is_a_copy_and_records_hyperparameters():
    params = make_params()
    optimizer = optim.Adam(params, lr=0.01, betas=(0.8, 0.99))
    run_steps(optimizer, params, grad_sequence(steps=1))
    saved = optimizer.state_dict()
    snapshot = saved["state"][0]["exp_avg"].copy()
    run_steps(optimizer, params, grad_sequence(steps=1, seed=5))
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], snapshot)
    assert saved["param_groups"] == [{"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.0,
                                      "amsgrad": False, "params": [0, 1, 2, 3]}]
    other = optim.Adam(make_params(seed=3), lr=0.5)
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.01 and other.param_groups[0]["betas"] == (0.8, 0.99)
    # loaded buffers are copies too
    saved["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(other.state[other.param_groups[0]["params"][0]]["exp_avg"] == 123.0)


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    params = make_params()
    optimizer = optim.Adam(params, lr=0.01)
    run_steps(optimizer, params, grad_sequence(steps=2))
    before = optimizer.state_dict()

    wrong_shape = optimizer.state_dict()
    wrong_shape["param_groups"][0]["lr"] = 0.5
    wrong_shape["state"][2]["exp_avg"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"exp_avg.*shape \(4, 4\).*\(3, 3\)"):
        optimizer.load_state_dict(wrong_shape)

    two_groups = {"state": {}, "param_groups": [dict(before["param_groups"][0])] * 2}
    with pytest.raises(ValueError, match="2 parameter group"):
        optimizer.load_state_dict(two_groups)
    bad_lr = optimizer.state_dict()
    bad_lr["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Adam: invalid learning rate"):
        optimizer.load_state_dict(bad_lr)
    with pytest.raises(ValueError, match="keys 'state' and 'param_groups'"):
        optimizer.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="not a parameter id"):
        optimizer.load_state_dict({"state": {7: {}}, "param_groups": before["param_groups"]})

    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index in before["state"]:
        for key, value in before["state"][index].items():
            np.testing.assert_array_equal(after["state"][index][key], value)


# ---------------------------------------------------------------------------------------- clipping


def test_clip_grad_value():
    a, b, c = (Tensor(np.zeros(4), requires_grad=True) for _ in range(3))
    user_array = np.array([-3.0, -0.5, 0.2, 7.0])
    a.grad = Tensor(user_array)
    b.grad = Tensor(np.array([0.1, -0.1, 1.0, -1.5]))
    optim.clip_grad_value_([a, b, c], 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, -0.5, 0.2, 1.0])
    np.testing.assert_array_equal(b.grad.data, [0.1, -0.1, 1.0, -1.0])
    assert c.grad is None
    np.testing.assert_array_equal(user_array, [-3.0, -0.5, 0.2, 7.0])  # the caller's array is not written to


def test_clip_grad_norm_scales_jointly_and_returns_the_norm_before():
    a, b = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros((2, 1)), requires_grad=True)
    a.grad = Tensor(np.array([3.0, 0.0]))
    b.grad = Tensor(np.array([[0.0], [4.0]]))
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.data, [3.0 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, [[0.0], [4.0 * scale]], rtol=1e-15)
    new_norm = math.sqrt(np.sum(a.grad.data ** 2) + np.sum(b.grad.data ** 2))
    assert new_norm == pytest.approx(1.0, abs=1e-6)


def test_clip_grad_norm_leaves_small_gradients_and_supports_inf_norm():
    a = Tensor(np.zeros(3), requires_grad=True)
    a.grad = Tensor(np.array([0.3, -0.4, 0.0]))
    assert optim.clip_grad_norm_(a, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad.data, [0.3, -0.4, 0.0])
    assert optim.clip_grad_norm_([a], max_norm=0.1, norm_type=math.inf) == pytest.approx(0.4)
    np.testing.assert_allclose(a.grad.data, np.array([0.3, -0.4, 0.0]) * 0.1 / (0.4 + 1e-6))
    f32 = Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    f32.grad = Tensor(np.array([30.0, 40.0], dtype=np.float32))
    assert optim.clip_grad_norm_([f32], 5.0) == pytest.approx(50.0, rel=1e-6)
    assert f32.grad.dtype == np.float32
    assert optim.clip_grad_norm_([Tensor(np.zeros(2), requires_grad=True)], 1.0) == 0.0  # no grads at all


def test_clipping_bad_input():
    a = Tensor(np.zeros(2), requires_grad=True)
    a.grad = Tensor(np.ones(2))
    with pytest.raises(ValueError, match="clip_grad_value_: invalid clip_value=-1.0"):
        optim.clip_grad_value_([a], -1.0)
    with pytest.raises(ValueError, match="clip_grad_norm_: invalid max_norm"):
        optim.clip_grad_norm_([a], -2.0)
    with pytest.raises(TypeError, match="parameter #1 is a ndarray"):
        optim.clip_grad_norm_([a, np.ones(2)], 1.0)


# -------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), r"SGD: invalid learning rate lr=-0.1"),
    (lambda ps: optim.RMSprop(ps, lr=-1), r"RMSprop: invalid learning rate lr=-1.0"),
    (lambda ps: optim.Adam(ps, lr=-0.001), r"Adam: invalid learning rate lr=-0.001"),
    (lambda ps: optim.Adam(ps, lr=float("nan")), r"Adam: invalid learning rate lr=nan"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), r"Adam: invalid betas\[0\]=1.0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.5)), r"Adam: invalid betas\[1\]=-0.5"),
    (lambda ps: optim.Adam(ps, betas=0.9), r"Adam: betas must be a pair"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), r"Adam: invalid eps=-1e-08"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), r"SGD: invalid momentum=-0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=1.5), r"SGD: invalid momentum=1.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, dampening=2.0), r"SGD: invalid dampening=2.0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), r"SGD: nesterov=True needs a momentum > 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1e-4), r"SGD: invalid weight_decay=-0.0001"),
    (lambda ps: optim.RMSprop(ps, alpha=1.0), r"RMSprop: invalid alpha=1.0"),
    (lambda ps: optim.SGD([{"params": ps, "learning_rate": 0.1}], lr=0.1),
     r"SGD: unknown hyperparameter\(s\) \['learning_rate'\]"),
])
def test_bad_hyperparameters_raise_value_error_naming_optimizer_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_params())


def test_a_hyperparameter_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match=r"SGD: learning rate lr must be a real number, got '0.1'"):
        optim.SGD(make_params(), lr="0.1")


def test_bad_parameters():
    good = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match=r"SGD: parameter #1 is a ndarray, not a Tensor"):
        optim.SGD([good, np.ones(3)], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: parameter #0 \(shape \(3,\), dtype float64\) does not require grad"):
        optim.Adam([Tensor(np.ones(3))])
    with pytest.raises(ValueError, match="RMSprop: parameter #0 .* is not a leaf"):
        optim.RMSprop([good * 2.0])
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([good, good], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([{"params": [good]}, {"params": [good]}], lr=0.1)
    with pytest.raises(TypeError, match=r"pass its .values\(\)"):
        optim.Adam({"w": good})
    with pytest.raises(TypeError, match="mixes Tensors and parameter-group dicts"):
        optim.Adam([good, {"params": [Tensor(np.ones(1), requires_grad=True)]}])
    read_only = np.ones(2)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        optim.SGD([Tensor(read_only, requires_grad=True)], lr=0.1)


def plant_gradient(param, array):
    """Give ``param`` a gradient array the engine would never make (the ``.grad.data`` escape hatch gets past any
    check of ``.grad`` assignment): the optimizer itself must refuse it."""
    param.grad = Tensor(np.zeros_like(param.data))
    param.grad.data = array


def test_gradient_of_the_wrong_shape_is_a_clear_error():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    plant_gradient(w, np.ones(3))
    with pytest.raises(ValueError, match=r"SGD.step: parameter #0 \(shape \(2, 3\).*gradient of shape \(3,\)"):
        optim.SGD([w], lr=0.1).step()


# ------------------------------------------------------------- the course's C2 W2 training runs


def moons_cost_after(optimizer_name, epochs):
    """The C2 W2 model 2-5-2-1 (relu, relu, sigmoid) on the moons, trained as the course does.

    He init under np.random.seed(3), mini-batches of 64 with seed 10 + epoch + 1, lr 0.0007; the
    printed cost is the summed cross-entropy of the epoch divided by m.  Returns the costs of
    epoch 0 and of the last epoch.
    """
    datasets = pytest.importorskip("tinygrad_dl.data")
    X, Y = datasets.load_moons_dataset()
    dims = [2, 5, 2, 1]
    np.random.seed(3)
    params = []
    for layer in range(1, len(dims)):
        params.append(Tensor(np.random.randn(dims[layer], dims[layer - 1]) * np.sqrt(2 / dims[layer - 1]),
                             requires_grad=True))
        params.append(Tensor(np.zeros((dims[layer], 1)), requires_grad=True))
    optimizer = {"gd": lambda: optim.SGD(params, lr=0.0007),
                 "momentum": lambda: optim.SGD(params, lr=0.0007, momentum=0.9, dampening=0.9),
                 "adam": lambda: optim.Adam(params, lr=0.0007, betas=(0.9, 0.999), eps=1e-8)}[optimizer_name]()
    costs = []
    for epoch in range(epochs):
        total = 0.0
        for batch_X, batch_Y in optim.random_mini_batches(X, Y, 64, seed=10 + epoch + 1):
            a = Tensor(batch_X)
            for i in range(0, len(params), 2):
                z = params[i] @ a + params[i + 1]
                a = z.relu() if i < len(params) - 2 else z.sigmoid()
            logprobs = -(batch_Y * a.log() + (1 - batch_Y) * (1 - a).log())
            total += float(logprobs.data.sum())
            optimizer.zero_grad()
            logprobs.mean().backward()
            optimizer.step()
        costs.append(total / X.shape[1])
    return costs[0], costs[-1]


@pytest.mark.parametrize("optimizer_name, expected", [
    ("gd", (0.702405, 0.668101)),
    ("momentum", (0.702413, 0.668167)),
    ("adam", (0.702166, 0.167845)),
])
def test_course_optimization_run_costs_after_epochs_0_and_1000(optimizer_name, expected):
    # C2 W2 Optimization (v1b), "Cost after epoch 0 / 1000" for each optimizer, to the printed 6 decimals.
    first, last = moons_cost_after(optimizer_name, epochs=1001)
    assert round(first, 6) == expected[0]
    assert round(last, 6) == expected[1]


# ------------------------------------------------------------ PyTorch's optimizers, against their formulas


def test_adamw_decays_the_weights_then_takes_adams_step():
    params, grads = make_params(), grad_sequence(steps=4)
    lr, (b1, b2), eps, wd = 0.05, (0.8, 0.99), 1e-6, 0.3
    expected = copies(params)
    m = [np.zeros_like(p) for p in expected]
    v = [np.zeros_like(p) for p in expected]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            expected[i] = expected[i] * (1 - lr * wd)  # decoupled: not added to g
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            expected[i] = expected[i] - lr * (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
    run_steps(optim.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-13)
    assert optim.AdamW(make_params()).defaults["weight_decay"] == 0.01  # PyTorch's default


def test_adagrad_against_its_formula():
    params, grads = make_params(), grad_sequence(steps=4)
    lr, lr_decay, wd, initial, eps = 0.1, 0.05, 0.01, 0.2, 1e-10
    expected = copies(params)
    sums = [np.full_like(p, initial) for p in expected]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            g = g + wd * expected[i]
            sums[i] = sums[i] + g * g
            expected[i] = expected[i] - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(sums[i]) + eps)
    optimizer = optim.Adagrad(params, lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=initial)
    run_steps(optimizer, params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-13)
    assert optimizer.state[params[0]]["step"] == 4


@pytest.mark.parametrize("momentum", [0.0, 0.7])
@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_momentum_and_centered_against_the_formula(momentum, centered):
    params, grads = make_params(), grad_sequence(steps=4)
    lr, alpha, eps = 0.02, 0.9, 1e-8
    expected = copies(params)
    square = [np.zeros_like(p) for p in expected]
    mean = [np.zeros_like(p) for p in expected]
    buffer = [np.zeros_like(p) for p in expected]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            square[i] = alpha * square[i] + (1 - alpha) * g * g
            mean[i] = alpha * mean[i] + (1 - alpha) * g
            denominator = np.sqrt(square[i] - mean[i] ** 2 if centered else square[i]) + eps
            if momentum:
                buffer[i] = momentum * buffer[i] + g / denominator
                expected[i] = expected[i] - lr * buffer[i]
            else:
                expected[i] = expected[i] - lr * g / denominator
    run_steps(optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered), params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: optim.RMSprop(p), lambda p: optim.Adagrad(p), lambda p: optim.Adam(p),
                                  lambda p: optim.AdamW(p)])
def test_every_step_bumps_the_version_of_the_parameters_it_changes(make):
    params = make_params()
    optimizer = make(params)
    params[0].grad, params[2].grad = Tensor(np.ones(SHAPES[0])), Tensor(np.ones(SHAPES[2]))
    versions = [p._version for p in params]
    data = [p.data for p in params]
    optimizer.step()
    assert [p._version > v for p, v in zip(params, versions)] == [True, False, True, False]
    assert all(p.data is d for p, d in zip(params, data))  # in place: the same arrays


@pytest.mark.parametrize("name", ["SGD", "SGD-momentum", "Adam"])
@pytest.mark.parametrize("replacement", ["read-only", "integer"])
def test_data_replaced_after_construction_fails_the_step_before_any_update(name, replacement):
    """The constructor checks each parameter's data; .data can be swapped later (the escape hatch), so step()
    checks it again with the gradients: a last parameter that cannot take an update leaves every other one as it
    was, with a message naming the optimizer and the parameter."""
    params = make_params()
    optimizer = {"SGD": lambda: optim.SGD(params, lr=0.1),
                 "SGD-momentum": lambda: optim.SGD(params, lr=0.1, momentum=0.9),
                 "Adam": lambda: optim.Adam(params, lr=0.1)}[name]()
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    if replacement == "read-only":
        frozen = params[3].data.copy()
        frozen.flags.writeable = False
        params[3].data = frozen
        error, message = ValueError, r"the data of parameter #3 \(shape \(3, 1\), dtype float64\) is read-only"
    else:
        params[3].data = np.ones((3, 1), dtype=np.int64)
        error, message = TypeError, r"the data of parameter #3 \(shape \(3, 1\)\) was replaced by an array of dtype int64"
    before = copies(params)
    with pytest.raises(error, match=rf"{optimizer._name}.step: {message}.*nothing was updated"):
        optimizer.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(params, before))
    assert all(not v for v in optimizer.state.values())


def test_a_failed_step_updates_no_parameter_and_no_state():
    params = make_params()
    optimizer = optim.Adam(params, lr=0.1)
    run_steps(optimizer, params, grad_sequence(steps=1))
    before, state = copies(params), {k: dict(v) for k, v in optimizer.state_dict()["state"].items()}
    for p in params[:2]:
        p.grad = Tensor(np.ones(p.shape))
    plant_gradient(params[3], np.ones((2, 1)))  # the wrong shape, on the last parameter
    with pytest.raises(ValueError, match=r"Adam.step: parameter #3 .*nothing was updated"):
        optimizer.step()
    plant_gradient(params[3], np.ones(SHAPES[3], dtype=np.int64))  # the right shape, an integer dtype
    with pytest.raises(TypeError, match=r"parameter #3 .*dtype int64.*floating-point"):
        optimizer.step()
    optimizer.param_groups[0]["betas"] = (0.9, 1.5)  # a bad hyperparameter set by hand
    params[3].grad = None
    with pytest.raises(ValueError, match=r"betas\[1\]=1.5.*group 0; nothing was updated"):
        optimizer.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)
    assert optimizer.state_dict()["state"][0]["step"] == state[0]["step"] == 1


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s["state"][0].update(step="abc"), r"'step' must be an integer >= 0, got 'abc'"),
    (lambda s: s["state"][0].update(step=-1), r"'step' must be an integer >= 0, got -1"),
    (lambda s: s["state"][0].update(step=2.0), r"'step' must be an integer"),
    (lambda s: s["state"][0].update(exp_avg=[[0.0] * 3] * 2), r"'exp_avg' must be an array of shape \(2, 3\), got list"),
    (lambda s: s["state"][0].update(exp_avg=np.zeros((2, 3), dtype=np.int64)), r"'exp_avg' has dtype int64"),
    (lambda s: s["state"][0].update(momentum=np.zeros((2, 3))), r"unknown entries \['momentum'\]"),
    (lambda s: s["state"][0].pop("exp_avg_sq"), r"needs all of"),
    (lambda s: s["param_groups"][0].update(foo=True), r"hyperparameters .*foo"),
    (lambda s: s["param_groups"][0].update(amsgrad=True), r"needs all of .*'max_exp_avg_sq'"),
    (lambda s: s["param_groups"][0].update(amsgrad="yes"), r"amsgrad must be True or False, got 'yes'"),
    (lambda s: s["param_groups"][0].update(params=[0, 1, 2, 2]), r"parameter id 2 appears twice"),
    (lambda s: s["param_groups"][0].update(params=[0, 1, 2, "3"]), r"parameter ids must be integers"),
    (lambda s: s.update(extra=1), r"keys 'state' and 'param_groups'"),
])
def test_load_state_dict_refuses_corrupt_state_before_changing_anything(corrupt, message):
    params = make_params()
    optimizer = optim.Adam(params, lr=0.01)
    run_steps(optimizer, params, grad_sequence(steps=2))
    saved = optimizer.state_dict()
    corrupt(saved)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=message):
        optimizer.load_state_dict(saved)
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key, entry in before["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(after["state"][key][name], value)


def test_a_graph_that_saved_a_parameter_refuses_to_backward_after_a_step():
    """The step's in-place update is seen by the engine's saved-value checks (the core's issue 7 §3 work)."""
    import tinygrad_dl.autograd
    if not hasattr(tinygrad_dl.autograd, "note_inplace_write"):
        pytest.skip("this engine does not check saved values against in-place writes yet")
    w = Tensor(np.ones(3), requires_grad=True)
    loss = (w * w).sum()
    w.grad = Tensor(np.ones(3))
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="in place"):
        loss.backward()


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.01)])
def test_a_trained_model_and_its_optimizer_deep_copy_and_pickle(make):
    """copy.deepcopy(model) after some steps (a best-so-far snapshot) and pickling a parameter must keep working:
    nothing a training step leaves on parameters or optimizers (caches, notes for the engine) may hold what cannot be
    copied or pickled."""
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    optimizer = make(model.parameters())
    x, y = Tensor(np.ones((8, 3), np.float32)), Tensor(np.zeros((8, 1), np.float32))
    for _ in range(2):
        optimizer.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    for original in (model, optimizer):
        assert type(copy.deepcopy(original)) is type(original)
    for param in model.parameters():
        twin = pickle.loads(pickle.dumps(param))
        np.testing.assert_array_equal(twin.data, param.data)
        np.testing.assert_array_equal(twin.grad.data, param.grad.data)
    snapshot = copy.deepcopy(model)
    optimizer.step()  # changes the model, not its snapshot
    assert not np.array_equal(snapshot[0].weight.data, model[0].weight.data)
