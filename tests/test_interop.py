"""nn.interop: to_torch / from_torch give the same model in PyTorch and back: outputs AND gradients agree,
dtypes, requires_grad, train/eval modes and sharing are carried, and a layer without an equivalent is a
clear error naming it. Tests that need PyTorch skip without it (CI installs torch==2.13.0)."""
import collections
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tinygrad_dl
import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn
from tinygrad_dl.nn import interop

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch==2.13.0")
    torch.set_num_threads(1)
    return torch


def _mlp(dtype, seed=0):
    np.random.seed(seed)
    return nn.Sequential(nn.Linear(5, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype), nn.LeakyReLU(0.2),
                         nn.Dropout(0.3), nn.Linear(8, 6, dtype=dtype), nn.LayerNorm(6, dtype=dtype), nn.Tanh(),
                         nn.Linear(6, 4, bias=False, dtype=dtype), nn.Sigmoid(), nn.Identity(), nn.Softmax(axis=-1))


def _run_both(torch, ours, theirs, x, seed=1):
    """Forward both models on x, backpropagate the same random weighting of the output; return
    (our output, their output, our grads by name, their grads by name) with 'input' for d/dx."""
    x_ours = Tensor(x.copy(), requires_grad=True)
    out = ours(x_ours)
    weights = np.random.RandomState(seed).randn(*out.shape).astype(x.dtype)
    (out * Tensor(weights)).sum().backward()
    x_theirs = torch.tensor(x.copy(), requires_grad=True)
    out_theirs = theirs(x_theirs)
    (out_theirs * torch.from_numpy(weights)).sum().backward()
    grads = {name: p.grad.numpy() for name, p in ours.named_parameters() if p.grad is not None}
    grads["input"] = x_ours.grad.numpy()
    grads_theirs = {name: p.grad.numpy() for name, p in theirs.named_parameters() if p.grad is not None}
    grads_theirs["input"] = x_theirs.grad.numpy()
    return out.numpy(), out_theirs.detach().numpy(), grads, grads_theirs


def _assert_agree(torch, ours, theirs, x):
    out, out_theirs, grads, grads_theirs = _run_both(torch, ours, theirs, x)
    tolerance = TOLERANCE[x.dtype.type]
    assert out.dtype == out_theirs.dtype == x.dtype
    np.testing.assert_allclose(out, out_theirs, **tolerance)
    assert sorted(grads) == sorted(grads_theirs)
    for name in grads:
        np.testing.assert_allclose(grads[name], grads_theirs[name], err_msg=name, **tolerance)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_to_torch_outputs_and_gradients_agree(torch, dtype, mode):
    ours = _mlp(dtype)
    ours[3].p = 0.0 if mode == "train" else 0.3  # random masks differ between libraries: compare without dropout
    getattr(ours, mode)()
    ours[1].running_mean[:] = np.linspace(-1, 1, 8)  # non-trivial running statistics for eval mode
    ours[1].running_var[:] = np.linspace(0.5, 2, 8)
    theirs = interop.to_torch(ours)
    assert isinstance(theirs, torch.nn.Sequential) and theirs.training == (mode == "train")
    assert [p.dtype for p in theirs.parameters()] == [getattr(torch, np.dtype(dtype).name)] * 9
    x = np.random.RandomState(2).randn(7, 5).astype(dtype)
    _assert_agree(torch, ours, theirs, x)
    # batch norm in training mode updates the running statistics the same way
    np.testing.assert_allclose(theirs[1].running_mean.numpy(), ours[1].running_mean, **TOLERANCE[dtype])
    np.testing.assert_allclose(theirs[1].running_var.numpy(), ours[1].running_var, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_from_torch_outputs_and_gradients_agree(torch, dtype):
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 7), torch.nn.ReLU(),
                                 torch.nn.BatchNorm1d(7, momentum=0.2, eps=1e-3), torch.nn.Tanh(),
                                 torch.nn.LayerNorm(7, elementwise_affine=False), torch.nn.Linear(7, 3),
                                 torch.nn.Softmax(dim=1)).to(getattr(torch, np.dtype(dtype).name))
    ours = interop.from_torch(theirs)
    assert [type(m).__name__ for m in ours] == ["Flatten", "Linear", "ReLU", "BatchNorm1d", "Tanh", "LayerNorm",
                                                "Linear", "Softmax"]
    assert ours[3].momentum == 0.2 and ours[3].eps == 1e-3 and ours[5].weight is None
    assert all(p.dtype == dtype for p in ours.parameters())
    x = np.random.RandomState(3).randn(6, 3, 4).astype(dtype)
    _assert_agree(torch, ours, theirs, x)


def test_round_trip_keeps_weights_names_and_buffers(torch):
    ours = _mlp(np.float64)
    ours.eval()
    back = interop.from_torch(interop.to_torch(ours))
    assert repr(back) == repr(ours)
    state, state_back = ours.state_dict(), back.state_dict()
    assert list(state) == list(state_back)
    for name in state:
        np.testing.assert_array_equal(state[name], state_back[name])
    assert back[3].p == 0.3 and not back.training and not back[1].training
    assert not np.shares_memory(back[0].weight.data, ours[0].weight.data)  # copies, not views


def test_modes_requires_grad_and_sharing_are_carried(torch):
    shared = nn.Linear(4, 4, dtype=np.float64)
    tied = nn.Linear(4, 4, dtype=np.float64)
    tied.weight = shared.weight  # weight tying
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Dropout(0.5), tied)
    model[3].eval()  # one module in eval mode, the rest training
    nn.freeze(tied)
    shared.bias.requires_grad_(True)
    theirs = interop.to_torch(model)
    assert theirs[0] is theirs[2] and theirs[4].weight is theirs[0].weight
    assert theirs.training and not theirs[3].training
    assert theirs[4].weight.requires_grad is False and theirs[4].bias.requires_grad is False
    back = interop.from_torch(theirs)
    assert back[0] is back[2] and back[4].weight is back[0].weight
    assert back.training and not back[3].training and not back[4].bias.requires_grad
    assert len(back.parameters()) == 3  # weight, bias of shared; the tied layer's own bias


def test_named_containers_keep_their_names(torch):
    model = nn.Sequential({"features": nn.Sequential(nn.Linear(3, 4), nn.ReLU()), "head": nn.Linear(4, 2)})
    theirs = interop.to_torch(model)
    assert list(theirs.state_dict()) == list(model.state_dict()) == ["features.0.weight", "features.0.bias",
                                                                     "head.weight", "head.bias"]

    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Tanh()])

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    blocks = interop.to_torch(Tower().blocks)
    assert isinstance(blocks, torch.nn.ModuleList) and len(blocks) == 2
    assert isinstance(interop.from_torch(blocks), nn.ModuleList)


def test_module_dict_converts_when_nn_has_it(torch):
    if not hasattr(nn, "ModuleDict"):
        pytest.skip("nn.ModuleDict is not in this tree yet (the converter registers itself when it is)")
    heads = nn.ModuleDict({"pedestrian": nn.Linear(3, 1), "car": nn.Linear(3, 1)})
    theirs = interop.to_torch(heads)
    assert isinstance(theirs, torch.nn.ModuleDict) and list(theirs.keys()) == ["pedestrian", "car"]
    assert list(interop.from_torch(theirs).state_dict()) == list(heads.state_dict())


@pytest.mark.parametrize("name, options", [("GELU", {"approximate": "tanh"}), ("GELU", {}),
                                           ("Softplus", {"beta": 2.0, "threshold": 1.0}), ("LogSoftmax", {"axis": 1})])
def test_activations_nn_may_have_convert_both_ways(torch, name, options):
    if not hasattr(nn, name):
        pytest.skip(f"nn.{name} is not in this tree yet (its converter registers itself when it is)")
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), getattr(nn, name)(**options))
    theirs = interop.to_torch(model)
    assert type(theirs[1]).__name__ == name
    _assert_agree(torch, model, theirs, np.random.RandomState(6).randn(5, 3))
    assert repr(interop.from_torch(theirs)) == repr(model)


def test_layers_without_an_equivalent_are_named(torch):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * 2

    with pytest.raises(TypeError, match="to_torch: Sequential.1 is a Net, which has no converter .*copy_to_torch"):
        interop.to_torch(nn.Sequential(nn.ReLU(), Net()))

    class DoubledLinear(nn.Linear):  # a subclass with its own forward computes something else
        def forward(self, x):
            return super().forward(x) * 2

    with pytest.raises(TypeError, match="Sequential.0 is a DoubledLinear"):
        interop.to_torch(nn.Sequential(DoubledLinear(2, 2)))
    with pytest.raises(TypeError, match="from_torch: Sequential.1 is a torch.nn Hardshrink, which has no converter"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Hardshrink()))
    with pytest.raises(TypeError, match="Softmax\\(dim=None\\)"):
        interop.from_torch(torch.nn.Softmax())
    if "track_running_stats" in inspect.signature(nn.BatchNorm1d).parameters:  # nn's BatchNorm1d has the option
        untracked = torch.nn.BatchNorm1d(3, track_running_stats=False).double()
        _assert_agree(torch, interop.from_torch(untracked), untracked, np.random.RandomState(0).randn(4, 3))
    else:
        with pytest.raises(TypeError, match="track_running_stats=False"):
            interop.from_torch(torch.nn.BatchNorm1d(3, track_running_stats=False))
    weight_only = torch.nn.LayerNorm(3, bias=False).double()  # converts (PyTorch's bias=False keeps the weight)
    _assert_agree(torch, interop.from_torch(weight_only), weight_only, np.random.RandomState(0).randn(4, 3))
    no_biases = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, bias=False).double()
    ours = interop.from_torch(no_biases)
    assert ours.norm1.bias is None and ours.linear1.bias is None
    _assert_agree(torch, ours, no_biases, np.random.RandomState(1).randn(5, 2, 8))
    back = interop.to_torch(ours)
    assert back.norm2.bias is None and sorted(back.state_dict()) == sorted(no_biases.state_dict())
    with pytest.raises(TypeError, match="Sequential.0 holds a torch.bfloat16 tensor"):
        interop.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2).to(torch.bfloat16)))
    with pytest.raises(TypeError, match="to_torch: Linear is a str, not an nn.Module|is a str, not an nn.Module"):
        interop.to_torch("Linear")


def test_conversion_draws_no_random_numbers(torch):
    model = _mlp(np.float32)
    np.random.seed(5)
    torch.manual_seed(5)
    interop.from_torch(interop.to_torch(model))
    assert np.random.rand() == np.random.RandomState(5).rand()  # NumPy's global generator untouched
    after = torch.rand(1).item()
    torch.manual_seed(5)
    assert after == torch.rand(1).item()  # and torch's


def test_copy_weights_of_a_custom_model_by_name(torch):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.bn, self.fc2 = nn.Linear(3, 5, dtype=np.float64), nn.BatchNorm1d(5, dtype=np.float64), \
                nn.Linear(5, 2, dtype=np.float64)

        def forward(self, x):
            return self.fc2(self.bn(self.fc1(x)).relu())

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.bn, self.fc2 = torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.bn(self.fc1(x))))

    ours, theirs = Net(), TorchNet().double()
    interop.copy_to_torch(ours, theirs)
    _assert_agree(torch, ours, theirs, np.random.RandomState(4).randn(8, 3))
    with torch.no_grad():
        theirs.fc2.weight.mul_(3)
    interop.copy_from_torch(theirs, ours)
    np.testing.assert_array_equal(ours.fc2.weight.data, theirs.fc2.weight.detach().numpy())
    other = nn.Sequential(nn.Linear(3, 5))
    with pytest.raises(KeyError, match="state_dict names differ"):
        interop.copy_to_torch(other, theirs)
    wrong = TorchNet().double()
    wrong.fc1 = torch.nn.Linear(3, 4).double()
    with pytest.raises(ValueError, match="fc1.weight: \\(5, 3\\) vs \\(4, 3\\)"):
        interop.copy_to_torch(ours, wrong)


def test_register_a_converter_for_a_new_layer(torch, monkeypatch):
    class ReLU6(nn.Module):
        def forward(self, x):
            return x.clip(0, 6)

    monkeypatch.setitem(interop._TO_TORCH, ReLU6, lambda m, c: c.torch.nn.ReLU6())
    monkeypatch.setitem(interop._FROM_TORCH, "ReLU6", (ReLU6, lambda tm, c: ReLU6()))
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), ReLU6())
    theirs = interop.to_torch(model)
    assert isinstance(theirs[1], torch.nn.ReLU6) and isinstance(interop.from_torch(theirs)[1], ReLU6)
    _assert_agree(torch, model, theirs, np.random.RandomState(5).randn(4, 2) * 10)


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError, match="to_torch needs PyTorch.*pip install torch==2.13.0"):
        interop.to_torch(nn.Linear(2, 2))
    with pytest.raises(ImportError, match="from_torch needs PyTorch"):
        interop.from_torch(object())


def test_importing_nn_does_not_import_torch():
    code = "import sys; from tinygrad_dl import nn; nn.interop; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------------------------------
# Every Course 4/5 layer (and the losses), both ways: outputs, gradients of every input and parameter, buffers
#
# A spec builds the same layer in both libraries (ours and torch's own, each with its own initialisation), the
# inputs, and how to call the layer. Float inputs require grad unless listed in ``constant``; masks, token ids and
# targets are passed to both sides as tensors of that library. ``p`` is the dropout probability: 0 in training mode
# (the two libraries draw different masks), non-zero in eval mode (where dropout must be off on both sides).

Spec = collections.namedtuple("Spec", "ours theirs inputs call constant modes")
SPEC_TOLERANCE = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=2e-5)}


def spec(ours, theirs, inputs, call=None, constant=(), modes=("train",)):
    return Spec(ours, theirs, inputs, call or (lambda m, *xs: m(*xs)), constant, modes)


def _causal(n, dtype):
    return np.triu(np.full((n, n), -np.inf, dtype=dtype), k=1)


def _padding_mask(batch, length):
    mask = np.zeros((batch, length), dtype=bool)
    mask[-1, -1] = True  # the last example's last position is padding (no row is fully masked)
    return mask


def _torch_dtype(torch, dtype):
    return getattr(torch, np.dtype(dtype).name)


def _gelu_tanh(torch):
    return torch.nn.GELU("tanh")


LAYER_SPECS = {
    "Conv1d(stride, padding, dilation, groups)": spec(
        lambda d, p: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, dtype=d),
        lambda t, p: t.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
        lambda d, r: [r.randn(2, 4, 11).astype(d)]),
    "Conv2d(padding='same', even kernel, no bias)": spec(
        lambda d, p: nn.Conv2d(3, 4, (4, 3), padding="same", bias=False, dtype=d),
        lambda t, p: t.nn.Conv2d(3, 4, (4, 3), padding="same", bias=False),
        lambda d, r: [r.randn(2, 3, 7, 6).astype(d)]),
    "Conv2d(stride, padding, dilation pairs)": spec(
        lambda d, p: nn.Conv2d(3, 4, 3, stride=(2, 1), padding=(1, 2), dilation=(1, 2), dtype=d),
        lambda t, p: t.nn.Conv2d(3, 4, 3, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        lambda d, r: [r.randn(2, 3, 8, 9).astype(d)]),
    "Conv2d(padding='valid', depthwise)": spec(
        lambda d, p: nn.Conv2d(2, 4, 2, padding="valid", groups=2, dtype=d),
        lambda t, p: t.nn.Conv2d(2, 4, 2, padding="valid", groups=2),
        lambda d, r: [r.randn(3, 2, 5, 5).astype(d)]),
    "MaxPool2d(stride, padding, dilation)": spec(
        lambda d, p: nn.MaxPool2d(3, stride=2, padding=1, dilation=(1, 2)),
        lambda t, p: t.nn.MaxPool2d(3, stride=2, padding=1, dilation=(1, 2)),
        lambda d, r: [r.randn(2, 3, 9, 10).astype(d)]),
    "AvgPool2d(padding, count_include_pad=False)": spec(
        lambda d, p: nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False),
        lambda t, p: t.nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False),
        lambda d, r: [r.randn(2, 3, 7, 6).astype(d)]),
    "AvgPool2d(padding) counting the padding": spec(
        lambda d, p: nn.AvgPool2d(3, padding=1), lambda t, p: t.nn.AvgPool2d(3, padding=1),
        lambda d, r: [r.randn(2, 2, 7, 8).astype(d)]),
    "AdaptiveAvgPool2d((3, None)) uneven bins": spec(
        lambda d, p: nn.AdaptiveAvgPool2d((3, None)), lambda t, p: t.nn.AdaptiveAvgPool2d((3, None)),
        lambda d, r: [r.randn(2, 3, 7, 5).astype(d)]),
    "AdaptiveAvgPool2d(1)": spec(
        lambda d, p: nn.AdaptiveAvgPool2d(1), lambda t, p: t.nn.AdaptiveAvgPool2d(1),
        lambda d, r: [r.randn(2, 3, 4, 5).astype(d)]),
    "ZeroPad2d((left, right, top, bottom))": spec(
        lambda d, p: nn.ZeroPad2d((1, 0, 2, 3)), lambda t, p: t.nn.ZeroPad2d((1, 0, 2, 3)),
        lambda d, r: [r.randn(2, 3, 4, 5).astype(d)]),
    "BatchNorm2d(momentum=None)": spec(
        lambda d, p: nn.BatchNorm2d(3, momentum=None, dtype=d), lambda t, p: t.nn.BatchNorm2d(3, momentum=None),
        lambda d, r: [r.randn(4, 3, 3, 2).astype(d) * 2 + 1], modes=("train", "eval")),
    "BatchNorm2d(affine=False, eps)": spec(
        lambda d, p: nn.BatchNorm2d(3, eps=1e-3, affine=False, dtype=d),
        lambda t, p: t.nn.BatchNorm2d(3, eps=1e-3, affine=False),
        lambda d, r: [r.randn(4, 3, 3, 2).astype(d) - 1], modes=("train", "eval")),
    "RNNCell(relu) with a state": spec(
        lambda d, p: nn.RNNCell(4, 5, nonlinearity="relu", dtype=d),
        lambda t, p: t.nn.RNNCell(4, 5, nonlinearity="relu"),
        lambda d, r: [r.randn(3, 4).astype(d), r.randn(3, 5).astype(d)]),
    "LSTMCell with (h, c)": spec(
        lambda d, p: nn.LSTMCell(4, 5, dtype=d), lambda t, p: t.nn.LSTMCell(4, 5),
        lambda d, r: [r.randn(3, 4).astype(d), r.randn(3, 5).astype(d), r.randn(3, 5).astype(d)],
        call=lambda m, x, h, c: m(x, (h, c))),
    "GRUCell(bias=False), unbatched": spec(
        lambda d, p: nn.GRUCell(4, 5, bias=False, dtype=d), lambda t, p: t.nn.GRUCell(4, 5, bias=False),
        lambda d, r: [r.randn(4).astype(d)]),
    "RNN(2 layers, relu, bidirectional, batch_first, dropout) with h_0": spec(
        lambda d, p: nn.RNN(4, 5, num_layers=2, nonlinearity="relu", batch_first=True, dropout=p, bidirectional=True,
                            dtype=d),
        lambda t, p: t.nn.RNN(4, 5, num_layers=2, nonlinearity="relu", batch_first=True, dropout=p, bidirectional=True),
        lambda d, r: [r.randn(3, 6, 4).astype(d), r.randn(4, 3, 5).astype(d)], modes=("train", "eval")),
    "LSTM(2 layers, bidirectional, dropout) with (h_0, c_0)": spec(
        lambda d, p: nn.LSTM(4, 5, num_layers=2, dropout=p, bidirectional=True, dtype=d),
        lambda t, p: t.nn.LSTM(4, 5, num_layers=2, dropout=p, bidirectional=True),
        lambda d, r: [r.randn(6, 3, 4).astype(d), r.randn(4, 3, 5).astype(d), r.randn(4, 3, 5).astype(d)],
        call=lambda m, x, h, c: m(x, (h, c)), modes=("train", "eval")),
    "GRU(batch_first, no bias)": spec(
        lambda d, p: nn.GRU(4, 5, batch_first=True, bias=False, dtype=d),
        lambda t, p: t.nn.GRU(4, 5, batch_first=True, bias=False),
        lambda d, r: [r.randn(3, 6, 4).astype(d)]),
    "Embedding(padding_idx) on repeated ids": spec(
        lambda d, p: nn.Embedding(10, 4, padding_idx=2, dtype=d), lambda t, p: t.nn.Embedding(10, 4, padding_idx=2),
        lambda d, r: [np.array([[1, 2, 3, 1], [2, 9, 0, 1]])]),
    "MultiheadAttention(batch_first) self-attention, padding and causal masks": spec(
        lambda d, p: nn.MultiheadAttention(8, 2, dropout=p, batch_first=True, dtype=d),
        lambda t, p: t.nn.MultiheadAttention(8, 2, dropout=p, batch_first=True),
        lambda d, r: [r.randn(2, 5, 8).astype(d), _padding_mask(2, 5), np.triu(np.ones((5, 5), dtype=bool), k=1)],
        call=lambda m, x, pad, causal: m(x, x, x, key_padding_mask=pad, attn_mask=causal), modes=("train", "eval")),
    "MultiheadAttention(kdim, vdim, no bias) per-head weights": spec(
        lambda d, p: nn.MultiheadAttention(8, 4, bias=False, kdim=6, vdim=3, dtype=d),
        lambda t, p: t.nn.MultiheadAttention(8, 4, bias=False, kdim=6, vdim=3),
        lambda d, r: [r.randn(5, 2, 8).astype(d), r.randn(4, 2, 6).astype(d), r.randn(4, 2, 3).astype(d),
                      np.triu(np.ones((5, 4), dtype=bool), k=2)],
        call=lambda m, q, k, v, mask: m(q, k, v, attn_mask=mask, average_attn_weights=False)),
    "TransformerEncoderLayer(norm_first, gelu, batch_first)": spec(
        lambda d, p: nn.TransformerEncoderLayer(8, 2, 16, dropout=p, activation="gelu", batch_first=True,
                                                norm_first=True, dtype=d),
        lambda t, p: t.nn.TransformerEncoderLayer(8, 2, 16, dropout=p, activation="gelu", batch_first=True,
                                                  norm_first=True),
        lambda d, r: [r.randn(2, 5, 8).astype(d), _padding_mask(2, 5)],
        call=lambda m, x, pad: m(x, src_key_padding_mask=pad), modes=("train", "eval")),
    "TransformerEncoderLayer(activation=nn.GELU('tanh'), eps)": spec(
        lambda d, p: nn.TransformerEncoderLayer(8, 4, 12, dropout=p, activation=nn.GELU("tanh"), layer_norm_eps=1e-3,
                                                dtype=d),
        lambda t, p: t.nn.TransformerEncoderLayer(8, 4, 12, dropout=p, activation=t.nn.GELU("tanh"),
                                                  layer_norm_eps=1e-3),
        lambda d, r: [r.randn(5, 2, 8).astype(d), _causal(5, d)], call=lambda m, x, mask: m(x, src_mask=mask),
        constant=(1,)),
    "TransformerDecoderLayer(post-norm) with causal and memory masks": spec(
        lambda d, p: nn.TransformerDecoderLayer(8, 2, 16, dropout=p, batch_first=True, dtype=d),
        lambda t, p: t.nn.TransformerDecoderLayer(8, 2, 16, dropout=p, batch_first=True),
        lambda d, r: [r.randn(2, 4, 8).astype(d), r.randn(2, 5, 8).astype(d), _causal(4, d), _padding_mask(2, 5)],
        call=lambda m, y, memory, causal, pad: m(y, memory, tgt_mask=causal, memory_key_padding_mask=pad),
        constant=(2,), modes=("train", "eval")),
    "TransformerEncoder(2 layers, final norm)": spec(
        lambda d, p: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=p, dtype=d), 2,
                                           norm=nn.LayerNorm(8, dtype=d)),
        lambda t, p: t.nn.TransformerEncoder(t.nn.TransformerEncoderLayer(8, 2, 16, dropout=p), 2,
                                             norm=t.nn.LayerNorm(8), enable_nested_tensor=False),
        lambda d, r: [r.randn(5, 2, 8).astype(d), _causal(5, d)], call=lambda m, x, mask: m(x, mask=mask),
        constant=(1,), modes=("train", "eval")),
    "TransformerDecoder(2 pre-norm layers)": spec(
        lambda d, p: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=p, norm_first=True,
                                                                      batch_first=True, dtype=d), 2),
        lambda t, p: t.nn.TransformerDecoder(t.nn.TransformerDecoderLayer(8, 2, 16, dropout=p, norm_first=True,
                                                                          batch_first=True), 2),
        lambda d, r: [r.randn(2, 4, 8).astype(d), r.randn(2, 3, 8).astype(d), _causal(4, d)],
        call=lambda m, y, memory, causal: m(y, memory, tgt_mask=causal, tgt_is_causal=True), constant=(2,),
        modes=("train", "eval")),
    "Sequential(Flatten(1, 2), Identity)": spec(
        lambda d, p: nn.Sequential(nn.Flatten(1, 2), nn.Identity()),
        lambda t, p: t.nn.Sequential(t.nn.Flatten(1, 2), t.nn.Identity()),
        lambda d, r: [r.randn(2, 3, 4, 5).astype(d)]),
    "CrossEntropyLoss(weight, ignore_index, label_smoothing)": spec(
        lambda d, p: nn.CrossEntropyLoss(np.array([1.0, 2.0, 0.5], dtype=d), ignore_index=1, label_smoothing=0.1),
        lambda t, p: t.nn.CrossEntropyLoss(t.tensor([1.0, 2.0, 0.5]), ignore_index=1, label_smoothing=0.1),
        lambda d, r: [r.randn(5, 3).astype(d), np.array([0, 1, 2, 2, 0])]),
    "NLLLoss(weight, reduction='sum') on (N, C, d)": spec(
        lambda d, p: nn.NLLLoss(np.array([1.0, 2.0, 0.5], dtype=d), reduction="sum"),
        lambda t, p: t.nn.NLLLoss(t.tensor([1.0, 2.0, 0.5]), reduction="sum"),
        lambda d, r: [r.randn(4, 3, 2).astype(d), np.array([[0, 1], [2, 2], [1, 0], [0, 0]])]),
    "BCEWithLogitsLoss(weight, pos_weight)": spec(
        lambda d, p: nn.BCEWithLogitsLoss(np.array([1.0, 0.5, 2.0], dtype=d),
                                          pos_weight=np.array([3.0, 1.0, 0.5], dtype=d)),
        lambda t, p: t.nn.BCEWithLogitsLoss(t.tensor([1.0, 0.5, 2.0]), pos_weight=t.tensor([3.0, 1.0, 0.5])),
        lambda d, r: [r.randn(4, 3).astype(d), (r.rand(4, 3) > 0.5).astype(d)], constant=(1,)),
    "BCELoss(weight, reduction='none')": spec(
        lambda d, p: nn.BCELoss(np.array([1.0, 0.5, 2.0], dtype=d), reduction="none"),
        lambda t, p: t.nn.BCELoss(t.tensor([1.0, 0.5, 2.0]), reduction="none"),
        lambda d, r: [r.uniform(0.1, 0.9, (4, 3)).astype(d), (r.rand(4, 3) > 0.5).astype(d)], constant=(1,)),
    "MSELoss(reduction='sum')": spec(
        lambda d, p: nn.MSELoss(reduction="sum"), lambda t, p: t.nn.MSELoss(reduction="sum"),
        lambda d, r: [r.randn(4, 3).astype(d), r.randn(4, 3).astype(d)]),
    "L1Loss": spec(lambda d, p: nn.L1Loss(), lambda t, p: t.nn.L1Loss(),
                   lambda d, r: [r.randn(4, 3).astype(d), r.randn(4, 3).astype(d)]),
    "SmoothL1Loss(beta=0.5)": spec(
        lambda d, p: nn.SmoothL1Loss(beta=0.5), lambda t, p: t.nn.SmoothL1Loss(beta=0.5),
        lambda d, r: [r.randn(4, 3).astype(d), r.randn(4, 3).astype(d)]),
}


def _flat(result):
    """The tensors of a layer's result, in order (tuples such as (output, (h, c)) flattened; None skipped)."""
    if isinstance(result, (tuple, list)):
        return [t for part in result for t in _flat(part)]
    return [] if result is None else [result]


def _forward_backward(model, arrays, call, constant, make_tensor, weight_seed=1):
    """Call the model, backpropagate a fixed random weighting of every output; return the outputs and the
    gradients of the differentiable inputs and of every parameter (by name), all as arrays."""
    inputs = [make_tensor(a.copy(), a.dtype.kind == "f" and i not in constant) for i, a in enumerate(arrays)]
    outputs = _flat(call(model, *inputs))
    rng = np.random.RandomState(weight_seed)
    total = None
    for out in outputs:
        weights = np.asarray(rng.randn(*out.shape), dtype=arrays[0].dtype)
        term = (out * make_tensor(weights, False)).sum()
        total = term if total is None else total + term
    total.backward()
    grads = {f"input {i}": x.grad for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)}
    grads.update({name: p.grad for name, p in model.named_parameters()})
    numpy = lambda t: None if t is None else (t.numpy() if isinstance(t, Tensor) else t.detach().numpy())  # noqa
    return [numpy(o) for o in outputs], {name: numpy(g) for name, g in grads.items()}


def _assert_same_computation(torch, ours, theirs, arrays, call, constant=()):
    """Outputs, gradients (inputs and parameters) and buffers after the call agree."""
    dtype = arrays[0].dtype.type if arrays[0].dtype.kind == "f" else next(p.dtype.type for p in ours.parameters())
    tolerance = SPEC_TOLERANCE[dtype]
    outs, grads = _forward_backward(ours, arrays, call, constant, lambda a, g: Tensor(a, requires_grad=g))
    outs_theirs, grads_theirs = _forward_backward(theirs, arrays, call, constant,
                                                  lambda a, g: torch.tensor(a, requires_grad=g))
    assert len(outs) == len(outs_theirs)
    for i, (a, b) in enumerate(zip(outs, outs_theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"output {i}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        np.testing.assert_allclose(a, b, err_msg=f"output {i}", **tolerance)
    assert sorted(grads) == sorted(grads_theirs)
    for name in grads:
        assert (grads[name] is None) == (grads_theirs[name] is None), name
        if grads[name] is not None:
            np.testing.assert_allclose(grads[name], grads_theirs[name], err_msg=f"gradient of {name}", **tolerance)
    state, state_theirs = ours.state_dict(), theirs.state_dict()  # running statistics after a training step
    assert list(state) == list(state_theirs)
    for name in state:
        np.testing.assert_allclose(state[name], state_theirs[name].numpy(), err_msg=name, **tolerance)


def _warm_up(model, arrays, call, no_grad, make_tensor):
    """One training-mode pass without gradients, so batch norm layers hold non-trivial running statistics."""
    model.train()
    with no_grad():
        call(model, *[make_tensor(a.copy()) for a in arrays])


SPEC_CASES = [pytest.param(name, dtype, mode, id=f"{name}-{np.dtype(dtype).name}-{mode}")
              for name, s in LAYER_SPECS.items() for dtype in (np.float64, np.float32) for mode in s.modes]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's note on its speed
@pytest.mark.parametrize("name, dtype, mode", SPEC_CASES)
def test_to_torch_layer_by_layer(torch, name, dtype, mode):
    s = LAYER_SPECS[name]
    np.random.seed(0)
    ours = s.ours(dtype, 0.0 if mode == "train" else 0.3)
    arrays = s.inputs(dtype, np.random.RandomState(1))
    _warm_up(ours, arrays, s.call, tinygrad_dl.no_grad, Tensor)
    getattr(ours, mode)()
    theirs = interop.to_torch(ours)
    assert theirs.training == (mode == "train")
    assert all(p.dtype == _torch_dtype(torch, dtype) for p in theirs.parameters())
    _assert_same_computation(torch, ours, theirs, arrays, s.call, s.constant)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("name, dtype, mode", SPEC_CASES)
def test_from_torch_layer_by_layer(torch, name, dtype, mode):
    """From torch's own layers (its initialisation, its submodule classes) to ours."""
    s = LAYER_SPECS[name]
    torch.manual_seed(0)
    theirs = s.theirs(torch, 0.0 if mode == "train" else 0.3).to(_torch_dtype(torch, dtype))
    arrays = s.inputs(dtype, np.random.RandomState(1))
    _warm_up(theirs, arrays, s.call, torch.no_grad, torch.tensor)
    getattr(theirs, mode)()
    ours = interop.from_torch(theirs)
    assert ours.training == (mode == "train") and all(m.training == (mode == "train") for m in ours.modules())
    assert all(p.dtype == dtype for p in ours.parameters())
    _assert_same_computation(torch, ours, theirs, arrays, s.call, s.constant)


# ------------------------------------------------------------------------------------------------------------------
# Whole models: a small CNN and a small sequence model with their losses, both directions, and the exact round trip


def _small_cnn(lib, dtype, p):
    """The same CNN in either library (``lib`` is tinygrad_dl.nn or torch.nn), with its loss."""
    options = {"dtype": dtype} if lib is nn else {}
    net = lib.Sequential(lib.Conv2d(3, 8, 3, padding=1, **options), lib.BatchNorm2d(8, **options), lib.ReLU(),
                         lib.MaxPool2d(2), lib.ZeroPad2d(1), lib.Conv2d(8, 8, 3, groups=2, padding="same", **options),
                         lib.BatchNorm2d(8, momentum=0.2, **options), lib.LeakyReLU(0.1), lib.AvgPool2d(2),
                         lib.Conv2d(8, 6, 1, **options), lib.Tanh(), lib.AdaptiveAvgPool2d(1), lib.Flatten(),
                         lib.Dropout(p), lib.Linear(6, 5, **options))
    return lib.ModuleDict({"net": net, "loss": lib.CrossEntropyLoss(label_smoothing=0.05)})


def _cnn_step(model, images, labels):
    logits = model["net"](images)
    return model["loss"](logits, labels), logits


def _cnn_inputs(dtype):
    rng = np.random.RandomState(3)
    return [rng.randn(4, 3, 12, 12).astype(dtype), np.array([0, 4, 2, 2])]


def _small_seq_model(lib, dtype, p):
    """Embedding -> 2-layer bidirectional LSTM -> Linear -> Transformer encoder -> attention -> Linear, + loss."""
    options = {"dtype": dtype} if lib is nn else {}
    layer = lib.TransformerEncoderLayer(8, 2, 16, dropout=p, batch_first=True, **options)
    encoder_options = {} if lib is nn else {"enable_nested_tensor": False}
    return lib.ModuleDict({
        "embed": lib.Embedding(20, 8, padding_idx=0, **options),
        "lstm": lib.LSTM(8, 8, num_layers=2, batch_first=True, bidirectional=True, dropout=p, **options),
        "proj": lib.Linear(16, 8, **options),
        "encoder": lib.TransformerEncoder(layer, 2, norm=lib.LayerNorm(8, **options), **encoder_options),
        "attn": lib.MultiheadAttention(8, 4, dropout=p, batch_first=True, **options),
        "head": lib.Linear(8, 3, **options),
        "loss": lib.CrossEntropyLoss()})


def _seq_step(model, ids, padding_mask, labels):
    x, _ = model["lstm"](model["embed"](ids))
    x = model["encoder"](model["proj"](x), src_key_padding_mask=padding_mask)
    x, weights = model["attn"](x, x, x, key_padding_mask=padding_mask)
    logits = model["head"](x[:, 0])
    return model["loss"](logits, labels), logits, weights


def _seq_inputs(dtype):
    ids = np.array([[3, 7, 1, 9, 12, 4], [5, 2, 8, 19, 0, 0], [11, 6, 6, 2, 14, 0]])
    return [ids, ids == 0, np.array([2, 0, 1])]


WHOLE_MODELS = {"small CNN": (_small_cnn, _cnn_step, _cnn_inputs),
                "small sequence model": (_small_seq_model, _seq_step, _seq_inputs)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("direction", ["to_torch", "from_torch"])
@pytest.mark.parametrize("model_name", list(WHOLE_MODELS))
def test_whole_models_agree_with_torch(torch, model_name, direction, mode, dtype):
    build, step, inputs = WHOLE_MODELS[model_name]
    arrays, p = inputs(dtype), (0.0 if mode == "train" else 0.25)
    if direction == "to_torch":
        np.random.seed(0)
        ours = build(nn, dtype, p)
        _warm_up(ours, arrays, step, tinygrad_dl.no_grad, Tensor)
        getattr(ours, mode)()
        theirs = interop.to_torch(ours)
    else:
        torch.manual_seed(0)
        theirs = build(torch.nn, dtype, p).to(_torch_dtype(torch, dtype))
        _warm_up(theirs, arrays, step, torch.no_grad, torch.tensor)
        getattr(theirs, mode)()
        ours = interop.from_torch(theirs)
    # the converted model is what the other library itself builds from the same code
    native_theirs, native_ours = build(torch.nn, dtype, p), build(nn, dtype, p)
    assert [(n, type(m)) for n, m in theirs.named_modules()] == [(n, type(m)) for n, m in native_theirs.named_modules()]
    assert list(theirs.state_dict()) == list(native_theirs.state_dict())
    assert repr(ours) == repr(native_ours)
    _assert_same_computation(torch, ours, theirs, arrays, step)


def _everything(dtype):
    """A model holding every convertible layer (in several configurations), for the round trip."""
    np.random.seed(4)
    parts = {"cnn": _small_cnn(nn, dtype, 0.1), "seq": _small_seq_model(nn, dtype, 0.1)}
    parts.update({name.split("(")[0] + str(i): s.ours(dtype, 0.2) for i, (name, s) in enumerate(LAYER_SPECS.items())})
    parts["mlp"] = _mlp(dtype)
    parts["activations"] = nn.ModuleList([nn.GELU("tanh"), nn.Softplus(2.0, 5.0), nn.LogSoftmax(dim=0)])
    model = nn.ModuleDict(parts)
    model["mlp"][4].weight.requires_grad_(False)  # a frozen parameter
    model["cnn"]["net"][1].eval()  # one module in eval mode
    return model


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_is_exact(torch, dtype):
    """to_torch then from_torch gives back the same model: same layers and options (repr), the same weights and
    buffers bit for bit (dtypes too), the same frozen parameters and train/eval modes, the same outputs."""
    ours = _everything(dtype)
    _warm_up(ours["cnn"], _cnn_inputs(dtype), _cnn_step, tinygrad_dl.no_grad, Tensor)
    ours.train()
    ours["cnn"]["net"][1].eval()
    back = interop.from_torch(interop.to_torch(ours))
    assert repr(back) == repr(ours)
    state, state_back = ours.state_dict(), back.state_dict()
    assert list(state) == list(state_back)
    for name in state:
        assert state[name].dtype == state_back[name].dtype, name
        np.testing.assert_array_equal(state[name], state_back[name], err_msg=name)
    assert [(n, p.requires_grad) for n, p in ours.named_parameters()] == \
        [(n, p.requires_grad) for n, p in back.named_parameters()]
    assert [(n, m.training) for n, m in ours.named_modules()] == [(n, m.training) for n, m in back.named_modules()]
    for model_name, (_, step, inputs) in WHOLE_MODELS.items():
        key = "cnn" if model_name == "small CNN" else "seq"
        for m in (ours[key], back[key]):
            m.eval()
        with tinygrad_dl.no_grad():
            expected = step(ours[key], *[Tensor(a) for a in inputs(dtype)])
            got = step(back[key], *[Tensor(a) for a in inputs(dtype)])
        for a, b in zip(_flat(expected), _flat(got)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_every_layer_in_nn_converts_or_says_why_not(torch):
    """Every layer class nn exports either has converters (and a comparison against torch above) or is one
    PyTorch has no layer for, which fails with a message saying what to write instead."""
    exported = {getattr(nn, name) for name in nn.__all__}
    layer_classes = {c for c in exported if isinstance(c, type) and issubclass(c, nn.Module) and c is not nn.Module}
    assert layer_classes == set(interop._TO_TORCH) | set(interop.NO_TORCH_TWIN)
    assert {cls.__name__ for cls, _ in interop._FROM_TORCH.values()} == {c.__name__ for c in interop._TO_TORCH}
    compared = {type(m) for m in _everything(np.float64).modules()}
    assert set(interop._TO_TORCH) <= compared | {nn.ModuleDict}
    for cls in interop.NO_TORCH_TWIN:
        with pytest.raises(TypeError, match=f"Sequential.1 is a {cls.__name__}, which PyTorch has no layer for: "
                                            "in torch, "):
            interop.to_torch(nn.Sequential(nn.Identity(), cls(8) if cls is nn.PositionalEncoding else cls()))


OPTIONS_WITHOUT_AN_EQUIVALENT = {
    "to_torch": [
        (lambda t: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "Conv2d with padding='same' and stride \\(2, 2\\)"),
        (lambda t: nn.Conv1d(3, 4, 3, stride=3, padding="same"), "Conv1d with padding='same' and stride \\(3,\\)"),
        (lambda t: nn.Sequential(nn.MaxPool2d(2, padding="same")), "Sequential.0 is a MaxPool2d with padding='same'"),
        (lambda t: nn.AvgPool2d(3, 2, padding="same"), "AvgPool2d with padding='same'"),
        (lambda t: nn.TransformerEncoderLayer(8, 2, activation=lambda x: x.tanh()),
         "TransformerEncoderLayer has the activation function '<lambda>'"),
        (lambda t: nn.TransformerEncoder(nn.TransformerDecoderLayer(8, 2, activation=F.tanh), 1),
         "TransformerEncoder.layers.0 has the activation function 'tanh'"),
        (lambda t: nn.CrossEntropyLoss(dim=0), "CrossEntropyLoss with dim=0; torch's class axis is always 1"),
    ],
    "from_torch": [
        (lambda t: t.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), "Conv2d with padding_mode='reflect'"),
        (lambda t: t.nn.MaxPool2d(2, ceil_mode=True), "MaxPool2d with return_indices=False, ceil_mode=True"),
        (lambda t: t.nn.MaxPool2d(2, return_indices=True), "MaxPool2d with return_indices=True"),
        (lambda t: t.nn.AvgPool2d(2, divisor_override=3), "AvgPool2d with ceil_mode=False, divisor_override=3"),
        (lambda t: t.nn.Sequential(t.nn.ZeroPad2d((1, -1, 0, 0))),
         "Sequential.0 is a torch.nn ZeroPad2d\\(1, -1, 0, 0\\) that crops"),
        (lambda t: t.nn.LSTM(3, 4, proj_size=2), "LSTM with proj_size=2"),
        (lambda t: t.nn.Embedding(5, 3, max_norm=1.0), "Embedding with max_norm=1.0"),
        (lambda t: t.nn.Embedding(5, 3, sparse=True), "Embedding with .*sparse=True"),
        (lambda t: t.nn.MultiheadAttention(8, 2, add_bias_kv=True), "MultiheadAttention with add_bias_kv"),
        (lambda t: t.nn.MultiheadAttention(8, 2, add_zero_attn=True),
         "MultiheadAttention with add_bias_kv or add_zero"),
        (lambda t: t.nn.TransformerEncoderLayer(8, 2, activation=t.tanh),
         "TransformerEncoderLayer has the activation function 'tanh'"),
        (lambda t: t.nn.Sequential(t.nn.Conv3d(1, 1, 1)), "Sequential.0 is a torch.nn Conv3d, which has no converter"),
        (lambda t: t.nn.Transformer(8, 2, 1, 1), "Transformer is a torch.nn Transformer, which has no converter"),
    ],
}


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # torch's note when building nn.Transformer
@pytest.mark.parametrize("direction, index", [(d, i) for d, cases in OPTIONS_WITHOUT_AN_EQUIVALENT.items()
                                              for i in range(len(cases))])
def test_options_without_an_equivalent_are_named(torch, direction, index):
    build, message = OPTIONS_WITHOUT_AN_EQUIVALENT[direction][index]
    with pytest.raises(TypeError, match=f"{direction}: .*{message}"):
        getattr(interop, direction)(build(torch))
