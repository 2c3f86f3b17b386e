"""Transformer layers with PyTorch's names, parameters and defaults.

    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    encoder = nn.TransformerEncoder(layer, num_layers=2)
    memory = encoder(src, src_key_padding_mask=padding)            # padding: bool (N, S), True = pad

Post-norm by default, as in the course and "Attention Is All You Need" (x = norm(x + sublayer(x)));
``norm_first=True`` gives the pre-norm variant (x = x + sublayer(norm(x))). Masks follow
``nn.MultiheadAttention``: boolean True = not allowed, float masks are added. ``generate_square_subsequent_mask``
gives PyTorch's causal float mask (-inf above the diagonal).
"""
import copy

import numpy as np

from tinygrad_dl import Tensor

from . import functional as F
from .attention import MultiheadAttention
from .layers import Dropout, Linear, _flag, _float_dtype, _number, _size
from .module import Module, ModuleList
from .normalization import LayerNorm


def generate_square_subsequent_mask(size, dtype=np.float32):
    """(size, size) float mask: 0 on and below the diagonal, -inf above (position i sees positions <= i)."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"generate_square_subsequent_mask: size must be an int >= 0, got {size!r}")
    return np.triu(np.full((size, size), -np.inf, dtype=dtype), k=1)


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(layer, activation):
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    if callable(activation):
        return activation
    raise ValueError(f"{layer}: activation must be 'relu', 'gelu' or a function of a Tensor (e.g. nn.GELU('tanh')), "
                     f"got {activation!r}")


def _check_options(layer, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias,
                   dtype):
    """Every option of a Transformer layer, checked before any part is built (so the error names the layer)."""
    d_model, nhead = _size(layer, "d_model", d_model), _size(layer, "nhead", nhead)
    if d_model % nhead:
        raise ValueError(f"{layer}: d_model ({d_model}) must be a multiple of nhead ({nhead})")
    _size(layer, "dim_feedforward", dim_feedforward)
    if _number(layer, "dropout", dropout, 0.0, 1.0) == 1:
        raise ValueError(f"{layer}: dropout must be in [0, 1), got {dropout!r}")
    _number(layer, "layer_norm_eps", layer_norm_eps, low=0.0, low_open=True)
    for name, value in (("batch_first", batch_first), ("norm_first", norm_first), ("bias", bias)):
        _flag(layer, name, value)
    _float_dtype(layer, dtype)


def _sequence(layer, name, x):
    """A layer's src/tgt/memory as a Tensor of d_model features, (length, batch, d_model) / (batch, length, d_model)
    or unbatched (length, d_model), checked here so the error names the Transformer layer."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    d_model = layer.self_attn.embed_dim
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        layout = "(batch, length, d_model)" if layer.self_attn.batch_first else "(length, batch, d_model)"
        raise ValueError(f"{type(layer).__name__}(d_model={d_model}, nhead={layer.self_attn.num_heads}): {name} of "
                         f"shape {x.shape} does not fit; expected {layout} = {layout.replace('d_model', str(d_model))} "
                         f"or unbatched (length, {d_model})")
    return x


class _TransformerLayer(Module):
    """What both Transformer layers are made of, built in PyTorch's order (the order of the parameters, and of
    the draws from ``generator``): self-attention, the decoder's attention over the encoder's output
    (``has_cross_attention``), the feed-forward block (linear1 -> activation -> dropout -> linear2), then a LayerNorm
    and a dropout per sublayer (norm1, norm2[, norm3], dropout1, dropout2[, dropout3])."""

    has_cross_attention = False  # the decoder's: attention over ``memory`` between self-attention and feed-forward

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        _check_options(type(self).__name__, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first,
                       norm_first, bias, dtype)
        activation_function = _activation(type(self).__name__, activation)
        self._config = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                            activation=activation, layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                            norm_first=norm_first, bias=bias, dtype=dtype, generator=generator)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype, generator=generator)
        if self.has_cross_attention:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dtype, generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        if self.has_cross_attention:
            self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, generator=generator)
        self.dropout2 = Dropout(dropout, generator=generator)
        if self.has_cross_attention:
            self.dropout3 = Dropout(dropout, generator=generator)
        self.activation = activation_function

    def _self_attention(self, x, mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=mask,
                                is_causal=is_causal and mask is None)
        return self.dropout1(out)

    def _feed_forward(self, x):
        last_dropout = self.dropout3 if self.has_cross_attention else self.dropout2
        return last_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block (linear1 -> activation -> dropout -> linear2), each with a
    residual connection, dropout and LayerNorm. ``forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False)``; src (S, N, E), or (N, S, E) with ``batch_first``."""

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = _sequence(self, "src", src)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerDecoderLayer(_TransformerLayer):
    """Masked self-attention, attention over the encoder's output (``memory``), then the feed-forward block,
    each with a residual connection, dropout and LayerNorm. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)``."""

    has_cross_attention = True

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x, memory = _sequence(self, "tgt", tgt), _sequence(self, "memory", memory)
        self_args = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        cross_args = (memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), *self_args)
            x = x + self._cross_attention(self.norm2(x), *cross_args)
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self._self_attention(x, *self_args))
        x = self.norm2(x + self._cross_attention(x, *cross_args))
        return self.norm3(x + self._feed_forward(x))

    def _cross_attention(self, x, memory, mask, key_padding_mask, is_causal):
        out, _ = self.multihead_attn(x, memory, memory, key_padding_mask=key_padding_mask, need_weights=False,
                                     attn_mask=mask, is_causal=is_causal and mask is None)
        return self.dropout2(out)


def _check_stack(stack, layer, num_layers, norm):
    """The arguments of TransformerEncoder/Decoder: a layer module, a positive count, a norm module or None."""
    if not isinstance(layer, Module):
        raise TypeError(f"{stack}: the layer to repeat must be an nn.Module (e.g. nn.{stack}Layer), got "
                        f"{type(layer).__name__}")
    if norm is not None and not isinstance(norm, Module):
        raise TypeError(f"{stack}: norm must be an nn.Module (e.g. nn.LayerNorm) or None, got {type(norm).__name__}")
    return _size(stack, "num_layers", num_layers)


def _clones(layer, count):
    """``count`` copies of ``layer`` starting from the same weights (PyTorch deep-copies the layer too)."""
    config = getattr(layer, "_config", None)
    copies = []
    for _ in range(count):
        clone = type(layer)(**config) if config is not None else copy.deepcopy(layer)
        clone.load_state_dict(layer.state_dict())
        clone.train(layer.training)
        copies.append(clone)
    return ModuleList(copies)


class _TransformerStack(Module):
    """``num_layers`` copies of ``layer`` (same starting weights) in ``layers``, then ``norm`` if given."""

    def __init__(self, layer, num_layers, norm):
        super().__init__()
        num_layers = _check_stack(type(self).__name__, layer, num_layers, norm)
        self.layers = _clones(layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm


class TransformerEncoder(_TransformerStack):
    """``num_layers`` copies of ``encoder_layer`` (same starting weights), then ``norm`` if given.
    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)``."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__(encoder_layer, num_layers, norm)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(_TransformerStack):
    """``num_layers`` copies of ``decoder_layer``, then ``norm`` if given. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)``."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__(decoder_layer, num_layers, norm)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "generate_square_subsequent_mask"]
