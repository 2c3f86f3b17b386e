"""Recurrent layers: RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU.

Gradients against central differences in float64 (hypothesis draws sizes, layers, directions, layouts and
initial states), forward values against a direct NumPy implementation of PyTorch's documented formulas,
values and gradients against PyTorch itself when it is importable, the bad-input errors, and the graph size
(one node per cell step, a handful per sequence layer).
"""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_dl import Tensor, backward_order, gradcheck, gradgradcheck, nn
from tinygrad_dl.nn import _rnn_ops
from tinygrad_dl.testing import assert_gradients_match


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ----------------------------------------------------------------------------------------------------
# NumPy references, written from PyTorch's documentation


def reference_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    hidden = w_hh.shape[1]
    if mode == "RNN":
        return (np.tanh if nonlinearity == "tanh" else lambda z: np.maximum(z, 0))(gi + gh), None
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c_new), c_new
    r = _sigmoid(gi[..., :hidden] + gh[..., :hidden])
    z = _sigmoid(gi[..., hidden:2 * hidden] + gh[..., hidden:2 * hidden])
    n = np.tanh(gi[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
    return (1 - z) * n + z * h, None


def reference_layer(module, x, h0, c0):
    """The module's forward in plain NumPy, time-major x (T, N, I), states (L * D, N, H)."""
    mode, directions = module.mode, module.num_directions
    layer_input, h_n, c_n = x, [], []
    for layer in range(module.num_layers):
        outputs = []
        for d, suffix in enumerate(module._suffixes(layer)):
            params = [0.0 if p is None else p.data for p in module._layer_params(suffix)]
            h, c = h0[layer * directions + d], c0[layer * directions + d]
            out = np.zeros(x.shape[:2] + (module.hidden_size,))
            steps = range(x.shape[0] - 1, -1, -1) if d == 1 else range(x.shape[0])
            for t in steps:
                h, c = reference_cell(mode, layer_input[t], h, c, *params, nonlinearity=module.nonlinearity)
                out[t] = h
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(h_n), (np.stack(c_n) if mode == "LSTM" else None)


@contextlib.contextmanager
def parameters_replaced(module, tensors):
    """Run the module with its parameters replaced by the given Tensors (like torch.func.functional_call)."""
    owners = {}
    for name in tensors:
        *path, attribute = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        owners[name] = (owner, attribute, owner.__dict__[attribute])
        object.__setattr__(owner, attribute, tensors[name])
    try:
        yield
    finally:
        for owner, attribute, original in owners.values():
            object.__setattr__(owner, attribute, original)


def _call_layer(module, x, states):
    if module.mode == "LSTM":
        out, (h, c) = module(x, tuple(states) if states else None)
        return out, h, c
    out, h = module(x, states[0] if states else None)
    return out, h, None


# ----------------------------------------------------------------------------------------------------
# cells


@pytest.mark.parametrize("mode", ["RNN", "RNN-relu", "LSTM", "GRU"])
def test_cell_forward_matches_the_documented_formulas(mode):
    rng = np.random.default_rng(0)
    kind, nonlinearity = (mode.split("-") + ["tanh"])[:2]
    cls = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[kind]
    kwargs = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
    cell = cls(3, 5, dtype=np.float64, generator=rng, **kwargs)
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    params = [p.data for p in cell._params()]
    expected_h, expected_c = reference_cell(kind, x, h, c, *params, nonlinearity=nonlinearity)
    if kind == "LSTM":
        got_h, got_c = cell(Tensor(x), (Tensor(h), Tensor(c)))
        np.testing.assert_allclose(got_c.data, expected_c, rtol=1e-12, atol=1e-14)
    else:
        got_h = cell(Tensor(x), Tensor(h))
    np.testing.assert_allclose(got_h.data, expected_h, rtol=1e-12, atol=1e-14)


def test_cells_use_pytorch_names_shapes_and_init():
    for cls, gates in ((nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)):
        cell = cls(3, 5)
        assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        assert cell.weight_ih.shape == (gates * 5, 3) and cell.weight_hh.shape == (gates * 5, 5)
        assert cell.bias_ih.shape == (gates * 5,) and cell.weight_ih.dtype == np.float32
        bound = 1 / np.sqrt(5)
        for p in cell.parameters():
            assert np.all(np.abs(p.data) <= bound) and np.std(p.data) > 0.1 * bound
        assert cls(3, 5, bias=False).bias_ih is None and len(cls(3, 5, bias=False).parameters()) == 2


def test_cell_defaults_to_zero_state_and_takes_unbatched_input():
    cell = nn.LSTMCell(3, 4, dtype=np.float64, generator=np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal(3)
    h, c = cell(x)
    h_batched, c_batched = cell(x[None], (np.zeros((1, 4)), np.zeros((1, 4))))
    assert h.shape == (4,) and c.shape == (4,)
    np.testing.assert_array_equal(h.data, h_batched.data[0])
    np.testing.assert_array_equal(c.data, c_batched.data[0])
    gru = nn.GRUCell(3, 4, dtype=np.float64)
    assert gru(x).shape == (4,) and gru(x[None]).shape == (1, 4)


cell_sizes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2 ** 16))


def _cell_inputs(mode, batch, features, hidden, seed, bias=True):
    rng = np.random.default_rng(seed)
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[mode]
    arrays = [rng.standard_normal((batch, features)), rng.standard_normal((batch, hidden))]
    if mode == "LSTM":
        arrays.append(rng.standard_normal((batch, hidden)))
    arrays += [rng.standard_normal((gates * hidden, features)) * 0.7, rng.standard_normal((gates * hidden, hidden)) * 0.7]
    if bias:
        arrays += [rng.standard_normal(gates * hidden) * 0.5, rng.standard_normal(gates * hidden) * 0.5]
    return arrays


@settings(deadline=None)
@given(cell_sizes, st.sampled_from(["RNN", "RNN-relu", "LSTM", "GRU"]), st.booleans())
def test_cell_op_gradients(sizes, mode, bias):
    batch, features, hidden, seed = sizes
    kind, nonlinearity = (mode.split("-") + ["tanh"])[:2]
    arrays = _cell_inputs(kind, batch, features, hidden, seed, bias)
    if kind == "RNN":
        if nonlinearity == "relu":  # keep the pre-activations away from relu's kink at 0
            x, h, w_ih, w_hh = arrays[:4]
            pre = x @ w_ih.T + h @ w_hh.T + (arrays[4] + arrays[5] if bias else 0)
            if np.min(np.abs(pre)) < 0.05:
                return
        assert_gradients_match(lambda *a: _rnn_ops.RNNCellOp.apply(*a, nonlinearity=nonlinearity), *arrays)
    elif kind == "LSTM":
        assert_gradients_match(lambda *a: _rnn_ops.LSTMCellOp.apply(*a), *arrays)
    else:
        assert_gradients_match(lambda *a: _rnn_ops.GRUCellOp.apply(*a), *arrays)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cell_ops_support_second_derivatives(mode):
    arrays = _cell_inputs(mode, 2, 2, 3, seed=7)
    op = {"RNN": _rnn_ops.RNNCellOp, "LSTM": _rnn_ops.LSTMCellOp, "GRU": _rnn_ops.GRUCellOp}[mode]
    assert gradgradcheck(lambda *a: op.apply(*a), arrays)


# ----------------------------------------------------------------------------------------------------
# sequence layers


layer_configs = st.fixed_dictionaries({
    "mode": st.sampled_from(["RNN", "RNN-relu", "LSTM", "GRU"]),
    "num_layers": st.integers(1, 2),
    "bidirectional": st.booleans(),
    "batch_first": st.booleans(),
    "bias": st.booleans(),
    "with_states": st.booleans(),
    "steps": st.integers(1, 4),
    "batch": st.integers(1, 2),
    "input_size": st.integers(1, 3),
    "hidden_size": st.integers(1, 3),
    "seed": st.integers(0, 2 ** 16),
})


def _make_layer(config, dtype=np.float64):
    kind, nonlinearity = (config["mode"].split("-") + ["tanh"])[:2]
    kwargs = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
    cls = getattr(nn, kind)
    return cls(config["input_size"], config["hidden_size"], num_layers=config["num_layers"], bias=config["bias"],
               batch_first=config["batch_first"], bidirectional=config["bidirectional"], dtype=dtype,
               generator=np.random.default_rng(config["seed"]), **kwargs)


def _layer_inputs(layer, config):
    rng = np.random.default_rng(config["seed"] + 1)
    steps, batch = config["steps"], config["batch"]
    shape = (batch, steps, layer.input_size) if layer.batch_first else (steps, batch, layer.input_size)
    x = rng.standard_normal(shape)
    count = layer.num_layers * layer.num_directions
    states = []
    if config["with_states"]:
        states = [rng.standard_normal((count, batch, layer.hidden_size)) * 0.5
                  for _ in range(2 if layer.mode == "LSTM" else 1)]
    return x, states


def _relu_too_close_to_kink(layer, x, states):
    """True when some relu pre-activation is within 0.05 of 0 (numerical differences would straddle the kink)."""
    if layer.nonlinearity != "relu":
        return False
    xt = np.swapaxes(x, 0, 1) if layer.batch_first else x
    count = layer.num_layers * layer.num_directions
    h0 = states[0] if states else np.zeros((count, xt.shape[1], layer.hidden_size))
    layer_input = xt
    for index in range(layer.num_layers):
        outputs = []
        for d, suffix in enumerate(layer._suffixes(index)):
            w_ih, w_hh, b_ih, b_hh = [None if p is None else p.data for p in layer._layer_params(suffix)]
            h = h0[index * layer.num_directions + d]
            out = np.zeros(xt.shape[:2] + (layer.hidden_size,))
            for t in (range(xt.shape[0] - 1, -1, -1) if d else range(xt.shape[0])):
                pre = layer_input[t] @ w_ih.T + h @ w_hh.T + (0 if b_ih is None else b_ih + b_hh)
                if np.min(np.abs(pre)) < 0.05:
                    return True
                h = np.maximum(pre, 0)
                out[t] = h
            outputs.append(out)
        layer_input = np.concatenate(outputs, axis=-1)
    return False


@settings(deadline=None)
@given(layer_configs)
def test_sequence_layer_forward_matches_the_documented_formulas(config):
    layer = _make_layer(config)
    x, states = _layer_inputs(layer, config)
    out, h_n, c_n = _call_layer(layer, Tensor(x), [Tensor(s) for s in states])
    count = layer.num_layers * layer.num_directions
    zeros = np.zeros((count, config["batch"], layer.hidden_size))
    h0 = states[0] if states else zeros
    c0 = states[1] if len(states) > 1 else zeros
    xt = np.swapaxes(x, 0, 1) if layer.batch_first else x
    expected_out, expected_h, expected_c = reference_layer(layer, xt, h0, c0)
    if layer.batch_first:
        expected_out = np.swapaxes(expected_out, 0, 1)
    np.testing.assert_allclose(out.data, expected_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.data, expected_h, rtol=1e-10, atol=1e-12)
    if c_n is not None:
        np.testing.assert_allclose(c_n.data, expected_c, rtol=1e-10, atol=1e-12)


@settings(deadline=None)
@given(layer_configs)
def test_sequence_layer_gradients(config):
    layer = _make_layer(config)
    x, states = _layer_inputs(layer, config)
    if _relu_too_close_to_kink(layer, x, states):
        return
    names = [name for name, _ in layer.named_parameters()]
    params = [p.data.copy() for p in layer.parameters()]
    weights = np.random.default_rng(config["seed"] + 2).standard_normal(3)

    def loss(x, *rest):
        state_tensors, param_tensors = rest[:len(states)], rest[len(states):]
        with parameters_replaced(layer, dict(zip(names, param_tensors))):
            out, h_n, c_n = _call_layer(layer, x, list(state_tensors))
        total = (out * out).sum() * weights[0] + (h_n * weights[1]).sum()
        return total if c_n is None else total + (c_n * c_n).sum() * weights[2]

    assert gradcheck(loss, [x, *states, *params])


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_sequence_ops_support_second_derivatives(mode):
    """create_graph: the sequence op's backward replays the sequence with the cell ops and differentiates it."""
    config = dict(mode=mode, num_layers=1, bidirectional=True, batch_first=False, bias=True, with_states=True,
                  steps=2, batch=1, input_size=2, hidden_size=2, seed=3)
    layer = _make_layer(config)
    x, states = _layer_inputs(layer, config)
    names = [name for name, _ in layer.named_parameters()]

    def out_fn(x, *params):
        with parameters_replaced(layer, dict(zip(names, params))):
            out, h_n, c_n = _call_layer(layer, x, [Tensor(s) for s in states])
        return (out * out).sum() + h_n.sum()

    assert gradgradcheck(out_fn, [x, *[p.data.copy() for p in layer.parameters()][:2]])


def test_lstm_layer_equals_a_loop_of_its_cell():
    lstm = nn.LSTM(3, 4, dtype=np.float64, generator=np.random.default_rng(5))
    cell = nn.LSTMCell(3, 4, dtype=np.float64)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})  # weight_ih_l0 -> weight_ih
    x = np.random.default_rng(6).standard_normal((6, 2, 3))
    out, (h_n, c_n) = lstm(x)
    h = c = None
    for t in range(6):
        h, c = cell(x[t], None if h is None else (h, c))
        np.testing.assert_allclose(out.data[t], h.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.data[0], h.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n.data[0], c.data, rtol=1e-12, atol=1e-14)


def test_sequence_layers_are_a_few_graph_nodes_and_cells_one_per_step():
    x = Tensor(np.random.default_rng(0).standard_normal((50, 2, 3)).astype(np.float32))
    out, (h_n, c_n) = nn.LSTM(3, 4)(x)
    assert len(backward_order([out, h_n, c_n])) <= 6  # the sequence op, 3 slices of its result, 2 stacks
    cell = nn.LSTMCell(3, 4)
    h, c = cell(x[0])
    for t in range(1, 50):
        h, c = cell(x.data[t], (h, c))
    kinds = [node.name for node in backward_order(h.sum())]
    assert kinds.count("LSTMCellOp") == 50 and len(kinds) <= 3 * 50 + 2


def test_unbatched_sequence_equals_batch_of_one():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, generator=np.random.default_rng(9))
    x = np.random.default_rng(10).standard_normal((5, 3))
    out, h_n = gru(x)
    out_b, h_b = gru(x[:, None, :])
    assert out.shape == (5, 8) and h_n.shape == (4, 4)
    np.testing.assert_array_equal(out.data, out_b.data[:, 0])
    np.testing.assert_array_equal(h_n.data, h_b.data[:, 0])


def test_dropout_between_layers_only_in_training():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=np.float64, generator=np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    plain = nn.LSTM(3, 4, num_layers=2, dtype=np.float64)
    plain.load_state_dict(lstm.state_dict())
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, plain(x)[0].data)
    lstm.train()
    assert not np.allclose(lstm(x)[0].data, plain(x)[0].data)
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)


def test_parameter_names_and_order_follow_pytorch():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                         "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (16, 8) and lstm.weight_hh_l1_reverse.shape == (16, 4)
    assert [n for n, _ in nn.GRU(3, 4, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


# ----------------------------------------------------------------------------------------------------
# bad input


def test_errors_name_the_layer_and_the_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2)
    before = {k: v.copy() for k, v in lstm.state_dict().items()}
    with pytest.raises(ValueError, match=r"LSTM\(3, 4, num_layers=2\).*\(5, 2, 7\).*input_size=3"):
        lstm(np.zeros((5, 2, 7), np.float32))
    with pytest.raises(ValueError, match=r"h_0 has shape \(1, 2, 4\), expected \(2, 2, 4\)"):
        lstm(np.zeros((5, 2, 3), np.float32), (np.zeros((1, 2, 4), np.float32), np.zeros((2, 2, 4), np.float32)))
    with pytest.raises(ValueError, match=r"c_0 has shape \(2, 2, 5\)"):
        lstm(np.zeros((5, 2, 3), np.float32), (np.zeros((2, 2, 4), np.float32), np.zeros((2, 2, 5), np.float32)))
    with pytest.raises(TypeError, match="tuple"):
        lstm(np.zeros((5, 2, 3), np.float32), np.zeros((2, 2, 4), np.float32))
    with pytest.raises(TypeError, match="floating-point.*int64"):
        lstm(np.zeros((5, 2, 3), np.int64))
    with pytest.raises(ValueError, match="empty"):
        lstm(np.zeros((0, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"GRUCell\(3, 4\).*\(2, 5\)"):
        nn.GRUCell(3, 4)(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"RNNCell\(3, 4\): the hidden state has shape \(3, 4\), expected \(2, 4\)"):
        nn.RNNCell(3, 4)(np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    for key, value in lstm.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


# ----------------------------------------------------------------------------------------------------
# against PyTorch


def _torch_layer_case(torch, mode, bidirectional, batch_first, num_layers=2):
    rng = np.random.default_rng(11)
    theirs = getattr(torch.nn, mode)(3, 4, num_layers=num_layers, bidirectional=bidirectional,
                                     batch_first=batch_first).double()
    ours = getattr(nn, mode)(3, 4, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                             dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    count = num_layers * (2 if bidirectional else 1)
    states = [rng.standard_normal((count, 2, 4)) for _ in range(2 if mode == "LSTM" else 1)]
    return theirs, ours, x, states


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_sequence_layers_match_pytorch(mode, bidirectional, batch_first):
    torch = pytest.importorskip("torch")
    theirs, ours, x, states = _torch_layer_case(torch, mode, bidirectional, batch_first)
    x_ours, states_ours = Tensor(x, requires_grad=True), [Tensor(s, requires_grad=True) for s in states]
    x_theirs = torch.tensor(x, requires_grad=True)
    states_theirs = [torch.tensor(s, requires_grad=True) for s in states]
    out, h_n, c_n = _call_layer(ours, x_ours, states_ours)
    if mode == "LSTM":
        out_t, (h_t, c_t) = theirs(x_theirs, tuple(states_theirs))
    else:
        out_t, h_t = theirs(x_theirs, states_theirs[0])
        c_t = None
    w = np.random.default_rng(12).standard_normal(out.shape)
    loss = (out * w).sum() + (h_n * h_n).sum() + (0 if c_n is None else (c_n * 3).sum())
    loss_t = (out_t * torch.tensor(w)).sum() + (h_t * h_t).sum() + (0 if c_t is None else (c_t * 3).sum())
    loss.backward()
    loss_t.backward()
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.data, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x_ours.grad.data, x_theirs.grad.numpy(), rtol=1e-9, atol=1e-11)
    for ours_state, their_state in zip(states_ours, states_theirs):
        np.testing.assert_allclose(ours_state.grad.data, their_state.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, p_t.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_cells_match_pytorch(mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    theirs = getattr(torch.nn, mode + "Cell")(3, 5).double()
    ours = getattr(nn, mode + "Cell")(3, 5, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    if mode == "LSTM":
        h1, c1 = ours(Tensor(x), (Tensor(h), Tensor(c)))
        h1_t, c1_t = theirs(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        np.testing.assert_allclose(c1.data, c1_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    else:
        h1, h1_t = ours(Tensor(x), Tensor(h)), theirs(torch.tensor(x), torch.tensor(h))
    np.testing.assert_allclose(h1.data, h1_t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_float32_training_step_matches_pytorch():
    """A PyTorch LSTM's state_dict loads unchanged and one float32 SGD step lands on the same weights."""
    torch = pytest.importorskip("torch")
    from tinygrad_dl import optim
    theirs, ours, x, states = _torch_layer_case(torch, "LSTM", True, True)
    theirs = theirs.float()
    ours = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x32 = x.astype(np.float32)
    loss = (ours(x32)[0] ** 2).mean()
    loss.backward()
    optim.SGD(ours.parameters(), lr=0.1).step()
    loss_t = (theirs(torch.tensor(x32))[0] ** 2).mean()
    loss_t.backward()
    torch.optim.SGD(theirs.parameters(), lr=0.1).step()
    assert loss.item() == pytest.approx(loss_t.item(), rel=1e-5)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
