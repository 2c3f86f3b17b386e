"""Transformers (Course 5, week 4): the graded notebook's pieces with tinygrad_dl's layers, then a small
Transformer trained on the date-translation task next to the attention LSTM.

1. ``get_angles`` and ``positional_encoding`` (the course's formulas, ``F.positional_encoding``), plotted.
2. The masks, converted to PyTorch's conventions: the course's padding mask (1 = padding token) is a
   ``key_padding_mask`` (True = ignore); its look-ahead mask (1 = may see) becomes ``generate_square_subsequent_mask``
   (-inf above the diagonal) for ``nn.MultiheadAttention``, or a boolean "may attend" mask for
   ``F.scaled_dot_product_attention``.
3. ``scaled_dot_product_attention`` on the notebook's q, k, v: its published weights and outputs, with and
   without the mask.
4. The course's EncoderLayer, Encoder, Decoder and Transformer, built from ``nn.Embedding``,
   ``nn.TransformerEncoderLayer``/``nn.TransformerDecoderLayer`` (post-norm, LayerNorm eps 1e-6) and
   ``nn.Linear``, with the notebook's sizes: the output shape (1, 5, 35). (Keras's MultiHeadAttention gives every
   head key_dim = embedding_dim; PyTorch's splits embed_dim across the heads. Values depend on TensorFlow's
   random initialisers and cannot be compared.)
5. A Transformer (2 + 2 layers, d_model 32) trained from scratch on the same generated dates as
   ``nmt_dates``, compared with the attention LSTM for the same number of epochs: exact-match accuracy and time.

    python -m demos.transformer [--epochs 10] [--quick]
"""
import math
import time

import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn, no_grad

from . import common, nmt_dates

NAME = "transformer"
DESCRIPTION = "Course 5 week 4: positional encoding, masks, attention, the course's Transformer; one trained on dates"

COURSE = {
    "angles": [[0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
               [2, 2, 0.2, 0.2, 0.02, 0.02, 0.002, 0.002], [3, 3, 0.3, 0.3, 0.03, 0.03, 0.003, 0.003]],
    "padding_mask": [[0, 0, 1, 1, 0], [0, 0, 0, 1, 1], [1, 1, 1, 0, 0]],
    "softmax": [[7.2876644e-01, 2.6809821e-01, 6.6454901e-04, 6.6454901e-04, 1.8064314e-03],
                [8.4437378e-02, 2.2952460e-01, 6.2391251e-01, 3.1062774e-02, 3.1062774e-02],
                [4.8541026e-03, 4.8541026e-03, 4.8541026e-03, 2.6502505e-01, 7.2041273e-01]],
    "masked_softmax_row0": [[7.2973627e-01, 2.6845497e-01, 0.0, 0.0, 1.8088354e-03],
                            [2.4472848e-01, 6.6524094e-01, 0.0, 0.0, 9.0030573e-02],
                            [6.6483547e-03, 6.6483547e-03, 0.0, 0.0, 9.8670328e-01]],
    "look_ahead": [[1, 0, 0], [1, 1, 0], [1, 1, 1]],
    "weights": [[0.2589478, 0.42693272, 0.15705977, 0.15705977], [0.2772748, 0.2772748, 0.2772748, 0.16817567],
                [0.33620113, 0.33620113, 0.12368149, 0.2039163]],
    "output": [[0.74105227, 0.15705977], [0.7227253, 0.16817567], [0.6637989, 0.2039163]],
    "masked_weights": [[0.30719590187072754, 0.5064803957939148, 0.0, 0.18632373213768005],
                       [0.3836517333984375, 0.3836517333984375, 0.0, 0.2326965481042862],
                       [0.3836517333984375, 0.3836517333984375, 0.0, 0.2326965481042862]],
    "masked_output": [[0.6928040981292725, 0.18632373213768005], [0.6163482666015625, 0.2326965481042862],
                      [0.6163482666015625, 0.2326965481042862]],
    "transformer_shape": (1, 5, 35),
}
Q = np.array([[1, 0, 1, 1], [0, 1, 1, 1], [1, 0, 0, 1]], np.float32)
K = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 0], [0, 0, 0, 1]], np.float32)
V = np.array([[0, 0], [1, 0], [1, 0], [1, 1]], np.float32)


# ----------------------------------------------------------------------------------- the course's model


class _EmbeddedStack(nn.Module):
    """What the course's Encoder and Decoder share: token ids -> Embedding * sqrt(d) + positional encoding ->
    dropout (``embed``), then ``num_layers`` post-norm layers of ``layer_type`` in a ``stack_type``."""

    def __init__(self, layer_type, stack_type, num_layers, embedding_dim, num_heads, fully_connected_dim, vocab_size,
                 maximum_position_encoding, dropout_rate, layernorm_eps, generator):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim, generator=generator)
        # Keras's Embedding starts in U(-0.05, 0.05): times sqrt(d) it stays small next to the positional
        # encoding (N(0, 1) rows times sqrt(d) would drown the positions)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05, generator=generator)
        self.pos_encoding = F.positional_encoding(maximum_position_encoding, embedding_dim)
        self.dropout = nn.Dropout(dropout_rate, generator=generator)
        layer = layer_type(embedding_dim, num_heads, fully_connected_dim, dropout_rate, layer_norm_eps=layernorm_eps,
                           batch_first=True, generator=generator)
        self.layers = stack_type(layer, num_layers)

    def embed(self, x):
        h = self.embedding(x) * math.sqrt(self.embedding_dim) + self.pos_encoding[:, :x.shape[1], :]
        return self.dropout(h)


class Encoder(_EmbeddedStack):
    """Embedding * sqrt(d) + positional encoding -> dropout -> ``num_layers`` post-norm encoder layers."""

    def __init__(self, num_layers, embedding_dim, num_heads, fully_connected_dim, input_vocab_size,
                 maximum_position_encoding, dropout_rate=0.1, layernorm_eps=1e-6, generator=None):
        super().__init__(nn.TransformerEncoderLayer, nn.TransformerEncoder, num_layers, embedding_dim, num_heads,
                         fully_connected_dim, input_vocab_size, maximum_position_encoding, dropout_rate, layernorm_eps,
                         generator)

    def forward(self, x, padding_mask=None):
        return self.layers(self.embed(x), src_key_padding_mask=padding_mask)


class Decoder(_EmbeddedStack):
    """Embedding * sqrt(d) + positional encoding -> dropout -> ``num_layers`` post-norm decoder layers."""

    def __init__(self, num_layers, embedding_dim, num_heads, fully_connected_dim, target_vocab_size,
                 maximum_position_encoding, dropout_rate=0.1, layernorm_eps=1e-6, generator=None):
        super().__init__(nn.TransformerDecoderLayer, nn.TransformerDecoder, num_layers, embedding_dim, num_heads,
                         fully_connected_dim, target_vocab_size, maximum_position_encoding, dropout_rate, layernorm_eps,
                         generator)

    def forward(self, x, memory, look_ahead_mask=None, memory_padding_mask=None):
        return self.layers(self.embed(x), memory, tgt_mask=look_ahead_mask,
                           memory_key_padding_mask=memory_padding_mask)


class Transformer(nn.Module):
    """The course's Transformer: Encoder, Decoder, Dense(target_vocab_size). ``forward`` returns logits; the
    course's softmax output is ``F.softmax(logits)``."""

    def __init__(self, num_layers, embedding_dim, num_heads, fully_connected_dim, input_vocab_size,
                 target_vocab_size, max_positional_encoding_input, max_positional_encoding_target,
                 dropout_rate=0.1, layernorm_eps=1e-6, generator=None):
        super().__init__()
        self.encoder = Encoder(num_layers, embedding_dim, num_heads, fully_connected_dim, input_vocab_size,
                               max_positional_encoding_input, dropout_rate, layernorm_eps, generator)
        self.decoder = Decoder(num_layers, embedding_dim, num_heads, fully_connected_dim, target_vocab_size,
                               max_positional_encoding_target, dropout_rate, layernorm_eps, generator)
        self.final_layer = nn.Linear(embedding_dim, target_vocab_size, generator=generator)

    def forward(self, inp, tar, enc_padding_mask=None, look_ahead_mask=None, dec_padding_mask=None):
        memory = self.encoder(inp, enc_padding_mask)
        return self.final_layer(self.decoder(tar, memory, look_ahead_mask, dec_padding_mask))


# ----------------------------------------------------------------------------------- the notebook's checks


def notebook_values():
    """Everything the graded notebook prints or asserts, computed with tinygrad_dl."""
    angles = nn.attention.get_angles(np.arange(4)[:, None], np.arange(8)[None, :], 8)
    x = np.array([[7., 6., 0., 0., 1.], [1., 2., 3., 0., 0.], [0., 0., 0., 4., 5.]], np.float32)
    padding = x == 0  # the course's create_padding_mask (1 = padding) as a key_padding_mask (True = ignore)
    # the course's softmax(x + mask * -1e9): x (3, 5) broadcast against each example's mask (3, 1, 1, 5)
    masked = F.softmax(Tensor(x) + np.where(padding, -1e9, 0).astype(np.float32)[:, None, None, :])
    look_ahead = nn.generate_square_subsequent_mask(3)
    keep = np.array([[True, True, False, True]] * 3)  # the course's mask [[0, 0, 1, 0]] * 3: 1 = masked
    return {
        "angles": angles, "encoding": F.positional_encoding(50, 512), "padding_mask": padding.astype(int),
        "softmax": F.softmax(Tensor(x)).data, "masked_softmax_row0": masked.data[0, 0],
        "look_ahead": np.isfinite(look_ahead).astype(int),
        "weights": F.attention_weights(Q, K).data, "output": F.scaled_dot_product_attention(Q, K, V).data,
        "masked_weights": F.attention_weights(Q, K, attn_mask=keep).data,
        "masked_output": F.scaled_dot_product_attention(Q, K, V, attn_mask=keep).data,
    }


def course_model_shapes(seed=10):
    """The notebook's EncoderLayer, Encoder and Transformer tests: shapes and the softmax output's properties."""
    generator = np.random.default_rng(seed)
    layer = nn.TransformerEncoderLayer(4, 2, 8, layer_norm_eps=1e-6, batch_first=True, generator=generator)
    encoded = layer(Q[None], src_key_padding_mask=np.array([[False, True, False]]))  # course mask [[1, 0, 1]]
    encoder = Encoder(2, 4, 2, 8, 32, 5, generator=generator)
    encoder_out = encoder(np.array([[2, 1, 3], [1, 2, 0]]))
    transformer = Transformer(6, 4, 4, 8, 30, 35, 5, 6, generator=generator)
    translation = F.softmax(transformer(np.array([[2, 1, 4, 3, 0]]), np.array([[3, 2, 1, 0, 0]]),
                                        enc_padding_mask=np.array([[0, 0, 0, 0, 1]], bool),
                                        look_ahead_mask=nn.generate_square_subsequent_mask(5),
                                        dec_padding_mask=np.array([[0, 0, 0, 1, 1]], bool)))
    return {"encoder_layer": encoded.shape, "encoder_layer_row_mean": float(np.abs(encoded.data.mean(-1)).max()),
            "encoder": encoder_out.shape, "transformer": translation.shape,
            "transformer_row_sums": translation.data.sum(-1),
            "transformer_parameters": sum(p.size for p in transformer.parameters())}


# ----------------------------------------------------------------------------------- dates


class DateTransformer(nn.Module):
    """Encoder-decoder Transformer for dates: input characters (37 ids, '<pad>' ignored) -> 10 output
    characters; the decoder reads a start token (id 11) then the previous characters (teacher forcing)."""

    START = 11

    def __init__(self, human_vocab_size, machine_vocab_size, pad_id, d_model=32, heads=4, layers=2, ff=64,
                 dropout=0.1, generator=None):
        super().__init__()
        self.pad_id = pad_id
        self.model = Transformer(layers, d_model, heads, ff, human_vocab_size, machine_vocab_size + 1,
                                 nmt_dates.TX, nmt_dates.TY, dropout, 1e-6, generator)
        self.causal = nn.generate_square_subsequent_mask(nmt_dates.TY)

    def forward(self, x_ids, y_ids):
        """Teacher-forced logits (N, Ty, 11+1) for inputs (N, Tx) and targets (N, Ty)."""
        decoder_input = np.concatenate([np.full((len(y_ids), 1), self.START), y_ids[:, :-1]], axis=1)
        padding = x_ids == self.pad_id
        logits = self.model(x_ids, decoder_input, padding, self.causal, padding)
        return logits[..., :-1]  # the start token is never a target

    def greedy(self, x_ids):
        """Decode 10 characters, each from the previous ones (no teacher)."""
        self.eval()
        padding = x_ids == self.pad_id
        with no_grad():
            memory = self.model.encoder(x_ids, padding)
            out = np.full((len(x_ids), 1), self.START)
            for step in range(nmt_dates.TY):
                hidden = self.model.decoder(out, memory, self.causal[:step + 1, :step + 1], padding)
                logits = self.model.final_layer(hidden[:, -1]).data[:, :-1]
                out = np.concatenate([out, logits.argmax(axis=-1)[:, None]], axis=1)
        self.train()
        return out[:, 1:]


def compare_on_dates(epochs, m_train, m_test, seed=0, quiet=True):
    """Train the Transformer and the attention LSTM for ``epochs`` on the same dates; accuracy and time."""
    train_pairs, test_pairs, human_vocab, machine_vocab, inv_machine = nmt_dates.make_data(m_train, m_test)
    X, Y, Xoh, _ = nmt_dates.preprocess_dates(train_pairs, human_vocab, machine_vocab)
    X_test, Y_test, Xoh_test, _ = nmt_dates.preprocess_dates(test_pairs, human_vocab, machine_vocab)
    results = {}
    transformer = DateTransformer(len(human_vocab), len(machine_vocab), human_vocab["<pad>"],
                                  generator=np.random.default_rng(seed))
    start = time.perf_counter()
    losses = nmt_dates.train(transformer, X, Y, epochs, lr=0.003, decay=0.0, seed=seed, quiet=quiet,
                             label="Transformer", forward=transformer)
    seconds = time.perf_counter() - start
    results["transformer"] = {"losses": losses, "seconds": seconds,
                              "test_accuracy": nmt_dates.exact_match(transformer.greedy(X_test), Y_test),
                              "parameters": sum(p.size for p in transformer.parameters())}
    lstm = nmt_dates.AttentionTranslator(len(human_vocab), len(machine_vocab), generator=np.random.default_rng(seed))
    Xoh, Xoh_test = Xoh.astype(np.float32), Xoh_test.astype(np.float32)
    start = time.perf_counter()
    losses = nmt_dates.train(lstm, Xoh, Y, epochs, seed=seed, quiet=quiet, label="attention LSTM")
    results["attention_lstm"] = {"losses": losses, "seconds": time.perf_counter() - start,
                                 "test_accuracy": nmt_dates.exact_match(nmt_dates.predict(lstm, Xoh_test), Y_test),
                                 "parameters": nmt_dates.parameter_count(lstm)}
    results["test_size"] = len(test_pairs)
    return results


def plot_encoding(encoding, path):
    """The notebook's picture of the (1, 50, 512) encoding, as a 150-dpi PNG."""
    from tinygrad_dl.plot import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    image = ax.pcolormesh(encoding[0], cmap="RdBu", vmin=-1, vmax=1)
    ax.set(title="Sinusoidal positional encoding (1, 50, 512)", xlabel="encoding dimension d", ylabel="position")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    return save_figure(fig, path)


def run(epochs=10, m_train=10000, m_test=1000, seed=0, quiet=True, out=None):
    results = {"notebook": notebook_values(), "shapes": course_model_shapes()}
    differences = {key: float(np.max(np.abs(np.asarray(results["notebook"][key], np.float64) - np.asarray(value))))
                   for key, value in COURSE.items() if key in results["notebook"]}
    results["differences"] = differences
    if epochs:
        results["dates"] = compare_on_dates(epochs, m_train, m_test, seed, quiet)
    if out is not None:
        results["plots"] = [plot_encoding(results["notebook"]["encoding"], common.output_dir(out) / "encoding.png")]
    return results


def results_rows(results):
    rows = [(f"{key} (max |difference|)", 0.0, f"{value:.1e}") for key, value in results["differences"].items()]
    shapes = results["shapes"]
    rows += [("positional_encoding(50, 512) shape", "(1, 50, 512)", str(results["notebook"]["encoding"].shape)),
             ("EncoderLayer(4, 2, 8) output shape", "(1, 3, 4)", str(shapes["encoder_layer"])),
             ("Encoder(2 layers) output shape", "(2, 3, 4)", str(shapes["encoder"])),
             ("Transformer output shape", str(COURSE["transformer_shape"]), str(shapes["transformer"]))]
    if "dates" in results:
        dates = results["dates"]
        for name in ("transformer", "attention_lstm"):
            r = dates[name]
            rows.append((f"{name}: exact match on {dates['test_size']} held-out dates", None,
                         round(r["test_accuracy"], 4)))
            rows.append((f"{name}: parameters / training time (s)", None, f"{r['parameters']} / {r['seconds']:.1f}"))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--epochs", type=int, default=10, help="epochs of both date models (0: skip them)")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 1,000 dates")
    args = parser.parse_args(argv)
    epochs, m_train, m_test = (1, 1000, 200) if args.quick else (args.epochs, 10000, 1000)
    return common.run_and_report(lambda: run(epochs, m_train, m_test, quiet=args.quiet, out=args.out), results_rows,
                                 "Transformers (C5 W4)")


if __name__ == "__main__":
    main()
