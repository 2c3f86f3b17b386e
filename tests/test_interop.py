"""nn.interop: to_torch / from_torch give the same model in PyTorch and back: outputs AND gradients agree,
dtypes, requires_grad, train/eval modes and sharing are carried, and a layer without an equivalent is a
clear error naming it. Tests that need PyTorch skip without it (CI installs torch==2.13.0)."""
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tinygrad_dl.nn import interop

from tinygrad_dl import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch==2.13.0 "
                                                "--index-url https://download.pytorch.org/whl/cpu")
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
    with pytest.raises(TypeError, match="LayerNorm with bias=False"):
        interop.from_torch(torch.nn.LayerNorm(3, bias=False))
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
