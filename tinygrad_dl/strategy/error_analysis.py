"""Error analysis (Course 3, week 2): look at misclassified dev examples, tag them, count the tags.

    wrong = sample_errors(y_dev, predictions, n=100, seed=0)      # indices of 100 mistakes to look at
    tags = {i: {"dog"} for i in ...}                                # your notes, several tags per example
    print(ceiling_table(tags, error_rate=10.0, n_examined=100))

The table is the course's spreadsheet: per tag, how many of the examined mistakes carry it and what
share of the errors that is. The share times the overall error is the *ceiling*: the most the error can
drop by fixing that category completely (5 dogs in 100 mistakes at 10 % error: at best 10 % -> 9.5 %).
An example may have several tags, so the shares can add up to more than 100 %.
"""
import collections

import numpy as np

from ._arrays import as_array

UNTAGGED = "(untagged)"


class CeilingRow(collections.namedtuple("CeilingRow", "tag count share ceiling error_if_fixed")):
    """One tag: ``count`` examined mistakes carry it, ``share`` = count / examined; with an overall error
    rate, ``ceiling`` = error * share (the most fixing the tag can gain) and ``error_if_fixed``."""


class CeilingTable:
    """``rows`` (``CeilingRow``s, most frequent tag first), ``n_examined``, ``error_rate``; ``str()`` prints it."""

    def __init__(self, rows, n_examined, error_rate, unit):
        self.rows, self.n_examined, self.error_rate, self.unit = rows, n_examined, error_rate, unit

    def __getitem__(self, tag):
        for row in self.rows:
            if row.tag == tag:
                return row
        raise KeyError(f"ceiling_table: no tag {tag!r}; tags: {[r.tag for r in self.rows]}")

    def to_dict(self):
        return {row.tag: row._asdict() for row in self.rows}

    def __str__(self):
        width = max([len(str(r.tag)) for r in self.rows] + [3])
        head = f"{'tag':<{width}}  {'count':>6}  {'% of errors':>11}"
        if self.error_rate is not None:
            head += f"  {'ceiling':>9}  {'error if fixed':>14}"
        lines = [head]
        for r in self.rows:
            line = f"{r.tag!s:<{width}}  {r.count:>6}  {100 * r.share:>10.1f}%"
            if self.error_rate is not None:
                line += f"  {self._fmt(r.ceiling):>9}  {self._fmt(r.error_if_fixed):>14}"
            lines.append(line)
        summary = f"{self.n_examined} mistakes examined"
        if self.error_rate is not None:
            summary += f", overall error {self._fmt(self.error_rate)}"
        return "\n".join(lines + [summary])

    def _fmt(self, value):
        return f"{value:.3g}{self.unit}"

    __repr__ = __str__


def _tag_sets(tags):
    """A list of tag sets, one per examined mistake, from a list or a dict {example id: tags}."""
    items = tags.values() if isinstance(tags, dict) else tags
    sets = []
    for position, example_tags in enumerate(items):
        if isinstance(example_tags, str):
            example_tags = [example_tags]  # one tag given as a plain string
        try:
            sets.append(set(example_tags))
        except TypeError:
            raise TypeError(f"ceiling_table: the tags of example #{position} must be a string or an iterable of "
                            f"strings, got {type(example_tags).__name__}") from None
    return sets


def ceiling_table(tags, error_rate=None, n_examined=None, unit="%"):
    """The course's error-analysis table from tagged mistakes.

    ``tags``: one entry per examined misclassified example (a list, or a dict {example id: tags}), each a
    tag or a collection of tags ("dog", "great cat", "blurry"); examples without a tag are counted under
    "(untagged)". ``n_examined``: how many mistakes you looked at (default: the number of entries; larger
    when untagged examples were left out of ``tags``). ``error_rate``: the overall dev error, to turn
    shares into ceilings. Returns a ``CeilingTable``, most frequent tag first.
    """
    sets = _tag_sets(tags)
    n_examined = len(sets) if n_examined is None else int(n_examined)
    if n_examined <= 0:
        raise ValueError("ceiling_table: no examined mistakes")
    if n_examined < len(sets):
        raise ValueError(f"ceiling_table: n_examined={n_examined} is less than the {len(sets)} tagged examples")
    if error_rate is not None and not error_rate >= 0:
        raise ValueError(f"ceiling_table: error_rate must be a non-negative error, got {error_rate!r}")
    counts = collections.Counter(tag for s in sets for tag in s)
    untagged = sum(1 for s in sets if not s) + (n_examined - len(sets))
    if untagged:
        counts[UNTAGGED] += untagged
    rows = []
    for tag, count in sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))):
        share = count / n_examined
        ceiling = None if error_rate is None else error_rate * share
        rows.append(CeilingRow(tag, count, share, ceiling, None if error_rate is None else error_rate - ceiling))
    return CeilingTable(rows, n_examined, error_rate, unit)


def misclassified(y_true, y_pred):
    """Indices of the examples whose predicted label differs from the true one."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"misclassified: y_true has shape {y_true.shape} and y_pred {y_pred.shape}; they must match")
    wrong = y_true != y_pred
    if wrong.ndim > 1:  # multi-label rows: wrong when any label is
        wrong = wrong.reshape(len(wrong), -1).any(axis=1)
    return np.flatnonzero(wrong)


def sample_errors(y_true, y_pred, n=100, seed=0, correct=False):
    """Indices of up to ``n`` misclassified examples, drawn at random (seeded), to look at by hand.

    The course: look at about 100 mistakes of the dev set (its "eyeball" part), enough to see which
    categories matter; ``correct=True`` samples correctly classified examples instead (worth a look too,
    when you correct labels). Sorted; all of them when there are fewer than ``n``.
    """
    wrong = misclassified(y_true, y_pred)
    pool = np.setdiff1d(np.arange(len(as_array(y_true))), wrong) if correct else wrong
    if n < 0:
        raise ValueError(f"sample_errors: n must be >= 0, got {n}")
    if len(pool) <= n:
        return pool
    return np.sort(np.random.RandomState(seed).choice(pool, size=n, replace=False))
