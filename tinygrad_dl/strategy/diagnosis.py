"""Bias, variance, data mismatch and overfitting to the dev set, read off a table of errors (Course 3).

    report = diagnose(human=0.5, train=8.8, train_dev=9.1, dev=14.3, test=14.8)
    print(report)            # the course's table, the problems biggest first, and what to try next
    report.problems          # ["avoidable bias", "data mismatch"]

Each gap between neighbouring rows of the table names one problem:

    human-level (proxy for Bayes error) -> training error     avoidable bias
    training error -> training-dev error                      variance
    training-dev error -> dev error                           data mismatch
    dev error -> test error                                   overfitting to the dev set

Without a train-dev set the training -> dev gap is variance (Course 2's reading). The course works on
the biggest gap first; ``diagnose`` reports a gap as a problem when it is the biggest or at least
``ratio`` (half) of the biggest, so two problems of similar size both show (the quiz's 8.3 % avoidable
bias and 5.2 % data mismatch). Overfitting to dev is judged against the biggest of the other gaps.
Gaps no larger than ``min_gap`` never count. Given the number of examples behind each error (``sizes``,
e.g. ``split.sizes``), a gap must also exceed its sampling noise: two standard errors of the difference
of the two error estimates (a dev set of 250 examples cannot resolve a 3 % gap; the course's reason for
dev sets "big enough to detect differences").
Errors are in % (``unit="%"``, the default) or fractions of 1 (any other ``unit``, e.g. ``""``).
"""
import math
import numbers

AVOIDABLE_BIAS, VARIANCE, DATA_MISMATCH, DEV_OVERFITTING = ("avoidable bias", "variance", "data mismatch",
                                                            "overfitting to dev")

# The course's next steps for each problem ("Improving your model performance", "Addressing data mismatch",
# the week 1 quiz's "overfit to the dev set").
ADVICE = {
    AVOIDABLE_BIAS: [
        "train a bigger model",
        "train longer, or use a better optimization algorithm (momentum, RMSprop, Adam)",
        "search for a better architecture or hyperparameters",
        "decrease regularization",
    ],
    VARIANCE: [
        "get more training data",
        "regularize (L2, dropout, data augmentation)",
        "search for a better architecture or hyperparameters",
    ],
    DATA_MISMATCH: [
        "carry out manual error analysis to understand how the training and dev/test sets differ",
        ("make the training data more similar to the dev/test data (artificial data synthesis), or collect "
         "more data like the dev/test sets"),
    ],
    DEV_OVERFITTING: [
        "get a bigger dev set (the dev set was tuned to until its error stopped meaning the test error)",
    ],
}

NOISE_Z = 2.0  # a gap counts when it exceeds this many standard errors of the difference (about 95 %)

_ROWS = (("human", "human-level (Bayes proxy)"), ("train", "training"), ("train_dev", "training-dev"),
         ("dev", "dev"), ("test", "test"))


class Diagnosis:
    """The result of ``diagnose``: the errors, the gaps, the problems (biggest first), notes and advice.

    ``gaps`` maps each problem name to its size (None when the table cannot tell, e.g. avoidable bias
    without a human-level error); ``advice`` maps each problem found to the course's next steps.
    """

    def __init__(self, errors, human_source, gaps, noise, problems, notes, unit):
        self.errors, self.human_source, self.gaps, self.noise = errors, human_source, gaps, noise
        self.problems, self.notes, self.unit = problems, notes, unit

    human = property(lambda self: self.errors["human"])
    avoidable_bias = property(lambda self: self.gaps[AVOIDABLE_BIAS])
    variance = property(lambda self: self.gaps[VARIANCE])
    data_mismatch = property(lambda self: self.gaps[DATA_MISMATCH])
    dev_overfitting = property(lambda self: self.gaps[DEV_OVERFITTING])

    @property
    def advice(self):
        return {problem: ADVICE[problem] for problem in self.problems}

    def table(self):
        """The course's table: each error, and the gap to the row above it with the problem it measures."""
        gap_of_row = {"train": AVOIDABLE_BIAS, "train_dev": VARIANCE,
                      "dev": DATA_MISMATCH if self.errors["train_dev"] is not None else VARIANCE,
                      "test": DEV_OVERFITTING}
        label = dict(_ROWS)
        if self.human_source:
            label["human"] = f"human-level ({self.human_source})"
        width = max(len(label[key]) for key, _ in _ROWS)
        show_noise = any(v is not None for v in self.noise.values())
        lines = [f"{'':<{width}}  {'error':>9}  {'gap':>9}" + (f"  {'noise':>8}" if show_noise else "")]
        for key, _ in _ROWS:
            value = self.errors[key]
            if value is None:
                continue
            line = f"{label[key]:<{width}}  {self._fmt(value):>9}"
            problem = gap_of_row.get(key)
            if problem is not None and self.gaps[problem] is not None:
                marker = "  <-- " + ("main problem" if self.problems[:1] == [problem] else "problem")
                line += f"  {self._fmt(self.gaps[problem]):>9}"
                if show_noise:
                    noise = self.noise[problem]
                    line += f"  {'' if noise is None else f'±{noise:.2g}{self.unit}':>8}"
                line += f"  {problem:<18}" + (marker if problem in self.problems else "")
            lines.append(line.rstrip())
        return "\n".join(lines)

    def _fmt(self, value):
        return f"{value:.3g}{self.unit}"

    def __str__(self):
        parts = [self.table()]
        if self.problems:
            parts.append("\nwhat to try, biggest problem first:")
            for problem in self.problems:
                parts.append(f"  {problem} ({self._fmt(self.gaps[problem])}):")
                parts.extend(f"    - {step}" for step in ADVICE[problem])
        else:
            parts.append("\nno problem stands out" + ("" if self.notes else " (every gap is small)"))
        parts.extend(f"note: {note}" for note in self.notes)
        return "\n".join(parts)

    __repr__ = __str__


def _error(name, value, top=100.0):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= top:
        unit = "in %, 0 to 100" if top == 100 else "a fraction, 0 to 1 (pass unit='%' for percentages)"
        raise ValueError(f"diagnose: {name} must be an error rate ({unit}), got {value!r}")
    return float(value)


def human_level_error(errors):
    """The human-level error to use as a proxy for Bayes error: the best (lowest) one measured.

    ``errors``: {who: error}, e.g. the quiz's bird-watching experts (0.3 %, 0.5 %) and normal people (1.0 %,
    1.2 %): 0.3 %, the best human performance, since Bayes error can be no higher. Returns (who, error).
    """
    if not isinstance(errors, dict) or not errors:
        raise ValueError("human_level_error: pass a non-empty dict {who: error}")
    checked = {who: _error(f"the human error of {who!r}", value) for who, value in errors.items()}
    who = min(checked, key=checked.get)
    return who, checked[who]


def diagnose(train, dev, human=None, train_dev=None, test=None, unit="%", min_gap=0.0, ratio=0.5, sizes=None):
    """Read the course's error table: which of avoidable bias, variance, data mismatch and overfitting to the
    dev set to work on, with the course's next steps.

    ``human``: the human-level error (proxy for Bayes error), or {who: error} to take the best of several
    (the course's "team of experienced doctors"). ``train_dev``: error on held-out examples of the training
    distribution. ``test``: the test error. ``sizes``: {"train": n, "train_dev": n, "dev": n, "test": n},
    the examples behind each error, to ignore gaps within sampling noise (errors in % when ``unit="%"``,
    else fractions). Returns a ``Diagnosis`` (``print`` it for the table and advice).

    When the human-level error is unknown, or the model already beats it on the dev set, bias cannot be told
    from variance: no problem is named among those, and a note says why (the quiz's "insufficient
    information to tell", and "it is now harder to measure avoidable bias"). A training error below
    human level with a dev error above it counts as no avoidable bias (the training set is memorised).
    """
    human_source = None
    if isinstance(human, dict):
        human_source, human = human_level_error(human)
    scale = 100.0 if unit == "%" else 1.0
    given = {"human": human, "train": train, "train_dev": train_dev, "dev": dev, "test": test}
    errors = {name: _error(name, value, scale) for name, value in given.items()}
    if errors["train"] is None or errors["dev"] is None:
        raise ValueError("diagnose: the training and dev errors are needed")
    gaps = _gaps(errors)
    noise = _noise(errors, sizes or {}, scale)
    notes = _notes(errors, gaps, unit)
    rankable = errors["human"] is not None and errors["dev"] > errors["human"]
    floors = {name: max(min_gap, noise[name] or 0.0) for name in gaps}
    problems = _problems(gaps, floors, ratio, rankable)
    if not problems and any(noise[name] is not None and gap is not None and 0 < gap <= noise[name]
                            for name, gap in gaps.items()):
        notes.append("some gaps are within the sampling noise of these set sizes: bigger sets would tell")
    return Diagnosis(errors, human_source, gaps, noise, problems, notes, unit)


def _difference(high, low):
    return None if high is None or low is None else high - low


_PAIRS = {AVOIDABLE_BIAS: ("train", "human"), DATA_MISMATCH: ("dev", "train_dev"), DEV_OVERFITTING: ("test", "dev")}


def _pair(name, e):
    """The (higher, lower) rows whose difference is the gap ``name``."""
    if name == VARIANCE:  # unseen data of the training kind: train-dev, or dev without a train-dev set
        return ("train_dev" if e["train_dev"] is not None else "dev"), "train"
    return _PAIRS[name]


def _gaps(e):
    return {name: _difference(e[_pair(name, e)[0]], e[_pair(name, e)[1]])
            for name in (AVOIDABLE_BIAS, VARIANCE, DATA_MISMATCH, DEV_OVERFITTING)}


def _noise(e, sizes, scale):
    """Per gap: NOISE_Z standard errors of the difference of its two error estimates (None without sizes).
    The human-level error is taken as exact."""
    unknown = sorted(set(sizes) - {"train", "train_dev", "dev", "test"})
    if unknown:
        raise ValueError(f"diagnose: sizes has unknown set names {unknown}; use train, train_dev, dev, test")

    def variance(row):
        if row == "human":
            return 0.0
        n = sizes.get(row)
        if not n:
            return None
        p = min(max(e[row] / scale, 0.0), 1.0)
        return p * (1 - p) / n

    noise = {}
    for name in (AVOIDABLE_BIAS, VARIANCE, DATA_MISMATCH, DEV_OVERFITTING):
        high, low = _pair(name, e)
        parts = [variance(high), variance(low)] if e[high] is not None and e[low] is not None else [None]
        noise[name] = None if None in parts else NOISE_Z * math.sqrt(sum(parts)) * scale
    return noise


def _problems(gaps, floors, ratio, rankable):
    """The problems worth working on, biggest first (see the module docstring for the rule): gaps above their
    floor (min_gap or noise). Unless ``rankable`` (human level known and not yet beaten on dev), only
    overfitting to dev can be named."""
    model_gaps = {name: gaps[name] for name in (AVOIDABLE_BIAS, VARIANCE, DATA_MISMATCH)
                  if gaps[name] is not None and gaps[name] > floors[name]}
    biggest = max(model_gaps.values(), default=0.0)
    problems = {}
    if rankable:
        problems = {name: gap for name, gap in model_gaps.items() if gap >= ratio * biggest}
    overfit = gaps[DEV_OVERFITTING]
    if overfit is not None and overfit > floors[DEV_OVERFITTING] and overfit >= ratio * biggest:
        problems[DEV_OVERFITTING] = overfit
    return sorted(problems, key=lambda name: -problems[name])


def _notes(e, gaps, unit):
    notes = []
    if e["human"] is None:
        notes.append("without a human-level error (a proxy for Bayes error) there is not enough information to tell "
                     "avoidable bias from variance: measure human-level performance first")
    elif e["dev"] <= e["human"]:
        notes.append(f"the dev error is at or below human level: the model has surpassed human performance, so "
                     f"Bayes error is at most about {e['dev']:.4g}{unit} (if the dev set is big enough to trust) and "
                     "avoidable bias can no longer be estimated from humans; progress gets harder from here")
    elif gaps[AVOIDABLE_BIAS] < 0:
        notes.append("the training error is below human level while the dev error is above it: the model fits "
                     "its training examples better than people would (it memorises them), so there is no "
                     "avoidable bias to remove")
    if gaps[DATA_MISMATCH] is not None and gaps[DATA_MISMATCH] < 0:
        notes.append("the dev error is below the training-dev error: the dev/test data seem easier than the "
                     "training data (measure human-level error on both distributions to be sure)")
    return notes
