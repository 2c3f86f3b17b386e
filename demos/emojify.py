"""Emojify (Course 5, week 2, assignment 2): a sentence to one of five emoji.

* V1: the average of the sentence's word vectors -> ``nn.Linear(50, 5)`` -> softmax, with the course's
  initialisation (``np.random.seed(1)``, W = randn(5, 50) / sqrt(50), b = 0) and its training (one sentence at a
  time, SGD lr 0.01, 400 epochs).
* V2: ``nn.Embedding`` -> ``nn.LSTM(128)`` (every step) -> Dropout(0.5) -> ``nn.LSTM(128)`` (last step) ->
  Dropout(0.5) -> ``nn.Linear(128, 5)``, Adam (lr 0.001), batches of 32, 50 epochs, sentences padded to 10 words.

The course uses pretrained GloVe 50-d vectors (frozen), which are not shipped: by default both models learn
their own 50-d embeddings from the 132 training sentences (test words never seen in training map to
'<unk>'), so the course's numbers (V1 train 97.7 % / test 85.7 %, V2 test 80-95 %) are not the target there.
Point ``--glove`` at ``glove.6B.50d.txt`` and the frozen GloVe path runs the course's own setting.

    python -m demos.emojify [--glove path/to/glove.6B.50d.txt] [--quick]
"""
import time

import numpy as np

import tinygrad_dl.nn.functional as F
from tinygrad_dl import nn, no_grad, optim
from tinygrad_dl.data import (EMOJI_LABELS, build_vocabulary, load_emoji_dataset, read_glove_vecs,
                              sentences_to_indices)

from . import common

NAME = "emojify"
DESCRIPTION = "Course 5 week 2: Emojify V1 (averaged word vectors) and V2 (two LSTMs), learned or GloVe embeddings"
MAX_LEN = 10
COURSE = {
    "v1_glove": {"train": 0.977, "test": 0.857, "cost_epoch_0": 1.95204988128},
    "v2_glove_test": (0.80, 0.95),
    "sentences_to_indices": {"sentences": ["funny lol", "lets play baseball", "food is ready for you"],
                             "indices": [[155345, 225122, 0, 0, 0], [220930, 286375, 69714, 0, 0],
                                         [151204, 192973, 302254, 151349, 394475]]},
    "train_size": 132, "test_size": 56,
}


class EmojifierV1(nn.Module):
    """Average of the word vectors -> Linear(dim, 5); the course's init for the Linear layer."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        np.random.seed(1)
        dim = embedding.embedding_dim
        self.linear = nn.Linear(dim, 5, dtype=embedding.weight.dtype, init="normal_fan_in")  # randn(5, dim)/sqrt(dim)

    def forward(self, word_ids):
        """word_ids: the ids of one sentence (1-d)."""
        return self.linear(self.embedding(word_ids).mean(axis=0, keepdims=True))


class EmojifierV2(nn.Module):
    def __init__(self, embedding, hidden_size=128, dropout=0.5, generator=None):
        super().__init__()
        self.embedding = embedding
        dim = embedding.embedding_dim
        self.lstm1 = nn.LSTM(dim, hidden_size, batch_first=True, dtype=embedding.weight.dtype, generator=generator)
        self.dropout1 = nn.Dropout(dropout, generator=generator)
        self.lstm2 = nn.LSTM(hidden_size, hidden_size, batch_first=True, dtype=embedding.weight.dtype,
                             generator=generator)
        self.dropout2 = nn.Dropout(dropout, generator=generator)
        self.linear = nn.Linear(hidden_size, 5, dtype=embedding.weight.dtype, generator=generator)

    def forward(self, word_ids):
        """word_ids: (N, MAX_LEN) padded with 0."""
        x, _ = self.lstm1(self.embedding(word_ids))
        x, _ = self.lstm2(self.dropout1(x))
        return self.linear(self.dropout2(x[:, -1]))


def learned_embedding(vocabulary, dim=50, generator=None):
    """An nn.Embedding over our vocabulary (index 0 is padding, so the table has len + 1 rows)."""
    return nn.Embedding(len(vocabulary) + 1, dim, padding_idx=0, generator=generator)


def glove_embedding(path):
    """The course's ``pretrained_embedding_layer``: a frozen Embedding with GloVe's vectors (row 0 zero)."""
    words_to_index, _, word_to_vec_map = read_glove_vecs(path)
    matrix = np.zeros((len(words_to_index) + 1, 50))
    for word, index in words_to_index.items():
        matrix[index] = word_to_vec_map[word]
    return nn.Embedding.from_pretrained(matrix, freeze=True, padding_idx=0), words_to_index


def sentence_ids(sentences, vocabulary):
    """Per sentence, the ids of its words (unknown words -> '<unk>' when the vocabulary has it)."""
    rows = sentences_to_indices(sentences, vocabulary, MAX_LEN).astype(np.int64)
    lengths = [len(str(s).split()) for s in sentences]
    return rows, [row[:n] for row, n in zip(rows, lengths)]


def train_v1(model, sentence_word_ids, labels, epochs=400, learning_rate=0.01, quiet=True, record_every=100):
    """The course's V1 loop: one sentence at a time; the cost printed is the last sentence's."""
    optimizer = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    costs, accuracies = {}, {}
    for epoch in common.progress(range(epochs), epochs, "Emojify V1", quiet):
        for ids, label in zip(sentence_word_ids, labels):
            cost = F.cross_entropy(model(ids), np.array([label]), reduction="sum")
            optimizer.zero_grad()
            cost.backward()
            optimizer.step()
        if epoch % record_every == 0:
            costs[epoch], accuracies[epoch] = cost.item(), accuracy_v1(model, sentence_word_ids, labels)
            common.log(f"Epoch: {epoch} --- cost = {costs[epoch]}, accuracy {accuracies[epoch]}", quiet)
    return costs, accuracies


def predict_v1(model, sentence_word_ids):
    with no_grad():
        return np.array([int(model(ids).data.argmax()) for ids in sentence_word_ids])


def accuracy_v1(model, sentence_word_ids, labels):
    return float(np.mean(predict_v1(model, sentence_word_ids) == labels))


def train_v2(model, X_ids, labels, epochs=50, batch_size=32, lr=0.001, seed=0, quiet=True):
    optimizer = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    rng = np.random.default_rng(seed)
    losses = {}
    for epoch in common.progress(range(1, epochs + 1), epochs, "Emojify V2", quiet):
        losses[epoch] = common.train_shuffled_epoch(
            optimizer, lambda batch: F.cross_entropy(model(X_ids[batch]), labels[batch]), len(X_ids), batch_size, rng)
    return losses


def predict_v2(model, X_ids):
    model.eval()
    with no_grad():
        predicted = model(X_ids).data.argmax(axis=-1)
    model.train()
    return predicted


def confusion_matrix(labels, predicted, classes=5):
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def format_confusion(matrix):
    header = "actual\\predicted " + " ".join(f"{EMOJI_LABELS[i]:>3}" for i in range(len(matrix))) + "  total"
    lines = [header] + [f"{EMOJI_LABELS[i]:>16} " + " ".join(f"{v:>3}" for v in row) + f"  {row.sum():>5}"
                        for i, row in enumerate(matrix)]
    return "\n".join(lines)


def run(v1_epochs=400, v2_epochs=50, glove=None, data_dir=None, seed=0, quiet=True):
    """Train V1 and V2 (learned embeddings, or frozen GloVe with ``glove=path``); returns accuracies and more."""
    X_train, Y_train, X_test, Y_test = load_emoji_dataset(data_dir)
    generator = np.random.default_rng(seed)
    if glove is None:
        vocabulary = build_vocabulary(X_train)
        make_embedding = lambda: learned_embedding(vocabulary, generator=generator)  # noqa: E731
    else:
        frozen, vocabulary = glove_embedding(glove)
        make_embedding = lambda: frozen  # noqa: E731
    train_rows, train_words = sentence_ids(X_train, vocabulary)
    test_rows, test_words = sentence_ids(X_test, vocabulary)
    results = {"embeddings": "GloVe 50-d (frozen)" if glove else "learned 50-d", "vocabulary": len(vocabulary),
               "train_size": len(X_train), "test_size": len(X_test)}
    example = COURSE["sentences_to_indices"]["sentences"]
    results["example_indices"] = sentences_to_indices(np.array(example), vocabulary, 5)

    start = time.perf_counter()
    v1 = EmojifierV1(make_embedding())
    costs, accuracies = train_v1(v1, train_words, Y_train, v1_epochs, quiet=quiet)
    results["v1"] = {"costs": costs, "accuracies": accuracies, "train": accuracy_v1(v1, train_words, Y_train),
                     "test": accuracy_v1(v1, test_words, Y_test), "seconds": time.perf_counter() - start,
                     "confusion": confusion_matrix(Y_test, predict_v1(v1, test_words))}

    start = time.perf_counter()
    v2 = EmojifierV2(make_embedding(), generator=generator)
    losses = train_v2(v2, train_rows, Y_train, v2_epochs, seed=seed, quiet=quiet)
    test_predicted = predict_v2(v2, test_rows)
    results["v2"] = {"losses": losses, "train": float(np.mean(predict_v2(v2, train_rows) == Y_train)),
                     "test": float(np.mean(test_predicted == Y_test)), "seconds": time.perf_counter() - start,
                     "confusion": confusion_matrix(Y_test, test_predicted),
                     "trainable": sum(p.size for p in v2.parameters() if p.requires_grad),
                     "without_embedding": sum(p.size for n, p in v2.named_parameters() if not n.startswith("embedding")),
                     "bias_hh": sum(p.size for n, p in v2.named_parameters() if "bias_hh" in n)}
    results["v2_examples"] = {s: EMOJI_LABELS[int(p)] for s, p in zip(
        ["not feeling happy", "I love you", "lets eat dinner", "he got a raise"],
        predict_v2(v2, sentence_ids(np.array(["not feeling happy", "I love you", "lets eat dinner",
                                              "he got a raise"]), vocabulary)[0]))}
    return results


def results_rows(results):
    glove = results["embeddings"].startswith("GloVe")
    course_v1 = COURSE["v1_glove"] if glove else {}
    rows = [("embeddings", "GloVe 50-d (frozen)", results["embeddings"]),
            ("train / test sentences", "132 / 56", f"{results['train_size']} / {results['test_size']}"),
            ("sentences_to_indices zero pattern", str([[int(v > 0) for v in r] for r in
                                                       COURSE["sentences_to_indices"]["indices"]]),
             str([[int(v > 0) for v in r] for r in results["example_indices"]]))]
    for epoch, cost in results["v1"]["costs"].items():
        rows.append((f"V1 cost @ epoch {epoch}", course_v1.get("cost_epoch_0") if epoch == 0 else None,
                     round(cost, 11)))
    rows += [("V1 train accuracy", course_v1.get("train"), round(results["v1"]["train"], 4)),
             ("V1 test accuracy", course_v1.get("test"), round(results["v1"]["test"], 4)),
             ("V2 parameters besides the embedding", 223877, results["v2"]["without_embedding"]),
             ("  of which bias_hh (PyTorch's second LSTM bias)", 0, results["v2"]["bias_hh"]),
             ("V2 trainable parameters", 223877 if glove else None, results["v2"]["trainable"]),
             ("V2 train accuracy", "~1.0" if glove else None, round(results["v2"]["train"], 4)),
             ("V2 test accuracy", "0.80-0.95" if glove else None, round(results["v2"]["test"], 4)),
             ("V1 / V2 training time (s)", None,
              f"{results['v1']['seconds']:.1f} / {results['v2']['seconds']:.1f}")]
    return rows


def main(argv=None):
    parser = common.make_parser(NAME, DESCRIPTION, needs_data=True)
    parser.add_argument("--glove", default=None, help="path to glove.6B.50d.txt: frozen GloVe vectors as in the course")
    parser.add_argument("--quick", action="store_true", help="V1 20 epochs, V2 5 epochs")
    args = parser.parse_args(argv)
    v1_epochs, v2_epochs = (20, 5) if args.quick else (400, 50)

    def run_and_show():
        results = run(v1_epochs, v2_epochs, args.glove, args.data, quiet=args.quiet)
        for name in ("v1", "v2"):
            print(f"Emojify-{name.upper()} confusion matrix on the test set:\n"
                  f"{format_confusion(results[name]['confusion'])}\n")
        for sentence, emoji in results["v2_examples"].items():
            print(f"{sentence} {emoji}")
        return results

    title = "Emojify (C5 W2 A2)" + ("" if args.glove else ": learned embeddings; the course column is for GloVe")
    return common.run_and_report(run_and_show, results_rows, title)


if __name__ == "__main__":
    main()
