"""Metrics and choosing among models (Course 3, week 1), plus per-task metrics for multi-task learning.

The counting itself is scikit-learn's (``sklearn.metrics``, an optional import); this module adds what
the course adds on top:

* ``classification_metrics``: accuracy, error (100 % - accuracy, what the course reasons with),
  precision, recall, F1 and the confusion matrix in one dict; ``sample_weight`` gives the course's
  weighted error metric (weight 10 on the images that must never be shown).
* ``f1_from_precision_recall``: the single-number metric that combines precision and recall.
* ``multitask_metrics``: the same per task of a multi-label problem, counting only the known labels
  (the "?" entries of the course's autonomous-driving labels are skipped).
* ``choose_model``: one optimizing metric subject to satisficing constraints (the Peacetopia quiz).
"""
import numbers
import operator

import numpy as np

from ._arrays import as_array, sklearn_module


def f1_from_precision_recall(precision, recall):
    """The harmonic mean 2 / (1/P + 1/R) of precision and recall (0 when both are 0).

    The course's example: classifier A (P 95 %, R 90 %) scores 92.4 %, B (P 98 %, R 85 %) 91.0 %, so A wins.
    """
    precision, recall = float(precision), float(recall)
    if precision < 0 or recall < 0:
        raise ValueError(f"f1_from_precision_recall: precision and recall must be >= 0, got {precision}, {recall}")
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _label_vectors(op, y_true, y_pred):
    y_true, y_pred = np.ravel(as_array(y_true)), np.ravel(as_array(y_pred))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{op}: y_true has {y_true.size} labels and y_pred {y_pred.size}; they must match")
    if y_pred.dtype.kind == "f" and not np.all(y_pred == np.round(y_pred)):
        raise ValueError(f"{op}: y_pred holds fractional values (probabilities?); pass predicted labels, e.g. "
                         "(probabilities > 0.5).astype(int) or logits.argmax(axis=1)")
    return y_true, y_pred


def classification_metrics(y_true, y_pred, sample_weight=None, average=None):
    """Accuracy, error, precision, recall, F1 and confusion matrix of predicted labels.

    Labels 0/1 (binary, 1 = positive) give precision/recall/F1 of the positive class; more classes give
    their ``average`` ("macro" by default, as in scikit-learn). ``sample_weight`` weights the examples
    (the course's weighted error: 1/sum(w) * sum of w over the mistakes). Returns a dict with keys
    ``accuracy error precision recall f1 confusion_matrix count`` (rates as fractions in [0, 1]).
    """
    op = "classification_metrics"
    y_true, y_pred = _label_vectors(op, y_true, y_pred)
    if y_true.size == 0:
        raise ValueError(f"{op}: no labels given")
    metrics = sklearn_module("sklearn.metrics", op)
    labels = np.union1d(y_true, y_pred)
    binary = set(labels.tolist()) <= {0, 1}
    if average is None:
        average = "binary" if binary else "macro"
    weight = None if sample_weight is None else np.ravel(as_array(sample_weight)).astype(np.float64)
    if weight is not None and weight.shape != y_true.shape:
        raise ValueError(f"{op}: sample_weight has {weight.size} values for {y_true.size} labels")
    accuracy = float(metrics.accuracy_score(y_true, y_pred, sample_weight=weight))
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, y_pred, average=average, sample_weight=weight, zero_division=0,
        labels=[0, 1] if binary and average == "binary" else None)
    return {"accuracy": accuracy, "error": 1.0 - accuracy, "precision": float(precision), "recall": float(recall),
            "f1": float(f1), "count": int(y_true.size),
            "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=[0, 1] if binary else labels)}


def known_labels(Y, ignore_value=-1):
    """Boolean mask of the known entries of a multi-label array: not NaN and not ``ignore_value``."""
    Y = as_array(Y)
    known = ~np.isnan(Y) if Y.dtype.kind == "f" else np.ones(Y.shape, dtype=bool)
    if ignore_value is not None:
        known &= Y != ignore_value
    return known


def multitask_metrics(Y_true, Y_pred, task_names=None, ignore_value=-1):
    """Per-task metrics of a multi-label problem, on the known labels of each task only.

    ``Y_true`` (m, tasks) holds 0/1 and unknown entries (NaN or ``ignore_value``, the course's "?");
    ``Y_pred`` (m, tasks) the predicted 0/1 labels. Returns {task name: classification_metrics dict with
    ``count`` = the number of known labels}, tasks in column order, plus "mean" with the tasks' average
    accuracy, error, precision, recall and F1.
    """
    op = "multitask_metrics"
    Y_true, Y_pred = as_array(Y_true), as_array(Y_pred)
    if Y_true.ndim != 2 or Y_true.shape != Y_pred.shape:
        raise ValueError(f"{op}: Y_true and Y_pred must both be (examples, tasks), got shapes {Y_true.shape} and "
                         f"{Y_pred.shape}")
    names = list(task_names) if task_names is not None else [f"task {j}" for j in range(Y_true.shape[1])]
    if len(names) != Y_true.shape[1]:
        raise ValueError(f"{op}: {len(names)} task names for {Y_true.shape[1]} tasks")
    known = known_labels(Y_true, ignore_value)
    report = {}
    for j, name in enumerate(names):
        rows = known[:, j]
        if not rows.any():
            raise ValueError(f"{op}: task {name!r} has no known label to score")
        report[name] = classification_metrics(Y_true[rows, j], Y_pred[rows, j])
    keys = ("accuracy", "error", "precision", "recall", "f1")
    report["mean"] = {k: float(np.mean([report[name][k] for name in names])) for k in keys}
    return report


# ----------------------------------------------------------------------------------- choosing models

_COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


class ModelChoice:
    """What ``choose_model`` found: ``best`` (a name, or None when no candidate meets every constraint),
    ``feasible`` (names that meet them, best first), ``rejected`` ({name: reasons}); ``str()`` is a table."""

    def __init__(self, best, feasible, rejected, scores, candidates, optimize_name):
        self.best, self.feasible, self.rejected = best, feasible, rejected
        self.scores, self.candidates, self.optimize_name = scores, candidates, optimize_name

    def __str__(self):
        names = list(self.candidates)
        metric_names = list(dict.fromkeys(k for c in self.candidates.values() for k in c))
        width = max(len(n) for n in names + ["candidate"])
        header = [f"{'candidate':<{width}}"] + [f"{m:>10}" for m in metric_names] + ["  verdict"]
        lines = [" ".join(header)]
        for name in names:
            cells = [f"{name:<{width}}"] + [f"{_show(self.candidates[name].get(m)):>10}" for m in metric_names]
            if name == self.best:
                verdict = f"  chosen: best {self.optimize_name} among those meeting the constraints"
            elif name in self.rejected:
                verdict = "  rejected: " + "; ".join(self.rejected[name])
            else:
                verdict = "  meets the constraints"
            lines.append(" ".join(cells) + verdict)
        if self.best is None:
            lines.append("no candidate meets every satisficing constraint")
        return "\n".join(lines)

    __repr__ = __str__


def _show(value):
    return "-" if value is None else f"{value:g}" if isinstance(value, numbers.Real) else str(value)


def _constraint(name, spec):
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return "<=", float(spec)
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in _COMPARISONS:
        return spec[0], float(spec[1])
    raise ValueError(f"choose_model: constraint {name!r} must be a number (an upper bound) or a pair like "
                     f"('<=', 10) with one of {sorted(_COMPARISONS)}, got {spec!r}")


def choose_model(candidates, optimize, constraints=None, maximize=True):
    """Pick the best candidate on one optimizing metric among those meeting every satisficing constraint.

    ``candidates``: {name: {metric: value}} (or a list of dicts with a "name" key). ``optimize``: the
    metric to maximize (``maximize=False``: minimize), or a function of a candidate's dict (e.g. the
    average error over regions). ``constraints``: {metric: bound} meaning value <= bound, or
    {metric: (op, bound)} with op one of <=, <, >=, >. Ties keep the first candidate.

    The Peacetopia quiz: accuracy as large as possible, runtime <= 10 s and memory <= 10 MB::

        choose_model({"A": {"accuracy": 97, "runtime": 1, "memory": 3},
                      "B": {"accuracy": 99, "runtime": 13, "memory": 9},
                      "C": {"accuracy": 97, "runtime": 3, "memory": 2},
                      "D": {"accuracy": 98, "runtime": 9, "memory": 9}},
                     optimize="accuracy", constraints={"runtime": 10, "memory": 10}).best   # "D"
    """
    op = "choose_model"
    if isinstance(candidates, (list, tuple)):
        if not all(isinstance(c, dict) and "name" in c for c in candidates):
            raise ValueError(f"{op}: a list of candidates must hold dicts with a 'name' key")
        candidates = {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in candidates}
    if not isinstance(candidates, dict) or not candidates:
        raise ValueError(f"{op}: candidates must be a non-empty dict {{name: {{metric: value}}}}")
    checks = {name: _constraint(name, spec) for name, spec in (constraints or {}).items()}
    score_of = optimize if callable(optimize) else (lambda metrics: metrics[optimize])
    optimize_name = getattr(optimize, "__name__", "score") if callable(optimize) else optimize
    feasible, rejected, scores = [], {}, {}
    for name, metrics in candidates.items():
        missing = [m for m in checks if m not in metrics]
        if not callable(optimize) and optimize not in metrics:
            missing.append(optimize)
        if missing:
            raise ValueError(f"{op}: candidate {name!r} has no value for {missing} (it has {sorted(metrics)})")
        reasons = [f"{m} {metrics[m]:g} is not {cmp} {bound:g}" for m, (cmp, bound) in checks.items()
                   if not _COMPARISONS[cmp](metrics[m], bound)]
        scores[name] = float(score_of(metrics))
        if reasons:
            rejected[name] = reasons
        else:
            feasible.append(name)
    feasible.sort(key=lambda n: -scores[n] if maximize else scores[n])  # stable: ties keep the input order
    return ModelChoice(feasible[0] if feasible else None, feasible, rejected, scores, candidates, optimize_name)
