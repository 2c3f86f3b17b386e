"""Embedding, one_hot, scaled_dot_product_attention, MultiheadAttention, positional encoding and the
Transformer layers: values against NumPy references and the course, gradients against central differences,
values and gradients against PyTorch (when importable), masks and errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, gradcheck, gradgradcheck, nn
from tinygrad_dl.testing import assert_gradients_match

# ----------------------------------------------------------------------------------------------------
# Embedding and one_hot


def test_one_hot_values_and_errors():
    out = F.one_hot(np.array([[0, 2], [1, 2]]), 3)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data, [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 1]]])
    assert F.one_hot(np.array([1, 3])).shape == (2, 4)
    assert F.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(IndexError, match=r"one_hot: token ids must be in \[0, 3\), got values from 0 to 3"):
        F.one_hot(np.array([0, 3]), 3)
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(np.array([0.5]), 3)


def test_embedding_lookup_and_gradient_with_repeated_ids():
    emb = nn.Embedding(5, 3, dtype=np.float64, generator=np.random.default_rng(0))
    ids = np.array([[1, 4, 1], [0, 1, 4]])
    out = emb(ids)
    np.testing.assert_array_equal(out.data, emb.weight.data[ids])
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    (out * upstream).sum().backward()
    expected = np.zeros((5, 3))
    np.add.at(expected, ids.ravel(), upstream.reshape(-1, 3))
    np.testing.assert_allclose(emb.weight.grad.data, expected, rtol=1e-14)
    assert gradcheck(lambda w: F.embedding(ids, w), [emb.weight.data.copy()])
    assert gradgradcheck(lambda w: F.embedding(ids, w) * F.embedding(ids, w), [emb.weight.data.copy()])


def test_embedding_padding_row_is_zero_and_never_updated():
    emb = nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == 3 and np.all(emb.weight.data[3] == 0)
    emb(np.array([3, 3, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[3], [0, 0])
    np.testing.assert_array_equal(emb.weight.grad.data[1], [1, 1])


def test_embedding_from_pretrained_frozen_or_not():
    vectors = np.arange(12, dtype=np.float64).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(vectors)
    assert not frozen.weight.requires_grad and frozen.weight.dtype == np.float64
    np.testing.assert_array_equal(frozen(np.array([2])).data, [[6, 7, 8]])
    assert nn.Embedding.from_pretrained(vectors, freeze=False).weight.requires_grad


def test_embedding_errors():
    emb = nn.Embedding(5, 3)
    with pytest.raises(IndexError, match=r"Embedding\(5, 3\): token ids must be in \[0, 5\), got values from -1 to 7 "
                                          r"\(input shape \(3,\)\)"):
        emb(np.array([-1, 2, 7]))
    with pytest.raises(TypeError, match="integers, got dtype float32"):
        emb(np.array([1.0], np.float32))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(5, 3, max_norm=1.0)


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(6, 4, padding_idx=0).double()
    ours = nn.Embedding(6, 4, padding_idx=0, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ids = np.array([[0, 3, 3], [5, 0, 1]])
    w = np.random.default_rng(2).standard_normal((2, 3, 4))
    (ours(ids) * w).sum().backward()
    (theirs(torch.tensor(ids)) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-14)


# ----------------------------------------------------------------------------------------------------
# scaled_dot_product_attention


def reference_attention(q, k, v, mask_bias=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask_bias is not None:
        scores = scores + mask_bias
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ v, weights


COURSE_Q = np.array([[1, 0, 1, 1], [0, 1, 1, 1], [1, 0, 0, 1]], np.float32)
COURSE_K = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 0], [0, 0, 0, 1]], np.float32)
COURSE_V = np.array([[0, 0], [1, 0], [1, 0], [1, 1]], np.float32)


def test_attention_reproduces_the_course_unit_test():
    out = F.scaled_dot_product_attention(COURSE_Q, COURSE_K, COURSE_V)
    weights = F.attention_weights(COURSE_Q, COURSE_K)
    np.testing.assert_allclose(weights.data, [[0.2589478, 0.42693272, 0.15705977, 0.15705977],
                                              [0.2772748, 0.2772748, 0.2772748, 0.16817567],
                                              [0.33620113, 0.33620113, 0.12368149, 0.2039163]], atol=5e-8)
    np.testing.assert_allclose(out.data, [[0.74105227, 0.15705977], [0.7227253, 0.16817567],
                                          [0.6637989, 0.2039163]], atol=5e-8)
    # the course's mask [[0, 0, 1, 0]] * 3 means "key 2 is masked": here True means "may attend"
    keep = np.array([[True, True, False, True]] * 3)
    out = F.scaled_dot_product_attention(COURSE_Q, COURSE_K, COURSE_V, attn_mask=keep)
    weights = F.attention_weights(COURSE_Q, COURSE_K, attn_mask=keep)
    np.testing.assert_allclose(weights.data[0], [0.30719590187072754, 0.5064803957939148, 0.0, 0.18632373213768005],
                               atol=5e-8)
    np.testing.assert_allclose(weights.data[1], [0.3836517333984375, 0.3836517333984375, 0.0, 0.2326965481042862],
                               atol=5e-8)
    np.testing.assert_allclose(out.data[:2], [[0.6928040981292725, 0.18632373213768005],
                                              [0.6163482666015625, 0.2326965481042862]], atol=5e-8)


def test_boolean_and_float_masks_and_causal():
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    keep = rng.random((3, 5)) > 0.3
    keep[:, 0] = True
    bias = np.where(keep, 0.0, -np.inf)
    expected, _ = reference_attention(q, k, v, bias)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=keep).data, expected, rtol=1e-12)
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=bias).data, expected, rtol=1e-12)
    soft = rng.standard_normal((3, 5))
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=soft).data,
                               reference_attention(q, k, v, soft)[0], rtol=1e-12)
    causal = F.scaled_dot_product_attention(q, k[:, :3], v[:, :3], is_causal=True)
    np.testing.assert_allclose(causal.data, reference_attention(q, k[:, :3], v[:, :3],
                                                                np.triu(np.full((3, 3), -np.inf), 1))[0], rtol=1e-12)


def test_a_query_that_may_attend_to_nothing_gets_zeros():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    keep = np.array([[True, False, True, True], [False] * 4])
    out = F.scaled_dot_product_attention(Tensor(q, requires_grad=True), k, v, attn_mask=keep)
    assert np.all(out.data[1] == 0) and np.all(np.isfinite(out.data))
    out.sum().backward()


def test_attention_errors():
    q, k, v = np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 2))
    with pytest.raises(ValueError, match=r"mask of shape \(4, 5\) does not broadcast to .*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool))
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, np.zeros((2, 5, 3)), v)
    with pytest.raises(ValueError, match="do not fit"):
        F.scaled_dot_product_attention(q, k, np.zeros((2, 4, 2)))
    with pytest.raises(TypeError, match="boolean or floating-point"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), np.int64))


@settings(deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.booleans(),
       st.integers(0, 2 ** 16))
def test_attention_gradients(queries, keys, features, batch, with_mask, seed):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((batch, queries, features)), rng.standard_normal((batch, keys, features))
    v = rng.standard_normal((batch, keys, 2))
    if with_mask:  # a float mask is differentiable too
        assert_gradients_match(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v,
                               rng.standard_normal((queries, keys)))
    else:
        assert_gradients_match(F.scaled_dot_product_attention, q, k, v,
                               reference=lambda q, k, v: reference_attention(q, k, v)[0])


def test_attention_second_derivatives_and_weights_gradients():
    rng = np.random.default_rng(5)
    q, k, v = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    assert gradgradcheck(F.scaled_dot_product_attention, [q, k, v])
    assert gradcheck(lambda q, k: F.attention_weights(q, k) ** 2, [q, k])


def test_attention_dropout_uses_the_generator():
    rng = np.random.default_rng(6)
    q, k, v = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=np.random.default_rng(1))
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a.data, b.data)
    _, weights = reference_attention(q, k, v)
    keep = (np.random.default_rng(1).random((4, 5)) >= 0.5) / 0.5
    np.testing.assert_allclose(a.data, (weights * keep) @ v, rtol=1e-12)


def test_sdpa_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    q, k, v = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 5, 3))
    keep = rng.random((3, 5)) > 0.4
    keep[:, 1] = True
    ours = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=keep)
    out_t = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(keep))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    (out ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-11, atol=1e-13)


# ----------------------------------------------------------------------------------------------------
# MultiheadAttention


def test_multihead_attention_layout_and_parameters():
    mha = nn.MultiheadAttention(8, 2)
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                      "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8) and np.all(mha.in_proj_bias.data == 0)
    out, weights = mha(np.zeros((5, 3, 8), np.float32), np.zeros((7, 3, 8), np.float32),
                       np.zeros((7, 3, 8), np.float32))
    assert out.shape == (5, 3, 8) and weights.shape == (3, 5, 7)
    cross = nn.MultiheadAttention(8, 4, kdim=3, vdim=5, batch_first=True)
    out, weights = cross(np.zeros((2, 4, 8), np.float32), np.zeros((2, 6, 3), np.float32),
                         np.zeros((2, 6, 5), np.float32), average_attn_weights=False)
    assert out.shape == (2, 4, 8) and weights.shape == (2, 4, 4, 6)
    assert cross.k_proj_weight.shape == (8, 3)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(3, 7\)"):
        mha(np.zeros((5, 3, 8), np.float32), np.zeros((7, 3, 8), np.float32), np.zeros((7, 3, 8), np.float32),
            key_padding_mask=np.zeros((3, 5), bool))
    with pytest.raises(ValueError, match=r"query of shape \(5, 3, 6\) does not fit"):
        mha(np.zeros((5, 3, 6), np.float32), np.zeros((7, 3, 8), np.float32), np.zeros((7, 3, 8), np.float32))


def test_multihead_attention_gradients():
    mha = nn.MultiheadAttention(4, 2, batch_first=True, dtype=np.float64, generator=np.random.default_rng(8))
    rng = np.random.default_rng(9)
    x, memory = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    padding = np.array([[False] * 4 + [True], [False] * 5])
    assert gradcheck(lambda x, m: mha(x, m, m, key_padding_mask=padding)[0], [x, memory])
    assert gradcheck(lambda x: mha(x, x, x, attn_mask=np.triu(np.ones((3, 3), bool), 1))[1], [x])


def _torch_mha(torch, embed_dim, heads, batch_first, **kwargs):
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, batch_first=batch_first, **kwargs).double()
    ours = nn.MultiheadAttention(embed_dim, heads, batch_first=batch_first, dtype=np.float64, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    return theirs, ours


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("self_attention", [False, True])
def test_multihead_attention_matches_pytorch(batch_first, self_attention):
    torch = pytest.importorskip("torch")
    theirs, ours = _torch_mha(torch, 8, 2, batch_first)
    rng = np.random.default_rng(10)
    shape_q, shape_k = ((3, 4, 8), (3, 6, 8)) if batch_first else ((4, 3, 8), (6, 3, 8))
    q = rng.standard_normal(shape_q)
    kv = q if self_attention else rng.standard_normal(shape_k)
    keys = kv.shape[1] if batch_first else kv.shape[0]
    padding = rng.random((3, keys)) > 0.7
    padding[:, 0] = False
    padding = np.where(padding, -np.inf, 0.0)  # a float padding mask, the same kind as attn_mask (PyTorch asks so)
    attn_mask = rng.standard_normal((4, keys))
    q_ours = Tensor(q, requires_grad=True)
    kv_ours = q_ours if self_attention else Tensor(kv, requires_grad=True)
    q_t = torch.tensor(q, requires_grad=True)
    kv_t = q_t if self_attention else torch.tensor(kv, requires_grad=True)
    out, w = ours(q_ours, kv_ours, kv_ours, key_padding_mask=padding, attn_mask=attn_mask)
    out_t, w_t = theirs(q_t, kv_t, kv_t, key_padding_mask=torch.tensor(padding), attn_mask=torch.tensor(attn_mask))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.data, w_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    ((out ** 2).sum() + (w * 3).sum()).backward()
    ((out_t ** 2).sum() + (w_t * 3).sum()).backward()
    np.testing.assert_allclose(q_ours.grad.data, q_t.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, p_t.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


# ----------------------------------------------------------------------------------------------------
# positional encoding


def test_positional_encoding_is_the_courses():
    angles = nn.attention.get_angles(np.arange(4)[:, None], np.arange(8)[None, :], 8)
    np.testing.assert_allclose(angles, [[0] * 8, [1, 1, .1, .1, .01, .01, .001, .001],
                                        [2, 2, .2, .2, .02, .02, .002, .002], [3, 3, .3, .3, .03, .03, .003, .003]],
                               rtol=1e-12)
    encoding = F.positional_encoding(50, 512)
    assert encoding.shape == (1, 50, 512) and encoding.dtype == np.float32
    np.testing.assert_allclose(encoding[0, :, 0::2] ** 2 + encoding[0, :, 1::2] ** 2, 1, rtol=1e-6)
    np.testing.assert_allclose(encoding[0, 3, :4], [np.sin(3), np.cos(3), np.sin(3 / 10000 ** (2 / 512)),
                                                    np.cos(3 / 10000 ** (2 / 512))], rtol=1e-6)
    layer = nn.PositionalEncoding(8, max_len=10)
    np.testing.assert_allclose(layer(np.zeros((2, 5, 8), np.float32)).data[1], encoding[0, :5, :8] * 0 +
                               F.positional_encoding(10, 8)[0, :5], rtol=1e-7)


# ----------------------------------------------------------------------------------------------------
# Transformer layers


def test_transformer_layers_names_and_clones():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                     "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    encoder = nn.TransformerEncoder(layer, num_layers=3)
    assert len(encoder.layers) == 3 and encoder.layers[2] is not layer
    np.testing.assert_array_equal(encoder.layers[2].linear1.weight.data, layer.linear1.weight.data)
    assert "layers.1.self_attn.in_proj_weight" in encoder.state_dict()
    mask = nn.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask, [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_layer_gradients(norm_first):
    layer = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True, norm_first=norm_first,
                                       dtype=np.float64, generator=np.random.default_rng(11))
    rng = np.random.default_rng(12)
    tgt, memory = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 4))
    causal = nn.generate_square_subsequent_mask(3, np.float64)
    assert gradcheck(lambda t, m: layer(t, m, tgt_mask=causal), [tgt, memory])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_layers_match_pytorch(norm_first, batch_first):
    torch = pytest.importorskip("torch")
    kwargs = dict(dim_feedforward=16, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    torch.manual_seed(0)
    t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **kwargs), 2,
                                        enable_nested_tensor=False).double()
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, **kwargs), 2).double()
    o_enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dtype=np.float64, **kwargs), 2)
    o_dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, dtype=np.float64, **kwargs), 2)
    for ours, theirs in ((o_enc, t_enc), (o_dec, t_dec)):
        state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
        ours.load_state_dict(state)
        assert list(ours.state_dict()) == list(state)
    rng = np.random.default_rng(13)
    src = rng.standard_normal((2, 5, 8) if batch_first else (5, 2, 8))
    tgt = rng.standard_normal((2, 4, 8) if batch_first else (4, 2, 8))
    padding = np.array([[False] * 4 + [True], [False] * 5])
    causal = nn.generate_square_subsequent_mask(4, np.float64)
    src_o, tgt_o = Tensor(src, requires_grad=True), Tensor(tgt, requires_grad=True)
    src_t, tgt_t = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    out = o_dec(tgt_o, o_enc(src_o, src_key_padding_mask=padding), tgt_mask=causal,
                memory_key_padding_mask=padding)
    out_t = t_dec(tgt_t, t_enc(src_t, src_key_padding_mask=torch.tensor(padding)), tgt_mask=torch.tensor(causal),
                  memory_key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-9, atol=1e-11)
    w = rng.standard_normal(out.shape)
    (out * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(src_o.grad.data, src_t.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(tgt_o.grad.data, tgt_t.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), (_, p_t) in zip(o_enc.named_parameters(), t_enc.named_parameters()):
        np.testing.assert_allclose(p.grad.data, p_t.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
