"""Course 5's data: dinosaur names, the Shakespeare windows, the emoji sentences and the dates of the
translation assignment, with the course's helpers (``sentences_to_indices``, ``string_to_int`` ...).

    from tinygrad_dl.data import load_dinosaur_names, load_emoji_dataset, load_dates_dataset

File loaders read the course data folder (see ``course_data_dir``). The dates are generated in plain Python:
the course uses Faker and babel, whose output depends on the day it runs ("a date between 1970 and today")
and on their versions, so this module renders the course's 24 formats itself (babel's en_US patterns,
including the week-based year of ``YYY``) from a seeded NumPy generator: the same data on every run.
"""
from __future__ import annotations

import csv
import datetime as _dt

import numpy as np

from .course import course_data_dir

__all__ = ["load_dinosaur_names", "load_shakespeare", "shakespeare_windows", "vectorize_windows",
           "load_emoji_dataset", "read_emoji_csv", "build_vocabulary", "sentences_to_indices", "read_glove_vecs",
           "EMOJI_LABELS", "DATE_FORMATS", "format_date", "load_dates_dataset", "string_to_int", "int_to_string",
           "preprocess_dates"]


# --------------------------------------------------------------------------- dinosaur names and Shakespeare


def load_dinosaur_names(data_dir=None):
    """The course's ``dinos.txt``: returns (data, examples, char_to_ix, ix_to_char).

    ``data`` is the whole lower-cased text (19,909 characters, 27 unique: '\\n' and a-z), ``examples`` the
    1,536 names (lower-cased, stripped, in file order; the course shuffles them with ``np.random.seed(0)``),
    ``char_to_ix`` maps the sorted characters to 0..26 ('\\n' is 0).
    """
    path = course_data_dir(data_dir) / "dinosaur_names" / "dinos.txt"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: put the course's dinosaur_names/dinos.txt in the course data "
                                "folder")
    data = path.read_text().lower()
    chars = sorted(set(data))
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    ix_to_char = {i: ch for i, ch in enumerate(chars)}
    examples = [line.lower().strip() for line in data.splitlines(keepends=True)]
    return data, examples, char_to_ix, ix_to_char


def load_shakespeare(data_dir=None):
    """The Sonnets (``shakespeare.txt``), lower-cased as the course reads them (94,275 characters)."""
    path = course_data_dir(data_dir) / "dinosaur_names" / "shakespeare.txt"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: put the course's dinosaur_names/shakespeare.txt in the course "
                                "data folder")
    return path.read_text(encoding="utf-8").lower()


def shakespeare_windows(text, Tx=40, stride=3):
    """The course's ``build_data``: windows text[i:i + Tx] with the next character as target, every ``stride``
    characters (31,412 windows for the Sonnets)."""
    starts = range(0, len(text) - Tx, stride)
    return [text[i:i + Tx] for i in starts], [text[i + Tx] for i in starts]


def vectorize_windows(X, Y, char_indices, Tx=40):
    """One-hot (m, Tx, vocab) inputs and (m, vocab) targets for the windows (the course's ``vectorization``)."""
    x = np.zeros((len(X), Tx, len(char_indices)), dtype=bool)
    y = np.zeros((len(Y), len(char_indices)), dtype=bool)
    for i, sentence in enumerate(X):
        x[i, np.arange(len(sentence)), [char_indices[ch] for ch in sentence]] = True
        y[i, char_indices[Y[i]]] = True
    return x, y


# --------------------------------------------------------------------------- emoji sentences

EMOJI_LABELS = {0: "\u2764\ufe0f", 1: "\u26be", 2: "\U0001f604", 3: "\U0001f61e", 4: "\U0001f374"}  # heart ... fork


def read_emoji_csv(path):
    """The course's ``read_csv``: (sentences as a str array, labels as an int array); extra columns ignored."""
    sentences, labels = [], []
    with open(path, newline="") as handle:
        for row in csv.reader(handle):
            if row:
                sentences.append(row[0])
                labels.append(int(row[1]))
    return np.asarray(sentences), np.asarray(labels, dtype=int)


def load_emoji_dataset(data_dir=None):
    """(X_train, Y_train, X_test, Y_test) from ``emojify/train_emoji.csv`` (132) and ``test_emoji.csv`` (56)."""
    folder = course_data_dir(data_dir) / "emojify"
    for name in ("train_emoji.csv", "test_emoji.csv"):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name} not found: put the course's emojify CSV files in the course "
                                    "data folder")
    return (*read_emoji_csv(folder / "train_emoji.csv"), *read_emoji_csv(folder / "test_emoji.csv"))


def build_vocabulary(sentences, unknown="<unk>"):
    """word -> index for the words of ``sentences`` (lower-cased, split on whitespace), sorted and numbered
    from 1 like the course's GloVe vocabulary (0 is the padding index); ``unknown`` gets the last index."""
    words = sorted({w for s in sentences for w in str(s).lower().split()})
    vocabulary = {w: i + 1 for i, w in enumerate(words)}
    if unknown is not None:
        vocabulary[unknown] = len(words) + 1
    return vocabulary


def sentences_to_indices(X, word_to_index, max_len, unknown="<unk>"):
    """The course's ``sentences_to_indices``: (m, max_len) indices, right-padded with 0. Words missing from the
    vocabulary map to ``word_to_index[unknown]`` (the course's GloVe vocabulary has every test word)."""
    X = np.asarray(X)
    indices = np.zeros((X.shape[0], max_len))
    for i, sentence in enumerate(X):
        words = str(sentence).lower().split()[:max_len]
        for j, word in enumerate(words):
            if word in word_to_index:
                indices[i, j] = word_to_index[word]
            elif unknown in word_to_index:
                indices[i, j] = word_to_index[unknown]
            else:
                raise KeyError(f"sentences_to_indices: {word!r} is not in the vocabulary and it has no {unknown!r}")
    return indices


def read_glove_vecs(path):
    """The course's ``read_glove_vecs`` for ``glove.6B.50d.txt``: (words_to_index, index_to_words,
    word_to_vec_map), words numbered from 1 in sorted order."""
    words, word_to_vec_map = set(), {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.strip().split()
            if parts:
                words.add(parts[0])
                word_to_vec_map[parts[0]] = np.array(parts[1:], dtype=np.float64)
    words_to_index = {w: i for i, w in enumerate(sorted(words), start=1)}
    return words_to_index, {i: w for w, i in words_to_index.items()}, word_to_vec_map


# --------------------------------------------------------------------------- dates for translation

# the course's FORMATS: 'full' 10 times, so a quarter ... half of the dates start with the weekday
DATE_FORMATS = ["short", "medium", "long"] + ["full"] * 10 + [
    "d MMM YYY", "d MMMM YYY", "dd MMM YYY", "d MMM, YYY", "d MMMM, YYY", "dd, MMM YYY", "d MM YY", "d MMMM YYY",
    "MMMM d YYY", "MMMM d, YYY", "dd.MM.YY"]

_NAMED = {"short": "M/d/yy", "medium": "MMM d, y", "long": "MMMM d, y", "full": "EEEE, MMMM d, y"}  # babel en_US
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _week_year(date):
    """The week-based year of the en_US calendar (weeks start on Sunday; week 1 holds January 1st): the last
    days of December belong to the next year when their week reaches into January."""
    days_to_saturday = (5 - date.weekday()) % 7
    return date.year + 1 if date.month == 12 and date.day + days_to_saturday > 31 else date.year


def _field(date, letter, count):
    if letter == "d":
        return f"{date.day:0{count}d}"
    if letter == "M":
        if count >= 4:
            return _MONTHS[date.month - 1]
        if count == 3:
            return _MONTHS[date.month - 1][:3]
        return f"{date.month:0{count}d}"
    if letter in "yY":
        year = date.year if letter == "y" else _week_year(date)
        return f"{year % 100:02d}" if count == 2 else f"{year:0{count}d}"
    if letter == "E":
        return _DAYS[date.weekday()] if count >= 4 else _DAYS[date.weekday()][:3]
    raise ValueError(f"format_date: unsupported pattern letter {letter!r}")


def format_date(date, format="medium"):  # noqa: A002 (babel's name)
    """``babel.dates.format_date(date, format, locale='en_US')`` for the course's formats: 'short', 'medium',
    'long', 'full' or a pattern of d, M, y, Y and E fields (``YYY`` is the week-based year, as in babel)."""
    pattern = _NAMED.get(format, format)
    out, i = [], 0
    while i < len(pattern):
        letter = pattern[i]
        if letter.isalpha():
            count = 1
            while i + count < len(pattern) and pattern[i + count] == letter:
                count += 1
            out.append(_field(date, letter, count))
            i += count
        else:
            out.append(letter)
            i += 1
    return "".join(out)


def _random_dates(m, rng, start, end):
    days = rng.integers(0, (end - start).days + 1, size=m)
    return [start + _dt.timedelta(days=int(d)) for d in days]


def load_dates_dataset(m, seed=12345, start=_dt.date(1970, 1, 1), end=_dt.date(2020, 12, 31)):
    """``m`` (human readable, ISO) date pairs the course's way, and its vocabularies.

    Each date is uniform between ``start`` and ``end``; its format is drawn from ``DATE_FORMATS``; the text is
    lower-cased with commas removed. Returns (dataset, human_vocab, machine_vocab, inv_machine_vocab) like
    the course's ``load_dataset``: human_vocab maps the sorted characters seen, then '<unk>' and '<pad>'
    (37 entries), machine_vocab the 11 characters of ISO dates ('-', 0-9).
    """
    rng = np.random.default_rng(seed)
    dates = _random_dates(m, rng, start, end)
    formats = rng.integers(0, len(DATE_FORMATS), size=m)
    dataset, human_chars, machine_chars = [], set(), set()
    for date, choice in zip(dates, formats):
        human = format_date(date, DATE_FORMATS[choice]).lower().replace(",", "")
        machine = date.isoformat()
        dataset.append((human, machine))
        human_chars.update(human)
        machine_chars.update(machine)
    human_vocab = {ch: i for i, ch in enumerate(sorted(human_chars) + ["<unk>", "<pad>"])}
    inv_machine_vocab = dict(enumerate(sorted(machine_chars)))
    machine_vocab = {ch: i for i, ch in inv_machine_vocab.items()}
    return dataset, human_vocab, machine_vocab, inv_machine_vocab


def string_to_int(string, length, vocab):
    """The course's ``string_to_int``: lower-case, drop commas, cut to ``length``, map characters (unknown ones
    to '<unk>'), right-pad with '<pad>'. (The course's version returns the string '<unk>' itself for an unknown
    character, which breaks one-hot encoding; this one returns its index.)"""
    string = string.lower().replace(",", "")[:length]
    unknown = vocab.get("<unk>")
    ids = [vocab.get(ch, unknown) for ch in string]
    if None in ids:
        raise KeyError(f"string_to_int: {string!r} has characters outside the vocabulary, which has no '<unk>'")
    return ids + [vocab["<pad>"]] * (length - len(string)) if length > len(string) else ids


def int_to_string(ints, inv_vocab):
    """The characters of a list of indices."""
    return [inv_vocab[int(i)] for i in ints]


def preprocess_dates(dataset, human_vocab, machine_vocab, Tx=30, Ty=10):
    """The course's ``preprocess_data``: (X (m, Tx) ids, Y (m, Ty) ids, Xoh (m, Tx, 37), Yoh (m, Ty, 11))."""
    X = np.array([string_to_int(h, Tx, human_vocab) for h, _ in dataset])
    Y = np.array([string_to_int(t, Ty, machine_vocab) for _, t in dataset])
    Xoh = np.eye(len(human_vocab))[X]
    Yoh = np.eye(len(machine_vocab))[Y]
    return X, Y, Xoh, Yoh
