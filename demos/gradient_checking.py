"""Gradient checking (Course 2, week 1, assignment 3) with ``tinygrad_dl.gradcheck``.

The assignment checks a hand-written backward pass against central differences
(J(θ+ε) − J(θ−ε)) / 2ε and reports the relative difference ‖g − g̃‖ / (‖g‖ + ‖g̃‖).
Here the same checks run through the library's ``gradcheck``:

1. the 1-D case J(θ) = θ·x (x = 2, θ = 4, ε = 1e-7);
2. the 3-layer network 4 → 5 (ReLU) → 3 (ReLU) → 1 (sigmoid) on the course's test case, written as
   a custom ``tinygrad_dl.Function`` whose backward is the course's hand-written one — first with the
   notebook's deliberate bugs (dW2 doubled, db1 multiplied by 4), which the check must catch, then fixed;
3. the same network built from ordinary tensor ops, so its gradients come from autograd.

The course computes one difference over the concatenation of all parameters; ``gradcheck`` reports one
per input, which also says *which* parameters are wrong. Both are shown.

    python -m demos.gradient_checking
"""
import numpy as np

from tinygrad_dl import Function, Tensor, gradcheck

from .common import log, make_parser, print_results

NAME = "gradient_checking"
EPSILON = 1e-7
COURSE_THRESHOLD = 2e-7  # the notebook's verdict: a difference above this means "there is a mistake"
PARAMETER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
COURSE = {
    "1-D difference": 2.9193358103083e-10,  # notebook print (plain NumPy today: 2.919335883291695e-10)
    "N-D difference, buggy backward": 0.285093156781,
    "N-D difference, fixed backward": 1.1890913023330276e-07,  # amanchadha's run of the fixed notebook
}


# ------------------------------------------------------------------------------------------ test case


def course_test_case():
    """The notebook's ``gradient_check_n_test_case``: X (4, 3), Y (1, 3) and the six parameters.

    Everything is drawn with ``np.random.randn`` after ``np.random.seed(1)``, in the notebook's order.
    Y is stored as a (1, 3) row, which broadcasts exactly like the notebook's ``np.array([1, 1, 0])``.
    """
    np.random.seed(1)
    X = np.random.randn(4, 3)
    Y = np.array([[1.0, 1.0, 0.0]])
    shapes = [(5, 4), (5, 1), (3, 5), (3, 1), (1, 3), (1, 1)]
    parameters = [np.random.randn(*shape) for shape in shapes]
    return X, Y, parameters


# ------------------------------------------------------------- the network as one custom Function


def _network_forward(X, Y, W1, b1, W2, b2, W3, b3):
    """The course's forward pass and cost, in its exact arithmetic (so the numbers match bit for bit)."""
    Z1 = W1 @ X + b1
    A1 = np.maximum(0, Z1)
    Z2 = W2 @ A1 + b2
    A2 = np.maximum(0, Z2)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    m = X.shape[1]
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    return cost, (A1, A2, A3)


class CourseNetworkCost(Function):
    """cost(X, Y, W1, b1, W2, b2, W3, b3) with the course's hand-written backward (correct version).

    A subclass sets ``dW2_factor``/``db1_factor`` to reproduce the notebook's deliberate bugs. The
    backward uses NumPy-only code, so it does not support ``create_graph``.
    """

    supports_create_graph = False
    dW2_factor = 1.0
    db1_factor = 1.0

    @staticmethod
    def forward(ctx, X, Y, W1, b1, W2, b2, W3, b3):
        cost, activations = _network_forward(X, Y, W1, b1, W2, b2, W3, b3)
        ctx.save_for_backward(X, Y, W2, W3, *activations)
        return np.asarray(cost)

    @staticmethod
    def backward(ctx, grad):
        X, Y, W2, W3, A1, A2, A3 = ctx.saved_tensors
        m = X.shape[1]
        dZ3 = A3 - Y
        dW3 = 1.0 / m * dZ3 @ A2.T
        db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
        dZ2 = (W3.T @ dZ3) * (A2 > 0)
        dW2 = 1.0 / m * dZ2 @ A1.T * ctx.dW2_factor
        db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
        dZ1 = (W2.T @ dZ2) * (A1 > 0)
        dW1 = 1.0 / m * dZ1 @ X.T
        db1 = ctx.db1_factor / m * np.sum(dZ1, axis=1, keepdims=True)
        # The cost is a scalar: the incoming gradient just scales every parameter's gradient.
        return (None, None) + tuple(grad * g for g in (dW1, db1, dW2, db2, dW3, db3))


class BuggyCourseNetworkCost(CourseNetworkCost):
    """The notebook's ``backward_propagation_n`` as handed out: dW2 doubled and db1 multiplied by 4."""

    dW2_factor = 2.0
    db1_factor = 4.0


def autograd_network_cost(X, Y, W1, b1, W2, b2, W3, b3):
    """The same network and cost from ordinary tensor ops: autograd derives the backward."""
    A1 = (W1 @ X + b1).relu()
    A2 = (W2 @ A1 + b2).relu()
    A3 = (W3 @ A2 + b3).sigmoid()
    m = X.shape[1]
    logprobs = -A3.log() * Y - (1 - A3).log() * (1 - Y)
    return logprobs.sum() / m


# ------------------------------------------------------------------------------------------ checks


def course_difference(result):
    """The course's single number: the relative difference over the concatenation of all parameters."""
    analytic = np.concatenate([r.analytic.ravel() for r in result.reports])
    numeric = np.concatenate([r.numeric.ravel() for r in result.reports])
    return float(np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric)))


def check_one_dimensional(eps=EPSILON):
    """J(θ) = θ·x with x = 2 at θ = 4: the relative difference of dJ/dθ against central differences."""
    x = 2.0
    result = gradcheck(lambda theta: theta * x, [np.array(4.0)], eps=eps, raise_exception=False)
    return result


def check_network(cost_fn, eps=EPSILON):
    """gradcheck ``cost_fn(X, Y, *parameters)`` on the course's test case (X and Y held constant)."""
    X, Y, parameters = course_test_case()
    X_t, Y_t = Tensor(X), Tensor(Y)
    return gradcheck(lambda *params: cost_fn(X_t, Y_t, *params), parameters, eps=eps, raise_exception=False)


def _per_parameter(result):
    return {name: report.relative_difference for name, report in zip(PARAMETER_NAMES, result.reports)}


def run(eps=EPSILON, quiet=True, out=None):
    """Run the three checks; returns the course's differences and gradcheck's per-parameter reports."""
    one_d = check_one_dimensional(eps)
    buggy = check_network(BuggyCourseNetworkCost.apply, eps)
    fixed = check_network(CourseNetworkCost.apply, eps)
    autograd = check_network(autograd_network_cost, eps)
    results = {
        "1-D difference": one_d.relative_difference,
        "1-D passed": bool(one_d),
        "N-D difference, buggy backward": course_difference(buggy),
        "N-D difference, fixed backward": course_difference(fixed),
        "N-D difference, autograd": course_difference(autograd),
        "buggy passed": bool(buggy),
        "fixed passed": bool(fixed),
        "autograd passed": bool(autograd),
        "buggy per parameter": _per_parameter(buggy),
        "fixed per parameter": _per_parameter(fixed),
        "autograd per parameter": _per_parameter(autograd),
        "buggy mismatched parameters": [name for name, r in zip(PARAMETER_NAMES, buggy.reports) if not r.passed],
    }
    log(repr(buggy), quiet)
    return results


def _verdict(difference, threshold):
    return "correct" if difference < threshold else "MISTAKE"


def main(argv=None):
    parser = make_parser(NAME, "Course 2 week 1: gradient checking of a hand-written backward with gradcheck")
    parser.add_argument("--eps", type=float, default=EPSILON, help="finite-difference step (course: 1e-7)")
    args = parser.parse_args(argv)
    results = run(eps=args.eps, quiet=args.quiet, out=args.out)
    rows = [(name, COURSE.get(name), results[name]) for name in
            ("1-D difference", "N-D difference, buggy backward", "N-D difference, fixed backward",
             "N-D difference, autograd")]
    rows += [
        ("course verdict, buggy (threshold 2e-7)", "mistake",
         _verdict(results["N-D difference, buggy backward"], COURSE_THRESHOLD)),
        ("course verdict, fixed", "correct", _verdict(results["N-D difference, fixed backward"], COURSE_THRESHOLD)),
        ("parameters gradcheck flags (bugs are in)", "b1, W2", ", ".join(results["buggy mismatched parameters"])),
        ("gradcheck passes fixed / autograd", "-", f"{results['fixed passed']} / {results['autograd passed']}"),
    ]
    print_results(rows, "Gradient checking (C2 W1): relative difference ||g - g_num|| / (||g|| + ||g_num||)")
    print("\nPer-parameter relative differences (buggy backward):")
    for name, value in results["buggy per parameter"].items():
        print(f"  {name}: {value:.3e}")
    return results


if __name__ == "__main__":
    main()
