"""Train / dev / test splits the way Course 3 sets them up.

* ``train_dev_test_split``: one seeded shuffle, sizes given or suggested by the course's rule of thumb
  (``suggest_split_sizes``: 60/20/20 for small data, 98/1/1 at a million examples), stratified by label
  when asked, and an optional **train-dev** set carved out of the training distribution.
* ``plan_mismatched_split`` / ``mismatched_split``: data from two distributions (the course's 100,000
  front-camera images you care about and 900,000 internet images). Dev and test come only from the
  distribution you care about; everything else trains; the train-dev set is drawn from the training mix.
* ``per_class_sample``: k examples of each class (few-shot training sets).

Examples are along the first axis of every array (rows, the layout of ``nn``); for the course's column
layout pass ``X.T``. Stratified splits use scikit-learn (``pip install scikit-learn``).
"""
import numpy as np

from ._arrays import as_array, sklearn_module

SET_NAMES = ("train", "train_dev", "dev", "test")


class DataSplit:
    """The sets of a split: ``.train``, ``.train_dev`` (None unless asked for), ``.dev``, ``.test``.

    Each set is the array itself when one array was split, else a tuple of arrays in the order they
    were passed. ``.indices[name]`` holds the positions of its examples in the input (in the
    concatenation ``target + other`` for ``mismatched_split``); iterating yields the sets that exist,
    in the order train, train_dev, dev, test, so ``train, dev, test = train_dev_test_split(X, y)``.
    """

    def __init__(self, arrays, indices, source=None):
        self.indices = {name: indices[name] for name in SET_NAMES if indices.get(name) is not None}
        self.source = source  # for mismatched splits: per example of the input, 0 = target, 1 = other
        for name in SET_NAMES:
            idx = indices.get(name)
            if idx is None:
                taken = None
            elif len(arrays) == 1:
                taken = arrays[0][idx]
            else:
                taken = tuple(a[idx] for a in arrays)
            setattr(self, name, taken)

    @property
    def sizes(self):
        """{set name: number of examples} for the sets that exist."""
        return {name: len(idx) for name, idx in self.indices.items()}

    def __iter__(self):
        return iter([getattr(self, name) for name in SET_NAMES if name in self.indices])

    def __repr__(self):
        sizes = ", ".join(f"{name}={n:,}" for name, n in self.sizes.items())
        return f"DataSplit({sizes})"


# -------------------------------------------------------------------------------------------- sizes


def suggest_split_sizes(n):
    """(train, dev, test) sizes for ``n`` examples, by the course's rule of thumb.

    Small data ("the previous era": 100, 1,000, 10,000 examples) uses 60/20/20. With more data the dev
    and test sets only need to be big enough to compare models with confidence: 10,000 examples each,
    or 1 % of the data when that is more, and never more than the 20 % of the small-data rule. At
    1,000,000 examples that is the course's 98/1/1 (980,000 / 10,000 / 10,000).
    """
    n = _count("suggest_split_sizes", "n", n)
    evaluation = min(round(0.2 * n), max(10_000, round(0.01 * n)))
    return n - 2 * evaluation, evaluation, evaluation


def _count(op, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{op}: {name} must be a non-negative whole number, got {value!r}")
    return int(value)


def _size(op, name, value, n):
    """A set size given as a count (int) or as a fraction of ``n`` (float in [0, 1])."""
    if value is None:
        return 0
    if isinstance(value, (float, np.floating)):
        if not 0 <= value <= 1:
            raise ValueError(f"{op}: {name} as a fraction must be in [0, 1], got {value}")
        return round(value * n)
    return _count(op, name, value)


# -------------------------------------------------------------------------------------------- splits


def _examples(op, arrays):
    if not arrays:
        raise ValueError(f"{op}: pass at least one array to split")
    arrays = [as_array(a) for a in arrays]
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"{op}: array #{i} is a scalar; examples must be along its first axis")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"{op}: the arrays have different numbers of examples (first axis): {lengths}")
    return arrays, lengths[0]


def train_dev_test_split(*arrays, dev_size=None, test_size=None, train_dev_size=None, seed=0, stratify=None):
    """Shuffle the examples once (seeded) and cut them into train / dev / test (and train-dev).

    ``dev_size``, ``test_size``, ``train_dev_size``: a count (int) or a fraction of all examples (float).
    When dev and test sizes are both None they come from ``suggest_split_sizes`` (60/20/20 for small
    data, 98/1/1 at a million examples). The train-dev set (default: none) is carved out of what would
    otherwise be training data, so it has the training distribution: the gap between its error and the
    training error is variance, the gap between it and the dev error is data mismatch.

    ``stratify``: labels (one per example) to keep every class's share the same in every set
    (scikit-learn's stratified shuffling; every class needs at least two examples per stratified cut).

    Returns a ``DataSplit``: ``split.train``, ``split.dev``, ``split.test`` (and ``split.train_dev``),
    each the array (one array given) or a tuple of arrays (several given); ``split.indices``.
    """
    op = "train_dev_test_split"
    arrays, n = _examples(op, arrays)
    if dev_size is None and test_size is None:
        _, dev, test = suggest_split_sizes(n)
    else:
        dev, test = _size(op, "dev_size", dev_size, n), _size(op, "test_size", test_size, n)
    train_dev = _size(op, "train_dev_size", train_dev_size, n)
    if dev + test + train_dev >= n:
        raise ValueError(f"{op}: dev ({dev}) + test ({test}) + train-dev ({train_dev}) examples leave no "
                         f"training data out of {n}")
    labels = None if stratify is None else _labels(op, stratify, n)
    rng = np.random.RandomState(seed)
    remaining = np.arange(n)
    cut = {}
    for name, size in (("test", test), ("dev", dev), ("train_dev", train_dev)):
        if name != "train_dev" or size:  # no train-dev set unless one is asked for
            remaining, cut[name] = _take(op, name, remaining, size, labels, rng)
    cut["train"] = remaining
    return DataSplit(arrays, cut)


def _labels(op, stratify, n):
    labels = as_array(stratify)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"{op}: stratify must hold one label per example, shape ({n},), got shape {labels.shape}")
    return labels


def _take(op, name, pool, size, labels, rng):
    """Draw ``size`` examples of ``pool`` at random (stratified by ``labels`` when given): (rest, taken),
    both in the input's order."""
    if size == 0:
        return pool, pool[:0]
    if labels is None:
        chosen = rng.permutation(len(pool))[:size]
    else:
        model_selection = sklearn_module("sklearn.model_selection", f"{op}(stratify=...)")
        try:
            _, chosen = model_selection.train_test_split(np.arange(len(pool)), test_size=size,
                                                         stratify=labels[pool], random_state=rng)
        except ValueError as err:
            raise ValueError(f"{op}: cannot stratify the {name} set of {size} examples: {err}") from None
    mask = np.zeros(len(pool), dtype=bool)
    mask[chosen] = True
    return pool[~mask], pool[mask]


def per_class_sample(labels, per_class, seed=0):
    """Indices of ``per_class`` examples of every class in ``labels`` (drawn at random, seeded), sorted.

    The few-shot training sets of transfer learning: ``idx = per_class_sample(y, 5)`` then ``X[idx], y[idx]``.
    """
    op = "per_class_sample"
    labels = as_array(labels)
    if labels.ndim != 1:
        raise ValueError(f"{op}: labels must be one label per example (1-D), got shape {labels.shape}")
    per_class = _count(op, "per_class", per_class)
    rng = np.random.RandomState(seed)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        if len(members) < per_class:
            raise ValueError(f"{op}: class {value.item()!r} has {len(members)} examples, fewer than "
                             f"per_class={per_class}")
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.intp)


# ---------------------------------------------------------------------------- two distributions


class SplitPlan:
    """Where the examples of two distributions go, counted per set: ``plan.counts[set] = (target, other)``.

    ``str(plan)`` is the table; the train-dev set is drawn at random from the training mix, so its
    counts (and the training set's) are the expected ones.
    """

    def __init__(self, counts, target_name, other_name):
        self.counts, self.target_name, self.other_name = counts, target_name, other_name

    @property
    def sizes(self):
        return {name: round(t + o) for name, (t, o) in self.counts.items()}

    def __str__(self):
        width = max(len(self.target_name), len(self.other_name), 12)
        lines = [f"{'set':<10} {'examples':>10}   {self.target_name:>{width}} {self.other_name:>{width}}"]
        for name, (t, o) in self.counts.items():
            lines.append(f"{name:<10} {round(t + o):>10,}   {round(t):>{width},} {round(o):>{width},}")
        if "train_dev" in self.counts:
            lines.append("(train and train_dev are drawn at random from one training mix: expected counts)")
        return "\n".join(lines)

    __repr__ = __str__


def plan_mismatched_split(n_target, n_other, dev_size, test_size, train_dev_size=0, target_name="target",
                          other_name="other"):
    """Count where the examples go when the data you care about (``n_target``, e.g. 100,000 images from
    the car's front camera) is scarce and another distribution is plentiful (``n_other``, 900,000
    internet images).

    The course's answer: dev and test come only from the target distribution (aim where you want to
    hit, and keep dev and test alike); every other example, including the rest of the target data,
    goes to training; a train-dev set, when asked for, is drawn at random from that training mix.

        >>> print(plan_mismatched_split(100_000, 900_000, 10_000, 10_000, target_name="camera",
        ...                             other_name="internet"))        # train: 900,000 + 80,000
    """
    op = "plan_mismatched_split"
    n_target, n_other = _count(op, "n_target", n_target), _count(op, "n_other", n_other)
    dev, test = _count(op, "dev_size", dev_size), _count(op, "test_size", test_size)
    train_dev = _count(op, "train_dev_size", train_dev_size)
    if dev + test > n_target:
        raise ValueError(f"{op}: dev ({dev:,}) + test ({test:,}) need more than the {n_target:,} examples of the "
                         "target distribution; dev and test must both come from it")
    pool_target, pool_other = n_target - dev - test, n_other
    pool = pool_target + pool_other
    if train_dev >= pool:
        raise ValueError(f"{op}: a train-dev set of {train_dev:,} leaves no training data out of {pool:,}")
    share = train_dev / pool if pool else 0.0
    counts = {"train": (pool_target * (1 - share), pool_other * (1 - share))}
    if train_dev:
        counts["train_dev"] = (pool_target * share, pool_other * share)
    counts["dev"] = (dev, 0)
    counts["test"] = (test, 0)
    return SplitPlan(counts, target_name, other_name)


def mismatched_split(target, other, dev_size, test_size, train_dev_size=0, seed=0):
    """Split data of two distributions as ``plan_mismatched_split`` counts it.

    ``target`` and ``other`` are each an array or a tuple of arrays (e.g. ``(X_camera, y_camera)``),
    with the same structure. Returns a ``DataSplit`` whose sets hold arrays concatenated from both
    sources; ``split.indices`` index the concatenation ``target + other`` and ``split.source`` tells
    which source each of its examples came from (0 target, 1 other).
    """
    op = "mismatched_split"
    target = target if isinstance(target, (tuple, list)) else (target,)
    other = other if isinstance(other, (tuple, list)) else (other,)
    if len(target) != len(other):
        raise ValueError(f"{op}: target has {len(target)} arrays and other {len(other)}; pass the same structure")
    target, n_target = _examples(op, target)
    other, n_other = _examples(op, other)
    for i, (t, o) in enumerate(zip(target, other)):
        if t.shape[1:] != o.shape[1:]:
            raise ValueError(f"{op}: array #{i} has example shape {t.shape[1:]} in target and {o.shape[1:]} in other")
    plan_mismatched_split(n_target, n_other, dev_size, test_size, train_dev_size)  # checks the sizes
    rng = np.random.RandomState(seed)
    order = rng.permutation(n_target)
    dev, test = np.sort(order[:dev_size]), np.sort(order[dev_size:dev_size + test_size])
    pool = np.concatenate([np.sort(order[dev_size + test_size:]), n_target + np.arange(n_other)])
    picked = rng.permutation(len(pool))[:train_dev_size]
    in_train_dev = np.zeros(len(pool), dtype=bool)
    in_train_dev[picked] = True
    cut = {"train": pool[~in_train_dev], "train_dev": pool[in_train_dev] if train_dev_size else None,
           "dev": dev, "test": test}
    arrays = [np.concatenate([t, o]) for t, o in zip(target, other)]
    source = np.concatenate([np.zeros(n_target, dtype=np.int8), np.ones(n_other, dtype=np.int8)])
    return DataSplit(arrays, cut, source=source)
