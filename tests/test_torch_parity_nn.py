"""New layers and losses side by side with PyTorch 2.x: values and gradients (skipped without torch).

Run with an environment that has torch, e.g. ``/work/torchenv/bin/python -m pytest tests/test_torch_parity_nn.py``.
"""
import numpy as np
import pytest

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _both(ours_fn, theirs_fn, *arrays, grad_inputs=(0,), rtol=1e-12, atol=1e-14):
    """Forward and backward of the same float64 inputs in both libraries; compare values and gradients."""
    ours = [Tensor(a.copy(), requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a.copy(), requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    seed = np.random.default_rng(9).standard_normal(out.shape)
    out.backward(seed)
    expected.backward(torch.tensor(seed))
    for i in grad_inputs:
        np.testing.assert_allclose(ours[i].grad.data, theirs[i].grad.numpy(), rtol=rtol, atol=atol)


X = np.concatenate([np.linspace(-12, 12, 97), [-40.0, -8.5, 0.0, 8.5, 40.0]]).reshape(6, 17)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(approximate):
    # the tanh form's slope cancels (1 + t and 1 - t^2 for t near -1): both libraries lose digits there
    _both(lambda x: nn.GELU(approximate)(x), lambda x: torch.nn.GELU(approximate)(x), X, rtol=1e-13,
          atol=1e-15 if approximate == "none" else 1e-14)


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 5.0), (0.5, 3.0), (-1.5, 4.0)])
def test_softplus(beta, threshold):
    _both(lambda x: nn.Softplus(beta, threshold)(x), lambda x: torch.nn.Softplus(beta, threshold)(x), X)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_and_softmax_layers(dim):
    _both(lambda x: nn.LogSoftmax(dim=dim)(x), lambda x: torch.nn.LogSoftmax(dim=dim)(x), X)
    _both(lambda x: nn.Softmax(dim=dim)(x), lambda x: torch.nn.Softmax(dim=dim)(x), X)


RNG = np.random.default_rng(0)
LOGITS_2D = RNG.standard_normal((7, 5)) * 2
LOGITS_4D = RNG.standard_normal((3, 5, 4, 2)) * 2
TARGET_2D = np.array([0, 4, 2, 2, 1, 3, 0])
TARGET_4D = RNG.integers(0, 5, (3, 4, 2))
WEIGHT = np.array([0.2, 1.0, 3.0, 0.5, 1.5])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore_index", [-100, 2], ids=["none-ignored", "ignore-2"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("logits, target", [(LOGITS_2D, TARGET_2D), (LOGITS_4D, TARGET_4D)], ids=["2d", "4d"])
def test_cross_entropy_with_class_indices(logits, target, reduction, weight, ignore_index, label_smoothing):
    kw = dict(reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing)
    _both(lambda z: nn.CrossEntropyLoss(weight, **kw)(z, target),
          lambda z: torch.nn.CrossEntropyLoss(None if weight is None else torch.tensor(weight), **kw)(
              z, torch.tensor(target)), logits)
    if label_smoothing == 0:
        _both(lambda z: nn.NLLLoss(weight, ignore_index=ignore_index, reduction=reduction)(nn.LogSoftmax(dim=1)(z),
                                                                                            target),
              lambda z: torch.nn.NLLLoss(None if weight is None else torch.tensor(weight), ignore_index=ignore_index,
                                         reduction=reduction)(TF.log_softmax(z, dim=1), torch.tensor(target)),
              logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("logits", [LOGITS_2D, LOGITS_4D], ids=["2d", "4d"])
def test_cross_entropy_with_probabilities(logits, reduction, weight, label_smoothing):
    probs = np.random.default_rng(1).random(logits.shape)
    probs /= probs.sum(axis=1, keepdims=True)
    kw = dict(reduction=reduction, label_smoothing=label_smoothing)
    _both(lambda z, t: F.cross_entropy(z, t, weight, **kw),
          lambda z, t: TF.cross_entropy(z, t, None if weight is None else torch.tensor(weight), **kw),
          logits, probs, grad_inputs=(0, 1))


def test_cross_entropy_of_a_single_unbatched_example():
    _both(lambda z: F.cross_entropy(z, np.array(3)), lambda z: TF.cross_entropy(z, torch.tensor(3)), LOGITS_2D[0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight, pos_weight", [(None, None), (None, np.array([0.5, 2.0, 3.0])),
                                                (np.array([[1.0], [0.0], [2.0], [0.5]]), np.array([1.5, 1.0, 0.25]))])
def test_bce_with_logits_weights(reduction, weight, pos_weight):
    rng = np.random.default_rng(2)
    z, y = rng.standard_normal((4, 3)) * 4, rng.random((4, 3))
    as_torch = (lambda a: None if a is None else torch.tensor(a))
    _both(lambda a, b: nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)(a, b),
          lambda a, b: torch.nn.BCEWithLogitsLoss(as_torch(weight), reduction=reduction,
                                                  pos_weight=as_torch(pos_weight))(a, b),
          z, y, grad_inputs=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_weight(reduction):
    rng = np.random.default_rng(3)
    p, y, w = rng.uniform(0.05, 0.95, (4, 3)), rng.random((4, 3)), rng.random(3)
    _both(lambda a, b: nn.BCELoss(w, reduction=reduction)(a, b),
          lambda a, b: torch.nn.BCELoss(torch.tensor(w), reduction=reduction)(a, b), p, y, grad_inputs=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.3, 0.0])
def test_l1_and_smooth_l1(reduction, beta):
    rng = np.random.default_rng(5)
    p, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    y[0, :2] = p[0, :2]  # equal entries: gradient 0 in both
    _both(lambda a, b: nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b),
          lambda a, b: torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(a, b), p, y, grad_inputs=(0, 1))
    _both(lambda a, b: nn.L1Loss(reduction=reduction)(a, b), lambda a, b: torch.nn.L1Loss(reduction=reduction)(a, b),
          p, y, grad_inputs=(0, 1))


def test_a_pytorch_state_dict_with_the_new_layers_loads_and_computes_the_same():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.GELU(), torch.nn.Linear(6, 6),
                                 torch.nn.Softplus(beta=2.0), torch.nn.Linear(6, 3), torch.nn.LogSoftmax(dim=1)).double()
    ours = nn.Sequential(nn.Linear(4, 6, dtype=np.float64), nn.GELU(), nn.Linear(6, 6, dtype=np.float64),
                         nn.Softplus(beta=2.0), nn.Linear(6, 3, dtype=np.float64), nn.LogSoftmax(dim=1))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_module_dict_apply_and_requires_grad_follow_pytorch():
    theirs = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 2), "a": torch.nn.Sequential(torch.nn.Linear(2, 3),
                                                                                    torch.nn.ReLU())})
    ours = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.Sequential(nn.Linear(2, 3), nn.ReLU())})
    assert list(ours.keys()) == list(theirs.keys())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    our_order, their_order = [], []
    ours.apply(lambda m: our_order.append(type(m).__name__))
    theirs.apply(lambda m: their_order.append(type(m).__name__))
    assert our_order == their_order
    ours.requires_grad_(False)
    theirs.requires_grad_(False)
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("track_running_stats", [True, False])
def test_batchnorm1d_statistics_and_state_dict_match_pytorch(momentum, track_running_stats):
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, track_running_stats=track_running_stats).double()
    ours = nn.BatchNorm1d(3, momentum=momentum, track_running_stats=track_running_stats, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(0)
    for shape in [(5, 3), (4, 3, 2), (6, 3)]:
        x = rng.standard_normal(shape) * 2 + 1
        np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    fresh = nn.BatchNorm1d(3, momentum=momentum, track_running_stats=track_running_stats, dtype=np.float64)
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # PyTorch's keys load as they are
