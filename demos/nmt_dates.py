"""Neural machine translation with attention: human-readable dates to ISO dates (Course 5, week 3).

The course's model, trained from scratch (the course loads pretrained weights after one epoch):

* a pre-attention bidirectional LSTM (n_a = 32 per direction) over the one-hot characters (Tx = 30, 37 symbols)
  gives a (N, 30, 64);
* for each of the Ty = 10 output characters, ``one_step_attention``: [a; s_prev] -> Dense(10, tanh) ->
  Dense(1, relu) -> softmax over the 30 input positions -> context = sum of the weighted a;
* a post-attention ``nn.LSTMCell(64, 64)`` (n_s = 64, shared by the 10 steps) and a Dense(11) softmax.

The Dense layers start as Keras's (Glorot-uniform weights, zero biases) except the relu scorer Dense(1), whose
bias starts at 1 (``--scorer-bias``): with the course's 0 the scorer of most output steps falls below zero at
every input position within the first epoch, and their attention stays uniform for good (the map's month and
day rows are then flat); started above zero, every step learns where to look (see ``AttentionTranslator``).

The first Dense acts on the concatenation [a; s_prev]; its weight is split in two so the part for ``a`` is
computed once for all 10 output steps (the same parameters and the same result as concatenating at every
step). Trained with the course's Adam (lr 0.005, betas 0.9/0.999, batches of 100; the course's Keras
``decay=0.01`` per batch is available as ``--decay 0.01`` but off by default: it is meant for the single epoch
the course trains before loading its pretrained weights, and from scratch it slows learning) on the course's
loss: the cross-entropy of each output character, averaged over the batch and summed over
the 10 characters. Parameters: Keras keeps one bias per LSTM gate, PyTorch's layout two (``bias_ih`` and
``bias_hh``), so the two LSTMs have 2 x 128 + 256 = 512 more numbers than the course's 52,960.

    python -m demos.nmt_dates [--epochs 25] [--decay 0.01] [--scorer-bias 1] [--quick]
"""
import time

import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import Tensor, nn, no_grad, optim, stack
from tinygrad_dl.data import int_to_string, load_dates_dataset, preprocess_dates, string_to_int
from tinygrad_dl.plot import plot_attention_map, plot_cost_histories

from . import common

NAME = "nmt_dates"
DESCRIPTION = "Course 5 week 3: date translation with attention (Bi-LSTM 32 -> attention -> LSTM 64), from scratch"
TX, TY, N_A, N_S = 30, 10, 32, 64
EXAMPLES = ["3 May 1979", "5 April 09", "21th of August 2016", "Tue 10 Jul 2007", "Saturday May 9 2018",
            "March 3 2001", "March 3rd 2001", "1 March 2001"]
EXAMPLE_TRUTH = ["1979-05-03", "2009-04-05", "2016-08-21", "2007-07-10", "2018-05-09", "2001-03-03", "2001-03-03",
                 "2001-03-01"]
ATTENTION_EXAMPLE = "Tuesday 09 Oct 1993"
EPOCHS = 25
SCORER_BIAS = 1.0  # the initial bias of Dense(1, relu); the course (Keras) starts it at 0
COURSE = {"parameters": 52960, "human_vocab": 37, "machine_vocab": 11, "loss_after_epoch_1": 16.6132,
          "required_accuracy": 0.95}


class AttentionTranslator(nn.Module):
    """The course's attention model; ``forward(x)`` takes one-hot (N, Tx, 37) and returns logits (N, Ty, 11)."""

    def __init__(self, human_vocab_size=37, machine_vocab_size=11, n_a=N_A, n_s=N_S, Ty=TY, scorer_bias=SCORER_BIAS,
                 generator=None):
        super().__init__()
        self.n_a, self.n_s, self.Ty = n_a, n_s, Ty
        self.pre_attention = nn.LSTM(human_vocab_size, n_a, bidirectional=True, batch_first=True, generator=generator)
        # the Dense layers start as Keras's do (Glorot-uniform weights, zero biases), except the scorer's bias
        self.densor1 = nn.Linear(2 * n_a + n_s, 10, init="xavier_uniform", generator=generator)  # [a; s_prev], tanh
        self.densor2 = nn.Linear(10, 1, init="xavier_uniform", generator=generator)  # relu, softmax over positions
        # The scorer is a single relu unit: an output step whose 30 energies all fall below zero gets uniform
        # attention and no gradient through the relu, for good. With the course's zero bias that happens in the
        # first epoch to most output steps (Adam moves the 11 scorer numbers by ~lr every batch whatever their
        # gradient), and the month and day then never look at the month and day. A bias of 1 puts every energy
        # above zero at the start (|w . e| < 0.5 there), where the relu is the identity and the softmax ignores the
        # constant: the same attention as the course's, which training can still clip where it wants to.
        nn.init.constant_(self.densor2.bias, scorer_bias)
        self.post_attention = nn.LSTMCell(2 * n_a, n_s, generator=generator)
        self.output_layer = nn.Linear(n_s, machine_vocab_size, init="xavier_uniform", generator=generator)

    def forward(self, x, return_attention=False):
        a, _ = self.pre_attention(x)  # (N, Tx, 2 n_a)
        width = 2 * self.n_a
        weight = self.densor1.weight
        energy_from_a = F.linear(a, weight[:, :width], self.densor1.bias)  # the same for every output step
        weight_for_s = weight[:, width:]
        batch = x.shape[0]
        s = Tensor(np.zeros((batch, self.n_s), dtype=a.dtype))
        c = Tensor(np.zeros((batch, self.n_s), dtype=a.dtype))
        outputs, attention = [], []
        for _ in range(self.Ty):
            e = (energy_from_a + F.linear(s, weight_for_s).reshape(batch, 1, 10)).tanh()  # = Dense(10)([a; s_prev])
            alphas = F.softmax(self.densor2(e).relu(), axis=1)  # (N, Tx, 1)
            context = (alphas * a).sum(axis=1)  # (N, 2 n_a)
            s, c = self.post_attention(context, (s, c))
            outputs.append(self.output_layer(s))
            attention.append(alphas)
        logits = stack(outputs, axis=1)
        if return_attention:
            return logits, stack(attention, axis=1).reshape(batch, self.Ty, x.shape[1])
        return logits


def parameter_count(model):
    return sum(p.size for p in model.parameters())


def keras_parameter_count(model):
    """The course's count: one bias per LSTM gate row instead of PyTorch's two."""
    extra = sum(p.size for name, p in model.named_parameters() if "bias_hh" in name)
    return parameter_count(model) - extra


def sequence_loss(logits, targets):
    """The course's loss: cross-entropy per output character, averaged over the batch, summed over Ty."""
    batch, steps, classes = logits.shape
    return F.cross_entropy(logits.reshape(batch * steps, classes), targets.reshape(-1)) * steps


def make_data(m_train=10000, m_test=1000, seed=12345):
    """Training pairs and held-out pairs (generated with another seed, none of them in the training set)."""
    train, human_vocab, machine_vocab, inv_machine = load_dates_dataset(m_train, seed=seed)
    seen = set(train)
    candidates, _, _, _ = load_dates_dataset(3 * m_test, seed=seed + 1)
    test = [pair for pair in candidates if pair not in seen][:m_test]
    return train, test, human_vocab, machine_vocab, inv_machine


def train(model, X, Y, epochs, batch_size=100, lr=0.005, decay=0.0, seed=0, quiet=True, label="train",
          forward=None):
    """Adam (with Keras' per-batch decay lr / (1 + decay * iterations) when decay > 0); returns {epoch: loss}."""
    forward = forward or (lambda batch_x, batch_y: model(batch_x))
    optimizer = optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    scheduler = optim.InverseTimeDecay(optimizer, decay) if decay else None
    rng = np.random.default_rng(seed)
    losses = {}
    for epoch in range(1, epochs + 1):
        losses[epoch] = common.train_shuffled_epoch(
            optimizer, lambda batch: sequence_loss(forward(X[batch], Y[batch]), Y[batch]), len(X), batch_size, rng,
            f"{label} {epoch}", quiet, scheduler)
        common.log(f"{label}: epoch {epoch} loss {losses[epoch]:.4f}", quiet)
    return losses


def predict(model, Xoh, batch_size=500):
    model.eval()
    with no_grad():
        ids = [model(Xoh[i:i + batch_size]).data.argmax(axis=-1) for i in range(0, len(Xoh), batch_size)]
    model.train()
    return np.concatenate(ids)


def exact_match(predicted_ids, Y):
    """The fraction of dates whose 10 characters are all right."""
    return float(np.mean(np.all(predicted_ids == Y, axis=1)))


def translate(model, texts, human_vocab, inv_machine):
    Xoh = np.eye(len(human_vocab), dtype=np.float32)[[string_to_int(t, TX, human_vocab) for t in texts]]
    return ["".join(int_to_string(ids, inv_machine)) for ids in predict(model, Xoh)]


def uniform_attention(model, Xoh, batch_size=500):
    """For each output step, the fraction of inputs whose attention is exactly uniform (1/Tx everywhere): the
    relu scorer is below zero at every position there, so that step cannot look anywhere in particular."""
    model.eval()
    with no_grad():
        maps = [model(Xoh[i:i + batch_size], return_attention=True)[1].data for i in range(0, len(Xoh), batch_size)]
    model.train()
    attention = np.concatenate(maps)  # (N, Ty, Tx)
    return np.mean(np.all(np.abs(attention - 1.0 / attention.shape[-1]) < 1e-6, axis=-1), axis=0)


def attention_map(model, text, human_vocab, inv_machine):
    """The (Ty, Tx) attention weights of one sentence and its translation."""
    Xoh = np.eye(len(human_vocab), dtype=np.float32)[[string_to_int(text, TX, human_vocab)]]
    model.eval()
    with no_grad():
        logits, attention = model(Xoh, return_attention=True)
    model.train()
    return attention.data[0], "".join(int_to_string(logits.data[0].argmax(axis=-1), inv_machine))


def run(epochs=EPOCHS, m_train=10000, m_test=1000, seed=0, decay=0.0, scorer_bias=SCORER_BIAS, quiet=True, out=None):
    """Generate the dates, train the model from scratch, report accuracy, examples and the attention map."""
    train_pairs, test_pairs, human_vocab, machine_vocab, inv_machine = make_data(m_train, m_test)
    _, Y, Xoh, _ = preprocess_dates(train_pairs, human_vocab, machine_vocab, TX, TY)
    _, Y_test, Xoh_test, _ = preprocess_dates(test_pairs, human_vocab, machine_vocab, TX, TY)
    Xoh, Xoh_test = Xoh.astype(np.float32), Xoh_test.astype(np.float32)
    model = AttentionTranslator(len(human_vocab), len(machine_vocab), scorer_bias=scorer_bias,
                                generator=np.random.default_rng(seed))
    start = time.perf_counter()
    losses = train(model, Xoh, Y, epochs, decay=decay, seed=seed, quiet=quiet, label="attention LSTM")
    seconds = time.perf_counter() - start
    results = {
        "first_pairs": train_pairs[:4], "human_vocab": len(human_vocab), "machine_vocab": len(machine_vocab),
        "parameters": parameter_count(model), "keras_parameters": keras_parameter_count(model), "losses": losses,
        "seconds": seconds, "train_accuracy": exact_match(predict(model, Xoh[:1000]), Y[:1000]),
        "test_accuracy": exact_match(predict(model, Xoh_test), Y_test), "test_size": len(test_pairs),
        "examples": dict(zip(EXAMPLES, translate(model, EXAMPLES, human_vocab, inv_machine))),
        "uniform_attention": uniform_attention(model, Xoh_test),
        "model": model,
    }
    weights, translation = attention_map(model, ATTENTION_EXAMPLE, human_vocab, inv_machine)
    results["attention"], results["attention_translation"] = weights, translation
    if out is not None:
        folder = common.output_dir(out)
        results["plots"] = [
            plot_attention_map(weights, list(ATTENTION_EXAMPLE.lower()), list(translation),
                               folder / "attention_map.png", f"Attention: '{ATTENTION_EXAMPLE}' -> {translation}",
                               normalize_rows=True),
            plot_cost_histories({"attention LSTM": losses}, folder / "loss.png", "Date translation: training loss",
                                xlabel="epoch")]
    return results


def results_rows(results):
    rows = [("human vocabulary", COURSE["human_vocab"], results["human_vocab"]),
            ("machine vocabulary", COURSE["machine_vocab"], results["machine_vocab"]),
            ("parameters (PyTorch layout, 2 biases per LSTM gate)", None, results["parameters"]),
            ("parameters without bias_hh (Keras layout)", COURSE["parameters"], results["keras_parameters"]),
            ("loss after epoch 1", COURSE["loss_after_epoch_1"], round(results["losses"][1], 4))]
    last = max(results["losses"])
    rows.append((f"loss after epoch {last}", None, round(results["losses"][last], 4)))
    rows.append((f"exact match on {results['test_size']} held-out dates", f">= {COURSE['required_accuracy']}",
                 round(results["test_accuracy"], 4)))
    uniform = results["uniform_attention"]
    rows.append(("output steps whose attention is uniform (dead scorer)", None,
                 f"{int(np.sum(uniform > 0.5))} of {len(uniform)} (uniform on {np.mean(uniform):.1%} of the rows)"))
    rows.append(("training time (s)", None, round(results["seconds"], 1)))
    for (text, translation), truth in zip(results["examples"].items(), EXAMPLE_TRUTH):
        rows.append((f"'{text}'", truth, translation))
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs over 10,000 dates (default {EPOCHS})")
    parser.add_argument("--decay", type=float, default=0.0,
                        help="Keras-style learning-rate decay per batch (the course's 0.01 is meant for one epoch "
                             "before loading pretrained weights; it slows training from scratch)")
    parser.add_argument("--scorer-bias", type=float, default=SCORER_BIAS,
                        help=f"initial bias of the Dense(1, relu) attention scorer (default {SCORER_BIAS}; the "
                             "course's Keras default 0 lets most output steps' attention die in the first epoch)")
    parser.add_argument("--quick", action="store_true", help="2 epochs on 2,000 dates (seconds, low accuracy)")
    args = parser.parse_args(argv)
    epochs, m_train, m_test = (2, 2000, 200) if args.quick else (args.epochs, 10000, 1000)
    return common.run_and_report(lambda: run(epochs, m_train, m_test, decay=args.decay, scorer_bias=args.scorer_bias,
                                             quiet=args.quiet, out=args.out), results_rows,
                                 f"Date translation with attention (C5 W3), {epochs} epochs on {m_train} dates")


if __name__ == "__main__":
    main()
