"""nn.Parameter, nn.Module (registration, traversal, modes, state_dict, save/load, name scopes), Sequential
and ModuleList."""
import numpy as np
import pytest

from tinygrad_dl import Tensor, backward_order, nn


class Net(nn.Module):
    """fc1, a loose parameter, a buffer and fc2, assigned in that order."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, generator=np.random.default_rng(0))
        self.scale = nn.Parameter(np.array([2.0], dtype=np.float32))
        self.register_buffer("steps", np.zeros(1))
        self.fc2 = nn.Linear(4, 2, generator=np.random.default_rng(1))

    def forward(self, x):
        return self.fc2(self.fc1(x).relu() * self.scale)


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
        self.head = nn.Sequential(nn.Linear(2, 3), nn.Tanh())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def _values(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_unchanged(model, before):
    after = model.state_dict()
    assert list(after) == list(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


# -- Parameter -------------------------------------------------------------------------------------------


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    data = np.arange(6.0).reshape(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, Tensor) and p.is_leaf and p.requires_grad
    assert p.data is data and p.dtype == np.float64  # float64 stays float64, no copy
    assert nn.Parameter([1, 2]).dtype == np.float32
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad


def test_parameter_from_a_tensor_with_history_is_detached():
    x = Tensor(np.ones(3), requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(p.data, [2.0, 2.0, 2.0])


def test_parameter_of_integers_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))


# -- registration and traversal ------------------------------------------------------------------------------


def test_named_parameters_follow_registration_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "scale", "fc2.weight",
                                                            "fc2.bias"]
    assert [p.shape for p in net.parameters()] == [(4, 3), (4,), (1,), (2, 4), (2,)]
    assert list(net.state_dict()) == ["fc1.weight", "fc1.bias", "scale", "steps", "fc2.weight", "fc2.bias"]
    assert [name for name, _ in net.named_buffers()] == ["steps"]


def test_children_and_modules():
    model = Stack()
    assert [name for name, _ in model.named_children()] == ["layers", "head"]
    assert [name for name, _ in model.named_modules()] == ["", "layers", "layers.0", "layers.1", "head", "head.0",
                                                           "head.1"]
    assert model.modules()[0] is model and len(model.children()) == 2
    assert [name for name, _ in model.named_parameters()] == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                                              "layers.1.bias", "head.0.weight", "head.0.bias"]


def test_shared_parameters_are_listed_once():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    model[1].weight = model[0].weight
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # every path is saved


def test_reassigning_keeps_the_position_and_none_empties_a_slot():
    net = Net()
    net.scale = nn.Parameter(np.array([5.0]))
    net.fc1.bias = None
    assert [name for name, _ in net.named_parameters()] == ["fc1.weight", "scale", "fc2.weight", "fc2.bias"]
    assert net.scale.data[0] == 5.0


def test_a_plain_tensor_cannot_replace_a_parameter():
    net = Net()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = Tensor(np.ones(1))


def test_plain_attributes_are_not_registered_and_delattr_unregisters():
    net = Net()
    net.note = Tensor(np.ones(2))  # a Tensor that is not a Parameter is just an attribute
    assert "note" not in dict(net.named_parameters())
    del net.fc2
    assert [name for name, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "scale"]


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Broken()


def test_register_buffer_rules():
    net = Net()
    with pytest.raises(KeyError, match="already"):
        net.register_buffer("scale", np.zeros(1))
    with pytest.raises(KeyError, match="invalid"):
        net.register_buffer("a.b", np.zeros(1))
    with pytest.raises(TypeError, match="NumPy array"):
        net.register_buffer("bad", [1, 2])
    net.steps = np.array([3.0])  # assigning to a buffer name replaces the buffer
    np.testing.assert_array_equal(net.state_dict()["steps"], [3.0])


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


# -- modes and grads -------------------------------------------------------------------------------------------


def test_train_and_eval_reach_every_submodule():
    model = Stack()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_sets_grads_to_none():
    net = Net()
    net(Tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# -- state_dict / load_state_dict -------------------------------------------------------------------------


def test_state_dict_returns_copies():
    net = Net()
    state = net.state_dict()
    state["fc1.weight"][...] = 123.0
    assert not np.any(net.fc1.weight.data == 123.0)


def test_load_state_dict_round_trip_copies_in_place():
    source, target = Net(), Net()
    source.fc1.weight.data[...] = 7.0
    source.steps[...] = 3.0
    weight_array = target.fc1.weight.data
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.fc1.weight.data is weight_array  # same array: optimizers keep seeing it
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value)
    assert target.fc1.weight.dtype == np.float32


def test_missing_key_is_a_key_error_and_leaves_the_model_unchanged():
    net = Net()
    before = _values(net)
    state = Net().state_dict()
    del state["fc2.bias"]
    with pytest.raises(KeyError, match="missing keys \\['fc2.bias'\\]"):
        net.load_state_dict(state)
    _assert_unchanged(net, before)


def test_unexpected_key_is_a_key_error_and_leaves_the_model_unchanged():
    net = Net()
    before = _values(net)
    state = Net().state_dict()
    state["fc3.weight"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match="unexpected keys \\['fc3.weight'\\]"):
        net.load_state_dict(state)
    _assert_unchanged(net, before)


def test_shape_mismatch_is_a_value_error_naming_key_and_shapes_and_nothing_is_copied():
    net = Net()
    before = _values(net)
    state = {k: v + 1 for k, v in Net().state_dict().items()}  # all valid except the last one
    state["fc2.bias"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"'fc2.bias': the state has shape \(3,\), the model \(2,\)"):
        net.load_state_dict(state)
    _assert_unchanged(net, before)


def test_uncastable_values_are_refused():
    net = Net()
    state = net.state_dict()
    state["scale"] = np.array(["x"])
    with pytest.raises(ValueError, match="'scale'.*dtype <U1, not numbers"):
        net.load_state_dict(state)


def test_non_strict_loading_reports_missing_and_unexpected_keys():
    net = Net()
    result = net.load_state_dict({"scale": np.array([9.0]), "other": np.zeros(1)}, strict=False)
    assert "fc1.weight" in result.missing_keys and result.unexpected_keys == ["other"]
    assert net.scale.data[0] == 9.0


def test_buffers_of_batchnorm_round_trip():
    source = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    source(Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)))  # moves the stats
    assert not np.allclose(source[1].running_mean, 0)
    target = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target[1].running_mean, source[1].running_mean)
    np.testing.assert_array_equal(target[1].running_var, source[1].running_var)


# -- save / load ---------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    source, target = Net(), Net()
    source.steps[...] = 4.0
    path = source.save(tmp_path / "net")
    assert path.endswith("net.npz")
    target.load(tmp_path / "net")  # the ".npz" suffix is found
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value)
    x = Tensor(np.ones((1, 3), dtype=np.float32))
    np.testing.assert_array_equal(target(x).data, source(x).data)


def test_loading_garbage_is_a_value_error_and_leaves_the_model_unchanged(tmp_path):
    net = Net()
    before = _values(net)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ValueError, match="not an .npz file"):
        net.load(bad)
    _assert_unchanged(net, before)


def test_loading_a_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        Net().load(path)


def test_loading_pickled_objects_is_refused(tmp_path):
    net = Net()
    before = _values(net)
    path = tmp_path / "pickled.npz"
    np.savez(path, **{"fc1.weight": np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(ValueError, match="pickled"):
        net.load(path)
    _assert_unchanged(net, before)


def test_loading_a_mismatched_file_names_the_file_and_leaves_the_model_unchanged(tmp_path):
    path = nn.Sequential(nn.Linear(3, 5)).save(tmp_path / "other.npz")
    net = Net()
    before = _values(net)
    with pytest.raises(KeyError, match="other.npz does not match"):
        net.load(path)
    small, big = nn.Linear(3, 4), nn.Linear(3, 5)
    small_before = _values(small)
    with pytest.raises(ValueError, match="shape"):
        small.load(big.save(tmp_path / "big"))
    _assert_unchanged(net, before)
    _assert_unchanged(small, small_before)


def test_loading_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        Net().load(tmp_path / "nothing.npz")


# -- name scopes -----------------------------------------------------------------------------------------------


def _scopes(output):
    return [node.scope for node in backward_order(output)]


def test_sequential_children_are_scoped_by_index():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    out = model(Tensor(np.ones((4, 2), dtype=np.float32)))
    assert _scopes(out) == [("Sequential", "2"), ("Sequential", "1"), ("Sequential", "0")]


def test_attribute_names_module_lists_and_nesting():
    model = Stack()
    out = model(Tensor(np.ones((1, 2), dtype=np.float32)))
    assert _scopes(out) == [("Stack", "head", "1"), ("Stack", "head", "0"), ("Stack", "layers.1"),
                            ("Stack", "layers.0")]
    net = Net()
    scopes = set(_scopes(net(Tensor(np.ones((1, 3), dtype=np.float32)))))
    assert scopes == {("Net", "fc1"), ("Net",), ("Net", "fc2")}  # relu and * scale belong to Net itself


def test_a_root_module_list_names_items_by_index_and_slicing_does_not_rename():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 2))
    assert layers[1].scope_name == "1"
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2))
    tail = model[1:]
    assert isinstance(tail, nn.Sequential) and len(tail) == 2
    assert [m.scope_name for m in model] == ["0", "1", "2"]


def test_no_scope_outside_modules():
    x = Tensor(np.ones(2), requires_grad=True)
    assert (x * 2).grad_fn.scope in (None, ())


# -- containers ------------------------------------------------------------------------------------------------


def test_sequential_runs_in_order_and_supports_indexing():
    first, second = nn.Linear(2, 3), nn.Linear(3, 1)
    model = nn.Sequential(first, nn.ReLU(), second)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    expected = second(first(x).relu()).data
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-6)
    assert len(model) == 3 and model[0] is first and model[-1] is second and list(model)[2] is second


def test_sequential_follows_changes_made_after_a_call():
    """Sequential keeps its layers in a tuple made at the first call: replacing, adding, emptying and deleting a
    child afterwards must show in the next call."""
    x = Tensor(np.array([[-1.0, 2.0]]))
    model = nn.Sequential(nn.ReLU())
    assert model(x).data.tolist() == [[0.0, 2.0]]
    setattr(model, "0", nn.Sigmoid())  # replaced
    np.testing.assert_allclose(model(x).data, 1 / (1 + np.exp([[1.0, -2.0]])))
    model.extra = nn.Flatten(0)  # added
    assert model(x).shape == (2,)
    model.extra = None  # emptied: the slot is skipped
    assert model(x).shape == (1, 2)
    delattr(model, "0")
    delattr(model, "extra")
    assert model(x) is x  # no layers left: the input comes back


def test_sequential_from_a_dict_uses_its_names():
    model = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert [name for name, _ in model.named_children()] == ["fc", "act"]
    assert model.fc.scope_name == "fc"


def test_containers_refuse_non_modules():
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)
    with pytest.raises(TypeError, match="expected a Module"):
        nn.ModuleList([3])


def test_module_list_behaves_like_a_list():
    layers = nn.ModuleList()
    layers.append(nn.Linear(1, 2)).extend([nn.Linear(2, 3), nn.Linear(3, 4)])
    assert len(layers) == 3 and [m.out_features for m in layers] == [2, 3, 4]
    assert layers[-1].out_features == 4 and len(layers[:2]) == 2
    layers[0] = nn.Linear(1, 7)
    assert layers[0].out_features == 7 and len(layers.parameters()) == 6
    with pytest.raises(IndexError):
        layers[5] = nn.Linear(1, 1)
    with pytest.raises(NotImplementedError, match="not callable"):
        layers(Tensor(np.ones(1)))


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.2)))
    assert "(0): Linear(in_features=2, out_features=3, bias=True" in text and "(1): Dropout(p=0.2)" in text
