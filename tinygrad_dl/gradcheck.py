"""Gradient checking: the engine's gradients against central differences, in float64.

This is the course's "Gradient Checking" assignment (Course 2, week 1) made a tool. For every input it
reports the course's relative difference ||g - g_num|| / (||g|| + ||g_num||) and the entries that
disagree most; the check passes when every entry satisfies |g - g_num| <= atol + rtol * |g_num|.
"""
import numpy as np

from .autograd import grad as autograd_grad, verifying_claims
from .tensor import Tensor, _as_array


class GradcheckError(AssertionError):
    """Raised by ``gradcheck``/``gradgradcheck`` when a gradient disagrees with numerical differences."""


class InputReport:
    """What the check found for one input: the relative difference and the worst entries."""

    def __init__(self, index, analytic, numeric, atol, rtol, worst=3):
        self.index = index
        self.analytic = analytic
        self.numeric = numeric
        norm_sum = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        self.relative_difference = float(np.linalg.norm(analytic - numeric) / norm_sum) if norm_sum else 0.0
        error = np.abs(analytic - numeric)
        allowed = atol + rtol * np.abs(numeric)
        self.passed = bool(np.all(error <= allowed))
        order = np.argsort(-(error - allowed), axis=None)[:worst]
        self.worst = [(np.unravel_index(i, analytic.shape) if analytic.ndim else (), float(analytic.flat[i]),
                       float(numeric.flat[i])) for i in order]

    def __repr__(self):
        lines = [f"input {self.index}: {'ok' if self.passed else 'MISMATCH'}, relative difference "
                 f"{self.relative_difference:.3e}"]
        for where, a, n in self.worst:
            lines.append(f"    at {tuple(int(i) for i in where)}: analytic {a:+.9e}  numeric {n:+.9e}  "
                         f"diff {a - n:+.3e}")
        return "\n".join(lines)


class GradcheckResult:
    """Truthy when every input passed; ``reports[i]`` has the details; ``str()`` is a readable table."""

    def __init__(self, reports, title):
        self.reports = reports
        self.title = title

    @property
    def passed(self):
        return all(r.passed for r in self.reports)

    @property
    def relative_difference(self):
        """The largest relative difference over all inputs."""
        return max((r.relative_difference for r in self.reports), default=0.0)

    def __bool__(self):
        return self.passed

    def __repr__(self):
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.title} {verdict}\n" + "\n".join(repr(r) for r in self.reports)


def _as_float64_leaves(inputs, op):
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{op}: inputs must be a list or tuple of arrays or tensors, got {type(inputs).__name__}")
    leaves = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.dtype.kind != "f":
            leaves.append(x)  # an integer/bool/complex Tensor (labels, indices, masks) is a constant: kept as is
            continue
        try:
            values = _as_array(x, op=f"{op}: input {i}")
        except (TypeError, ValueError) as err:
            raise type(err)(f"{err} (inputs are arrays or tensors of numbers)") from None
        if values.dtype.kind == "c":
            raise TypeError(f"{op}: input {i} is complex (shape {values.shape}); gradients are checked for real "
                            "inputs only")
        requires_grad = x.requires_grad if isinstance(x, Tensor) else True
        leaves.append(Tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad))
    return leaves


def _check_settings(op, fn, eps, atol, rtol):
    if not callable(fn):
        raise TypeError(f"{op}: fn must be callable (a function of the inputs returning a Tensor), got "
                        f"{type(fn).__name__}")
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{op}: {name} must be a number, got {value!r}")
        if not (value > 0 if name == "eps" else value >= 0):
            raise ValueError(f"{op}: {name} must be {'> 0' if name == 'eps' else '>= 0'}, got {value!r}")


def _scalar_objective(fn, leaves, weights):
    """fn's output reduced to a scalar: itself if it has one element, else sum(output * weights)."""
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__} (inputs: "
                        f"{', '.join(f'{x.shape} {x.dtype}' for x in leaves)})")
    if out.data.size == 1:
        return out.reshape(())
    if weights[0] is None:
        weights[0] = np.random.default_rng(0).standard_normal(out.shape)
    return (out * weights[0]).sum()


def _numerical_gradient(objective, leaf, eps):
    """Central differences (J(θ+ε) − J(θ−ε)) / 2ε, one entry of ``leaf`` at a time.

    Grad mode stays on: gradgradcheck's objective itself runs a backward pass."""
    values = leaf.data
    numeric = np.zeros_like(values)
    for i in np.ndindex(values.shape):
        original = values[i]
        values[i] = original + eps
        plus = objective().item()
        values[i] = original - eps
        minus = objective().item()
        values[i] = original
        numeric[i] = (plus - minus) / (2 * eps)
    return numeric


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, _title="gradcheck"):
    """Compare the gradients of ``fn(*inputs)`` with central differences, all in float64.

    ``inputs`` are Tensors or arrays (copied to float64; a Tensor with ``requires_grad=False`` is held
    constant). A non-scalar output is reduced with fixed random weights, which checks a vector-Jacobian
    product. Returns a ``GradcheckResult`` (truthy when all inputs pass); on failure raises
    ``GradcheckError`` with the report, or returns the result if ``raise_exception=False``.
    """
    _check_settings(_title, fn, eps, atol, rtol)
    leaves = _as_float64_leaves(inputs, _title)
    positions = [i for i, x in enumerate(leaves) if x.requires_grad]  # reports name inputs by position
    checked = [leaves[i] for i in positions]
    if not checked:
        raise ValueError(f"{_title}: no input requires grad (inputs: "
                         f"{', '.join(f'{x.shape} {x.dtype}' for x in leaves) or 'none'})")
    weights = [None]
    objective = _scalar_objective(fn, leaves, weights)
    # An objective without a graph does not depend on the inputs (e.g. gradgradcheck of a linear op,
    # whose first-order gradients are constants): its analytic gradients are all zero.
    with verifying_claims():  # (the ops' exact_grads claims too)
        analytic = autograd_grad(objective, checked) if objective.requires_grad else [None] * len(checked)
    reports = []
    for index, leaf, g in zip(positions, checked, analytic):
        g = np.zeros_like(leaf.data) if g is None else np.asarray(g.data, dtype=np.float64)
        numeric = _numerical_gradient(lambda: _scalar_objective(fn, leaves, weights), leaf, eps)
        reports.append(InputReport(index, g, numeric, atol, rtol))
    result = GradcheckResult(reports, _title)
    if not result.passed and raise_exception:
        raise GradcheckError(repr(result))
    return result


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check second derivatives: ``gradcheck`` of the first-order gradients (built with create_graph=True).

    The first-order gradients are projected on fixed random directions, so the check compares a
    Hessian-vector product of every input with central differences of the first-order gradients.
    """
    _check_settings("gradgradcheck", fn, eps, atol, rtol)
    directions = {}

    def first_order(*leaves):
        objective = _scalar_objective(fn, leaves, weights)
        wanted = [x for x in leaves if x.requires_grad]
        grads = autograd_grad(objective, wanted, create_graph=True)
        total = None
        for i, (leaf, g) in enumerate(zip(wanted, grads)):
            if g is None:
                continue
            if i not in directions:
                directions[i] = np.random.default_rng(i + 1).standard_normal(leaf.shape)
            term = (g * directions[i]).sum()
            total = term if total is None else total + term
        if total is None:
            raise ValueError("gradgradcheck: fn does not depend on any input")
        return total

    weights = [None]
    return gradcheck(first_order, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                     _title="gradgradcheck")
