"""Networks that reuse and share: the masked multi-task sigmoid loss (nn.MaskedBCEWithLogitsLoss and
F.masked_binary_cross_entropy_with_logits) and the transfer-learning helpers (freeze, unfreeze,
trainable_parameters, replace_head) with parameter groups."""
import numpy as np
import pytest
import tinygrad_dl.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_dl import Tensor, backward_order, gradcheck, gradgradcheck, nn, optim
from tinygrad_dl.testing import arrays, assert_gradients_match

masked_bce = F.masked_binary_cross_entropy_with_logits


def _reference(z, y, known, reduction):
    """The course's formula, term by term: -(y log a + (1 - y) log(1 - a)) on the known labels."""
    a = 1 / (1 + np.exp(-z))
    losses = np.where(known, -(np.where(known, y, 0) * np.log(a) + (1 - np.where(known, y, 0)) * np.log(1 - a)), 0)
    return {"mean": losses.sum() / max(known.sum(), 1), "batchmean": losses.sum() / z.shape[0],
            "sum": losses.sum(), "none": losses}[reduction]


def _labels_with_unknowns(rng, shape, fraction=0.3, unknown=-1.0):
    Y = (rng.rand(*shape) < 0.5).astype(np.float64)
    hidden = rng.rand(*shape) < fraction
    return np.where(hidden, unknown, Y), ~hidden


# ---------------------------------------------------------------------------------------- the masked loss


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_masked_loss_is_the_course_cost_on_known_labels(reduction):
    rng = np.random.RandomState(0)
    z = rng.randn(6, 4)
    Y, known = _labels_with_unknowns(rng, (6, 4))
    loss = masked_bce(Tensor(z), Y, reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), _reference(z, Y, known, reduction), rtol=1e-12, atol=1e-14)


def test_unknown_labels_can_be_nan_minus_one_or_a_mask():
    rng = np.random.RandomState(1)
    z = rng.randn(5, 3)
    Y, known = _labels_with_unknowns(rng, (5, 3))
    with_nan = np.where(known, Y, np.nan)
    expected = masked_bce(Tensor(z), Y).item()
    assert masked_bce(Tensor(z), with_nan).item() == expected
    assert masked_bce(Tensor(z), np.where(known, Y, 0.0), mask=known).item() == expected
    assert masked_bce(Tensor(z), np.where(known, Y, 7.0), ignore_value=7.0).item() == expected
    # all labels known: exactly BCEWithLogitsLoss
    full = (rng.rand(5, 3) < 0.5).astype(np.float64)
    plain = F.binary_cross_entropy_with_logits(Tensor(z), full).item()
    assert masked_bce(Tensor(z), full).item() == pytest.approx(plain, rel=1e-14)


def test_unknown_labels_get_no_gradient_and_count_in_no_mean():
    z = Tensor(np.array([[0.3, -1.2], [2.0, 0.5]]), requires_grad=True)
    Y = np.array([[1.0, -1.0], [np.nan, 0.0]])
    masked_bce(z, Y).backward()
    sigmoid = 1 / (1 + np.exp(-z.data))
    expected = np.array([[sigmoid[0, 0] - 1, 0.0], [0.0, sigmoid[1, 1] - 0]]) / 2  # 2 known labels
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12)


def test_no_known_label_gives_zero_loss_and_zero_gradient():
    z = Tensor(np.ones((2, 2)), requires_grad=True)
    loss = masked_bce(z, np.full((2, 2), -1.0))
    loss.backward()
    assert loss.item() == 0.0 and not z.grad.numpy().any()


@given(arrays(shape=(4, 3)), st.integers(0, 2**32 - 1),
       st.sampled_from(["mean", "batchmean", "sum", "none"]))
def test_masked_loss_gradients_match_numerical_differences(z, seed, reduction):
    rng = np.random.RandomState(seed)
    Y, _ = _labels_with_unknowns(rng, z.shape)
    assert_gradients_match(lambda logits: masked_bce(logits, Y, reduction=reduction), z)


def test_masked_loss_second_order_and_target_gradients():
    rng = np.random.RandomState(2)
    z = rng.randn(3, 4)
    Y, known = _labels_with_unknowns(rng, (3, 4))
    soft = np.where(known, rng.rand(3, 4), -1.0)  # soft labels are fine too
    gradgradcheck(lambda logits: masked_bce(logits, Y, reduction="batchmean"), [z])
    gradcheck(lambda logits, target: masked_bce(logits, target, mask=known), [z, np.where(known, soft, 0.5)])


def test_masked_loss_is_one_node_and_keeps_float32():
    z = Tensor(np.random.RandomState(3).randn(8, 4).astype(np.float32), requires_grad=True)
    Y = np.where(np.arange(32).reshape(8, 4) % 3 == 0, -1, 1).astype(np.float32)
    loss = nn.MaskedBCEWithLogitsLoss(reduction="batchmean")(z, Y)
    assert [node.name for node in backward_order(loss)] == ["MaskedBCEWithLogits"]
    loss.backward()
    assert loss.dtype == np.float32 and z.grad.dtype == np.float32
    big = masked_bce(Tensor(np.array([[1e3, -1e3]])), np.array([[0.0, 1.0]]))  # stable for huge logits
    assert big.item() == pytest.approx(1e3)


def test_masked_loss_errors_name_the_problem():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="logits of shape \\(2, 3\\) and target of shape \\(3, 2\\)"):
        masked_bce(z, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="known labels must be in \\[0, 1\\], got values from 0.0 to 2.0"):
        masked_bce(z, np.array([[0, 1, 2], [0, 1, -1.0]]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MaskedBCEWithLogitsLoss(reduction="average")
    with pytest.raises(TypeError, match="logits must be a floating-point tensor"):
        masked_bce(Tensor(np.zeros((2, 3), dtype=np.int64)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mask of shape \\(3,\\) does not match"):
        masked_bce(z, np.zeros((2, 3)), mask=np.ones(3, dtype=bool))
    assert repr(nn.MaskedBCEWithLogitsLoss()) == "MaskedBCEWithLogitsLoss(ignore_value=-1, reduction='mean')"


def test_masked_loss_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install torch==2.13.0)")
    rng = np.random.RandomState(4)
    z = rng.randn(6, 4)
    Y, known = _labels_with_unknowns(rng, (6, 4))
    ours = Tensor(z, requires_grad=True)
    masked_bce(ours, Y, reduction="batchmean").backward()
    theirs = torch.tensor(z, requires_grad=True)
    per_element = torch.nn.functional.binary_cross_entropy_with_logits(
        theirs, torch.tensor(np.where(known, Y, 0.0)), reduction="none")
    (per_element * torch.tensor(known)).sum().div(6).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------------- transfer


def _pretrained(seed=0):
    np.random.seed(seed)
    return nn.Sequential(nn.Linear(6, 8, dtype=np.float64, init="he"), nn.ReLU(),
                         nn.Linear(8, 5, dtype=np.float64, init="he"), nn.ReLU(),
                         nn.Linear(5, 3, dtype=np.float64, init="he"))


def test_freeze_and_unfreeze_every_parameter():
    model = _pretrained()
    assert nn.freeze(model[:-1]) is not None
    assert [p.requires_grad for p in model.parameters()] == [False] * 4 + [True] * 2
    assert nn.trainable_parameters(model) == [model[4].weight, model[4].bias]
    nn.unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(TypeError, match="freeze: expected an nn.Module, got list"):
        nn.freeze([model])


def test_frozen_layers_build_no_graph_for_their_weights():
    model = _pretrained()
    nn.freeze(model[:-1])
    x = Tensor(np.random.RandomState(1).randn(4, 6))
    features = model[:-1](x)
    assert features.grad_fn is None and not features.requires_grad  # no node at all for the frozen body
    loss = F.cross_entropy(model(x), np.array([0, 1, 2, 0]))
    nodes = backward_order(loss)
    assert [n.name for n in nodes] == ["CrossEntropy", "Linear"]  # only the head is recorded
    assert nodes[1].scope == ("Sequential", "4")
    loss.backward()
    assert all(p.grad is None for p in model[:-1].parameters())
    assert model[4].weight.grad is not None


def test_replace_head_keeps_the_body_and_the_state_dict_names():
    model = _pretrained()
    body_weights = [p.data.copy() for p in model[:-1].parameters()]
    new_head = nn.Linear(5, 2, dtype=np.float64)
    old = nn.replace_head(model, new_head)
    assert old.out_features == 3 and model[-1] is new_head and len(model) == 5
    assert list(model.state_dict())[-2:] == ["4.weight", "4.bias"] and model(Tensor(np.ones((1, 6)))).shape == (1, 2)
    for before, p in zip(body_weights, model[:-1].parameters()):
        np.testing.assert_array_equal(before, p.data)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
            self.classifier = nn.Linear(3, 4)

        def forward(self, x):
            return self.classifier(self.body(x))

    net = Net()
    nn.replace_head(net, nn.Linear(3, 1), name="classifier")
    nn.replace_head(net, nn.Tanh(), name="body.1")
    assert isinstance(net.body[1], nn.Tanh) and net.classifier.out_features == 1
    with pytest.raises(ValueError, match="pass name= .* for a Net"):
        nn.replace_head(net, nn.Linear(3, 1))
    with pytest.raises(KeyError, match="Net has no submodule 'head'; its submodules: \\['body', 'body.0', "):
        nn.replace_head(net, nn.Linear(3, 1), name="head")


def test_fine_tuning_with_parameter_groups_moves_the_body_less():
    model = _pretrained()
    x, y = np.random.RandomState(2).randn(16, 6), np.arange(16) % 3
    optimizer = optim.SGD([{"params": model[:-1].parameters(), "lr": 0.001},
                           {"params": model[-1].parameters()}], lr=0.1)
    before = [p.data.copy() for p in model.parameters()]
    loss = F.cross_entropy(model(Tensor(x)), y)
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    optimizer.step()
    for i, (old, p, g) in enumerate(zip(before, model.parameters(), grads)):
        np.testing.assert_allclose(old - p.data, (0.001 if i < 4 else 0.1) * g, rtol=1e-12, atol=1e-15)


def test_frozen_body_optimizer_takes_only_the_trainable_parameters():
    model = _pretrained()
    nn.freeze(model[:-1])
    frozen = [p.data.copy() for p in model[:-1].parameters()]
    optimizer = optim.Adam(nn.trainable_parameters(model), lr=0.01)
    x, y = np.random.RandomState(3).randn(16, 6), np.arange(16) % 3
    for _ in range(5):
        optimizer.zero_grad()
        F.cross_entropy(model(Tensor(x)), y).backward()
        optimizer.step()
    for old, p in zip(frozen, model[:-1].parameters()):
        np.testing.assert_array_equal(old, p.data)
