"""The same model in PyTorch, and back: ``to_torch(module)`` and ``from_torch(torch_module)``.

When a model outgrows NumPy on one machine (bigger data, GPUs, several machines), the way on is PyTorch
and its distributed training. The move is lossless:

    torch_model = nn.interop.to_torch(model)          # same layers, same weights, same dtypes, same mode
    model_again = nn.interop.from_torch(torch_model)  # and back

Outputs and gradients agree to float tolerance. Parameters keep their dtype (float32 or float64) and
whether they require grad (frozen layers stay frozen); each module keeps its train/eval mode; shared
layers and tied parameters stay shared. Layer names and shapes are PyTorch's, so ``state_dict`` keys
match too: for a model of your own class (its ``forward`` is your code), write the same class with
``torch.nn`` and copy the weights with ``copy_to_torch(model, torch_model)`` / ``copy_from_torch``.

Converters live in one registry, per layer type (``register_converter``): Linear, the activations,
Dropout, BatchNorm1d, LayerNorm, Flatten, Identity, Sequential, ModuleList (and ModuleDict when nn has
it). A layer without a converter fails with an error naming it and its place in the model.

PyTorch is imported only when one of these functions runs: nn never needs it.
"""
import collections
import inspect

import numpy as np

from . import layers, normalization
from . import module as module_lib
from .module import Module, Parameter

TORCH_INSTALL_HINT = ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu "
                      "(the CPU build; the default build pulls gigabytes of GPU libraries)")

# our Module class -> function(module, converter) -> torch module
_TO_TORCH = {}
# torch.nn class name -> (our Module class, function(torch_module, converter) -> our module)
_FROM_TORCH = {}


def register_converter(ours, torch_name, to_torch=None, from_torch=None):
    """Teach ``to_torch``/``from_torch`` a layer: ``ours`` (our Module class) <-> ``torch.nn.<torch_name>``.

    ``to_torch(module, converter)`` returns the torch module; ``from_torch(torch_module, converter)``
    returns ours. Inside them, ``converter.parameter(p)`` converts a parameter (keeping dtype,
    requires_grad and sharing), ``converter.array(a)`` a buffer, ``converter.child(m, name)`` a
    submodule. Parameters and buffers are all assigned by the converter, so build torch layers on
    ``device="meta"`` (nothing is allocated or drawn from torch's random generator) and ours with
    ``init="zeros"`` where they take one (nothing drawn from NumPy's).
    """
    if to_torch is not None:
        _TO_TORCH[ours] = to_torch
    if from_torch is not None:
        _FROM_TORCH[torch_name] = (ours, from_torch)


def _import_torch(op):
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"{op} needs PyTorch, which is not installed: {TORCH_INSTALL_HINT}") from err
    return torch


def _find(type_, is_registered):
    """The registered class for ``type_``: itself, or a base class whose forward it does not override
    (a subclass with its own forward computes something else, so it has no converter)."""
    for cls in type_.__mro__:
        if is_registered(cls):
            return cls if cls is type_ or getattr(type_, "forward", None) is getattr(cls, "forward", None) else None
    return None


class _Converter:
    """What both directions share: a memo of converted modules and parameters (so shared layers and tied
    weights stay shared) and the path of the module being converted, for error messages."""

    def __init__(self, torch):
        self.torch = torch
        self.modules, self.parameters = {}, {}
        self.path = None

    def convert(self, module, path):
        if id(module) in self.modules:
            return self.modules[id(module)]
        previous, self.path = self.path, path
        try:
            converted = self._convert(module)
        finally:
            self.path = previous
        self.modules[id(module)] = converted
        return converted

    def child(self, module, name):
        return self.convert(module, f"{self.path}.{name}")

    def parameter(self, parameter):
        if parameter is None:
            return None
        converted = self.parameters.get(id(parameter))
        if converted is None:
            converted = self._parameter(parameter)
            self.parameters[id(parameter)] = converted
        return converted


# ---------------------------------------------------------------------------------------------- to torch


class _ToTorch(_Converter):
    def _convert(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"to_torch: {self.path} is a {type(module).__name__}, not an nn.Module")
        cls = _find(type(module), lambda c: c in _TO_TORCH)
        if cls is None:
            raise TypeError(_no_converter("to_torch", self.path, type(module).__name__,
                                          sorted(c.__name__ for c in _TO_TORCH),
                                          "build the same model with torch.nn and copy the weights with "
                                          "nn.interop.copy_to_torch(model, torch_model)"))
        converted = _TO_TORCH[cls](module, self)
        converted.training = module.training  # per module: torch's .train() would recurse
        _check_materialized(converted, self.path)
        return converted

    def _parameter(self, parameter):
        return self.torch.nn.Parameter(self.array(parameter.data), requires_grad=parameter.requires_grad)

    def array(self, array):
        return None if array is None else self.torch.from_numpy(np.array(array, copy=True))

    def dtype(self, array):
        return getattr(self.torch, np.dtype(array.dtype).name)


def _check_materialized(torch_module, path):
    own = list(torch_module.named_parameters(recurse=False)) + list(torch_module.named_buffers(recurse=False))
    for name, tensor in own:
        if tensor is not None and tensor.is_meta:
            raise RuntimeError(f"to_torch: the converter of {path} left {name} unset (internal error)")


def _no_converter(op, path, type_name, supported, workaround):
    return (f"{op}: {path} is a {type_name}, which has no converter (supported: {', '.join(supported)}). For a "
            f"model of your own class, {workaround}; for a layer type, add a converter with "
            "nn.interop.register_converter")


def to_torch(module):
    """The ``torch.nn`` module equivalent to ``module``, with copies of its weights and buffers.

    Same layer types and names, parameters in the same dtype and with the same requires_grad, each
    module in the same train/eval mode. Raises TypeError naming the first layer without an equivalent.
    """
    torch = _import_torch("to_torch")
    return _ToTorch(torch).convert(module, type(module).__name__)


# -------------------------------------------------------------------------------------------- from torch


class _FromTorch(_Converter):
    def _convert(self, torch_module):
        if not isinstance(torch_module, self.torch.nn.Module):
            raise TypeError(f"from_torch: {self.path} is a {type(torch_module).__name__}, not a torch.nn.Module")
        cls = _find(type(torch_module), self._registered)
        if cls is None:
            raise TypeError(_no_converter("from_torch", self.path, f"torch.nn {type(torch_module).__name__}",
                                          sorted(_FROM_TORCH),
                                          "write the same model with tinygrad_dl.nn and copy the weights with "
                                          "nn.interop.copy_from_torch(torch_model, model)"))
        converted = _FROM_TORCH[cls.__name__][1](torch_module, self)
        converted.training = torch_module.training
        return converted

    def _registered(self, cls):
        return cls.__name__ in _FROM_TORCH and getattr(self.torch.nn, cls.__name__, None) is cls

    def _parameter(self, tensor):
        return Parameter(self.array(tensor), requires_grad=tensor.requires_grad)

    def array(self, tensor):
        return None if tensor is None else _numpy(tensor, self.path)

    def dtype(self, tensor):
        """The NumPy dtype of a torch tensor (float16/32/64; others have no NumPy equivalent)."""
        dtype = {self.torch.float16: np.float16, self.torch.float32: np.float32,
                 self.torch.float64: np.float64}.get(tensor.dtype)
        if dtype is None:
            raise TypeError(f"from_torch: {self.path} holds a {tensor.dtype} tensor, which has no NumPy float dtype; "
                            "convert the model first (torch_model.float() or .double())")
        return dtype


def _numpy(tensor, path):
    try:
        return tensor.detach().cpu().numpy().copy()
    except TypeError as err:  # bfloat16 and friends have no NumPy dtype
        raise TypeError(f"from_torch: {path} holds a {tensor.dtype} tensor, which NumPy cannot hold; convert the "
                        "model to float32 or float64 first (torch_model.float() or .double())") from err


def from_torch(torch_module):
    """The tinygrad_dl module equivalent to ``torch_module``, with copies of its weights and buffers.

    The inverse of ``to_torch``: same layers, dtypes, requires_grad and train/eval modes. Raises TypeError
    naming the first layer without an equivalent (or with options tinygrad_dl does not have).
    """
    torch = _import_torch("from_torch")
    return _FromTorch(torch).convert(torch_module, type(torch_module).__name__)


# ------------------------------------------------------------------------------ copying weights by name


def copy_to_torch(module, torch_module):
    """Copy the parameters and buffers of ``module`` into ``torch_module`` by ``state_dict`` name, in place.

    For models of your own class: write it again with torch.nn (same attribute names), then copy. Every
    name must exist on both sides with the same shape (PyTorch's extra ``num_batches_tracked`` counters
    may stay); checked before anything is copied.
    """
    torch = _import_torch("copy_to_torch")
    ours, theirs = module.state_dict(), torch_module.state_dict()
    missing = [k for k in theirs if k not in ours and not k.endswith("num_batches_tracked")]
    _check_same_names("copy_to_torch", missing, [k for k in ours if k not in theirs],
                      [(k, v.shape, tuple(theirs[k].shape)) for k, v in ours.items() if k in theirs])
    with torch.no_grad():
        for name, array in ours.items():
            theirs[name].copy_(torch.from_numpy(array))  # state_dict tensors share storage with the module's


def copy_from_torch(torch_module, module):
    """Copy the parameters and buffers of ``torch_module`` into ``module`` by ``state_dict`` name, in place
    (PyTorch's ``num_batches_tracked`` counters too, where the model has them). The model is unchanged if
    anything mismatches."""
    _import_torch("copy_from_torch")
    ours = module.state_dict()
    theirs = {k: _numpy(v, k) for k, v in torch_module.state_dict().items()
              if k in ours or not k.endswith("num_batches_tracked")}  # a counter we have no slot for is skipped
    _check_same_names("copy_from_torch", [k for k in ours if k not in theirs], [k for k in theirs if k not in ours],
                      [(k, v.shape, theirs[k].shape) for k, v in ours.items() if k in theirs])
    module.load_state_dict(theirs)


def _check_same_names(op, missing, unexpected, shapes):
    if missing or unexpected:
        raise KeyError(f"{op}: the models' state_dict names differ: missing in the source {missing}, not in the "
                       f"destination {unexpected}")
    wrong = [f"{k}: {a} vs {b}" for k, a, b in shapes if tuple(a) != tuple(b)]
    if wrong:
        raise ValueError(f"{op}: shapes differ: " + "; ".join(wrong))


# -------------------------------------------------------------------------------------------- converters


def _linear_to(m, c):
    tm = c.torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, device="meta",
                           dtype=c.dtype(m.weight))
    tm.weight = c.parameter(m.weight)
    tm.bias = c.parameter(m.bias)
    return tm


def _linear_from(tm, c):
    m = layers.Linear(tm.in_features, tm.out_features, bias=tm.bias is not None, dtype=c.dtype(tm.weight),
                      init="zeros")
    m.weight = c.parameter(tm.weight)
    m.bias = c.parameter(tm.bias)
    return m


def _explicit_dim(tm, c):
    if tm.dim is None:
        raise TypeError(f"from_torch: {c.path} is a torch.nn {type(tm).__name__}(dim=None) (an implicit, deprecated "
                        "dim), which has no equivalent; give it a dim")
    return tm.dim


def _batch_norm_to(m, c):
    tracks = getattr(m, "track_running_stats", True)  # (older BatchNorm1d: always tracks, no counter)
    stats_dtype = m.running_mean if tracks else m.weight
    tm = c.torch.nn.BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                                track_running_stats=tracks, device="meta",
                                dtype=None if stats_dtype is None else c.dtype(stats_dtype))
    if m.affine:
        tm.weight, tm.bias = c.parameter(m.weight), c.parameter(m.bias)
    if tracks:
        tm.running_mean, tm.running_var = c.array(m.running_mean), c.array(m.running_var)
        batches = getattr(m, "num_batches_tracked", None)
        tm.num_batches_tracked = c.torch.tensor(0 if batches is None else int(batches), dtype=c.torch.long)
    return tm


def _batch_norm_from(tm, c):
    options = inspect.signature(normalization.BatchNorm1d).parameters
    if "track_running_stats" in options:
        extra = {"track_running_stats": tm.track_running_stats}
    elif not tm.track_running_stats or tm.momentum is None:
        raise TypeError(f"from_torch: {c.path} is a torch.nn BatchNorm1d with track_running_stats="
                        f"{tm.track_running_stats}, momentum={tm.momentum}; this tinygrad_dl's BatchNorm1d always "
                        "keeps running statistics with a fixed momentum")
    else:
        extra = {}
    stats_dtype = tm.running_mean if tm.track_running_stats else tm.weight
    m = normalization.BatchNorm1d(tm.num_features, eps=tm.eps, momentum=tm.momentum, affine=tm.affine,
                                  dtype=np.float32 if stats_dtype is None else c.dtype(stats_dtype), **extra)
    if tm.affine:
        m.weight, m.bias = c.parameter(tm.weight), c.parameter(tm.bias)
    if tm.track_running_stats:
        m.running_mean, m.running_var = c.array(tm.running_mean), c.array(tm.running_var)
        if getattr(m, "num_batches_tracked", None) is not None:
            m.num_batches_tracked = c.array(tm.num_batches_tracked)
    return m


def _layer_norm_to(m, c):
    dtype = c.dtype(m.weight) if m.weight is not None else None
    tm = c.torch.nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine,
                              device="meta", dtype=dtype)
    if m.elementwise_affine:
        tm.weight, tm.bias = c.parameter(m.weight), c.parameter(m.bias)
    return tm


def _layer_norm_from(tm, c):
    if tm.elementwise_affine and tm.bias is None:
        raise TypeError(f"from_torch: {c.path} is a torch.nn LayerNorm with bias=False, which has no equivalent "
                        "(tinygrad_dl's LayerNorm learns a weight and a bias, or neither)")
    dtype = c.dtype(tm.weight) if tm.weight is not None else np.float32
    m = normalization.LayerNorm(tuple(tm.normalized_shape), eps=tm.eps, elementwise_affine=tm.elementwise_affine,
                                dtype=dtype)
    if tm.elementwise_affine:
        m.weight, m.bias = c.parameter(tm.weight), c.parameter(tm.bias)
    return m


def _named_children_to(m, c):
    return collections.OrderedDict((name, c.child(child, name)) for name, child in m.named_children())


def _named_children_from(tm, c):
    # torch's named_children() lists a module used twice only once; the container's own slots keep both
    return {name: c.child(child, name) for name, child in tm._modules.items() if child is not None}


register_converter(layers.Linear, "Linear", _linear_to, _linear_from)
register_converter(layers.ReLU, "ReLU", lambda m, c: c.torch.nn.ReLU(), lambda tm, c: layers.ReLU())
register_converter(layers.LeakyReLU, "LeakyReLU", lambda m, c: c.torch.nn.LeakyReLU(m.negative_slope),
                   lambda tm, c: layers.LeakyReLU(tm.negative_slope))
register_converter(layers.Tanh, "Tanh", lambda m, c: c.torch.nn.Tanh(), lambda tm, c: layers.Tanh())
register_converter(layers.Sigmoid, "Sigmoid", lambda m, c: c.torch.nn.Sigmoid(), lambda tm, c: layers.Sigmoid())
register_converter(layers.Softmax, "Softmax", lambda m, c: c.torch.nn.Softmax(dim=m.axis),
                   lambda tm, c: layers.Softmax(axis=_explicit_dim(tm, c)))
register_converter(layers.Identity, "Identity", lambda m, c: c.torch.nn.Identity(), lambda tm, c: layers.Identity())
register_converter(layers.Flatten, "Flatten", lambda m, c: c.torch.nn.Flatten(m.start_axis, m.end_axis),
                   lambda tm, c: layers.Flatten(tm.start_dim, tm.end_dim))
# the mask's random numbers differ between the libraries (and tinygrad_dl's generator/layout options only
# choose how they are drawn): in training mode the two dropouts agree in distribution, in eval mode exactly
register_converter(layers.Dropout, "Dropout", lambda m, c: c.torch.nn.Dropout(m.p), lambda tm, c: layers.Dropout(tm.p))
register_converter(normalization.BatchNorm1d, "BatchNorm1d", _batch_norm_to, _batch_norm_from)
register_converter(normalization.LayerNorm, "LayerNorm", _layer_norm_to, _layer_norm_from)
register_converter(module_lib.Sequential, "Sequential",
                   lambda m, c: c.torch.nn.Sequential(_named_children_to(m, c)),
                   lambda tm, c: module_lib.Sequential(_named_children_from(tm, c)))
register_converter(module_lib.ModuleList, "ModuleList",
                   lambda m, c: c.torch.nn.ModuleList(_named_children_to(m, c).values()),
                   lambda tm, c: module_lib.ModuleList(_named_children_from(tm, c).values()))
# layers nn may have (registered when it does)
if hasattr(layers, "GELU"):
    register_converter(layers.GELU, "GELU", lambda m, c: c.torch.nn.GELU(approximate=m.approximate),
                       lambda tm, c: layers.GELU(approximate=tm.approximate))
if hasattr(layers, "Softplus"):
    register_converter(layers.Softplus, "Softplus", lambda m, c: c.torch.nn.Softplus(m.beta, m.threshold),
                       lambda tm, c: layers.Softplus(tm.beta, tm.threshold))
if hasattr(layers, "LogSoftmax"):
    register_converter(layers.LogSoftmax, "LogSoftmax", lambda m, c: c.torch.nn.LogSoftmax(dim=m.axis),
                       lambda tm, c: layers.LogSoftmax(axis=_explicit_dim(tm, c)))
if hasattr(module_lib, "ModuleDict"):  # a PyTorch-style ModuleDict(dict of modules), when nn has one
    register_converter(module_lib.ModuleDict, "ModuleDict",
                       lambda m, c: c.torch.nn.ModuleDict(_named_children_to(m, c)),
                       lambda tm, c: module_lib.ModuleDict(_named_children_from(tm, c)))
