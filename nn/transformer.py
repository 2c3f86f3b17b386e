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
from .layers import Dropout, Linear
from .module import Module, ModuleList
from .normalization import LayerNorm


def generate_square_subsequent_mask(size, dtype=np.float32):
    """(size, size) float mask: 0 on and below the diagonal, -inf above (position i sees positions <= i)."""
    return np.triu(np.full((size, size), -np.inf, dtype=dtype), k=1)


def _activation(activation):
    if activation == "relu":
        return F.relu
    if callable(activation):
        return activation
    raise ValueError(f"activation must be 'relu' or a function of a Tensor (e.g. a GELU you define), got "
                     f"{activation!r}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block (linear1 -> activation -> dropout -> linear2), each with a
    residual connection, dropout and LayerNorm. ``forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False)``; src (S, N, E), or (N, S, E) with ``batch_first``."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        self._config = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                            activation=activation, layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                            norm_first=norm_first, bias=bias, dtype=dtype, generator=generator)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype, generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1 = Dropout(dropout, generator=generator)
        self.dropout2 = Dropout(dropout, generator=generator)
        self.activation = _activation(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src if isinstance(src, Tensor) else Tensor(src)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x, mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=mask,
                                is_causal=is_causal and mask is None)
        return self.dropout1(out)

    def _feed_forward(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Masked self-attention, attention over the encoder's output (``memory``), then the feed-forward block,
    each with a residual connection, dropout and LayerNorm. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)``."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, dtype=np.float32, generator=None):
        super().__init__()
        self._config = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                            activation=activation, layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                            norm_first=norm_first, bias=bias, dtype=dtype, generator=generator)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype, generator=generator)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype, generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1 = Dropout(dropout, generator=generator)
        self.dropout2 = Dropout(dropout, generator=generator)
        self.dropout3 = Dropout(dropout, generator=generator)
        self.activation = _activation(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt if isinstance(tgt, Tensor) else Tensor(tgt)
        memory = memory if isinstance(memory, Tensor) else Tensor(memory)
        self_args = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        cross_args = (memory, memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), *self_args)
            x = x + self._cross_attention(self.norm2(x), *cross_args)
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self._self_attention(x, *self_args))
        x = self.norm2(x + self._cross_attention(x, *cross_args))
        return self.norm3(x + self._feed_forward(x))

    def _self_attention(self, x, mask, key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False, attn_mask=mask,
                                is_causal=is_causal and mask is None)
        return self.dropout1(out)

    def _cross_attention(self, x, memory, mask, key_padding_mask, is_causal):
        out, _ = self.multihead_attn(x, memory, memory, key_padding_mask=key_padding_mask, need_weights=False,
                                     attn_mask=mask, is_causal=is_causal and mask is None)
        return self.dropout2(out)

    def _feed_forward(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


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


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (same starting weights), then ``norm`` if given.
    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)``."""

    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer``, then ``norm`` if given. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)``."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

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
