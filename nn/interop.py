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

Converters live in one registry, per layer type (``register_converter``):
Linear, the activations, Dropout, BatchNorm1d/2d, LayerNorm, Flatten, Identity, Conv1d/2d, MaxPool2d,
AvgPool2d, AdaptiveAvgPool2d, ZeroPad2d, the recurrent cells and layers, Embedding, MultiheadAttention,
the Transformer layers and stacks, the losses, Sequential, ModuleList and ModuleDict. A layer without a
converter, or with an option the other library lacks, fails with an error naming it and its place in
the model (``NO_TORCH_TWIN`` says what to do for the layers PyTorch does not have).

PyTorch is imported only when one of these functions runs: nn never needs it.
"""
import collections
import contextlib
import warnings

import numpy as np

from . import attention, conv, layers, losses, multitask, normalization, padding, pooling, rnn, sparse, transformer
from . import functional as F
from . import module as module_lib
from .module import Module, Parameter

TORCH_INSTALL_HINT = ("pip install torch==2.13.0 (pinned: that version's CPU build; an unpinned torch may pull "
                      "gigabytes of GPU libraries)")

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
    ``init="zeros"`` where they take one, else inside ``numpy_random_untouched()`` (NumPy's global
    generator ends where it started).
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
    op = "to_torch"

    def _convert(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"to_torch: {self.path} is a {type(module).__name__}, not an nn.Module")
        cls = _find(type(module), lambda c: c in _TO_TORCH)
        if cls is None and type(module) in NO_TORCH_TWIN:
            raise TypeError(f"to_torch: {self.path} is a {type(module).__name__}, which PyTorch has no layer for: "
                            f"{NO_TORCH_TWIN[type(module)]}")
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
    op = "from_torch"

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
#
# Each pair reads the options off one layer and builds the other library's layer with them, then hands
# it the converted parameters (or submodules). Options one library lacks are refused by name.


@contextlib.contextmanager
def numpy_random_untouched():
    """Build our layers whose constructors draw initial weights (thrown away: the converter assigns the
    real ones) without moving NumPy's global generator."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _refuse(c, text):
    """The layer being converted has an option the other library does not have."""
    raise TypeError(f"{c.op}: {c.path} {text}")


def _set_parameters(target, source, names, c):
    for name in names:
        setattr(target, name, c.parameter(getattr(source, name, None)))


def _own_parameter_names(torch_module):
    return [name for name, _ in torch_module.named_parameters(recurse=False)]


# -- Linear, activations, Dropout, Flatten, Identity


def _linear_to(m, c):
    tm = c.torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, device="meta",
                           dtype=c.dtype(m.weight))
    _set_parameters(tm, m, ("weight", "bias"), c)
    return tm


def _linear_from(tm, c):
    m = layers.Linear(tm.in_features, tm.out_features, bias=tm.bias is not None, dtype=c.dtype(tm.weight),
                      init="zeros")
    _set_parameters(m, tm, ("weight", "bias"), c)
    return m


def _explicit_dim(tm, c):
    if tm.dim is None:
        _refuse(c, f"is a torch.nn {type(tm).__name__}(dim=None) (an implicit, deprecated dim), which has no "
                   "equivalent; give it a dim")
    return tm.dim


# -- normalisation


def _batch_norm_to(m, c):
    stats_dtype = m.running_mean if m.track_running_stats else m.weight
    tm = getattr(c.torch.nn, "BatchNorm2d" if isinstance(m, normalization.BatchNorm2d) else "BatchNorm1d")(
        m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine, track_running_stats=m.track_running_stats,
        device="meta", dtype=None if stats_dtype is None else c.dtype(stats_dtype))
    if m.affine:
        _set_parameters(tm, m, ("weight", "bias"), c)
    if m.track_running_stats:
        tm.running_mean, tm.running_var = c.array(m.running_mean), c.array(m.running_var)
        tm.num_batches_tracked = c.torch.tensor(int(m.num_batches_tracked), dtype=c.torch.long)
    return tm


def _batch_norm_from(ours):
    def convert(tm, c):
        stats_dtype = tm.running_mean if tm.track_running_stats else tm.weight
        m = ours(tm.num_features, eps=tm.eps, momentum=tm.momentum, affine=tm.affine,
                 track_running_stats=tm.track_running_stats,
                 dtype=np.float32 if stats_dtype is None else c.dtype(stats_dtype))
        if tm.affine:
            _set_parameters(m, tm, ("weight", "bias"), c)
        if tm.track_running_stats:
            m.running_mean, m.running_var = c.array(tm.running_mean), c.array(tm.running_var)
            m.num_batches_tracked = c.array(tm.num_batches_tracked)
        return m
    return convert


def _layer_norm_to(m, c):
    dtype = c.dtype(m.weight) if m.weight is not None else None
    with_bias = m.bias is not None
    tm = c.torch.nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine, bias=with_bias,
                              device="meta", dtype=dtype)
    if m.elementwise_affine:
        _set_parameters(tm, m, ("weight", "bias") if with_bias else ("weight",), c)
    return tm


def _layer_norm_from(tm, c):
    with_bias = tm.bias is not None
    dtype = c.dtype(tm.weight) if tm.weight is not None else np.float32
    m = normalization.LayerNorm(tuple(tm.normalized_shape), eps=tm.eps, elementwise_affine=tm.elementwise_affine,
                                bias=with_bias, dtype=dtype)
    if tm.elementwise_affine:
        _set_parameters(m, tm, ("weight", "bias") if with_bias else ("weight",), c)
    return m


# -- convolution, pooling, padding


def _conv_to(m, c):
    name = f"Conv{m.spatial_dims}d"
    if m.padding == "same" and any(s != 1 for s in m.stride):
        _refuse(c, f"is a {name} with padding='same' and stride {m.stride}: its SAME padding (TensorFlow's) "
                   f"depends on the input size, and torch.nn.{name} takes 'same' only with stride 1; give it "
                   "int padding")
    tm = getattr(c.torch.nn, name)(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding,
                                   dilation=m.dilation, groups=m.groups, bias=m.bias is not None, device="meta",
                                   dtype=c.dtype(m.weight))
    _set_parameters(tm, m, ("weight", "bias"), c)
    return tm


def _conv_from(ours):
    def convert(tm, c):
        if tm.padding_mode != "zeros":
            _refuse(c, f"is a torch.nn {type(tm).__name__} with padding_mode={tm.padding_mode!r}; tinygrad_dl pads "
                       "with zeros only")
        m = ours(tm.in_channels, tm.out_channels, tm.kernel_size, stride=tm.stride, padding=tm.padding,
                 dilation=tm.dilation, groups=tm.groups, bias=tm.bias is not None, dtype=c.dtype(tm.weight),
                 init="zeros")
        _set_parameters(m, tm, ("weight", "bias"), c)
        return m
    return convert


def _pool_padding_to(m, c):
    """torch's pools take int padding only: "valid" is 0; TensorFlow's "same" depends on the input size."""
    if m.padding == "same":
        _refuse(c, f"is a {type(m).__name__} with padding='same' (TensorFlow's, which depends on the input "
                   "size); torch's pools take int padding: use padding=kernel_size // 2 where that fits")
    return (0, 0) if m.padding == "valid" else m.padding


def _max_pool_to(m, c):
    return c.torch.nn.MaxPool2d(m.kernel_size, m.stride, _pool_padding_to(m, c), m.dilation)


def _max_pool_from(tm, c):
    if tm.return_indices or tm.ceil_mode:
        _refuse(c, f"is a torch.nn MaxPool2d with return_indices={tm.return_indices}, ceil_mode={tm.ceil_mode}; "
                   "tinygrad_dl's MaxPool2d has neither")
    return pooling.MaxPool2d(tm.kernel_size, tm.stride, tm.padding, tm.dilation)


def _avg_pool_to(m, c):
    padding_ = _pool_padding_to(m, c)
    include = True if m.count_include_pad is None else m.count_include_pad  # None: PyTorch's rule for int padding
    return c.torch.nn.AvgPool2d(m.kernel_size, m.stride, padding_, count_include_pad=include)


def _avg_pool_from(tm, c):
    if tm.ceil_mode or tm.divisor_override is not None:
        _refuse(c, f"is a torch.nn AvgPool2d with ceil_mode={tm.ceil_mode}, divisor_override={tm.divisor_override}; "
                   "tinygrad_dl's AvgPool2d has neither")
    return pooling.AvgPool2d(tm.kernel_size, tm.stride, tm.padding, count_include_pad=tm.count_include_pad)


def _zero_pad_from(tm, c):
    if min(tm.padding) < 0:
        _refuse(c, f"is a torch.nn ZeroPad2d{tuple(tm.padding)} that crops (negative padding); tinygrad_dl's "
                   "ZeroPad2d only pads")
    return padding.ZeroPad2d(tuple(tm.padding))


# -- recurrent layers, embeddings


def _cell(name):
    """The converters of torch.nn.<name> (RNNCell, LSTMCell, GRUCell) and ours."""
    weights = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def to_torch(m, c):
        options = {"nonlinearity": m.nonlinearity} if name == "RNNCell" else {}
        tm = getattr(c.torch.nn, name)(m.input_size, m.hidden_size, bias=m.bias, device="meta",
                                       dtype=c.dtype(m.weight_ih), **options)
        _set_parameters(tm, m, weights, c)
        return tm

    def from_torch(tm, c):
        options = {"nonlinearity": tm.nonlinearity} if name == "RNNCell" else {}
        with numpy_random_untouched():
            m = getattr(rnn, name)(tm.input_size, tm.hidden_size, bias=tm.bias, dtype=c.dtype(tm.weight_ih), **options)
        _set_parameters(m, tm, weights, c)
        return m

    return to_torch, from_torch


def _recurrent(name):
    """The converters of torch.nn.<name> (RNN, LSTM, GRU: any layers, directions, batch_first, dropout)."""

    def options(layer):
        kept = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first,
                    dropout=layer.dropout, bidirectional=layer.bidirectional)
        return {**kept, "nonlinearity": layer.nonlinearity} if name == "RNN" else kept

    def to_torch(m, c):
        with warnings.catch_warnings():  # dropout with one layer: the user was warned when building the model
            warnings.simplefilter("ignore", UserWarning)
            tm = getattr(c.torch.nn, name)(m.input_size, m.hidden_size, **options(m), device="meta",
                                           dtype=c.dtype(m.weight_ih_l0))
        _set_parameters(tm, m, _own_parameter_names(tm), c)  # torch's RNN keeps its weight list up to date
        return tm

    def from_torch(tm, c):
        if getattr(tm, "proj_size", 0):
            _refuse(c, f"is a torch.nn LSTM with proj_size={tm.proj_size}, which tinygrad_dl's LSTM does not have "
                       "(use a Linear layer on the output)")
        with numpy_random_untouched(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            m = getattr(rnn, name)(tm.input_size, tm.hidden_size, **options(tm), dtype=c.dtype(tm.weight_ih_l0))
        _set_parameters(m, tm, _own_parameter_names(tm), c)
        return m

    return to_torch, from_torch


def _embedding_to(m, c):
    tm = c.torch.nn.Embedding(m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx, device="meta",
                              dtype=c.dtype(m.weight))
    tm.weight = c.parameter(m.weight)
    return tm


def _embedding_from(tm, c):
    if tm.max_norm is not None or tm.scale_grad_by_freq or tm.sparse:
        _refuse(c, f"is a torch.nn Embedding with max_norm={tm.max_norm}, scale_grad_by_freq={tm.scale_grad_by_freq}, "
                   f"sparse={tm.sparse}; tinygrad_dl's Embedding has none of these")
    placeholder = np.zeros((tm.num_embeddings, tm.embedding_dim), dtype=c.dtype(tm.weight))  # nothing drawn
    m = sparse.Embedding(tm.num_embeddings, tm.embedding_dim, padding_idx=tm.padding_idx, _weight=placeholder)
    m.weight = c.parameter(tm.weight)
    return m


# -- attention and the Transformer


def _attention_to(m, c):
    tm = c.torch.nn.MultiheadAttention(m.embed_dim, m.num_heads, dropout=m.dropout, bias=m.in_proj_bias is not None,
                                       kdim=m.kdim, vdim=m.vdim, batch_first=m.batch_first, device="meta",
                                       dtype=c.dtype(m.out_proj.weight))
    _set_parameters(tm, m, _own_parameter_names(tm), c)
    # torch's own out_proj (a Linear subclass) is kept, so the module is what torch itself would build
    _set_parameters(tm.out_proj, m.out_proj, ("weight", "bias"), c)
    tm.out_proj.training = m.out_proj.training
    return tm


def _attention_from(tm, c):
    if tm.bias_k is not None or tm.add_zero_attn:
        _refuse(c, "is a torch.nn MultiheadAttention with add_bias_kv or add_zero_attn, which tinygrad_dl's "
                   "MultiheadAttention does not have")
    with numpy_random_untouched():
        m = attention.MultiheadAttention(tm.embed_dim, tm.num_heads, dropout=tm.dropout,
                                         bias=tm.in_proj_bias is not None, kdim=tm.kdim, vdim=tm.vdim,
                                         batch_first=tm.batch_first, dtype=c.dtype(tm.out_proj.weight))
    _set_parameters(m, tm, _own_parameter_names(tm), c)
    m.out_proj = c.child(tm.out_proj, "out_proj")
    return m


def _activation_to(m, c):
    """Our feed-forward activation as torch takes it: "relu", "gelu" or a converted activation layer."""
    activation = m.activation
    if activation is F.relu:
        return "relu"
    if activation is F.gelu:
        return "gelu"
    if isinstance(activation, Module):
        return c.child(activation, "activation")
    _refuse(c, f"has the activation function {getattr(activation, '__name__', activation)!r}, which torch cannot "
               "take over; use activation='relu' or 'gelu', or an activation layer (nn.GELU('tanh'), nn.Tanh(), ...)")


def _activation_from(tm, c):
    activation = tm.activation
    if activation is c.torch.nn.functional.relu:
        return "relu"
    if activation is c.torch.nn.functional.gelu:
        return "gelu"
    if isinstance(activation, c.torch.nn.Module):
        return c.child(activation, "activation")
    _refuse(c, f"has the activation function {getattr(activation, '__name__', activation)!r}, which has no "
               "tinygrad_dl equivalent; use 'relu', 'gelu' or an activation layer (torch.nn.GELU(), ...)")


def _transformer_layer(name):
    """The converters of torch.nn.Transformer<name>Layer: options read off the parts, then every part converted
    (self_attn, [multihead_attn,] linear1, dropout, linear2, norm1..3, dropout1..3, [activation])."""

    def options(layer, dtype, activation):
        return dict(d_model=layer.self_attn.embed_dim, nhead=layer.self_attn.num_heads,
                    dim_feedforward=layer.linear1.out_features, dropout=layer.dropout.p, activation=activation,
                    layer_norm_eps=layer.norm1.eps, batch_first=layer.self_attn.batch_first,
                    norm_first=layer.norm_first, bias=layer.linear1.bias is not None, dtype=dtype)

    def to_torch(m, c):
        tm = getattr(c.torch.nn, name)(**options(m, c.dtype(m.linear1.weight), _activation_to(m, c)), device="meta")
        for child_name, child in m.named_children():
            setattr(tm, child_name, c.child(child, child_name))
        return tm

    def from_torch(tm, c):
        with numpy_random_untouched():
            m = getattr(transformer, name)(**options(tm, c.dtype(tm.linear1.weight), _activation_from(tm, c)))
        for child_name, child in tm.named_children():
            setattr(m, child_name, c.child(child, child_name))
        return m

    return to_torch, from_torch


def _transformer_stack(name):
    """The converters of torch.nn.Transformer<name> (Encoder, Decoder): the layers and the final norm."""

    def to_torch(m, c):
        options = {"enable_nested_tensor": False} if name == "TransformerEncoder" else {}  # nested tensors would
        # give zeros at padded positions; we compute them, as torch does without nested tensors
        norm = None if m.norm is None else c.child(m.norm, "norm")
        tm = getattr(c.torch.nn, name)(c.child(m.layers[0], "layers.0"), len(m.layers), norm=norm, **options)
        tm.layers = c.child(m.layers, "layers")  # torch deep-copied layer 0: give it the converted layers instead
        return tm

    def from_torch(tm, c):
        norm = None if tm.norm is None else c.child(tm.norm, "norm")
        with numpy_random_untouched():
            m = getattr(transformer, name)(c.child(tm.layers[0], "layers.0"), len(tm.layers), norm=norm)
        m.layers = c.child(tm.layers, "layers")
        return m

    return to_torch, from_torch


# -- losses (their constant weights are buffers on both sides)


_LOSS_OPTIONS = {"MSELoss": (), "L1Loss": (), "SmoothL1Loss": ("beta",), "BCELoss": ("weight",),
                 "BCEWithLogitsLoss": ("weight", "pos_weight"), "NLLLoss": ("weight", "ignore_index"),
                 "CrossEntropyLoss": ("weight", "ignore_index", "label_smoothing")}
_LOSS_BUFFERS = ("weight", "pos_weight")


def _loss(name):
    def read(loss, array):
        return {option: array(getattr(loss, option)) if option in _LOSS_BUFFERS else getattr(loss, option)
                for option in _LOSS_OPTIONS[name]}

    def to_torch(m, c):
        if getattr(m, "dim", None) not in (None, 1):
            _refuse(c, f"is a {name} with dim={m.dim}; torch's class axis is always 1 (0 for a single example): "
                       "move the class axis there (e.g. logits.T for the course's (C, m) layout)")
        return getattr(c.torch.nn, name)(reduction=m.reduction, **read(m, c.array))

    def from_torch(tm, c):
        return getattr(losses, name)(reduction=tm.reduction, **read(tm, c.array))

    return to_torch, from_torch


# -- containers


def _named_children_to(m, c):
    return collections.OrderedDict((name, c.child(child, name)) for name, child in m.named_children())


def _named_children_from(tm, c):
    # torch's named_children() lists a module used twice only once; the container's own slots keep both
    return {name: c.child(child, name) for name, child in tm._modules.items() if child is not None}


# ---------------------------------------------------------------------------------------------- registry

register_converter(layers.Linear, "Linear", _linear_to, _linear_from)
register_converter(layers.ReLU, "ReLU", lambda m, c: c.torch.nn.ReLU(), lambda tm, c: layers.ReLU())
register_converter(layers.LeakyReLU, "LeakyReLU", lambda m, c: c.torch.nn.LeakyReLU(m.negative_slope),
                   lambda tm, c: layers.LeakyReLU(tm.negative_slope))
register_converter(layers.Tanh, "Tanh", lambda m, c: c.torch.nn.Tanh(), lambda tm, c: layers.Tanh())
register_converter(layers.Sigmoid, "Sigmoid", lambda m, c: c.torch.nn.Sigmoid(), lambda tm, c: layers.Sigmoid())
register_converter(layers.GELU, "GELU", lambda m, c: c.torch.nn.GELU(approximate=m.approximate),
                   lambda tm, c: layers.GELU(approximate=tm.approximate))
register_converter(layers.Softplus, "Softplus", lambda m, c: c.torch.nn.Softplus(m.beta, m.threshold),
                   lambda tm, c: layers.Softplus(tm.beta, tm.threshold))
register_converter(layers.Softmax, "Softmax", lambda m, c: c.torch.nn.Softmax(dim=m.axis),
                   lambda tm, c: layers.Softmax(axis=_explicit_dim(tm, c)))
register_converter(layers.LogSoftmax, "LogSoftmax", lambda m, c: c.torch.nn.LogSoftmax(dim=m.axis),
                   lambda tm, c: layers.LogSoftmax(axis=_explicit_dim(tm, c)))
register_converter(layers.Identity, "Identity", lambda m, c: c.torch.nn.Identity(), lambda tm, c: layers.Identity())
register_converter(layers.Flatten, "Flatten", lambda m, c: c.torch.nn.Flatten(m.start_axis, m.end_axis),
                   lambda tm, c: layers.Flatten(tm.start_dim, tm.end_dim))
# the mask's random numbers differ between the libraries (and tinygrad_dl's generator/layout options only
# choose how they are drawn): in training mode the two dropouts agree in distribution, in eval mode exactly
register_converter(layers.Dropout, "Dropout", lambda m, c: c.torch.nn.Dropout(m.p), lambda tm, c: layers.Dropout(tm.p))
register_converter(normalization.BatchNorm1d, "BatchNorm1d", _batch_norm_to,
                   _batch_norm_from(normalization.BatchNorm1d))
register_converter(normalization.BatchNorm2d, "BatchNorm2d", _batch_norm_to,
                   _batch_norm_from(normalization.BatchNorm2d))
register_converter(normalization.LayerNorm, "LayerNorm", _layer_norm_to, _layer_norm_from)
register_converter(conv.Conv1d, "Conv1d", _conv_to, _conv_from(conv.Conv1d))
register_converter(conv.Conv2d, "Conv2d", _conv_to, _conv_from(conv.Conv2d))
register_converter(pooling.MaxPool2d, "MaxPool2d", _max_pool_to, _max_pool_from)
register_converter(pooling.AvgPool2d, "AvgPool2d", _avg_pool_to, _avg_pool_from)
register_converter(pooling.AdaptiveAvgPool2d, "AdaptiveAvgPool2d",
                   lambda m, c: c.torch.nn.AdaptiveAvgPool2d(m.output_size),
                   lambda tm, c: pooling.AdaptiveAvgPool2d(tm.output_size))
register_converter(padding.ZeroPad2d, "ZeroPad2d", lambda m, c: c.torch.nn.ZeroPad2d(m.padding), _zero_pad_from)
for _name in ("RNNCell", "LSTMCell", "GRUCell"):
    register_converter(getattr(rnn, _name), _name, *_cell(_name))
for _name in ("RNN", "LSTM", "GRU"):
    register_converter(getattr(rnn, _name), _name, *_recurrent(_name))
register_converter(sparse.Embedding, "Embedding", _embedding_to, _embedding_from)
register_converter(attention.MultiheadAttention, "MultiheadAttention", _attention_to, _attention_from)
for _name in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
    register_converter(getattr(transformer, _name), _name, *_transformer_layer(_name))
for _name in ("TransformerEncoder", "TransformerDecoder"):
    register_converter(getattr(transformer, _name), _name, *_transformer_stack(_name))
for _name in _LOSS_OPTIONS:
    register_converter(getattr(losses, _name), _name, *_loss(_name))
register_converter(module_lib.Sequential, "Sequential",
                   lambda m, c: c.torch.nn.Sequential(_named_children_to(m, c)),
                   lambda tm, c: module_lib.Sequential(_named_children_from(tm, c)))
register_converter(module_lib.ModuleList, "ModuleList",
                   lambda m, c: c.torch.nn.ModuleList(_named_children_to(m, c).values()),
                   lambda tm, c: module_lib.ModuleList(_named_children_from(tm, c).values()))
register_converter(module_lib.ModuleDict, "ModuleDict",
                   lambda m, c: c.torch.nn.ModuleDict(_named_children_to(m, c)),
                   lambda tm, c: module_lib.ModuleDict(_named_children_from(tm, c)))
del _name

# Our layers PyTorch has no layer for, and what to write in torch instead
NO_TORCH_TWIN = {
    multitask.MaskedBCEWithLogitsLoss: "in torch, take BCEWithLogitsLoss(reduction='none'), zero the unknown "
                                       "labels' losses with the mask and divide the sum as the reduction says",
    attention.PositionalEncoding: "in torch, add the constant F.positional_encoding(max_len, d_model) to the "
                                  "embeddings yourself (a buffer of your own module), then Dropout",
}
