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


def make_world(optimizer="adam", scheduler="step", training=True, model="mlp"):
    """A trained model (``WORLD_MODELS[model]``) with an optimizer and a scheduler that have state, and fresh
    gradients."""
    rng = np.random.default_rng(0)
    model, x, run = WORLD_MODELS[model](rng)
    opt = OPTIMIZERS[optimizer](model.parameters())
    sched = SCHEDULERS[scheduler](opt)
    run(model, x).sum().backward()
    opt.step()
    sched.step() if scheduler != "plateau" else sched.step(1.0)
    opt.zero_grad()
    run(model, x).sum().backward()
    model.train(training)
    return types.SimpleNamespace(model=model, optimizer=opt, scheduler=sched, x=x, params=model.parameters())


def _mlp_world(rng):
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.BatchNorm1d(4, dtype=np.float64), nn.ReLU(),
                          nn.Linear(4, 2, dtype=np.float64))
    return model, Tensor(rng.standard_normal((5, 3))), lambda m, x: m(x)


def _cnn_world(rng):
    """The Course 4 layers in a row: (2, 3, 6, 6) images -> (2, 2)."""
    f64 = dict(dtype=np.float64)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, **f64), nn.BatchNorm2d(4, **f64), nn.ReLU(), nn.MaxPool2d(2),
                          nn.ZeroPad2d(1), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2, **f64))
    return model, Tensor(rng.standard_normal((2, 3, 6, 6))), lambda m, x: m(x)


def _recurrent_world(rng):
    """Course 5's recurrent layers: token ids (2, 5) -> Embedding -> Conv1d -> LSTM; the cells, RNN and GRU sit
    beside them (their parameters must not move either)."""
    f64 = dict(dtype=np.float64)
    model = nn.ModuleDict({
        "embed": nn.Embedding(10, 6, padding_idx=0, **f64), "conv": nn.Conv1d(6, 6, 3, padding=1, **f64),
        "lstm": nn.LSTM(6, 4, num_layers=2, bidirectional=True, batch_first=True, **f64),
        "rnn": nn.RNN(6, 4, **f64), "gru": nn.GRU(6, 4, batch_first=True, **f64), "rnn_cell": nn.RNNCell(6, 4, **f64),
        "lstm_cell": nn.LSTMCell(6, 4, **f64), "gru_cell": nn.GRUCell(6, 4, **f64)})
    return model, Tensor(rng.integers(0, 10, (2, 5))), _recurrent_forward


def _recurrent_forward(m, ids):
    x = m["conv"](m["embed"](ids).swapaxes(1, 2)).swapaxes(1, 2)
    return m["lstm"](x)[0]


def _attention_world(rng):
    """Course 5's attention layers: (2, 5, 8) -> positional encoding -> attention -> Transformer encoder and decoder."""
    f64 = dict(dtype=np.float64)
    model = nn.ModuleDict({
        "position": nn.PositionalEncoding(8, max_len=10, **f64),
        "attn": nn.MultiheadAttention(8, 2, batch_first=True, **f64),
        "encoder": nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, batch_first=True, **f64), 1),
        "decoder": nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 12, dropout=0.0, batch_first=True, **f64),
                                         1)})
    return model, Tensor(rng.standard_normal((2, 5, 8))), _attention_forward


def _attention_forward(m, x):
    x, _ = m["attn"](m["position"](x), x, x)
    return m["decoder"](x, m["encoder"](x))


WORLD_MODELS = {"mlp": _mlp_world, "cnn": _cnn_world, "recurrent": _recurrent_world, "attention": _attention_world}


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
        if not _same_array(a, b):  # (the quick check first: numpy.testing's is slow, and most arrays are equal)
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


def _same_array(a, b):
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype):
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


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

for norm in (nn.BatchNorm1d, nn.BatchNorm2d):
    LAYER_ARGUMENTS += [(norm, dict(num_features=4), argument, values) for argument, values in [
        ("num_features", bad_sizes), ("eps", bad_positive),
        ("momentum", st.one_of(bad_reals.filter(lambda v: v is not None), negatives, above_one)),
        ("affine", bad_flags), ("track_running_stats", bad_flags), ("dtype", bad_dtypes)]]


def constructor_cases(arguments):
    """One case per (layer, good arguments, the argument made bad, bad values): the constructor refuses."""
    return [case(f"{layer.__name__}({argument}=bad)", values,
                 lambda w, bad, layer=layer, good=good, argument=argument: layer(**{**good, argument: bad}),
                 ARG, named(layer.__name__))
            for layer, good, argument, values in arguments]


CASES += constructor_cases(LAYER_ARGUMENTS)

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
    (optim.Adam, {}, "amsgrad", bad_flags), (optim.AdamW, {}, "amsgrad", bad_flags),
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
        lambda k: k not in ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg",
                            "grad_avg", "sum")),
    "hyperparameter": bad_non_negative,
    "unknown hyperparameter": st.text(min_size=1, max_size=6).filter(
        lambda k: k not in ("lr", "betas", "eps", "weight_decay", "momentum", "dampening", "nesterov", "alpha",
                            "centered", "lr_decay", "initial_accumulator_value", "amsgrad", "params")),
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


# ====================================================================================================================
# Course 3/4/5: convolution, pooling, padding, 2-D batch norm, recurrent layers, embeddings, attention, the
# Transformer, the masked multi-task loss and the transfer helpers

bad_sizes_not_lists = bad_sizes.filter(lambda v: not isinstance(v, list))  # [2, 2] and [3] are good sizes here
bad_pairs = st.one_of(bad_sizes_not_lists, st.tuples(st.integers(-3, 0), st.integers(1, 3)), st.just((1, 2, 3)),
                      st.just((True, 2)), st.just((2.0, 2)), st.just(()))
bad_paddings = st.one_of(st.integers(max_value=-1), st.floats(), st.booleans(), st.none(), st.just((1, -1)),
                         st.just((1, 2, 3)), st.text(max_size=5).filter(lambda s: s not in ("valid", "same")))
bad_optional_sizes = bad_sizes.filter(lambda v: v is not None)
bad_optional_flags = bad_flags.filter(lambda v: v is not None)
not_modules = st.one_of(st.none(), st.text(max_size=3), st.integers(), st.just(Opaque()), st.just([nn.ReLU()]))

COURSE_LAYER_ARGUMENTS = []
for conv_layer in (nn.Conv2d, nn.Conv1d):
    good = dict(in_channels=3, out_channels=6, kernel_size=3)
    sizes = bad_pairs if conv_layer is nn.Conv2d else bad_sizes_not_lists | st.just([0])
    COURSE_LAYER_ARGUMENTS += [
        (conv_layer, good, "in_channels", bad_sizes), (conv_layer, good, "out_channels", bad_sizes),
        (conv_layer, good, "kernel_size", sizes), (conv_layer, good, "stride", sizes),
        (conv_layer, good, "dilation", sizes), (conv_layer, good, "padding", bad_paddings),
        (conv_layer, good, "groups", st.one_of(bad_sizes, st.sampled_from([2, 4, 5]))),  # must divide 3 and 6
        (conv_layer, good, "bias", bad_flags), (conv_layer, good, "dtype", bad_dtypes),
        (conv_layer, good, "init", st.one_of(st.text(max_size=5), st.integers(), st.just(["he"]), st.none()))]
for pool in (nn.MaxPool2d, nn.AvgPool2d):
    COURSE_LAYER_ARGUMENTS += [
        (pool, dict(kernel_size=2), "kernel_size", bad_pairs),
        (pool, dict(kernel_size=2), "stride", bad_pairs.filter(lambda v: v is not None)),
        (pool, dict(kernel_size=3), "padding", st.one_of(bad_paddings, st.integers(2, 9)))]  # at most half the kernel
COURSE_LAYER_ARGUMENTS += [
    (nn.MaxPool2d, dict(kernel_size=2), "dilation", bad_pairs),
    (nn.AvgPool2d, dict(kernel_size=2), "count_include_pad", bad_optional_flags),
    (nn.AdaptiveAvgPool2d, {}, "output_size", st.one_of(bad_pairs, st.just((None, 0)))),
    (nn.ZeroPad2d, {}, "padding", st.one_of(st.integers(max_value=-1), st.floats(), st.booleans(), st.none(),
                                            st.text(max_size=3), st.just((1, 1)), st.just((1, 1, 1, -1)),
                                            st.just((1, 1, 1, 1.5)))),
]
for recurrent in (nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.RNN, nn.LSTM, nn.GRU):
    good = dict(input_size=3, hidden_size=4)
    COURSE_LAYER_ARGUMENTS += [(recurrent, good, "input_size", bad_sizes), (recurrent, good, "hidden_size", bad_sizes),
                               (recurrent, good, "bias", bad_flags), (recurrent, good, "dtype", bad_dtypes)]
    if recurrent in (nn.RNN, nn.LSTM, nn.GRU):
        COURSE_LAYER_ARGUMENTS += [(recurrent, good, "num_layers", bad_sizes),
                                   (recurrent, good, "batch_first", bad_flags),
                                   (recurrent, good, "bidirectional", bad_flags),
                                   (recurrent, dict(good, num_layers=2), "dropout", bad_probability)]
    if recurrent in (nn.RNNCell, nn.RNN):
        COURSE_LAYER_ARGUMENTS.append((recurrent, good, "nonlinearity", st.one_of(
            st.text(max_size=5).filter(lambda s: s not in ("tanh", "relu")), st.none(), st.integers())))
COURSE_LAYER_ARGUMENTS += [
    (nn.LSTM, dict(input_size=3, hidden_size=4), "proj_size", st.one_of(st.integers(1, 5), st.text(min_size=1,
                                                                                                   max_size=3))),
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "num_embeddings", bad_sizes),
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "embedding_dim", bad_sizes),
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "padding_idx",
     st.one_of(st.integers(5, 99), st.integers(-99, -6), st.floats(), st.booleans(), st.text(max_size=2))),
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "max_norm", st.floats(0.1, 10)),  # not supported
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "sparse", st.just(True)),
    (nn.Embedding, dict(num_embeddings=5, embedding_dim=3), "dtype", bad_dtypes),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "embed_dim", st.one_of(bad_sizes, st.sampled_from([3, 5]))),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "num_heads", st.one_of(bad_sizes, st.sampled_from([3, 5]))),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "dropout", st.one_of(bad_probability, st.just(1.0))),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "bias", bad_flags),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "batch_first", bad_flags),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "kdim", bad_optional_sizes),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "vdim", bad_optional_sizes),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "add_bias_kv", st.just(True)),
    (nn.MultiheadAttention, dict(embed_dim=8, num_heads=2), "dtype", bad_dtypes),
    (nn.PositionalEncoding, dict(d_model=8), "d_model", bad_sizes),
    (nn.PositionalEncoding, dict(d_model=8), "max_len", bad_sizes),
    (nn.PositionalEncoding, dict(d_model=8), "dropout", bad_probability),
    (nn.PositionalEncoding, dict(d_model=8), "batch_first", bad_flags),
    (nn.PositionalEncoding, dict(d_model=8), "dtype", bad_dtypes),
    (nn.MaskedBCEWithLogitsLoss, {}, "reduction", bad_reductions.filter(lambda r: r != "batchmean")),
    (nn.MaskedBCEWithLogitsLoss, {}, "ignore_value", st.one_of(st.text(max_size=3), st.booleans(), st.just([-1]),
                                                              st.just(1 + 2j), st.just(Opaque()))),
]
for transformer_layer in (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer):
    good = dict(d_model=8, nhead=2)
    COURSE_LAYER_ARGUMENTS += [
        (transformer_layer, good, "d_model", bad_sizes), (transformer_layer, good, "nhead", bad_sizes | st.just(3)),
        (transformer_layer, good, "dim_feedforward", bad_sizes), (transformer_layer, good, "dropout", bad_probability),
        (transformer_layer, good, "activation", st.one_of(st.text(max_size=5).filter(lambda s: s != "relu"),
                                                          st.none(), st.integers())),
        (transformer_layer, good, "layer_norm_eps", bad_positive), (transformer_layer, good, "batch_first", bad_flags),
        (transformer_layer, good, "norm_first", bad_flags), (transformer_layer, good, "bias", bad_flags),
        (transformer_layer, good, "dtype", bad_dtypes)]
for stack, layer_argument in ((nn.TransformerEncoder, "encoder_layer"), (nn.TransformerDecoder, "decoder_layer")):
    good = {layer_argument: getattr(nn, stack.__name__ + "Layer")(8, 2, 12), "num_layers": 2}
    COURSE_LAYER_ARGUMENTS += [(stack, good, layer_argument, not_modules), (stack, good, "num_layers", bad_sizes),
                               (stack, good, "norm", not_modules.filter(lambda v: v is not None))]
CASES += constructor_cases(COURSE_LAYER_ARGUMENTS)
CASES += [
    case("generate_square_subsequent_mask(bad size)",
         st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2), st.none(), st.booleans()),
         lambda w, n: nn.generate_square_subsequent_mask(n), ValueError, named("generate_square_subsequent_mask")),
    case("Embedding.from_pretrained of non-float vectors", st.sampled_from([np.int64, np.bool_, "U2"]),
         lambda w, t: nn.Embedding.from_pretrained(np.ones((3, 2), dtype=t)), TypeError,
         named("Embedding", "floating-point", "(3, 2)")),
    case("Embedding.from_pretrained of a non-matrix", st.sampled_from([(3,), (2, 2, 2), ()]),
         lambda w, s: nn.Embedding.from_pretrained(np.ones(s)), ValueError, shape_of(None, "from_pretrained")),
]

# -- the CNN world: (2, 3, 6, 6) images through Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), MaxPool2d(2), ZeroPad2d(1),
#    AvgPool2d(2), AdaptiveAvgPool2d(1). A failed call leaves every weight, running statistic and counter as it was.
CNN = dict(model="cnn")
CNN_EVAL = dict(model="cnn", training=False)
not_4d = wrong_shapes(None, min_dims=1, max_dims=5).filter(lambda s: len(s) != 4)
images = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 6), st.integers(1, 6))
int_dtypes = st.sampled_from([np.int64, np.int32, np.uint8, np.bool_])
for index, layer_name in ((0, "Conv2d(3, 4"), (1, "BatchNorm2d(4)"), (3, "MaxPool2d("), (4, "ZeroPad2d("),
                          (5, "AvgPool2d("), (6, "AdaptiveAvgPool2d(")):
    for world in (CNN, CNN_EVAL) if index == 1 else (CNN,):
        mode = " in eval mode" if world is CNN_EVAL else ""
        CASES.append(case(f"{layer_name.rstrip('(')} on a non-4-d input{mode}", not_4d,
                          lambda w, s, i=index: w.model[i](Tensor(np.ones(s))), ValueError,
                          shape_of(None, layer_name, "4-D" if index != 1 else "(N, 4, H, W)"), world=world))
    if index not in (1, 4):
        CASES.append(case(f"{layer_name.rstrip('(')} on integer or bool images", int_dtypes,
                          lambda w, t, i=index: w.model[i](Tensor(np.ones((2, 3 if i == 0 else 4, 6, 6), dtype=t))),
                          TypeError, named(layer_name, "floating-point", "6, 6)"), world=CNN))
CASES += [
    case("Conv2d on the wrong number of channels", images.filter(lambda s: s[1] != 3),
         lambda w, s: w.model[0](Tensor(np.ones(s))), ValueError, shape_of(None, "Conv2d(3, 4", "channels"), world=CNN),
    case("Conv2d on an empty batch or image", st.sampled_from([(0, 3, 6, 6), (2, 3, 0, 6), (2, 3, 6, 0)]),
         lambda w, s: w.model[0](Tensor(np.ones(s))), ValueError, shape_of(None, "Conv2d(3, 4", "empty"), world=CNN),
    case("BatchNorm2d(4) on the wrong number of channels", images.filter(lambda s: s[1] != 4),
         lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError, shape_of(None, "BatchNorm2d(4)"), world=CNN),
    case("BatchNorm2d(4) training on one value per channel", st.just((1, 4, 1, 1)),
         lambda w, s: w.model[1](Tensor(np.ones(s))), ValueError, shape_of(None, "batch_norm"), world=CNN),
    case("MaxPool2d(2) / AvgPool2d(2) on an image smaller than the window",
         st.tuples(st.sampled_from([3, 5]), st.sampled_from([(1, 1), (1, 4), (4, 1)])),
         lambda w, s: w.model[s[0]](Tensor(np.ones((2, 4) + s[1]))), ValueError,
         lambda w, s: ["Pool2d(kernel_size=(2, 2)", "larger than the padded input", str((2, 4) + s[1])], world=CNN),
    case("F.conv2d kernel larger than the input", st.tuples(st.integers(1, 2), st.integers(1, 5)),
         lambda w, hw: F.conv2d(Tensor(np.ones((1, 3) + hw)), w.model[0].weight), ValueError,
         lambda w, hw: ["conv2d", "larger than the padded input", str((1, 3) + hw)], world=CNN),
    case("F.conv2d weight that is not 4-d", wrong_shapes(None, 1, 5).filter(lambda s: len(s) != 4),
         lambda w, s: F.conv2d(w.x, Tensor(np.ones(s))), ValueError, shape_of(None, "conv2d", "weight"), world=CNN),
    case("F.conv2d bias of the wrong shape", wrong_shapes((4,)),
         lambda w, s: F.conv2d(w.x, w.model[0].weight, Tensor(np.ones(s))), ValueError,
         shape_of(None, "conv2d", "bias", "(4, 3, 3, 3)"), world=CNN),
    case("F.conv2d groups that do not fit the channels", st.sampled_from([2, 3, 4, 0, -1, 1.5, "2", True]),
         lambda w, g: F.conv2d(w.x, w.model[0].weight, groups=g), ValueError, named("conv2d", "groups"), world=CNN),
    case("F.conv2d bad stride/padding/dilation",
         st.tuples(st.sampled_from(["stride", "padding", "dilation"]),
                   st.sampled_from([-1, 1.5, "full", None, (1, 2, 3), (0, 1)])).filter(
             lambda a: a != ("padding", (0, 1))),
         lambda w, a: F.conv2d(w.x, w.model[0].weight, **{a[0]: a[1]}), ARG, lambda w, a: ["conv2d", a[0]], world=CNN),
    case("F.conv2d on integer weights", int_dtypes,
         lambda w, t: F.conv2d(w.x, Tensor(np.ones((4, 3, 3, 3), dtype=t))), TypeError,
         named("conv2d", "weight", "floating-point", "(4, 3, 3, 3)"), world=CNN),
    case("F.conv1d on a 4-d input", images, lambda w, s: F.conv1d(Tensor(np.ones(s)), Tensor(np.ones((2, 3, 1)))),
         ValueError, shape_of(None, "conv1d", "3-D input")),
    case("F.max_pool2d / F.avg_pool2d bad window", st.tuples(
        st.sampled_from(["max_pool2d", "avg_pool2d"]), st.sampled_from(["kernel_size", "stride", "padding"]),
        st.sampled_from([0, -2, 2.5, "x", None, (2, 2, 2), (True, 2)])).filter(
            lambda a: a[1:] not in (("stride", None), ("padding", 0))),  # (the defaults are fine)
        lambda w, a: getattr(F, a[0])(Tensor(np.ones((1, 1, 6, 6))), **{"kernel_size": 2, a[1]: a[2]}), ARG,
        lambda w, a: [a[0], a[1]]),
    case("F.adaptive_avg_pool2d bad output_size",
         st.sampled_from([0, -1, 2.5, "x", None, (2, 0), (2, 2, 2), (True, 2)]),
         lambda w, o: F.adaptive_avg_pool2d(Tensor(np.ones((1, 1, 6, 6))), o), ARG,
         named("adaptive_avg_pool2d", "output_size")),
    case("F.pad with bad pads", st.one_of(st.just((1,)), st.just((1, 1) * 5), st.just((-1, 1)), st.just((1.5, 1)),
                                          st.just("ab"), st.none(), st.just((True, 1))),
         lambda w, p: F.pad(w.x, p), ValueError, named("pad", "(2, 3, 6, 6)"), world=CNN),
    case("F.pad with a mode other than constant", st.text(max_size=8).filter(lambda m: m != "constant"),
         lambda w, m: F.pad(w.x, (1, 1), mode=m), ValueError, named("pad", "mode")),
]

# -- the recurrent world: token ids (2, 5) through Embedding(10, 6, padding_idx=0), Conv1d(6, 6, 3), LSTM(6, 4, 2
#    layers, bidirectional, batch_first); RNN(6, 4), GRU(6, 4, batch_first) and the cells (6 -> 4) beside them
SEQ = dict(model="recurrent")
ATTENTION = dict(model="attention")
ids_of_shape = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
CASES += [
    case("Embedding ids out of range", st.tuples(ids_of_shape, st.integers(10, 1000) | st.integers(-1000, -1)),
         lambda w, a: w.model["embed"](np.full(a[0], a[1])), IndexError,
         lambda w, a: ["Embedding(10, 6)", "[0, 10)", str(a[0])], world=SEQ),
    case("Embedding on float or bool ids", st.tuples(ids_of_shape, st.sampled_from([np.float64, np.float32, np.bool_])),
         lambda w, a: w.model["embed"](Tensor(np.ones(a[0], dtype=a[1]))), TypeError,
         lambda w, a: ["Embedding(10, 6)", "integers", str(a[0])], world=SEQ),
    case("Embedding on strings, None or ragged lists", st.sampled_from(["abc", None, [[1, 2], [3]], [["a"]]]),
         lambda w, ids: w.model["embed"](ids), TypeError, named("Embedding(10, 6)", "token ids"), world=SEQ),
    case("F.embedding with a weight that is not 2-d", wrong_shapes(None, 1, 4).filter(lambda s: len(s) != 2),
         lambda w, s: F.embedding(np.array([0]), Tensor(np.ones(s))), ValueError, shape_of(None, "embedding")),
    case("F.one_hot ids out of range", st.integers(3, 50) | st.integers(-50, -1),
         lambda w, i: F.one_hot(np.array([0, i]), 3), IndexError, named("one_hot", "[0, 3)")),
    case("F.one_hot bad num_classes", st.sampled_from([0, -2, 2.5, "3", None, True]),
         lambda w, n: F.one_hot(np.array([0, 1]), n), ValueError, named("one_hot", "num_classes")),
    case("Conv1d on a wrong shape", wrong_shapes((2, 6, 5), 1, 4).filter(lambda s: len(s) != 3 or s[1] != 6),
         lambda w, s: w.model["conv"](Tensor(np.ones(s))), ValueError, shape_of(None, "Conv1d(6, 6"), world=SEQ),
]
CELLS = {"rnn_cell": "RNNCell(6, 4)", "lstm_cell": "LSTMCell(6, 4)", "gru_cell": "GRUCell(6, 4)"}


def _call_cell(world, key, x, state=None):
    cell = world.model[key]
    if state is not None and key == "lstm_cell":
        state = (state, np.zeros_like(state))
    return cell(Tensor(x), state)


for key, described in CELLS.items():
    CASES += [
        case(f"{described} on a wrong input size", wrong_shapes((2, 6), 1, 3).filter(
            lambda s: not (len(s) in (1, 2) and s[-1] == 6)),
             lambda w, s, key=key: _call_cell(w, key, np.ones(s)), ValueError,
             shape_of(None, described, "input_size=6"), world=SEQ),
        case(f"{described} with a hidden state of the wrong shape", wrong_shapes((2, 4), 1, 3),
             lambda w, s, key=key: _call_cell(w, key, np.ones((2, 6)), np.ones(s)), ValueError,
             shape_of(None, described, "hidden state", "(2, 4)"), world=SEQ),
        case(f"{described} on integer inputs or states", st.tuples(st.booleans(), int_dtypes),
             lambda w, a, key=key: _call_cell(w, key, np.ones((2, 6), dtype=a[1] if a[0] else np.float64),
                                              None if a[0] else np.ones((2, 4), dtype=a[1])), TypeError,
             named(described, "floating-point"), world=SEQ),
    ]
CASES.append(case("LSTMCell with a state that is not a pair (h, c)", st.sampled_from(["h", "hc3", "str"]),
                  lambda w, kind: w.model["lstm_cell"](Tensor(np.ones((2, 6))), {
                      "h": Tensor(np.ones((2, 4))), "hc3": (np.ones((2, 4)),) * 3, "str": "abc"}[kind]), TypeError,
                  named("LSTMCell(6, 4)", "hx must be a tuple (h, c)"), world=SEQ))
LAYERS = {"rnn": ("RNN(6, 4, num_layers=1)", (5, 2, 6), (1, 2, 4)),  # (described, input shape, state shape)
          "gru": ("GRU(6, 4, num_layers=1)", (2, 5, 6), (1, 2, 4)),
          "lstm": ("LSTM(6, 4, num_layers=2)", (2, 5, 6), (4, 2, 4))}


def _call_recurrent(world, key, x, state=None):
    layer = world.model[key]
    if state is not None and key == "lstm":
        state = (state, np.zeros_like(state))
    return layer(Tensor(x), state)


for key, (described, input_shape, state_shape) in LAYERS.items():
    CASES += [
        case(f"{described} on a wrong input shape", wrong_shapes(input_shape, 1, 4).filter(
            lambda s: not (len(s) in (2, 3) and s[-1] == 6)),
             lambda w, s, key=key: _call_recurrent(w, key, np.ones(s)), ValueError,
             shape_of(None, described, "input_size=6"), world=SEQ),
        case(f"{described} with h_0 of the wrong shape", wrong_shapes(state_shape, 1, 4),
             lambda w, s, key=key, shape=input_shape: _call_recurrent(w, key, np.ones(shape), np.ones(s)), ValueError,
             shape_of(None, described, "h_0", str(state_shape)), world=SEQ),
        case(f"{described} on integer inputs or states", st.tuples(st.booleans(), int_dtypes),
             lambda w, a, key=key, shapes=(input_shape, state_shape): _call_recurrent(
                 w, key, np.ones(shapes[0], dtype=a[1] if a[0] else np.float64),
                 None if a[0] else np.ones(shapes[1], dtype=a[1])), TypeError, named(described, "floating-point"),
             world=SEQ),
        case(f"{described} on an empty sequence or batch", st.sampled_from([0, 1]),
             lambda w, axis, key=key, shape=input_shape: _call_recurrent(
                 w, key, np.ones(shape[:axis] + (0,) + shape[axis + 1:])), ValueError, named(described, "empty"),
             world=SEQ),
    ]
CASES.append(case("LSTM with a state that is not a pair (h_0, c_0)", st.sampled_from(["h", "hc3", "str"]),
                  lambda w, kind: w.model["lstm"](Tensor(np.ones((2, 5, 6))), {
                      "h": Tensor(np.ones((4, 2, 4))), "hc3": (np.ones((4, 2, 4)),) * 3, "str": "abc"}[kind]),
                  TypeError, named("LSTM(6, 4, num_layers=2)", "hx must be a tuple (h_0, c_0)"), world=SEQ))

# -- the attention world: PositionalEncoding(8, max_len=10), MultiheadAttention(8, 2, batch_first), TransformerEncoder
#    and TransformerDecoder (d_model 8, nhead 2, batch_first, one layer each)
MHA = "MultiheadAttention(8, num_heads=2)"
X8 = np.ones((2, 5, 8))
CASES += [
    case("MultiheadAttention on a query of the wrong shape", wrong_shapes((2, 5, 8), 1, 4).filter(
        lambda s: not (len(s) in (2, 3) and s[-1] == 8)),
         lambda w, s: w.model["attn"](np.ones(s), X8, X8), ValueError, shape_of(None, MHA, "query"), world=ATTENTION),
    case("MultiheadAttention key and value that do not fit the query", st.sampled_from([
        ((3, 5, 8), (3, 5, 8)), ((2, 4, 8), (2, 3, 8)), ((2, 5, 6), (2, 5, 8)), ((5, 8), (5, 8))]),
         lambda w, kv: w.model["attn"](X8, np.ones(kv[0]), np.ones(kv[1])), ValueError,
         lambda w, kv: [MHA, str(kv[0])],
         world=ATTENTION),
    case("MultiheadAttention on integer inputs", int_dtypes,
         lambda w, t: w.model["attn"](np.ones((2, 5, 8), dtype=t), X8, X8), TypeError,
         named(MHA, "floating-point", "(2, 5, 8)"), world=ATTENTION),
    case("MultiheadAttention attn_mask that does not fit (L, S)", wrong_shapes((5, 5), 1, 4).filter(
        lambda s: s != (4, 5, 5)),
         lambda w, s: w.model["attn"](X8, X8, X8, attn_mask=np.zeros(s, dtype=bool)), ValueError,
         shape_of(None, MHA, "attn_mask"), world=ATTENTION),
    case("MultiheadAttention key_padding_mask that does not fit (N, S)", wrong_shapes((2, 5), 1, 3),
         lambda w, s: w.model["attn"](X8, X8, X8, key_padding_mask=np.zeros(s, dtype=bool)), ValueError,
         shape_of(None, MHA, "key_padding_mask", "(2, 5)"), world=ATTENTION),
    case("MultiheadAttention masks of integer or string dtype",
         st.tuples(st.booleans(), st.sampled_from([np.int64, "U1"])),
         lambda w, a: w.model["attn"](X8, X8, X8, **{"attn_mask" if a[0] else "key_padding_mask":
                                                     np.zeros((5, 5) if a[0] else (2, 5), dtype=a[1])}), TypeError,
         named(MHA, "mask must be boolean or floating-point"), world=ATTENTION),
    case("F.scaled_dot_product_attention mask that does not broadcast", wrong_shapes((5, 4), 1, 3).filter(
        lambda s: not _broadcasts(s, (2, 5, 4))),
         lambda w, s: F.scaled_dot_product_attention(Tensor(np.ones((2, 5, 8))), Tensor(np.ones((2, 4, 8))),
                                                     Tensor(np.ones((2, 4, 8))), attn_mask=np.ones(s, dtype=bool)),
         ValueError, shape_of(None, "scaled_dot_product_attention", "does not broadcast", "(2, 5, 4)")),
    case("F.attention_weights mask that does not broadcast", wrong_shapes((5, 4), 1, 3).filter(
        lambda s: not _broadcasts(s, (2, 5, 4))),
         lambda w, s: F.attention_weights(Tensor(np.ones((2, 5, 8))), Tensor(np.ones((2, 4, 8))),
                                          attn_mask=np.ones(s, dtype=bool)),
         ValueError, shape_of(None, "attention_weights", "does not broadcast", "(2, 5, 4)")),
    case("F.positional_encoding bad sizes or dtype", st.tuples(st.sampled_from(["positions", "d_model", "dtype"]),
                                                              st.sampled_from([0, -3, 2.5, "8", None, True, np.int64])
                                                              ).filter(lambda a: a != ("dtype", None)),  # float64
         lambda w, a: F.positional_encoding(**{"positions": 10, "d_model": 8, a[0]: a[1]}), ARG,
         lambda w, a: ["positional_encoding", a[0] if a[0] != "dtype" else ""]),
    case("F.scaled_dot_product_attention query, key and value that do not fit", st.sampled_from([
        ((2, 5, 8), (2, 4, 6), (2, 4, 8)), ((2, 5, 8), (2, 4, 8), (2, 3, 8)), ((8,), (4, 8), (4, 8)),
        ((3, 5, 8), (2, 4, 8), (2, 4, 8))]),
         lambda w, s: F.scaled_dot_product_attention(*[Tensor(np.ones(shape)) for shape in s]), ValueError,
         lambda w, s: ["scaled_dot_product_attention", str(s[0])]),
    case("F.scaled_dot_product_attention bad dropout_p or scale", st.tuples(
        st.sampled_from(["dropout_p", "scale"]), st.sampled_from(["a", None, math.nan, [0.1], 1 + 2j])).filter(
        lambda a: not (a[0] == "scale" and a[1] is None)),
         lambda w, a: F.scaled_dot_product_attention(Tensor(np.ones((1, 2, 4))), Tensor(np.ones((1, 2, 4))),
                                                     Tensor(np.ones((1, 2, 4))), **{a[0]: a[1]}), ARG,
         lambda w, a: ["scaled_dot_product_attention", a[0]]),
    case("F.scaled_dot_product_attention dropout_p outside [0, 1)", bad_fraction.filter(lambda v: isinstance(v, float)),
         lambda w, p: F.scaled_dot_product_attention(Tensor(np.ones((1, 2, 4))), Tensor(np.ones((1, 2, 4))),
                                                     Tensor(np.ones((1, 2, 4))), dropout_p=p), ARG,
         named("scaled_dot_product_attention", "dropout_p")),
    case("PositionalEncoding(8, max_len=10) on a wrong shape or too long a sequence",
         wrong_shapes((2, 5, 8), 1, 4).filter(lambda s: not (len(s) == 3 and s[-1] == 8 and s[1] <= 10)) |
         st.integers(11, 30).map(lambda n: (2, n, 8)),
         lambda w, s: w.model["position"](np.ones(s)), ValueError, shape_of(None, "PositionalEncoding(8, max_len=10)"),
         world=ATTENTION),
    case("PositionalEncoding on token ids", int_dtypes, lambda w, t: w.model["position"](np.ones((2, 5, 8), dtype=t)),
         TypeError, named("PositionalEncoding(8)", "floating-point"), world=ATTENTION),
]


def _broadcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


ENCODER_LAYER = "TransformerEncoderLayer(d_model=8, nhead=2)"
DECODER_LAYER = "TransformerDecoderLayer(d_model=8, nhead=2)"
sequences = wrong_shapes((2, 5, 8), 1, 4).filter(lambda s: not (len(s) in (2, 3) and s[-1] == 8))
CASES += [
    case("TransformerEncoder on src of the wrong shape", sequences,
         lambda w, s: w.model["encoder"](np.ones(s)), ValueError, shape_of(None, ENCODER_LAYER, "src"),
         world=ATTENTION),
    case("TransformerEncoder mask that does not fit", wrong_shapes((5, 5), 1, 4).filter(lambda s: s != (4, 5, 5)),
         lambda w, s: w.model["encoder"](X8, mask=np.zeros(s)), ValueError, shape_of(None, MHA, "attn_mask"),
         world=ATTENTION),
    case("TransformerEncoder src_key_padding_mask that does not fit", wrong_shapes((2, 5), 1, 3),
         lambda w, s: w.model["encoder"](X8, src_key_padding_mask=np.zeros(s, dtype=bool)), ValueError,
         shape_of(None, MHA, "key_padding_mask"), world=ATTENTION),
    case("TransformerDecoder on tgt or memory of the wrong shape", st.tuples(st.booleans(), sequences),
         lambda w, a: w.model["decoder"](*((np.ones(a[1]), X8) if a[0] else (X8, np.ones(a[1])))), ValueError,
         lambda w, a: [DECODER_LAYER, "tgt" if a[0] else "memory", str(a[1])], world=ATTENTION),
    case("TransformerDecoder memory of another batch size", st.integers(3, 6).map(lambda n: (n, 4, 8)),
         lambda w, s: w.model["decoder"](X8, np.ones(s)), ValueError, shape_of(None, MHA, "(2, 5, 8)"),
         world=ATTENTION),
    case("TransformerDecoder tgt_mask or memory_mask that does not fit", st.tuples(
        st.sampled_from(["tgt_mask", "memory_mask"]), wrong_shapes((5, 5), 2, 2).filter(lambda s: s != (5, 4))),
         lambda w, a: w.model["decoder"](X8, np.ones((2, 4, 8)) if a[0] == "memory_mask" else X8,
                                         **{a[0]: np.zeros(a[1])}), ValueError,
         lambda w, a: [MHA, "attn_mask", str(a[1])], world=ATTENTION),
]

# -- the multi-task loss and the transfer helpers
MASKED = "masked_binary_cross_entropy_with_logits"
LOGITS_4x3 = np.random.default_rng(2).standard_normal((4, 3))
CASES += [
    case("MaskedBCEWithLogitsLoss on mismatched shapes", wrong_shapes((4, 3)),
         lambda w, s: nn.MaskedBCEWithLogitsLoss()(Tensor(LOGITS_4x3), np.zeros(s)), ValueError,
         shape_of(None, MASKED, "(4, 3)")),
    case("MaskedBCEWithLogitsLoss on integer logits", int_dtypes,
         lambda w, t: nn.MaskedBCEWithLogitsLoss()(Tensor(np.ones((4, 3), dtype=t)), np.zeros((4, 3))), TypeError,
         named(MASKED, "floating-point")),
    case("MaskedBCEWithLogitsLoss known labels outside [0, 1]", st.floats(1.001, 1e3) | st.floats(-1e3, -1.001) |
         st.floats(-0.999, -0.001),
         lambda w, v: nn.MaskedBCEWithLogitsLoss()(Tensor(LOGITS_4x3), np.full((4, 3), v)), ValueError,
         named(MASKED, "[0, 1]")),
    case("MaskedBCEWithLogitsLoss mask of the wrong shape", wrong_shapes((4, 3)),
         lambda w, s: nn.MaskedBCEWithLogitsLoss()(Tensor(LOGITS_4x3), np.zeros((4, 3)), mask=np.ones(s, dtype=bool)),
         ValueError, shape_of(None, MASKED, "mask", "(4, 3)")),
    case("MaskedBCEWithLogitsLoss mask that is not boolean", st.sampled_from([2, -1, 0.5, 3.0]),
         lambda w, v: nn.MaskedBCEWithLogitsLoss()(Tensor(LOGITS_4x3), np.zeros((4, 3)), mask=np.full((4, 3), v)),
         ValueError, named(MASKED, "mask must be boolean")),
    case("F.masked_binary_cross_entropy_with_logits bad reduction or ignore_value", st.tuples(
        st.sampled_from(["reduction", "ignore_value"]), st.sampled_from(["avg", "x", [1], True, Opaque()])).filter(
        lambda a: not (a[0] == "reduction" and a[1] is True)),
         lambda w, a: F.masked_binary_cross_entropy_with_logits(Tensor(LOGITS_4x3), np.zeros((4, 3)), **{a[0]: a[1]}),
         ARG, lambda w, a: [MASKED, a[0]]),
    case("freeze / unfreeze / trainable_parameters of a non-module", st.tuples(
        st.sampled_from(["freeze", "unfreeze", "trainable_parameters"]), not_modules),
         lambda w, a: getattr(nn, a[0])(a[1]), TypeError, lambda w, a: [a[0], "nn.Module"]),
    case("replace_head with a head that is not a module", not_modules,
         lambda w, head: nn.replace_head(w.model, head), TypeError, named("replace_head", "nn.Module")),
    case("replace_head of a submodule that does not exist", st.sampled_from(["x", "", "0.weight", "0.x.y", "9", "1.0"]),
         lambda w, name: nn.replace_head(w.model, nn.Linear(4, 2), name=name), KeyError,
         lambda w, name: ["replace_head", repr(name), "its submodules"]),
    case("replace_head with a name that is not a string", st.one_of(st.integers(), st.just(["0"]), st.just(Opaque())),
         lambda w, name: nn.replace_head(w.model, nn.Linear(4, 2), name=name), TypeError,
         named("replace_head", "name")),
    case("replace_head without a name on a model that is not a Sequential",
         st.sampled_from(["embed", "lstm", "gru_cell"]),
         lambda w, key: nn.replace_head(w.model[key], nn.Linear(4, 2)), ValueError, named("replace_head", "name="),
         world=SEQ),
    case("replace_head with the model itself (a module may not contain itself)", st.just(None),
         lambda w, _: nn.replace_head(w.model, w.model), ValueError, named("contain", "itself")),
]


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
    assert len(CASES) >= 400
    if TRIED:  # (empty when this test runs alone)
        assert total >= 5 * len(TRIED)
