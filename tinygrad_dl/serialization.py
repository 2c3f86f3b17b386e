"""``save(obj, path)`` / ``load(path)``: checkpoints without pickle.

What can be saved: nested dicts, lists and tuples of NumPy arrays, Tensors, NumPy scalars, Python numbers,
strings, bools and None, i.e. everything a training run needs to resume: ``model.state_dict()``,
``optimizer.state_dict()``, ``scheduler.state_dict()``, the epoch, the random state you keep yourself::

    tinygrad_dl.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "epoch": epoch}, "checkpoint.npz")
    checkpoint = tinygrad_dl.load("checkpoint.npz")
    model.load_state_dict(checkpoint["model"])

The file is one ``.npz`` (a zip archive): every array is a standard ``.npy`` member ``arrays/<n>.npy`` and
the structure is a JSON document ``index.json`` that refers to them. Types survive the round trip: an int
stays an int, a float64 scalar a float64 scalar, a tuple a tuple, a Tensor a Tensor (with its
requires_grad; an ``nn.Parameter`` comes back as a Tensor), dict keys keep their type (str, int, float,
bool or None) and order. Floats are written with all their digits, so a resumed run is bit-identical.

Loading never unpickles (``allow_pickle=False``) and checks the whole file before returning anything: a
file that is not such an archive, a missing or malformed index, an unknown entry, a reference to a missing
array, an object array, an oversized or inconsistent array header, or structures nested deeper than
``MAX_DEPTH`` raise a ``ValueError`` that says what is wrong and where.
"""
import json
import math
import os
import re
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]

FORMAT, VERSION = "tinygrad_dl.save", 1
INDEX_NAME = "index.json"
MAX_DEPTH = 100  # containers nested deeper than this are refused (by save and by load)
MAX_INDEX_BYTES = 64 * 2 ** 20  # a larger index.json is refused before it is read
MAX_ARRAY_HEADER_BYTES = 10_000  # NumPy's own limit for .npy headers read without trust
_ARRAY_NAME = re.compile(r"arrays/(0|[1-9][0-9]*)\.npy")
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_KEY_TYPES = (str, int, float, bool, type(None))


# ----------------------------------------------------------------------------------------------------
# save


def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of arrays, Tensors, numbers, strings, bools, None) to ``path``.

    ``path`` is a file name (".npz" is not added; the file is replaced atomically, so a crash never leaves
    half a checkpoint) or a binary file object. Raises TypeError for anything else (sets, objects, object
    arrays...) and ValueError for a structure that contains itself, naming where it is. Returns ``path``.
    """
    arrays = []
    index = {"format": FORMAT, "version": VERSION, "root": _encode(obj, arrays, "obj", 0, set())}
    text = json.dumps(index, allow_nan=False, separators=(",", ":"))
    if hasattr(path, "write"):
        _write_archive(path, text, arrays)
        return path
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            _write_archive(file, text, arrays)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _write_archive(file, text, arrays):
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(INDEX_NAME, text)
        for number, array in enumerate(arrays):
            with archive.open(f"arrays/{number}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _encode(obj, arrays, where, depth, active):
    """The JSON node of ``obj``; its arrays are appended to ``arrays``. ``active``: ids of the containers
    being encoded (a container met again inside itself is a cycle)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(obj, np.generic):  # before int/float: np.float64 is a float, and must stay a np.float64
        if obj.dtype.hasobject:
            raise TypeError(f"save: {where} is a NumPy object scalar, which cannot be saved without pickle")
        return {"scalar": _add_array(np.asarray(obj), arrays, where)}
    if obj is None or isinstance(obj, (bool, str)):
        return str(obj) if isinstance(obj, str) else obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return float(obj)
        return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
    if isinstance(obj, Tensor):
        return {"tensor": _add_array(obj.data, arrays, where), "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        return {"array": _add_array(obj, arrays, where)}
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in active:
            raise ValueError(f"save: {where} contains itself; a saved structure must be a tree")
        active.add(id(obj))
        try:
            if isinstance(obj, dict):
                return {"dict": [_encode_item(key, value, arrays, where, depth, active) for key, value in obj.items()]}
            items = [_encode(item, arrays, f"{where}[{i}]", depth + 1, active) for i, item in enumerate(obj)]
            return {"tuple" if isinstance(obj, tuple) else "list": items}
        finally:
            active.discard(id(obj))
    raise TypeError(f"save: {where} is a {type(obj).__name__}; save writes dicts, lists, tuples, NumPy arrays and "
                    "scalars, Tensors, ints, floats, strings, bools and None (convert it to one of those)")


def _encode_item(key, value, arrays, where, depth, active):
    if not isinstance(key, _KEY_TYPES):
        raise TypeError(f"save: {where} has a key of type {type(key).__name__} ({key!r}); dict keys must be str, "
                        "int, float, bool or None")
    return [_encode(key, arrays, where, depth + 1, active), _encode(value, arrays, f"{where}[{key!r}]", depth + 1,
                                                                    active)]


def _add_array(array, arrays, where):
    if array.dtype.hasobject:
        raise TypeError(f"save: {where} is an array of dtype {array.dtype} (Python objects), which cannot be saved "
                        "without pickle; convert it to numbers or strings")
    arrays.append(array)
    return f"arrays/{len(arrays) - 1}.npy"


# ----------------------------------------------------------------------------------------------------
# load


def load(path):
    """Read what ``save`` wrote (``path``: a file name or a binary file object). Never unpickles; a malformed or
    hostile file raises ValueError saying what is wrong (FileNotFoundError if there is no such file)."""
    name = getattr(path, "name", "<file object>") if hasattr(path, "read") else os.fspath(path)
    if not hasattr(path, "read") and not os.path.exists(name):
        raise FileNotFoundError(f"load: no such file: {name!r}")
    try:
        archive = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"load: {name!r} is not a file written by tinygrad_dl.save (not a zip archive: {err})") \
            from None
    with archive:
        reader = _Reader(archive, name)
        root = reader.decode(reader.read_index()["root"], "root", 0)
        reader.check_every_array_used()
        return root


class _Reader:
    """Decodes the JSON index of one archive, reading each referenced array once, checked."""

    def __init__(self, archive, name):
        self.archive, self.name = archive, name
        names = archive.namelist()
        if len(set(names)) != len(names):
            self.fail("the archive lists a member twice")
        self.members = {info.filename: info for info in archive.infolist()}
        self.used = set()

    def fail(self, message):
        raise ValueError(f"load: {self.name!r} is damaged or was not written by tinygrad_dl.save: {message}")

    def read_index(self):
        info = self.members.get(INDEX_NAME)
        if info is None:
            self.fail(f"it has no {INDEX_NAME}")
        if info.file_size > MAX_INDEX_BYTES:
            self.fail(f"its {INDEX_NAME} is {info.file_size} bytes, more than the {MAX_INDEX_BYTES} allowed")
        try:
            with self.archive.open(info) as member:
                text = member.read(MAX_INDEX_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as err:
            self.fail(f"its {INDEX_NAME} cannot be read ({type(err).__name__}: {err})")
        if len(text) > MAX_INDEX_BYTES:
            self.fail(f"its {INDEX_NAME} is larger than the {MAX_INDEX_BYTES} bytes allowed")
        try:  # ValueError covers bad UTF-8, bad JSON and integers too long to convert
            index = json.loads(text.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as err:
            self.fail(f"its {INDEX_NAME} cannot be read as JSON ({type(err).__name__}: {err})")
        if not isinstance(index, dict) or index.get("format") != FORMAT or set(index) != {"format", "version", "root"}:
            self.fail(f"its {INDEX_NAME} is not a tinygrad_dl.save index (expected the keys format, version, root "
                      f"with format {FORMAT!r})")
        if index["version"] != VERSION or isinstance(index["version"], bool):
            self.fail(f"format version {index['version']!r} is not supported (this library reads version {VERSION})")
        return index

    def decode(self, node, where, depth):
        if depth > MAX_DEPTH:
            self.fail(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if node is None or isinstance(node, (bool, int, str)):
            return node
        if isinstance(node, float):
            return node
        if not isinstance(node, dict) or not node:
            self.fail(f"{where} is a JSON {type(node).__name__}, not a value written by save")
        tag = next(iter(node))
        if tag == "tensor":
            return self.decode_tensor(node, where)
        if len(node) != 1:
            self.fail(f"{where} has the entries {sorted(node)}; expected one of float, array, scalar, tensor, list, "
                      "tuple, dict")
        value = node[tag]
        if tag == "float":
            if value not in _NON_FINITE:
                self.fail(f"{where}: {value!r} is not one of 'inf', '-inf', 'nan'")
            return _NON_FINITE[value]
        if tag == "array":
            return self.read_array(value, where)
        if tag == "scalar":
            array = self.read_array(value, where)
            if array.ndim != 0:
                self.fail(f"{where} should be a scalar but its array has shape {array.shape}")
            return array[()]
        if tag in ("list", "tuple"):
            if not isinstance(value, list):
                self.fail(f"{where}: a {tag} must be stored as a JSON array, got {type(value).__name__}")
            items = [self.decode(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return self.decode_dict(value, where, depth)
        self.fail(f"{where} has the unknown entry {tag!r}")

    def decode_dict(self, pairs, where, depth):
        if not isinstance(pairs, list):
            self.fail(f"{where}: a dict must be stored as a list of [key, value] pairs, got {type(pairs).__name__}")
        result = {}
        for i, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(f"{where}: item {i} of the dict is not a [key, value] pair")
            key = self.decode(pair[0], f"{where} key {i}", depth + 1)
            if not isinstance(key, _KEY_TYPES) or isinstance(key, np.generic):
                self.fail(f"{where}: key {i} is a {type(key).__name__}; keys are str, int, float, bool or None")
            if key in result:
                self.fail(f"{where}: the key {key!r} appears twice")
            result[key] = self.decode(pair[1], f"{where}[{key!r}]", depth + 1)
        return result

    def decode_tensor(self, node, where):
        if set(node) != {"tensor", "requires_grad"} or not isinstance(node["requires_grad"], bool):
            self.fail(f"{where}: a tensor is stored as {{'tensor': <array>, 'requires_grad': true|false}}, got the "
                      f"entries {sorted(node)}")
        array = self.read_array(node["tensor"], where)
        if node["requires_grad"] and array.dtype.kind not in "f":
            self.fail(f"{where}: a tensor of dtype {array.dtype} cannot require grad")
        return Tensor(array, requires_grad=node["requires_grad"])

    def read_array(self, member_name, where):
        if not isinstance(member_name, str) or not _ARRAY_NAME.fullmatch(member_name):
            self.fail(f"{where}: {member_name!r} is not an array name of the form 'arrays/<n>.npy'")
        info = self.members.get(member_name)
        if info is None:
            self.fail(f"{where} refers to {member_name}, which is not in the archive")
        if member_name in self.used:
            self.fail(f"{where} refers to {member_name} a second time")
        self.used.add(member_name)
        try:
            self.check_array_header(info, where)
            with self.archive.open(info) as member:
                return np.lib.format.read_array(member, allow_pickle=False, max_header_size=MAX_ARRAY_HEADER_BYTES)
        except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile, MemoryError, NotImplementedError) as err:
            if isinstance(err, ValueError) and str(err).startswith("load: "):
                raise
            self.fail(f"{where}: the array {member_name} cannot be read safely ({type(err).__name__}: {err})")

    def check_array_header(self, info, where):
        """Refuse object dtypes and a header whose shape does not match the member's size before reading the data
        (so a tiny file cannot make us allocate a huge array)."""
        with self.archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member, max_header_size=MAX_ARRAY_HEADER_BYTES)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member, max_header_size=MAX_ARRAY_HEADER_BYTES)
            else:
                self.fail(f"{where}: the array {info.filename} has .npy format version {version}, not 1.0 or 2.0")
            header_size = member.tell()
        if dtype.hasobject:
            self.fail(f"{where}: the array {info.filename} holds Python objects (dtype {dtype}), which would need "
                      "pickle; refused")
        expected = header_size + math.prod(shape) * dtype.itemsize
        if info.file_size != expected:
            self.fail(f"{where}: the array {info.filename} declares shape {shape} and dtype {dtype} ({expected} bytes "
                      f"with its header) but the member holds {info.file_size} bytes")

    def check_every_array_used(self):
        extra = sorted(set(self.members) - self.used - {INDEX_NAME})
        if extra:
            self.fail(f"it holds members the index does not mention: {extra[:5]}")


def _refuse_constant(name):
    raise json.JSONDecodeError(f"{name} is not valid JSON (save writes non-finite floats as tagged entries)", name, 0)

