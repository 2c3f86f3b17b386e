"""tinygrad_dl.save / load: exact round trips, bit-identical resumed training, and hostile files refused."""
import io
import json
import math
import os
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_dl
from tinygrad_dl import Tensor, nn, optim
from tinygrad_dl import serialization


def roundtrip(obj):
    buffer = io.BytesIO()
    tinygrad_dl.save(obj, buffer)
    buffer.seek(0)
    return tinygrad_dl.load(buffer)


def assert_same(a, b, where="obj"):
    """Equal values AND equal types, dtypes, key types and order, all the way down."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, Tensor):
        assert a.requires_grad == b.requires_grad
        assert_same(a.data, b.data, where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b] or _same_nan_keys(a, b), where
        for (ka, va), vb in zip(a.items(), b.values()):
            assert_same(va, vb, f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def _same_nan_keys(a, b):
    return all(type(x) is type(y) and (x == y or (x != x and y != y)) for x, y in zip(a, b)) and len(a) == len(b)


# ---------------------------------------------------------------------------------------------- round trips


def test_every_supported_type_survives_exactly(tmp_path):
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    obj = {
        "model": {"fc.weight": np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)},
        7: [1, -2 ** 70, 0.1, 1e-310, math.inf, -math.inf, math.nan, True, False, None, "héllo ✓", ""],
        2.5: (np.float64(0.1), np.float32(1.5), np.int64(-3), np.bool_(True), np.uint8(255)),
        None: Tensor(np.array([1.0, 2.0]), requires_grad=True),
        False: Tensor(np.arange(3)),
        "arrays": [np.array(3.25), np.zeros((0, 4)), fortran, fortran[:, ::2], np.array(["ab", "c"]),
                   np.array([1 + 2j]), np.arange(5, dtype=np.int16)],
        "empty": [{}, [], ()],
        "nested": {"a": {"b": {"c": [[[1]]]}}},
    }
    path = tinygrad_dl.save(obj, tmp_path / "everything.npz")
    assert_same(tinygrad_dl.load(path), obj)
    assert_same(roundtrip(obj), obj)


def test_the_file_is_a_plain_npz_with_a_json_index(tmp_path):
    path = tmp_path / "plain.npz"
    tinygrad_dl.save({"w": np.arange(3.0), "epoch": 4}, path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays/0.npy", "index.json"]
        index = json.loads(archive.read("index.json"))
    assert index == {"format": "tinygrad_dl.save", "version": 1,
                     "root": {"dict": [["w", {"array": "arrays/0.npy"}], ["epoch", 4]]}}
    with np.load(path, allow_pickle=False) as npz:  # NumPy reads the arrays too
        np.testing.assert_array_equal(npz["arrays/0"], np.arange(3.0))


def test_state_dicts_of_model_optimizer_and_scheduler_round_trip():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.ReduceLROnPlateau(optimizer, patience=0)
    model(Tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))).sum().backward()
    optimizer.step()
    scheduler.step(1.0)
    scheduler.step(2.0)  # best stays 1.0; inf/-inf and floats go through
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "scheduler": scheduler.state_dict(), "epoch": 3, "rng": np.random.get_state()}
    loaded = roundtrip(checkpoint)
    assert_same(loaded["optimizer"], checkpoint["optimizer"])
    assert_same(loaded["scheduler"], checkpoint["scheduler"])
    assert_same(loaded["rng"], checkpoint["rng"])
    assert list(loaded["model"]) == list(checkpoint["model"])


finite = st.floats(allow_nan=False, allow_infinity=True) | st.just(math.nan)
leaves = (st.none() | st.booleans() | st.integers(-2 ** 80, 2 ** 80) | finite | st.text(max_size=5)
          | hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
          | hnp.from_dtype(np.dtype(np.float32)).map(np.float32))
keys = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
structures = st.recursive(leaves, lambda children: st.lists(children, max_size=3)
                          | st.lists(children, max_size=3).map(tuple)
                          | st.dictionaries(keys, children, max_size=3), max_leaves=12)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(structures)
def test_random_structures_round_trip_exactly(obj):
    assert_same(roundtrip(obj), obj)


# ---------------------------------------------------------------------------------- resuming is exact


def _training_run(make_optimizer, make_scheduler, data, start=None, steps=10):
    """Train a small dropout MLP for ``steps`` mini-batch steps. ``start``: a checkpoint to resume from.
    Returns the final checkpoint and the losses of the steps taken."""
    np.random.seed(0)
    model = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Dropout(0.2),
                          nn.Linear(8, 1, dtype=np.float64))
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    first = 0
    if start is not None:
        model.load_state_dict(start["model"])
        optimizer.load_state_dict(start["optimizer"])
        scheduler.load_state_dict(start["scheduler"])
        np.random.set_state(start["rng"])  # dropout draws from np.random
        first = start["step"]
    X, Y = data
    losses = []
    for step in range(first, first + steps):
        batch = slice((step * 16) % 64, (step * 16) % 64 + 16)
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(Tensor(X[batch])), Y[batch])
        loss.backward()
        optimizer.step()
        if isinstance(scheduler, optim.ReduceLROnPlateau):
            scheduler.step(loss.item())
        else:
            scheduler.step()
        losses.append(loss.item())
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "scheduler": scheduler.state_dict(), "rng": np.random.get_state(), "step": first + steps}
    return checkpoint, losses


RESUMABLE = {
    "SGD momentum + StepLR": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                              lambda o: optim.StepLR(o, step_size=4, gamma=0.5)),
    "Adam + CosineAnnealingLR": (lambda p: optim.Adam(p, lr=0.02), lambda o: optim.CosineAnnealingLR(o, T_max=7)),
    "AdamW + OneCycleLR": (lambda p: optim.AdamW(p, lr=0.02, weight_decay=0.1),
                           lambda o: optim.OneCycleLR(o, max_lr=0.05, total_steps=30)),
    "RMSprop + ReduceLROnPlateau": (lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
                                    lambda o: optim.ReduceLROnPlateau(o, patience=1, factor=0.5)),
}


@pytest.mark.parametrize("name", RESUMABLE)
def test_save_load_resume_is_bit_identical_to_an_uninterrupted_run(name, tmp_path):
    make_optimizer, make_scheduler = RESUMABLE[name]
    rng = np.random.default_rng(3)
    data = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    uninterrupted, all_losses = _training_run(make_optimizer, make_scheduler, data, steps=20)

    halfway, first_losses = _training_run(make_optimizer, make_scheduler, data, steps=12)
    tinygrad_dl.save(halfway, tmp_path / "checkpoint.npz")
    np.random.seed(12345)  # whatever happens in between does not matter
    resumed, later_losses = _training_run(make_optimizer, make_scheduler, data,
                                          start=tinygrad_dl.load(tmp_path / "checkpoint.npz"), steps=8)

    assert first_losses + later_losses == all_losses  # every loss, bit for bit
    for key, value in uninterrupted["model"].items():
        np.testing.assert_array_equal(resumed["model"][key], value)
    assert_same(resumed["optimizer"], uninterrupted["optimizer"])
    assert_same(resumed["scheduler"], uninterrupted["scheduler"])
    # and the optimizer's state mattered: resuming with a fresh optimizer gives other losses
    fresh_optimizer = _training_run(make_optimizer, make_scheduler, data, steps=0)[0]["optimizer"]
    _, other_losses = _training_run(make_optimizer, make_scheduler, data,
                                    start=dict(halfway, optimizer=fresh_optimizer), steps=8)
    assert other_losses != later_losses


# ------------------------------------------------------------------------------------------ save errors


class Opaque:
    pass


@pytest.mark.parametrize("obj, error, message", [
    ({"a": {1, 2}}, TypeError, r"obj\['a'\] is a set"),
    ([Opaque()], TypeError, r"obj\[0\] is a Opaque"),
    ({"w": np.array([None, 1])}, TypeError, r"obj\['w'\] is an array of dtype object"),
    ({(1, 2): 3}, TypeError, "key of type tuple"),
    ({"f": lambda: 0}, TypeError, "is a function"),
    (1 + 2j, TypeError, "is a complex"),
])
def test_save_refuses_what_it_cannot_write_and_says_where(obj, error, message, tmp_path):
    path = tmp_path / "kept.npz"
    tinygrad_dl.save({"old": 1}, path)
    with pytest.raises(error, match=message):
        tinygrad_dl.save(obj, path)
    assert tinygrad_dl.load(path) == {"old": 1}  # the previous checkpoint is intact
    assert os.listdir(tmp_path) == ["kept.npz"]  # and no temporary file is left behind


def test_save_refuses_cycles_and_too_deep_nesting():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"obj\[0\] contains itself"):
        roundtrip(loop)
    deep = current = []
    for _ in range(serialization.MAX_DEPTH + 5):
        current.append([])
        current = current[0]
    with pytest.raises(ValueError, match="nested more than"):
        roundtrip(deep)
    shared = [1]
    assert roundtrip([shared, shared]) == [[1], [1]]  # shared (not cyclic) is fine


# ------------------------------------------------------------------------------------- hostile files


def _archive(members, index=None):
    """A zip archive with the given members (name -> bytes) and an index (a dict, or raw bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if index is not None:
            archive.writestr("index.json", index if isinstance(index, bytes) else json.dumps(index))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _index(root):
    return {"format": "tinygrad_dl.save", "version": 1, "root": root}


def _npy_with_header(header_text, data=b"", version=1):
    header = header_text.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header + data


ARRAY = {"array": "arrays/0.npy"}
GOOD_MEMBER = {"arrays/0.npy": _npy(np.arange(3.0))}
HOSTILE = {
    "not a zip": (b"definitely not a zip file", "not a zip archive"),
    "empty file": (b"", "not a zip archive"),
    "a pickle": (b"\x80\x04\x95" + b"\x00" * 20, "not a zip archive"),
    "a single .npy": (_npy(np.arange(3)), "not a zip archive"),
    "no index": (_archive(GOOD_MEMBER), "no index.json"),
    "index not JSON": (_archive(GOOD_MEMBER, b"{'root': 1"), "cannot be read as JSON"),
    "index not UTF-8": (_archive({}, b"\xff\xfe\x00"), "cannot be read as JSON"),
    "index with NaN constant": (_archive({}, b'{"format": "tinygrad_dl.save", "version": 1, "root": NaN}'),
                                "cannot be read as JSON"),
    "index a list": (_archive({}, [1, 2]), "not a tinygrad_dl.save index"),
    "wrong format": (_archive({}, {"format": "other", "version": 1, "root": 1}), "not a tinygrad_dl.save index"),
    "extra index key": (_archive({}, dict(_index(1), extra=1)), "not a tinygrad_dl.save index"),
    "future version": (_archive({}, dict(_index(1), version=2)), "version 2 is not supported"),
    "unknown tag": (_archive({}, _index({"pickle": "x"})), "unknown entry 'pickle'"),
    "two tags": (_archive(GOOD_MEMBER, _index({"array": "arrays/0.npy", "list": []})), "has the entries"),
    "bare JSON list": (_archive({}, _index([1, 2])), "JSON list"),
    "list as dict": (_archive({}, _index({"list": {"a": 1}})), "must be stored as a JSON array"),
    "dict not pairs": (_archive({}, _index({"dict": [[1, 2, 3]]})), "not a \\[key, value\\] pair"),
    "duplicate key": (_archive({}, _index({"dict": [["a", 1], ["a", 2]]})), "appears twice"),
    "unhashable key": (_archive(GOOD_MEMBER, _index({"dict": [[ARRAY, 1]]})), "keys are str"),
    "bad float tag": (_archive({}, _index({"float": "1e400"})), "not one of 'inf'"),
    "missing array": (_archive({}, _index(ARRAY)), "not in the archive"),
    "array path traversal": (_archive({}, _index({"array": "../../etc/passwd"})), "not an array name"),
    "array referenced twice": (_archive(GOOD_MEMBER, _index({"list": [ARRAY, ARRAY]})), "a second time"),
    "unreferenced member": (_archive(dict(GOOD_MEMBER, **{"evil.pkl": b"x"}), _index(ARRAY)), "does not mention"),
    "object array": (_archive({"arrays/0.npy": _npy(np.array([None, {}]), allow_pickle=True)}, _index(ARRAY)),
                     "Python objects"),
    "huge array header": (_archive({"arrays/0.npy": _npy_with_header(" " * 200_000, version=2)}, _index(ARRAY)),
                          "cannot be read safely"),
    "shape larger than the data": (_archive({"arrays/0.npy": _npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }\n")}, _index(ARRAY)),
        "declares shape"),
    "garbage header": (_archive({"arrays/0.npy": b"\x93NUMPY\x01\x00\x05\x00abcde"}, _index(ARRAY)),
                       "cannot be read safely"),
    "not an npy": (_archive({"arrays/0.npy": b"hello"}, _index(ARRAY)), "cannot be read safely"),
    "scalar with shape": (_archive(GOOD_MEMBER, _index({"scalar": "arrays/0.npy"})), "should be a scalar"),
    "int tensor requiring grad": (_archive({"arrays/0.npy": _npy(np.arange(3))},
                                           _index({"tensor": "arrays/0.npy", "requires_grad": True})),
                                  "cannot require grad"),
    "tensor flag not a bool": (_archive(GOOD_MEMBER, _index({"tensor": "arrays/0.npy", "requires_grad": 1})),
                               "a tensor is stored as"),
    "too deep": (_archive({}, _index(json.loads("{\"list\": [" * 150 + "1" + "]}" * 150))), "nested more than"),
    "deeper than JSON can parse": (_archive({}, b'{"root": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
                                   "cannot be read as JSON"),
    "integer with too many digits": (_archive({}, b'{"format": "tinygrad_dl.save", "version": 1, "root": '
                                              + b"9" * 5000 + b"}"), "cannot be read as JSON"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_or_malformed_files_are_refused_clearly(name, tmp_path):
    data, message = HOSTILE[name]
    path = tmp_path / "hostile.npz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as caught:
        tinygrad_dl.load(path)
    assert "hostile.npz" in str(caught.value)


def test_an_oversized_index_is_refused_before_it_is_read(monkeypatch, tmp_path):
    path = tmp_path / "big.npz"
    tinygrad_dl.save({"padding": "x" * 5000}, path)
    monkeypatch.setattr(serialization, "MAX_INDEX_BYTES", 1000)
    with pytest.raises(ValueError, match="more than the 1000 allowed"):
        tinygrad_dl.load(path)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        tinygrad_dl.load(tmp_path / "nothing.npz")


_VALID = None


def _valid_file():
    global _VALID
    if _VALID is None:
        buffer = io.BytesIO()
        tinygrad_dl.save({"w": np.arange(6.0).reshape(2, 3), "meta": [1, "a", None, (2.5, True)],
                          "t": Tensor(np.ones(2), requires_grad=True)}, buffer)
        _VALID = buffer.getvalue()
    return _VALID


@given(st.data())
def test_corrupted_bytes_either_load_or_fail_with_a_value_error(data):
    """Flip, cut or insert bytes anywhere in a valid file: load returns or raises ValueError, nothing else."""
    raw = bytearray(_valid_file())
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            raw[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[position:position + data.draw(st.integers(1, 64))]
        else:
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=16))
        if not raw:
            raw = bytearray(b"\x00")
    try:
        tinygrad_dl.load(io.BytesIO(bytes(raw)))
    except ValueError as err:
        assert str(err).startswith("load: ")
