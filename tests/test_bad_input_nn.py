"""Bad input to every public layer, loss, optimizer, scheduler and checkpoint call: a table of cases, each
property-tested with hypothesis over many bad values.

For every drawn value the call must raise the case's exception type, with a message that names the layer
or op (and the offending shapes or argument), and must change nothing: parameters, their gradients and
versions, buffers, the optimizer's state and hyperparameters, the scheduler's state, the module tree.
``BAD_INPUT_CASES_TRIED`` counts the examples (printed at the end with ``pytest -s``).
"""
import collections
import copy
import io
import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_dl
import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn, optim

TRIED = collections.Counter()

# ------------------------------------------------------------------------------------- bad values


class Opaque:
    def __repr__(self):
        return "<Opaque>"


not_numbers = st.one_of(st.text(max_size=3), st.none(), st.lists(st.integers(), min_size=1, max_size=2),
                        st.just(Opaque()), st.just(1 + 2j), st.just({"a": 1}))
bad_sizes = st.one_of(not_numbers, st.booleans(), st.integers(max_value=0), st.floats(),
                      st.just(np.float64(3.0)))
bad_reals = st.one_of(not_numbers, st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf]))
negatives = st.floats(min_value=-1e6, max_value=-1e-9)
above_one = st.floats(min_value=1.0 + 1e-9, max_value=1e6)
bad_non_negative = st.one_of(bad_reals, negatives)
bad_positive = st.one_of(bad_reals, negatives, st.just(0.0))
bad_probability = st.one_of(bad_reals, negatives, above_one)
bad_fraction = st.one_of(bad_reals, negatives, above_one, st.just(1.0))  # [0, 1)
bad_flags = st.one_of(not_numbers, st.integers(), st.floats(allow_nan=False))
bad_dtypes = st.sampled_from(["int32", np.int64, np.bool_, np.complex128, "U3", object, "not a dtype", 3.5])
bad_reductions = st.one_of(st.text(max_size=6).filter(lambda s: s not in ("mean", "sum", "none")), st.none(),
                           st.integers(), st.sampled_from(["Mean", "avg", "elementwise_mean"]))
bad_ints = st.one_of(st.text(max_size=3), st.none(), st.floats(), st.booleans(), st.just(Opaque()))
bad_counts = st.one_of(bad_ints, st.integers(max_value=-1))  # integers >= 0 wanted
bad_positive_ints = st.one_of(bad_ints, st.integers(max_value=0))


def wrong_shapes(right, min_dims=1, max_dims=3):
    """Shapes other than ``right``."""
    return st.lists(st.integers(1, 5), min_size=min_dims, max_size=max_dims).map(tuple).filter(lambda s: s != right)


# ------------------------------------------------------------------------------------- the world


def make_world(optimizer="adam", scheduler="step", training=True):
    """A trained model with an optimizer and a scheduler that have state, and fresh gradients."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 2, dtype=np.float64))
    opt = OPTIMIZERS[optimizer](model.parameters())
    sched = SCHEDULERS[scheduler](opt)
    x = Tensor(rng.standard_normal((5, 3)))
    model(x).sum().backward()
    opt.step()
    sched.step() if scheduler != "plateau" else sched.step(1.0)
    opt.zero_grad()
    model(x).sum().backward()
    model.train(training)
    return types.SimpleNamespace(model=model, optimizer=opt, scheduler=sched, x=x, params=model.parameters())


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
    "adagrad": lambda p: optim.Adagrad(p),
}
SCHEDULERS = {
    "step": lambda o: optim.StepLR(o, step_size=2),
    "lambda": lambda o: optim.LambdaLR(o, lambda e: 1 / (1 + e)),
    "cosine": lambda o: optim.CosineAnnealingLR(o, T_max=10),
    "onecycle": lambda o: optim.OneCycleLR(o, max_lr=0.1, total_steps=5),
    "plateau": lambda o: optim.ReduceLROnPlateau(o),
}


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def snapshot(world):
    params = [(p.data.copy(), None if p.grad is None else p.grad.data.copy(), p._version, p.requires_grad)
              for p in world.params]
    return dict(params=params, buffers=[np.array(b, copy=True) for b in world.model.buffers()],
                optimizer=_copy(world.optimizer.state_dict()), scheduler=_copy(world.scheduler.state_dict()),
                lrs=[g["lr"] for g in world.optimizer.param_groups],
                modules=[(name, type(m).__name__) for name, m in world.model.named_modules()],
                training=[m.training for m in world.model.modules()])


def assert_equal_deep(a, b, where="state"):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_equal_deep(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_equal_deep(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ------------------------------------------------------------------------------------- the table

Case = collections.namedtuple("Case", "name bad call error mentions world prepare")


def case(name, bad, call, error, mentions, world=None, prepare=None):
    """``call(world, bad)`` must raise ``error``; ``mentions(world, bad)`` lists the texts the message must hold.
    ``prepare(world, bad)`` runs before the state is recorded (to plant a bad gradient, say)."""
    return Case(name, bad, call, error, mentions, world or {}, prepare)


def named(*texts):
    return lambda world, bad: list(texts)


def shape_of(bad_shape, *texts):
    return lambda world, bad: list(texts) + [str(tuple(bad))]


ARG = (TypeError, ValueError)  # a bad argument: TypeError for a wrong kind of value, ValueError for a bad value
CASES = []

# -- layer constructors: every argument of every layer
LAYER_ARGUMENTS = [
    (nn.Linear, dict(in_features=3, out_features=4), "in_features", bad_sizes),
    (nn.Linear, dict(in_features=3, out_features=4), "out_features", bad_sizes),
    (nn.Linear, dict(in_features=3, out_features=4), "bias", bad_flags),
    (nn.Linear, dict(in_features=3, out_features=4), "dtype", bad_dtypes),
    (nn.Linear, dict(in_features=3, out_features=4), "init", st.text(max_size=5) | st.integers()),
    (nn.LeakyReLU, {}, "negative_slope", bad_reals),
    (nn.Softmax, {}, "dim", bad_ints.filter(lambda v: v is not None)),
    (nn.LogSoftmax, {}, "dim", bad_ints.filter(lambda v: v is not None)),
    (nn.GELU, {}, "approximate", st.text(max_size=5).filter(lambda s: s not in ("none", "tanh")) | st.none()),
    (nn.Softplus, {}, "beta", st.one_of(bad_reals, st.just(0.0))),
    (nn.Softplus, {}, "threshold", bad_reals),
    (nn.Flatten, {}, "start_axis", bad_ints.filter(lambda v: v is not None)),
    (nn.Dropout, {}, "p", bad_probability),
    (nn.Dropout, {}, "layout", st.text(max_size=5).filter(lambda s: s not in ("rows", "columns"))),
    (nn.BatchNorm1d, dict(num_features=4), "num_features", bad_sizes),
    (nn.BatchNorm1d, dict(num_features=4), "eps", bad_positive),
    (nn.BatchNorm1d, dict(num_features=4), "momentum", st.one_of(bad_reals.filter(lambda v: v is not None),
                                                                 negatives, above_one)),
    (nn.BatchNorm1d, dict(num_features=4), "affine", bad_flags),
    (nn.BatchNorm1d, dict(num_features=4), "track_running_stats", bad_flags),
    (nn.BatchNorm1d, dict(num_features=4), "dtype", bad_dtypes),
    (nn.LayerNorm, dict(normalized_shape=4), "normalized_shape", bad_sizes.filter(lambda v: not isinstance(v, list))),
    (nn.LayerNorm, dict(normalized_shape=4), "eps", bad_positive),
    (nn.LayerNorm, dict(normalized_shape=4), "elementwise_affine", bad_flags),
    (nn.BCELoss, {}, "reduction", bad_reductions),
    (nn.BCEWithLogitsLoss, {}, "reduction", bad_reductions),
    (nn.CrossEntropyLoss, {}, "reduction", bad_reductions),
    (nn.CrossEntropyLoss, {}, "label_smoothing", st.one_of(bad_reals, negatives, above_one)),
    (nn.CrossEntropyLoss, {}, "ignore_index", bad_ints),
    (nn.CrossEntropyLoss, {}, "weight", st.text(min_size=1, max_size=4) | st.just([["a"]])),
    (nn.NLLLoss, {}, "reduction", bad_reductions),
    (nn.NLLLoss, {}, "ignore_index", bad_ints),
    (nn.MSELoss, {}, "reduction", bad_reductions),
    (nn.L1Loss, {}, "reduction", bad_reductions),
    (nn.SmoothL1Loss, {}, "reduction", bad_reductions),
    (nn.SmoothL1Loss, {}, "beta", st.one_of(bad_reals, negatives)),
]
for layer, good, argument, values in LAYER_ARGUMENTS:
    CASES.append(case(f"{layer.__name__}({argument}=bad)", values,
                      lambda w, bad, layer=layer, good=good, argument=argument: layer(**{**good, argument: bad}),
                      ARG, named(layer.__name__)))

# -- layers called on inputs of the wrong shape or dtype (training and eval)
CASES += [
    case("Linear(3, 4) on a wrong last axis", wrong_shapes((3,)).filter(lambda s: s[-1] != 3),
         lambda w, s: w.model[0](Tensor(np.ones(s))), ValueError, shape_of(None, "linear", "(4, 3)")),
    case("BatchNorm1d(4) on a wrong shape (training)", wrong_shapes((5, 4), min_dims=1, max_dims=4).filter(
        lambda s: not (len(s) in (2, 3) and s[1] == 4)),
        lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError, shape_of(None, "BatchNorm1d(4)")),
    case("BatchNorm1d(4) on 4-d input points to BatchNorm2d", st.tuples(st.integers(1, 3), st.just(4),
                                                                      st.integers(1, 3), st.integers(1, 3)),
         lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError,
         shape_of(None, "BatchNorm1d(4)", "BatchNorm2d", "F.batch_norm")),
    case("BatchNorm1d(4) in eval on a wrong shape", wrong_shapes((5, 4)).filter(
        lambda s: not (len(s) in (2, 3) and s[1] == 4)),
        lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError, shape_of(None, "BatchNorm1d(4)"),
        world=dict(training=False)),
    case("BatchNorm1d(4) training on one value per channel", st.sampled_from([(1, 4), (1, 4, 1)]),
         lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError, shape_of(None, "batch_norm")),
    case("Sequential on a wrong input", wrong_shapes((5, 3), min_dims=2, max_dims=2).filter(lambda s: s[-1] != 3),
         lambda w, s: w.model(Tensor(np.ones(s))), ValueError, shape_of(None, "linear")),
    case("LayerNorm(4) on a wrong last axis", wrong_shapes((4,)).filter(lambda s: s[-1] != 4),
         lambda w, s: nn.LayerNorm(4)(Tensor(np.ones(s, np.float32))), ValueError, shape_of(None, "layer_norm")),
    case("Softmax(dim) out of range", st.integers(2, 9) | st.integers(-9, -3),
         lambda w, d: nn.Softmax(dim=d)(Tensor(np.ones((2, 3)))), ValueError,
         lambda w, d: ["softmax", str(d), "(2, 3)"]),
    case("LogSoftmax(dim) out of range", st.integers(2, 9),
         lambda w, d: nn.LogSoftmax(dim=d)(Tensor(np.ones((2, 3)))), ValueError,
         lambda w, d: ["log_softmax", str(d), "(2, 3)"]),
    case("GELU on integers", st.sampled_from([np.int64, np.int32, np.bool_]),
         lambda w, t: nn.GELU()(Tensor(np.ones((2, 2), dtype=t))), TypeError, named("gelu", "(2, 2)")),
    case("Softplus on integers", st.sampled_from([np.int64, np.int8]),
         lambda w, t: nn.Softplus()(Tensor(np.ones((3,), dtype=t))), TypeError, named("softplus", "(3,)")),
    case("F.softmax with axis and dim disagreeing", st.integers(-2, 1),
         lambda w, a: F.softmax(Tensor(np.ones((2, 3))), axis=a, dim=(a + 1) % 2), TypeError,
         named("softmax", "axis=", "dim=")),
    case("F.linear with a bias of the wrong shape", wrong_shapes((4,)),
         lambda w, s: F.linear(w.x, w.model[0].weight, np.ones(s)), ValueError, shape_of(None, "linear", "bias")),
    case("F.dropout with a bad p", bad_probability, lambda w, p: F.dropout(w.x, p), ARG, named("dropout")),
    case("F.batch_norm with running stats of the wrong shape", wrong_shapes((3,)),
         lambda w, s: F.batch_norm(w.x, np.zeros(s), np.ones(s), training=True), ValueError,
         shape_of(None, "batch_norm", "running_mean")),
    case("F.l2_penalty with m <= 0", st.integers(-5, 0), lambda w, m: F.l2_penalty(w.params, 0.7, m), ValueError,
         named("l2_penalty", "m")),
]

# -- losses: prediction and target that do not fit, bad targets, bad weights
LOGITS = np.random.default_rng(1).standard_normal((4, 3))
PAIR_LOSSES = [("mse_loss", nn.MSELoss()), ("l1_loss", nn.L1Loss()), ("smooth_l1_loss", nn.SmoothL1Loss()),
               ("binary_cross_entropy_with_logits", nn.BCEWithLogitsLoss()),
               ("binary_cross_entropy", nn.BCELoss())]
for op, loss in PAIR_LOSSES:
    CASES.append(case(f"{type(loss).__name__} on mismatched shapes", wrong_shapes((4, 3)),
                      lambda w, s, loss=loss: loss(Tensor(np.full((4, 3), 0.5)), np.zeros(s)), ValueError,
                      shape_of(None, op, "(4, 3)")))
    CASES.append(case(f"{type(loss).__name__} on a non-numeric target", st.sampled_from(["abc", [["a"]], None]),
                      lambda w, t, loss=loss: loss(Tensor(np.full((1, 1), 0.5)), t), TypeError, named(op)))
    CASES.append(case(f"{type(loss).__name__} on an integer prediction", st.sampled_from([np.int64, np.bool_]),
                      lambda w, t, loss=loss: loss(Tensor(np.ones((2,), dtype=t)), np.ones(2)), TypeError,
                      named(op, "dtype")))
CASES += [
    case("BCELoss outside [0, 1]", st.floats(1.0001, 1e3) | st.floats(-1e3, -0.0001),
         lambda w, v: nn.BCELoss()(Tensor(np.array([0.5, v])), np.ones(2)), ValueError,
         named("binary_cross_entropy", "[0, 1]")),
    case("BCEWithLogitsLoss pos_weight not broadcasting", wrong_shapes((3,)).filter(lambda s: s not in [(1,), (4, 3), (1, 3), (4, 1), (1, 1)]),
         lambda w, s: nn.BCEWithLogitsLoss(pos_weight=np.ones(s))(Tensor(LOGITS), np.zeros((4, 3))), ValueError,
         shape_of(None, "binary_cross_entropy_with_logits", "pos_weight", "(4, 3)")),
    case("BCELoss weight not broadcasting", wrong_shapes((3,)).filter(lambda s: s not in [(1,), (4, 3), (1, 3), (4, 1), (1, 1)]),
         lambda w, s: nn.BCELoss(np.ones(s))(Tensor(np.full((4, 3), 0.5)), np.zeros((4, 3))), ValueError,
         shape_of(None, "binary_cross_entropy", "weight")),
    case("CrossEntropyLoss target of no fitting shape", wrong_shapes((4,), max_dims=2).filter(lambda s: s != (4, 3)),
         lambda w, s: nn.CrossEntropyLoss()(Tensor(LOGITS), np.zeros(s, dtype=int)), ValueError,
         shape_of(None, "cross_entropy", "(4, 3)")),
    case("CrossEntropyLoss class index out of range", st.integers(3, 100) | st.integers(-99, -1),
         lambda w, c: nn.CrossEntropyLoss()(Tensor(LOGITS), np.array([0, 1, c, 2])), IndexError,
         named("cross_entropy", "[0, 3)", "(4,)")),
    case("CrossEntropyLoss fractional class index", st.floats(0.01, 2.99).filter(lambda v: v != round(v)),
         lambda w, c: nn.CrossEntropyLoss()(Tensor(LOGITS), np.array([0.0, 1.0, c, 2.0])), ValueError,
         named("cross_entropy", "whole numbers")),
    case("CrossEntropyLoss class weight of the wrong shape", wrong_shapes((3,)),
         lambda w, s: nn.CrossEntropyLoss(np.ones(s))(Tensor(LOGITS), np.array([0, 1, 2, 0])), ValueError,
         shape_of(None, "cross_entropy", "weight", "(3,)")),
    case("CrossEntropyLoss weight that requires grad", st.just(None),
         lambda w, _: nn.CrossEntropyLoss(Tensor(np.ones(3), requires_grad=True)), ValueError,
         named("CrossEntropyLoss", "weight", "detach")),
    case("F.cross_entropy class axis out of range", st.integers(2, 6) | st.integers(-9, -3),
         lambda w, a: F.cross_entropy(Tensor(LOGITS), np.zeros((4, 3)), axis=a), ValueError,
         lambda w, a: ["cross_entropy", str(a), "(4, 3)"]),
    case("F.cross_entropy reduction string as weight", st.sampled_from(["mean", "sum", "none"]),
         lambda w, r: F.cross_entropy(Tensor(LOGITS), np.array([0, 1, 2, 0]), r), TypeError,
         lambda w, r: ["cross_entropy", f"reduction={r!r}"]),
    case("F.cross_entropy on integer logits", st.sampled_from([np.int64, np.int32]),
         lambda w, t: F.cross_entropy(Tensor(np.ones((2, 3), dtype=t)), np.array([0, 1])), TypeError,
         named("cross_entropy", "(2, 3)")),
    case("NLLLoss class index out of range", st.integers(3, 50),
         lambda w, c: nn.NLLLoss()(Tensor(LOGITS), np.array([0, 1, c, 2])), IndexError, named("nll_loss", "[0, 3)")),
    case("NLLLoss target of the wrong shape", wrong_shapes((4,), max_dims=2),
         lambda w, s: nn.NLLLoss()(Tensor(LOGITS), np.zeros(s, dtype=int)), ValueError,
         shape_of(None, "nll_loss", "(4, 3)")),
    case("NLLLoss with a string target", st.sampled_from(["abc", ["a", "b", "c", "d"]]),
         lambda w, t: nn.NLLLoss()(Tensor(LOGITS), t), ARG, named("nll_loss")),
]

# -- optimizer constructors: every hyperparameter of every optimizer
OPTIMIZER_ARGUMENTS = [
    (optim.SGD, dict(lr=0.1), "lr", bad_non_negative), (optim.SGD, dict(lr=0.1), "momentum", bad_fraction),
    (optim.SGD, dict(lr=0.1), "dampening", bad_probability), (optim.SGD, dict(lr=0.1), "weight_decay", bad_non_negative),
    (optim.SGD, dict(lr=0.1, momentum=0.9), "nesterov", bad_flags),
    (optim.RMSprop, {}, "lr", bad_non_negative), (optim.RMSprop, {}, "alpha", bad_fraction),
    (optim.RMSprop, {}, "eps", bad_non_negative), (optim.RMSprop, {}, "momentum", bad_fraction),
    (optim.RMSprop, {}, "centered", bad_flags), (optim.RMSprop, {}, "weight_decay", bad_non_negative),
    (optim.Adagrad, {}, "lr", bad_non_negative), (optim.Adagrad, {}, "lr_decay", bad_non_negative),
    (optim.Adagrad, {}, "initial_accumulator_value", bad_non_negative), (optim.Adagrad, {}, "eps", bad_non_negative),
    (optim.Adam, {}, "lr", bad_non_negative), (optim.Adam, {}, "eps", bad_non_negative),
    (optim.Adam, {}, "betas", st.one_of(bad_reals, st.tuples(bad_fraction, st.just(0.999)),
                                        st.tuples(st.just(0.9), bad_fraction), st.just((0.9,)))),
    (optim.AdamW, {}, "lr", bad_non_negative), (optim.AdamW, {}, "weight_decay", bad_non_negative),
    (optim.AdamW, {}, "betas", st.tuples(st.just(0.9), bad_fraction)),
]
for maker, good, argument, values in OPTIMIZER_ARGUMENTS:
    CASES.append(case(f"{maker.__name__}({argument}=bad)", values,
                      lambda w, bad, maker=maker, good=good, argument=argument: maker(w.params, **{**good, argument: bad}),
                      ARG, named(maker.__name__, argument.replace("betas", "beta"))))
CASES += [
    case("optimizer over non-tensors", st.sampled_from([[np.ones(2)], "abc", [1.0], {"a": 1}, [[Opaque()]]]),
         lambda w, ps: optim.SGD(ps, lr=0.1), TypeError, named("SGD")),
    case("optimizer over a tensor that does not require grad", st.just(None),
         lambda w, _: optim.Adam([Tensor(np.ones(2))]), ValueError, named("Adam", "does not require grad")),
    case("optimizer with an empty list", st.sampled_from([[], ()]), lambda w, ps: optim.SGD(ps, lr=0.1), ValueError,
         named("SGD", "empty")),
]

# -- optimizer.step with a bad gradient on a later parameter: nothing may move, not even the first parameter


def _plant_bad_grad(world, bad):
    position, grad = bad
    param = world.params[position]
    param.grad = Tensor(np.zeros_like(param.data))
    param.grad.data = grad  # the .data escape hatch gets past any check of .grad assignment: step must catch it


def bad_gradients(world):
    def for_position(position):
        shape = world.params[position].shape
        wrong_shape = wrong_shapes(shape, max_dims=3).map(lambda s: np.ones(s))
        wrong_dtype = st.sampled_from([np.int64, np.bool_, np.complex128, "U1"]).map(
            lambda t: np.ones(shape, dtype=t))
        return st.tuples(st.just(position), wrong_shape | wrong_dtype)
    return st.integers(1, len(world.params) - 1).flatmap(for_position)


for name in OPTIMIZERS:
    CASES.append(case(f"{name}.step with a bad gradient on a later parameter", bad_gradients,
                      lambda w, bad: w.optimizer.step(), (TypeError, ValueError),
                      lambda w, bad: ["step", f"parameter #{bad[0]}", str(w.params[bad[0]].shape), "nothing was updated"],
                      world=dict(optimizer=name), prepare=_plant_bad_grad))
    CASES.append(case(f"{name}.step after a bad learning rate was set by hand", bad_non_negative,
                      lambda w, lr: w.optimizer.step(), ARG, named("learning rate lr", "nothing was updated"),
                      world=dict(optimizer=name), prepare=lambda w, lr: w.optimizer.param_groups[0].update(lr=lr)))

# -- optimizer.load_state_dict with corrupt state: validated before anything changes


def corrupted(world, mutation, value):
    state = world.optimizer.state_dict()
    first = next(iter(state["state"].values()))
    if mutation == "counter":
        key = next((k for k, kind in world.optimizer.state_spec({}).items() if kind == "count"), None)
        first[key or "step"] = value
    elif mutation == "buffer":
        key = next(k for k, kind in world.optimizer.state_spec({}).items() if kind == "buffer" and k in first)
        first[key] = value
    elif mutation == "unknown entry":
        first[value] = np.zeros(1)
    elif mutation == "hyperparameter":
        state["param_groups"][0]["lr"] = value
    elif mutation == "unknown hyperparameter":
        state["param_groups"][0][value] = 0.1
    elif mutation == "missing hyperparameter":
        del state["param_groups"][0]["lr"]
    elif mutation == "parameter ids":
        state["param_groups"][0]["params"][-1] = value
    elif mutation == "state key":
        state["state"][value] = {}
    elif mutation == "top-level key":
        state[value] = 1
    elif mutation == "not a dict":
        state = value
    return state


CORRUPTIONS = {
    "counter": st.one_of(st.text(max_size=3), st.integers(max_value=-1), st.floats(), st.none(), st.booleans(),
                         st.lists(st.integers(), max_size=2)),
    "buffer": st.one_of(st.lists(st.floats(allow_nan=False), max_size=3), st.none(), st.text(max_size=2),
                        wrong_shapes((4, 3)).map(np.zeros), st.just(np.ones((4, 3), dtype=np.int64)),
                        st.just(np.ones((4, 3), dtype=np.complex128)), st.just(np.array([["a"] * 3] * 4))),
    "unknown entry": st.text(min_size=1, max_size=6).filter(
        lambda k: k not in ("step", "exp_avg", "exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg", "sum")),
    "hyperparameter": bad_non_negative,
    "unknown hyperparameter": st.text(min_size=1, max_size=6).filter(
        lambda k: k not in ("lr", "betas", "eps", "weight_decay", "momentum", "dampening", "nesterov", "alpha",
                            "centered", "lr_decay", "initial_accumulator_value", "params")),
    "missing hyperparameter": st.just(None),
    "parameter ids": st.one_of(st.text(max_size=2), st.floats(), st.none(), st.just(0)),
    "state key": st.one_of(st.text(max_size=2), st.integers(50, 99), st.integers(max_value=-1), st.none()),
    "top-level key": st.text(min_size=1, max_size=5).filter(lambda k: k not in ("state", "param_groups")),
    "not a dict": st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.text(max_size=3)),
}
for name in OPTIMIZERS:
    for mutation, values in CORRUPTIONS.items():
        CASES.append(case(f"{name}.load_state_dict with a corrupt {mutation}", values,
                          lambda w, v, mutation=mutation: w.optimizer.load_state_dict(corrupted(w, mutation, v)),
                          ValueError, lambda w, v: [type(w.optimizer).__name__, "load_state_dict"],
                          world=dict(optimizer=name)))

# -- schedulers: bad arguments, steps and states
SCHEDULER_ARGUMENTS = [
    (optim.StepLR, dict(step_size=2), "step_size", bad_positive_ints),
    (optim.StepLR, dict(step_size=2), "gamma", bad_non_negative),
    (optim.ExponentialLR, dict(gamma=0.9), "gamma", bad_non_negative),
    (optim.InverseTimeDecay, dict(decay_rate=1.0), "decay_rate", bad_non_negative),
    (optim.ScheduledInverseTimeDecay, dict(decay_rate=1.0), "time_interval", bad_positive_ints),
    (optim.CosineAnnealingLR, dict(T_max=10), "T_max", bad_positive_ints),
    (optim.CosineAnnealingLR, dict(T_max=10), "eta_min", bad_non_negative),
    (optim.LambdaLR, dict(lr_lambda=lambda e: 1.0), "lr_lambda", not_numbers | st.just([lambda e: 1.0] * 2)),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "max_lr",
     bad_non_negative.filter(lambda v: not isinstance(v, list)) | st.just([0.1, 0.2])),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "total_steps", bad_positive_ints),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "pct_start", bad_probability),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "anneal_strategy",
     st.text(max_size=5).filter(lambda s: s not in ("cos", "linear"))),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "div_factor", bad_positive),
    (optim.OneCycleLR, dict(max_lr=0.1, total_steps=10), "three_phase", bad_flags),
    (optim.OneCycleLR, dict(max_lr=0.1), "epochs", bad_positive_ints),
    (optim.ReduceLROnPlateau, {}, "mode", st.text(max_size=4).filter(lambda s: s not in ("min", "max"))),
    (optim.ReduceLROnPlateau, {}, "factor", bad_fraction),
    (optim.ReduceLROnPlateau, {}, "patience", bad_counts),
    (optim.ReduceLROnPlateau, {}, "threshold_mode", st.text(max_size=4).filter(lambda s: s not in ("rel", "abs"))),
    (optim.ReduceLROnPlateau, {}, "cooldown", bad_counts),
    (optim.ReduceLROnPlateau, {}, "min_lr",
     bad_non_negative.filter(lambda v: not isinstance(v, list)) | st.just([0.1, 0.2])),
]
for maker, good, argument, values in SCHEDULER_ARGUMENTS:
    extra = {"steps_per_epoch": 3} if argument == "epochs" else {}
    CASES.append(case(f"{maker.__name__}({argument}=bad)", values,
                      lambda w, bad, maker=maker, good=good, argument=argument, extra=extra:
                      maker(w.optimizer, **{**good, **extra, argument: bad}),
                      ARG, named(maker.__name__)))
CASES += [
    case("scheduler over a non-optimizer", st.sampled_from([None, [1], "sgd", Opaque()]),
         lambda w, o: optim.StepLR(o, step_size=2), TypeError, named("StepLR", "optimizer")),
    case("scheduler.step(epoch) with a bad epoch", bad_counts.filter(lambda v: v is not None),
         lambda w, e: w.scheduler.step(e), ValueError, named("StepLR.step", "epoch")),
    case("OneCycleLR stepped past total_steps", st.integers(6, 100),
         lambda w, e: w.scheduler.step(e), ValueError, named("OneCycleLR", "total_steps=5"),
         world=dict(scheduler="onecycle")),
    case("ReduceLROnPlateau.step with a non-number", st.one_of(st.text(max_size=3), st.none(), st.just([1.0, 2.0]),
                                                                st.just(np.ones(3)), st.just(Tensor(np.ones(2)))),
         lambda w, m: w.scheduler.step(m), TypeError, named("ReduceLROnPlateau.step", "metric"),
         world=dict(scheduler="plateau")),
    case("LambdaLR whose function returns garbage", st.one_of(st.text(max_size=2), st.none(), st.just(-1.0),
                                                              st.just(math.nan)),
         lambda w, v: optim.LambdaLR(w.optimizer, lambda e: v), ValueError, named("LambdaLR", "lr_lambda")),
]
SCHEDULER_STATE_CORRUPTIONS = {
    "step": ("last_epoch", st.one_of(st.text(max_size=2), st.integers(max_value=-1), st.none(), st.floats())),
    "cosine": ("T_max", st.one_of(bad_positive_ints)),
    "onecycle": ("total_steps", bad_positive_ints),
    "plateau": ("factor", bad_fraction),
    "lambda": ("base_lrs", st.one_of(st.none(), st.just([0.1, 0.2]), st.just(["a"]), st.just([-1.0]))),
}
for name, (key, values) in SCHEDULER_STATE_CORRUPTIONS.items():
    CASES.append(case(f"{name} scheduler load_state_dict with a corrupt {key}", values,
                      lambda w, v, key=key: w.scheduler.load_state_dict({**w.scheduler.state_dict(), key: v}),
                      ValueError, lambda w, v: [type(w.scheduler).__name__, "load_state_dict"],
                      world=dict(scheduler=name)))
    CASES.append(case(f"{name} scheduler load_state_dict with an unknown key", st.text(min_size=1, max_size=5),
                      lambda w, k: w.scheduler.load_state_dict({**w.scheduler.state_dict(), "x" + k: 1}),
                      ValueError, lambda w, v: [type(w.scheduler).__name__, "expected keys"],
                      world=dict(scheduler=name)))

# -- checkpoints: Module.load_state_dict, Module.load, tinygrad_dl.save / load
CASES += [
    case("load_state_dict of something that is not a dict", st.one_of(st.none(), st.lists(st.integers(), max_size=2),
                                                                       st.text(max_size=3), st.integers()),
         lambda w, s: w.model.load_state_dict(s), TypeError, named("load_state_dict", "Sequential")),
    case("load_state_dict with a wrong shape", wrong_shapes((4, 3)),
         lambda w, s: w.model.load_state_dict({**w.model.state_dict(), "0.weight": np.zeros(s)}), ValueError,
         shape_of(None, "load_state_dict", "'0.weight'", "(4, 3)")),
    case("load_state_dict with non-numeric values", st.sampled_from([np.array(["a"] * 4), None, "abc",
                                                                     np.zeros(4, dtype=np.complex128), [[1, 2], [3]]]),
         lambda w, v: w.model.load_state_dict({**w.model.state_dict(), "1.running_mean": v}), ValueError,
         named("load_state_dict", "'1.running_mean'")),
    case("load_state_dict with missing or unexpected keys", st.text(min_size=1, max_size=8),
         lambda w, k: w.model.load_state_dict({**w.model.state_dict(), "extra." + k: np.zeros(1)}), KeyError,
         named("load_state_dict", "unexpected keys")),
    case("load_state_dict with strict not a bool", st.one_of(st.text(max_size=2), st.none(), st.integers()),
         lambda w, s: w.model.load_state_dict(w.model.state_dict(), strict=s), TypeError, named("strict")),
    case("a module made to contain itself", st.sampled_from(["self", "child", "grandchild"]),
         lambda w, where: setattr({"self": w.model, "child": w.model[0], "grandchild": w.model[0]}[where]
                                  if where != "grandchild" else w.model[0], "loop", w.model),
         ValueError, named("contain", "itself")),
    case("ModuleList.append of its ancestor", st.sampled_from(["Sequential", "ModuleDict"]),
         lambda w, kind: _append_ancestor(kind), ValueError, named("contains", "itself")),
    case("ModuleDict with bad keys", st.one_of(st.integers(), st.none(), st.just(""), st.just("a.b"),
                                               st.sampled_from(["train", "forward", "training", "parameters"])),
         lambda w, k: nn.ModuleDict({k: nn.ReLU()}), (TypeError, KeyError), named("ModuleDict")),
    case("ModuleDict with a value that is not a module", st.one_of(st.integers(), st.none(), st.text(max_size=2)),
         lambda w, v: nn.ModuleDict({"a": v}), TypeError, named("ModuleDict", "'a'")),
    case("Module.apply of a non-function", st.one_of(st.integers(), st.none(), st.text(max_size=2)),
         lambda w, f: w.model.apply(f), TypeError, named("apply")),
    case("Module.requires_grad_ of a non-bool", st.one_of(st.integers(), st.none(), st.text(max_size=2)),
         lambda w, f: w.model.requires_grad_(f), TypeError, named("requires_grad_")),
    case("tinygrad_dl.save of unsupported objects", st.sampled_from([{1, 2}, Opaque(), {"a": [Opaque()]},
                                                                     np.array([None]), {(1, 2): 3}, lambda: 0]),
         lambda w, obj: tinygrad_dl.save({"model": w.model.state_dict(), "x": obj}, io.BytesIO()), TypeError,
         named("save", "obj['x']")),
    case("tinygrad_dl.load of random bytes", st.binary(max_size=64),
         lambda w, data: tinygrad_dl.load(io.BytesIO(data)), ValueError, named("load")),
    case("Module.load of a file that is not an .npz", st.binary(max_size=64),
         lambda w, data: _module_load(w, data), ValueError, named("load")),
]


def _append_ancestor(kind):
    inner = nn.ModuleList([nn.ReLU()])
    outer = nn.Sequential(inner) if kind == "Sequential" else nn.ModuleDict({"inner": inner})
    try:
        inner.append(outer)
    finally:
        assert len(inner) == 1  # nothing was added


def _module_load(world, data):
    import os
    import tempfile
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "bad.npz")
    with open(path, "wb") as file:
        file.write(data)
    try:
        world.model.load(path)
    finally:
        os.unlink(path)
        os.rmdir(folder)


# ------------------------------------------------------------------------------------- the test


_PROTOTYPES = {}


def fresh_world(**kwargs):
    """A private copy of a prototype world (building one from scratch for every example is 5x slower)."""
    key = tuple(sorted(kwargs.items()))
    if key not in _PROTOTYPES:
        _PROTOTYPES[key] = make_world(**kwargs)
    return copy.deepcopy(_PROTOTYPES[key])


@pytest.mark.parametrize("bad_case", CASES, ids=[c.name for c in CASES])
@settings(max_examples=20)  # x 200+ table entries: thousands of bad inputs within the time budget
@given(data=st.data())
def test_bad_input_fails_clearly_and_changes_nothing(bad_case, data):
    world = fresh_world(**bad_case.world)
    strategy = bad_case.bad(world) if callable(bad_case.bad) and not isinstance(bad_case.bad, st.SearchStrategy) \
        else bad_case.bad
    bad = data.draw(strategy, label="bad value")
    if bad_case.prepare is not None:
        bad_case.prepare(world, bad)
    before = snapshot(world)
    with pytest.raises(bad_case.error) as caught:
        bad_case.call(world, bad)
    message = str(caught.value)
    for needle in bad_case.mentions(world, bad):
        assert needle in message, f"{needle!r} not in the message {message!r}"
    assert "Traceback" not in message
    assert_equal_deep(snapshot(world), before)
    TRIED[bad_case.name] += 1


def test_the_table_covers_many_cases():
    """Runs last in this file: how many bad inputs were tried (``pytest -s`` prints the count)."""
    total = sum(TRIED.values())
    print(f"\nBAD_INPUT_CASES_TRIED nn/optim/checkpoints: {total} examples over {len(TRIED)} table entries")
    assert len(CASES) >= 150
    if TRIED:  # (empty when this test runs alone)
        assert total >= 5 * len(TRIED)
