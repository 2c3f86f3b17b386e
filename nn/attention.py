"""Attention: ``F.scaled_dot_product_attention``, ``nn.MultiheadAttention`` and the sinusoidal positional encoding.

Mask conventions are PyTorch's, which differ between the two entry points:

* ``F.scaled_dot_product_attention(q, k, v, attn_mask)``: a **boolean mask is True where a query may attend**;
  a float mask is added to the scores (use -inf to block).
* ``nn.MultiheadAttention(...)(q, k, v, key_padding_mask, attn_mask)``: a boolean mask is **True where attending
  is not allowed** (True = padding / future); a float mask is added. ``nn.Transformer*Layer`` pass their masks
  on to it unchanged.

A query that may attend to no key gets zero weights and a zero output (as ``F.scaled_dot_product_attention``
does; PyTorch's MultiheadAttention returns NaN there).

The attention itself is one fused ``Function``: scores, mask, softmax, dropout and the weighted sum of the
values are a single graph node with a hand-written backward.
"""
import math

import numpy as np

from tinygrad_dl import Function, Tensor

from . import functional as F
from . import init as nn_init
from .layers import Dropout, Linear, _flag, _float_dtype, _number, _size
from .module import Module, Parameter


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _softmax_last(scores):
    """Softmax over the last axis; rows that are all -inf (nothing to attend to) give zeros, not NaN."""
    if isinstance(scores, Tensor):
        return (scores - scores.logsumexp(axis=-1, keepdims=True)).exp()
    top = scores.max(axis=-1, keepdims=True)
    blocked_rows = ~np.isfinite(top)
    top = np.where(blocked_rows, 0, top)
    exps = np.exp(scores - top)
    totals = exps.sum(axis=-1, keepdims=True)
    totals[totals == 0] = 1  # a fully blocked row sums to 0: leave its weights at 0
    return exps / totals


class ScaledDotProductAttention(Function):
    """softmax(q k^T * scale + bias) (with dropout) @ v for q (..., L, E), k (..., S, E), v (..., S, Ev).

    ``bias`` (broadcastable to (..., L, S), or None) is added to the scores; -inf blocks. ``keep`` is the
    dropout mask already divided by the keep probability (or None). With ``with_weights`` the result is the
    output and the weights side by side, (..., L, Ev + S), so both can be differentiated through one node.
    """

    @staticmethod
    def forward(ctx, q, k, v, bias=None, scale=1.0, keep=None, with_weights=False):
        scores = (q @ k.swapaxes(-1, -2)) * scale
        if bias is not None:
            scores = scores + bias
        weights = _softmax_last(scores)
        used = weights if keep is None else weights * keep
        out = used @ v
        ctx.scale, ctx.keep, ctx.with_weights, ctx.value_width = scale, keep, with_weights, v.shape[-1]
        ctx.weights, ctx.used = weights, used
        ctx.save_for_backward(q, k, v, bias)
        if with_weights:
            return np.concatenate([out, np.broadcast_to(used, out.shape[:-1] + used.shape[-1:])], axis=-1)
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, bias = ctx.saved_tensors
        need_q, need_k, need_v, need_bias = ctx.needs_input_grad
        if isinstance(grad, Tensor):  # create_graph: rebuild the weights from the Tensors
            scores = (q @ k.swapaxes(-1, -2)) * ctx.scale
            weights = _softmax_last(scores if bias is None else scores + bias)
            used = weights if ctx.keep is None else weights * ctx.keep
        else:
            weights, used = ctx.weights, ctx.used
        d_out = grad[..., :ctx.value_width] if ctx.with_weights else grad
        d_used = d_out @ v.swapaxes(-1, -2)
        if ctx.with_weights:
            d_used = d_used + grad[..., ctx.value_width:]
        d_weights = d_used if ctx.keep is None else d_used * ctx.keep
        d_scores = weights * (d_weights - (d_weights * weights).sum(axis=-1, keepdims=True))
        d_q = d_scores @ k * ctx.scale if need_q else None
        d_k = d_scores.swapaxes(-1, -2) @ q * ctx.scale if need_k else None
        d_v = used.swapaxes(-1, -2) @ d_out if need_v else None
        return d_q, d_k, d_v, (d_scores if need_bias else None)


def _mask_bias(mask, shape, op, true_means_attend, dtype):
    """A boolean or float mask as an additive bias broadcastable to ``shape`` (the scores' shape)."""
    values = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    try:
        np.broadcast_shapes(values.shape, shape)
    except ValueError:
        raise ValueError(f"{op}: a mask of shape {values.shape} does not broadcast to the attention scores' shape "
                         f"{shape} (..., queries, keys)") from None
    if values.dtype == bool:
        blocked = ~values if true_means_attend else values
        return np.where(blocked, -np.inf, 0).astype(dtype)
    if values.dtype.kind != "f":
        raise TypeError(f"{op}: a mask must be boolean or floating-point, got dtype {values.dtype}")
    return mask if isinstance(mask, Tensor) and mask.requires_grad else values.astype(dtype, copy=False)


def _causal_bias(queries, keys, dtype):
    """0 on and below the diagonal, -inf above (a query never sees later keys)."""
    return np.where(np.tri(queries, keys, dtype=bool), 0, -np.inf).astype(dtype)


def _dropout_keep(shape, p, dtype, generator):
    rng = np.random if generator is None else generator
    return (rng.random(shape) >= p).astype(dtype) / (1 - p)


def _attention(q, k, v, bias, dropout_p, scale, generator, with_weights, op):
    """The fused attention with all checks done: returns the output, and the weights when asked."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else _number(op, "scale", scale)
    dropout_p = _number(op, "dropout_p", dropout_p, 0.0, 1.0)
    if dropout_p == 1:
        raise ValueError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    score_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    keep = None
    if dropout_p:
        keep = _dropout_keep(score_shape, dropout_p, q.dtype, generator)
    result = ScaledDotProductAttention.apply(q, k, v, bias, scale=scale, keep=keep, with_weights=with_weights)
    if not with_weights:
        return result
    width = v.shape[-1]
    return result[..., :width], result[..., width:]


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 generator=None):
    """softmax(query key^T / sqrt(E) + mask) value, one graph node (PyTorch's function and mask convention).

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev). ``attn_mask`` broadcastable to
    (..., L, S): boolean True = may attend, or a float mask added to the scores. ``is_causal``: each query sees
    keys up to its own position. ``dropout_p`` drops attention weights (draws from ``generator`` or np.random).
    """
    op = "scaled_dot_product_attention"
    q, k, v = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    _check_qkv(op, q, k, v)
    score_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    bias = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        bias = _mask_bias(attn_mask, score_shape, op, True, q.dtype)
    elif is_causal:
        bias = _causal_bias(q.shape[-2], k.shape[-2], q.dtype)
    return _attention(q, k, v, bias, dropout_p, scale, generator, False, op)


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    """The weights softmax(query key^T * scale + mask) that ``scaled_dot_product_attention`` uses, (..., L, S)."""
    q, k = _as_tensor(query), _as_tensor(key)
    values = Tensor(np.zeros(k.shape[:-1] + (1,), dtype=k.dtype))  # no values needed: a dummy width-1 value
    _, weights = _with_weights(q, k, values, attn_mask, is_causal, scale)
    return weights


def _with_weights(q, k, v, attn_mask, is_causal, scale):
    op = "attention_weights"
    _check_qkv(op, q, k, v)
    score_shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])
    bias = _mask_bias(attn_mask, score_shape, op, True, q.dtype) if attn_mask is not None else None
    if is_causal:
        bias = _causal_bias(q.shape[-2], k.shape[-2], q.dtype)
    return _attention(q, k, v, bias, 0.0, scale, None, True, op)


def _check_qkv(op, q, k, v):
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2 or t.dtype.kind != "f":
            raise ValueError(f"{op}: {name} must be a floating-point tensor (..., length, features), got shape "
                             f"{t.shape} and dtype {t.dtype}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: query {q.shape}, key {k.shape} and value {v.shape} do not fit: query and key need "
                         "the same last axis (E), key and value the same length (S)")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the batch axes of query {q.shape}, key {k.shape} and value {v.shape} do not "
                         "broadcast") from None


# ----------------------------------------------------------------------------------------------------
# Multi-head attention


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: ``out, weights = mha(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False)``.

    Parameters ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) (or ``q/k/v_proj_weight`` when kdim/vdim
    differ from embed_dim) and ``out_proj`` (Linear E -> E); xavier-uniform projections, zero biases.
    Inputs (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E). Masks: boolean True = *not*
    allowed (PyTorch's convention here); float masks are added. ``weights`` is (N, L, S) averaged over the
    heads, or (N, heads, L, S) with ``average_attn_weights=False``; None unless ``need_weights``.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, dtype=np.float32, generator=None):
        super().__init__()
        name = "MultiheadAttention"
        embed_dim, num_heads = _size(name, "embed_dim", embed_dim), _size(name, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise ValueError(f"{name}: add_bias_kv and add_zero_attn are not supported")
        dropout = _number(name, "dropout", dropout, 0.0, 1.0)
        if dropout == 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        bias, batch_first = _flag(name, "bias", bias), _flag(name, "batch_first", batch_first)
        dtype = _float_dtype(name, dtype)
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else _size(name, "kdim", kdim)
        self.vdim = embed_dim if vdim is None else _size(name, "vdim", vdim)
        self.dropout, self.batch_first, self.generator = dropout, batch_first, generator
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.zeros((3 * embed_dim, embed_dim), dtype=dtype))
        else:
            self.q_proj_weight = Parameter(np.zeros((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.zeros((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.zeros((embed_dim, self.vdim), dtype=dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=generator)
        self._reset_parameters(generator)

    def _reset_parameters(self, generator=None):
        if self._qkv_same_embed_dim:
            nn_init.xavier_uniform_(self.in_proj_weight, generator=generator)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn_init.xavier_uniform_(w, generator=generator)
        if self.in_proj_bias is not None:
            nn_init.zeros_(self.in_proj_bias)
            nn_init.zeros_(self.out_proj.bias)

    def _describe(self):
        return f"MultiheadAttention({self.embed_dim}, num_heads={self.num_heads})"

    def _projections(self, query, key, value):
        e = self.embed_dim
        b = self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim and query is key and key is value:  # self-attention: one matmul
            qkv = F.linear(query, self.in_proj_weight, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return tuple(F.linear(x, w, bias) for x, w, bias in zip((query, key, value), weights, biases))

    def _batch_major(self, x, name, width):
        """(N, L, width) from the layer's layout; also whether the input had a batch axis."""
        x = _as_tensor(x)
        if x.ndim not in (2, 3) or x.shape[-1] != width:
            layout = "(batch, length, features)" if self.batch_first else "(length, batch, features)"
            raise ValueError(f"{self._describe()}: {name} of shape {x.shape} does not fit; expected {layout} with "
                             f"{width} features, or unbatched (length, {width})")
        if x.dtype.kind != "f":
            raise TypeError(f"{self._describe()}: {name} must be a floating-point tensor, got dtype {x.dtype} and "
                            f"shape {x.shape} (token ids go through nn.Embedding first)")
        if x.ndim == 2:
            return x.reshape(1, *x.shape), False
        return (x if self.batch_first else x.swapaxes(0, 1)), True

    def _bias(self, key_padding_mask, attn_mask, batch, queries, keys, dtype, is_causal):
        """The masks combined into one additive bias broadcastable to (N, heads, L, S), or None."""
        op = self._describe()
        bias = None
        if attn_mask is not None:
            values = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
            if values.ndim == 3:  # PyTorch's (N * heads, L, S)
                if values.shape != (batch * self.num_heads, queries, keys):
                    raise ValueError(f"{op}: a 3-d attn_mask must have shape {(batch * self.num_heads, queries, keys)}"
                                     f" (batch * num_heads, L, S), got {values.shape}")
                values = values.reshape(batch, self.num_heads, queries, keys)
            elif values.shape != (queries, keys):
                raise ValueError(f"{op}: attn_mask must have shape {(queries, keys)} (L, S) or "
                                 f"{(batch * self.num_heads, queries, keys)}, got {values.shape}")
            bias = _mask_bias(values, (batch, self.num_heads, queries, keys), op, False, dtype)
        elif is_causal:
            bias = _causal_bias(queries, keys, dtype)
        if key_padding_mask is not None:
            values = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else np.asarray(key_padding_mask)
            if values.shape != (batch, keys):
                raise ValueError(f"{op}: key_padding_mask must have shape {(batch, keys)} (batch, S), got "
                                 f"{values.shape}")
            padding = _mask_bias(values[:, None, None, :], (batch, self.num_heads, queries, keys), op, False, dtype)
            bias = padding if bias is None else bias + padding
        return bias

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        same = query is key and key is value
        q_in, batched = self._batch_major(query, "query", self.embed_dim)
        k_in, k_batched = (q_in, batched) if same else self._batch_major(key, "key", self.kdim)
        v_in, _ = (q_in, batched) if same else self._batch_major(value, "value", self.vdim)
        if k_batched != batched or k_in.shape[:2] != v_in.shape[:2] or k_in.shape[0] != q_in.shape[0]:
            raise ValueError(f"{self._describe()}: query {_as_tensor(query).shape}, key {_as_tensor(key).shape} and "
                             f"value {_as_tensor(value).shape} must share the batch size, and key and value the "
                             "length")
        if not batched and key_padding_mask is not None:
            key_padding_mask = np.asarray(getattr(key_padding_mask, "data", key_padding_mask))[None]
        batch, queries, keys = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        q, k, v = self._projections(q_in, q_in if same else k_in, q_in if same else v_in)
        heads = [self._split_heads(t) for t in (q, k, v)]
        bias = self._bias(key_padding_mask, attn_mask, batch, queries, keys, heads[0].dtype, is_causal)
        dropout = self.dropout if self.training else 0.0
        result = _attention(*heads, bias, dropout, None, self.generator, need_weights, self._describe())
        out, weights = result if need_weights else (result, None)
        out = out.swapaxes(1, 2).reshape(batch, queries, self.embed_dim)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            out = out.reshape(queries, self.embed_dim)
            weights = None if weights is None else weights.reshape(weights.shape[1:])
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        return out, weights

    def _split_heads(self, x):
        batch, length = x.shape[0], x.shape[1]
        return x.reshape(batch, length, self.num_heads, self.head_dim).swapaxes(1, 2)

    def extra_repr(self):
        return f"{self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, batch_first={self.batch_first}"


# ----------------------------------------------------------------------------------------------------
# Positional encoding (the course's)


def get_angles(pos, i, d):
    """The course's angles pos / 10000^(2 (i // 2) / d) for column vectors of positions and row vectors of i."""
    return pos / np.power(10000, (2 * (i // 2)) / np.float32(d))


def positional_encoding(positions, d_model, dtype=np.float32):
    """The course's sinusoidal encoding, shape (1, positions, d_model): sin on even columns, cos on odd ones."""
    positions, d_model = _size("positional_encoding", "positions", positions), _size("positional_encoding",
                                                                                     "d_model", d_model)
    dtype = _float_dtype("positional_encoding", dtype)
    angles = get_angles(np.arange(positions)[:, None], np.arange(d_model)[None, :], d_model)
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return angles[None].astype(dtype)


class PositionalEncoding(Module):
    """Adds the course's sinusoidal encoding to (N, L, d_model) inputs (or (L, N, d_model) unless batch_first),
    then dropout. The encoding is a constant (not a parameter, not in the state_dict)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=True, dtype=np.float32):
        super().__init__()
        name = "PositionalEncoding"
        self.d_model, self.max_len = _size(name, "d_model", d_model), _size(name, "max_len", max_len)
        self.batch_first = _flag(name, "batch_first", batch_first)
        dropout, dtype = _number(name, "dropout", dropout, 0.0, 1.0), _float_dtype(name, dtype)
        self.encoding = positional_encoding(self.max_len, self.d_model, dtype)[0]  # (max_len, d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        x = _as_tensor(x)
        axis = 1 if self.batch_first else 0
        if x.ndim != 3 or x.shape[-1] != self.d_model or x.shape[axis] > self.max_len:
            raise ValueError(f"PositionalEncoding({self.d_model}, max_len={self.max_len}): input of shape {x.shape} "
                             f"does not fit (sequences longer than max_len or the wrong feature size)")
        if x.dtype.kind != "f":
            raise TypeError(f"PositionalEncoding({self.d_model}): the input must be floating-point embeddings, got "
                            f"dtype {x.dtype} and shape {x.shape} (token ids go through nn.Embedding first)")
        encoding = self.encoding[:x.shape[axis]]
        return self.dropout(x + (encoding if self.batch_first else encoding[:, None, :]))

    def extra_repr(self):
        return f"{self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


__all__ = ["scaled_dot_product_attention", "attention_weights", "MultiheadAttention", "get_angles",
           "positional_encoding", "PositionalEncoding"]
