"""Random computation graphs for property tests of the whole engine (re-exported by ``tinygrad_dl.testing``).

Tests of one op at a time cannot see engine bugs that live *between* ops: a value reused four times, a
0-d value broadcast back into a matrix, two branches meeting again. ``random_graphs()`` draws small
programs that do exactly that, and ``assert_graph_gradients`` checks every leaf's gradient (and second
derivatives) against central differences in float64.

A graph is a list of leaves and a list of steps ``v_k = op(v_i, v_j, ...)`` whose operands are drawn from
*all* earlier values, so subexpressions are reused (fan-out) and added back together (fan-in); reductions
make 0-d values that later ops broadcast again. Every value no step consumed (a "sink") enters the output
``sum_i sum(v_i * w_i)`` with fixed random weights, so every path is checked with distinct weights.

While drawing, each step is evaluated on the current values; a step whose operands lie too close to a kink
(relu or abs near 0, a max with a near tie, clip near a bound), outside a domain (log of a non-positive
number) or whose result is too large is left out. The drawn graphs are therefore smooth around their leaves
and the numerical check never flakes.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import functional as F
from .autograd import no_grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .tensor import Tensor

MARGIN = 0.05  # how far operands stay from kinks and ties (central differences move them by ~1e-6)
LIMIT = 20.0  # largest magnitude a value may reach (keeps chains of products well scaled)


class GraphOp:
    """An operation the random graphs may use.

    ``GraphOp(name, fn, arity=1, params=None, accepts=None, shapes_ok=None, second_order=True)``

    - ``fn(*operands, **params)`` computes the op on Tensors (e.g. ``Softplus.apply`` or ``lambda a, b: a @ b``).
    - ``arity``: the number of operands, or ``(low, high)`` for a variable number (stack, a sum of many).
    - ``params(*shapes)``: a hypothesis strategy of the keyword arguments for operands of those shapes.
    - ``shapes_ok(*shapes)``: True when the op applies to operands of these shapes (default: they
      broadcast together).
    - ``accepts(*arrays, **params)``: True when the op is smooth at these operand values (default: always).
    - ``second_order=False`` when the op's backward does not support ``create_graph``.
    """

    def __init__(self, name, fn, arity=1, params=None, accepts=None, shapes_ok=None, second_order=True):
        self.name = name
        self.fn = fn
        self.arity = (arity, arity) if isinstance(arity, int) else tuple(arity)
        self.params = params
        self.accepts = accepts
        self.shapes_ok = shapes_ok if shapes_ok is not None else _broadcastable
        self.second_order = second_order

    def __repr__(self):
        return f"GraphOp({self.name!r})"


def _broadcastable(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------------------------------
# Smoothness checks (run on float64 arrays while the graph is drawn)


def _away_from(points):
    def accepts(x, **params):
        return all(np.all(np.abs(x - p) > MARGIN) for p in points)
    return accepts


def _no_ties(x, axis=None, keepdims=False):
    """The largest and the smallest value along the reduced axes both lead the runner-up by MARGIN."""
    axes = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis)
    axes = tuple(int(a) % x.ndim for a in axes) if x.ndim else ()
    kept = [a for a in range(x.ndim) if a not in axes]
    rows = np.transpose(x, kept + list(axes)).reshape(int(np.prod([x.shape[a] for a in kept])), -1)
    if rows.shape[1] < 2:
        return True
    ordered = np.sort(rows, axis=1)
    return bool(np.all(ordered[:, -1] - ordered[:, -2] > MARGIN) and np.all(ordered[:, 1] - ordered[:, 0] > MARGIN))


def _apart(a, b, **params):
    return bool(np.all(np.abs(a - b) > MARGIN))


def _clip_accepts(x, low, high):
    return all(np.all(np.abs(x - bound) > MARGIN) for bound in (low, high) if bound is not None)


# ----------------------------------------------------------------------------------------------------
# Parameters drawn for the operands' shapes


def _axis_params(shape):
    """axis=None (reduce to 0-d), an int or a tuple, and keepdims."""
    ndim = len(shape)
    options = [st.none()]
    if ndim:
        options += [st.integers(-ndim, ndim - 1), hnp.valid_tuple_axes(ndim, min_size=1)]
    return st.fixed_dictionaries({"axis": st.one_of(*options), "keepdims": st.booleans()})


def _var_params(shape):
    def with_ddof(drawn):
        axis = drawn["axis"]
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        count = int(np.prod([shape[a] for a in axes]))
        return st.fixed_dictionaries({**{k: st.just(v) for k, v in drawn.items()},
                                      "ddof": st.integers(0, min(1, count - 1))})
    return _axis_params(shape).flatmap(with_ddof)


def _reshape_params(shape):
    size = int(np.prod(shape))
    targets = {(size,), (1, size), (size, 1)}
    if size == 1:
        targets.add(())
    if len(shape) == 2:
        targets.add(shape[::-1])
    return st.fixed_dictionaries({"shape": st.sampled_from(sorted(targets))})


def _transpose_params(shape):
    return st.fixed_dictionaries({"axes": st.permutations(range(len(shape))).map(tuple)})


def _expand_dims_params(shape):
    return st.fixed_dictionaries({"axis": st.integers(-len(shape) - 1, len(shape))})


def _broadcast_params(shape):
    grown = tuple(2 if n == 1 else n for n in shape)
    return st.fixed_dictionaries({"shape": st.sampled_from([(2,) + tuple(shape), grown])})


def _pad_params(shape):
    widths = st.tuples(*[st.tuples(st.integers(0, 1), st.integers(0, 1)) for _ in shape])
    return st.fixed_dictionaries({"pad_width": widths})


def _index_params(shape):
    """An int, a reversed slice, or an integer array with repeated entries, on one axis."""
    def on_axis(axis):
        side = shape[axis]
        lead = (slice(None),) * axis
        # an integer array whose first entry comes again at the end: repeated indices accumulate
        repeated = hnp.arrays(np.intp, st.integers(1, 3), elements=st.integers(-side, side - 1)).map(
            lambda idx: np.concatenate([idx, idx[:1]]))
        return st.one_of(st.integers(-side, side - 1).map(lambda i: lead + (i,)),
                         st.just(lead + (slice(None, None, -1),)),
                         repeated.map(lambda idx: lead + (idx,)))
    return st.integers(0, len(shape) - 1).flatmap(on_axis).map(lambda index: {"index": index})


def _clip_params(shape):
    return st.sampled_from([(-1.0, 1.0), (-0.5, None), (None, 0.5), (0.0, 2.0)]).map(
        lambda bounds: {"low": bounds[0], "high": bounds[1]})


def _where_params(*shapes):
    shape = np.broadcast_shapes(*shapes)
    return hnp.arrays(np.bool_, shape).map(lambda mask: {"mask": mask})


def _power_params(shape):
    return st.fixed_dictionaries({"exponent": st.sampled_from([2, 3, -1, 0.5])})


def _power_accepts(x, exponent):
    if exponent == -1:
        return bool(np.all(np.abs(x) > 0.5))
    if exponent == 0.5:
        return bool(np.all(x > 0.2))
    return True


def _concatenate_params(*shapes):
    return st.fixed_dictionaries({"axis": st.just(0)})


def _matmul_shapes_ok(a, b):
    if not a or not b or len(a) > 2 or len(b) > 2:
        return False
    return a[-1] == (b[0] if len(b) == 1 else b[-2])


def _same_shape(*shapes):
    return all(s == shapes[0] for s in shapes)


def _concatenate_shapes_ok(*shapes):
    return all(len(s) >= 1 and s[1:] == shapes[0][1:] and len(s) == len(shapes[0]) for s in shapes)


def _sum_of(*operands):
    total = operands[0]
    for operand in operands[1:]:
        total = total + operand
    return total


def _at_least_1d(shape):
    return len(shape) >= 1


def _has_unit_axis(shape):
    return 1 in shape


def _positive(x, **params):
    return bool(np.all(x > 0.2))


def _big_enough_divisor(a, b):
    return bool(np.all(np.abs(b) > 0.5))


def _pow_accepts(base, exponent):
    return bool(np.all(base > 0.2) and np.all(np.abs(exponent) < 3))


def _exp_accepts(x):
    return bool(np.all(x < 2.5))


def _above_minus_one(x):
    return bool(np.all(x > -0.8))


def _spread_out(x, axis, keepdims, ddof):
    """std's gradient (x - mean) / ((n - ddof) std) needs std well above 0 (a single value has std 0)."""
    return bool(np.all(np.std(x, axis=axis, ddof=ddof) > 0.1))


def _not_near_zero_norm(x, axis, keepdims):
    return bool(np.all(np.sqrt(np.sum(x * x, axis=axis)) > 0.1))


def _one_axis_params(shape):
    return st.fixed_dictionaries({"axis": st.integers(-len(shape), len(shape) - 1)})


def _center(x):
    """(x - m) m + m^2 with the 0-d mean m used four times (the issue's example, for any shape)."""
    m = x.mean()
    return (x - m) * m + m * m


def _standardize(x, axis, keepdims):
    """(x - mean) / sqrt(var + 1), the centred values used twice (layer norm's core)."""
    centred = x - x.mean(axis=axis, keepdims=True)
    return centred / ((centred * centred).mean(axis=axis, keepdims=True) + 1).sqrt()


def _softmax(x, axis, keepdims):
    """exp(x - max) / sum(exp(x - max)): the shift cancels, so ties in max do not matter."""
    e = (x - x.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def default_graph_ops():
    """The op pool of ``random_graphs``: every core op, with the parameters and guards it needs."""
    return [
        # a sum of 2-4 operands (fan-in; first in the pool, so the simplest draws reuse values most)
        GraphOp("sum_of", _sum_of, arity=(2, 4)),
        # elementwise, binary (NumPy broadcasting)
        GraphOp("add", lambda a, b: a + b, arity=2),
        GraphOp("sub", lambda a, b: a - b, arity=2),
        GraphOp("mul", lambda a, b: a * b, arity=2),
        GraphOp("div", lambda a, b: a / b, arity=2, accepts=_big_enough_divisor),
        GraphOp("pow", lambda a, b: a ** b, arity=2, accepts=_pow_accepts),
        GraphOp("maximum", lambda a, b: a.maximum(b), arity=2, accepts=_apart),
        GraphOp("minimum", lambda a, b: a.minimum(b), arity=2, accepts=_apart),
        GraphOp("where", lambda a, b, mask: F.where(mask, a, b), arity=2, params=_where_params),
        # elementwise, unary
        GraphOp("neg", lambda x: -x),
        GraphOp("exp", lambda x: x.exp(), accepts=_exp_accepts),
        GraphOp("log", lambda x: x.log(), accepts=_positive),
        GraphOp("log1p", lambda x: x.log1p(), accepts=_above_minus_one),
        GraphOp("expm1", lambda x: x.expm1(), accepts=_exp_accepts),
        GraphOp("sqrt", lambda x: x.sqrt(), accepts=_positive),
        GraphOp("tanh", lambda x: x.tanh()),
        GraphOp("sigmoid", lambda x: x.sigmoid()),
        GraphOp("relu", lambda x: x.relu(), accepts=_away_from([0.0])),
        GraphOp("abs", lambda x: abs(x), accepts=_away_from([0.0])),
        GraphOp("power", lambda x, exponent: x ** exponent, params=_power_params, accepts=_power_accepts),
        GraphOp("clip", lambda x, low, high: x.clip(low, high), params=_clip_params, accepts=_clip_accepts),
        # reductions (axis None gives a 0-d value that later ops broadcast again)
        GraphOp("sum", lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), params=_axis_params),
        GraphOp("mean", lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims), params=_axis_params),
        GraphOp("max", lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims), params=_axis_params,
                accepts=_no_ties),
        GraphOp("min", lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims), params=_axis_params,
                accepts=_no_ties),
        GraphOp("var", lambda x, axis, keepdims, ddof: x.var(axis=axis, keepdims=keepdims, ddof=ddof),
                params=_var_params),
        GraphOp("logsumexp", lambda x, axis, keepdims: x.logsumexp(axis=axis, keepdims=keepdims),
                params=_axis_params),
        GraphOp("std", lambda x, axis, keepdims, ddof: x.std(dim=axis, keepdim=keepdims, correction=ddof),
                params=_var_params, accepts=_spread_out),
        GraphOp("norm", lambda x, axis, keepdims: x.norm(axis=axis, keepdims=keepdims), params=_axis_params,
                accepts=_not_near_zero_norm),
        GraphOp("softmax", lambda x, axis: x.softmax(axis), params=_one_axis_params, shapes_ok=_at_least_1d),
        GraphOp("log_softmax", lambda x, axis: x.log_softmax(dim=axis), params=_one_axis_params,
                shapes_ok=_at_least_1d),
        # small composites of the kind users write, each reusing an inner value (a 0-d mean four times)
        GraphOp("center", _center),
        GraphOp("standardize", _standardize, params=_axis_params),
        GraphOp("softmax_composed", _softmax, params=_axis_params),
        # products
        GraphOp("matmul", lambda a, b: a @ b, arity=2, shapes_ok=_matmul_shapes_ok),
        # movement and indexing
        GraphOp("reshape", lambda x, shape: x.reshape(shape), params=_reshape_params),
        GraphOp("transpose", lambda x, axes: x.transpose(axes), params=_transpose_params),
        GraphOp("swapaxes", lambda x, axis: x.swapaxes(0, axis), params=_one_axis_params, shapes_ok=_at_least_1d),
        GraphOp("flatten", lambda x: x.flatten()),
        GraphOp("expand_dims", lambda x, axis: x.expand_dims(axis), params=_expand_dims_params),
        GraphOp("squeeze", lambda x: x.squeeze(), shapes_ok=_has_unit_axis),
        GraphOp("broadcast_to", lambda x, shape: x.broadcast_to(shape), params=_broadcast_params),
        GraphOp("pad", lambda x, pad_width: x.pad(pad_width), params=_pad_params, shapes_ok=_at_least_1d),
        GraphOp("getitem", lambda x, index: x[index], params=_index_params, shapes_ok=_at_least_1d),
        GraphOp("stack", lambda *xs: F.stack(xs), arity=(2, 3), shapes_ok=_same_shape),
        GraphOp("concatenate", lambda *xs, axis: F.concatenate(xs, axis=axis), arity=(2, 3),
                params=_concatenate_params, shapes_ok=_concatenate_shapes_ok),
    ]


# ----------------------------------------------------------------------------------------------------
# The graph


class RandomGraph:
    """A drawn program: call it on the leaves (Tensors) to get its 0-d output; ``repr`` lists its steps.

    ``leaves``: the float64 arrays to call it on; ``steps``: ``(op, operand_indices, params)`` tuples;
    ``sinks``: ``(value_index, weight)`` pairs summed into the output; ``second_order``: True when every
    op of the graph supports ``create_graph``.
    """

    def __init__(self, leaves, steps, sinks):
        self.leaves = leaves
        self.steps = steps
        self.sinks = sinks

    @property
    def second_order(self):
        return all(op.second_order for op, _, _ in self.steps)

    def values(self, *leaves):
        """Every value of the program (leaves first), computed from ``leaves``."""
        values = list(leaves)
        for op, operands, params in self.steps:
            values.append(op.fn(*[values[i] for i in operands], **params))
        return values

    def __call__(self, *leaves):
        values = self.values(*leaves)
        total = None
        for index, weight in self.sinks:
            term = (values[index] * weight).sum()
            total = term if total is None else total + term
        return total

    def __repr__(self):
        lines = [f"RandomGraph({len(self.leaves)} leaves, {len(self.steps)} steps)"]
        for i, leaf in enumerate(self.leaves):
            lines.append(f"  v{i} = leaf {np.array2string(leaf, precision=17, separator=', ')}")
        for k, (op, operands, params) in enumerate(self.steps, start=len(self.leaves)):
            arguments = [f"v{i}" for i in operands] + [f"{key}={_short(value)}" for key, value in params.items()]
            lines.append(f"  v{k} = {op.name}({', '.join(arguments)})")
        lines.append("  out = " + " + ".join(f"sum(v{i} * w{n})" for n, (i, _) in enumerate(self.sinks)))
        return "\n".join(lines)


def _short(value):
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=",").replace("\n", "")
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


# ----------------------------------------------------------------------------------------------------
# Drawing graphs

_LEAF_SHAPES = ("scalar", "row", "matrix", "column", "wide", "transposed")


def _leaf_shape(kind, rows, cols):
    return {"scalar": (), "row": (cols,), "matrix": (rows, cols), "column": (rows, 1), "wide": (1, cols),
            "transposed": (cols, rows)}[kind]


def _evaluate(op, operands, params):
    """The step's value on the operands' arrays (float64), or None when the step is to be left out."""
    arrays = [v.data for v in operands]
    if op.accepts is not None and not op.accepts(*arrays, **params):
        return None
    try:
        with no_grad(), np.errstate(all="ignore"):
            result = op.fn(*operands, **params)
    except (ValueError, IndexError, TypeError):
        return None  # shapes the op does not take (a custom op's own rule)
    if not isinstance(result, Tensor) or result.data.dtype != np.float64 or result.data.size == 0:
        return None
    if not np.all(np.isfinite(result.data)) or np.abs(result.data).max() > LIMIT:
        return None
    return result


@st.composite
def random_graphs(draw, ops=None, extra_ops=(), min_leaves=1, max_leaves=4, min_steps=3, max_steps=12,
                  max_side=3):
    """A hypothesis strategy of ``RandomGraph``s.

    ``ops``: the op pool (default ``default_graph_ops()``); ``extra_ops``: your own ``GraphOp``s added to it.
    Leaves are 0-d, vectors, matrices and broadcastable (n, 1)/(1, n) arrays with sides up to ``max_side``,
    values in [-2, 2]. Then ``min_steps`` to ``max_steps`` steps: every new value is given a fan-out of 1-4
    and later steps take the values still owed a use first (a value feeding four ops, or one op four times),
    else any earlier value. A step that would not be smooth is left out.
    """
    pool = list(default_graph_ops() if ops is None else ops) + list(extra_ops)
    rows, cols = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    kinds = draw(st.lists(st.sampled_from(_LEAF_SHAPES), min_size=min_leaves, max_size=max_leaves))
    elements = st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False)
    leaves = [draw(hnp.arrays(np.float64, _leaf_shape(kind, rows, cols), elements=elements)) for kind in kinds]
    values = [Tensor(leaf) for leaf in leaves]
    owed = {}  # value index -> uses still planned
    steps = []
    wanted = draw(st.integers(min_steps, max_steps))
    for _ in range(3 * wanted):  # a step that is not smooth is left out: try a few more
        if len(steps) == wanted:
            break
        op = draw(st.sampled_from(pool))
        operands = _draw_operands(draw, op, values, owed)
        if operands is None:
            continue
        shapes = [values[i].shape for i in operands]
        params = draw(op.params(*shapes)) if op.params is not None else {}
        result = _evaluate(op, [values[i] for i in operands], params)
        if result is None:
            continue
        steps.append((op, tuple(operands), params))
        for i in operands:
            if i in owed:
                owed[i] -= 1
                if not owed[i]:
                    del owed[i]
        owed[len(values)] = draw(st.integers(1, 4))
        values.append(result)
    # The output uses every value still owed uses that many times (each a term of its own: fan-in),
    # and every other value no step consumed once.
    used = {i for _, operands, _ in steps for i in operands}
    sinks = [i for i in range(len(values)) for _ in range(owed.get(i, 0 if i in used else 1))]
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    weights = [(i, rng.uniform(0.5, 1.5, values[i].shape) * rng.choice([-1.0, 1.0], values[i].shape))
               for i in sinks]
    return RandomGraph(leaves, steps, weights)


def _draw_operands(draw, op, values, owed):
    """Operand indices for ``op``. The first is the newest value still owed a use, or (or when none is)
    any earlier value; each next one is the previous again (fan-out inside one op: z + z + z) or any value
    whose shape fits the ones drawn so far."""
    low, high = op.arity
    count = draw(st.integers(low, high))
    if owed and not draw(st.booleans()):
        first = max(owed)
    else:
        first = len(values) - 1 - draw(st.integers(0, len(values) - 1))  # counted back from the newest
    chosen = [first]
    for _ in range(count - 1):
        if not draw(st.booleans()):
            chosen.append(chosen[-1])
            continue
        fitting = [i for i in range(len(values))
                   if op.shapes_ok(*[values[j].shape for j in chosen], values[i].shape)]
        if not fitting:
            return None
        chosen.append(draw(st.sampled_from(fitting)))
    if not op.shapes_ok(*[values[i].shape for i in chosen]):
        return None
    return chosen


# ----------------------------------------------------------------------------------------------------
# Checking a graph


def assert_graph_gradients(graph, second_order=None, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Assert that every leaf's gradient of ``graph`` equals central differences in float64 (and, with
    ``second_order`` — by default when every op supports it — so do its second derivatives), and that after
    ``backward()`` no two leaves' ``.grad`` share memory."""
    second_order = graph.second_order if second_order is None else second_order
    _assert_unshared_gradients(graph)
    try:
        gradcheck(graph, graph.leaves, eps=eps, atol=atol, rtol=rtol)
        if second_order:
            gradgradcheck(graph, graph.leaves, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as err:
        raise GradcheckError(f"{err}\nin the graph\n{graph!r}") from None


def _assert_unshared_gradients(graph):
    """After ``backward()``, no two leaves' ``.grad`` share memory (a change of one would change the other)."""
    leaves = [Tensor(np.array(leaf, dtype=np.float64), requires_grad=True) for leaf in graph.leaves]
    graph(*leaves).backward()
    grads = [(i, leaf.grad.data) for i, leaf in enumerate(leaves) if leaf.grad is not None]
    for position, (i, first) in enumerate(grads):
        for j, second in grads[position + 1:]:
            if np.shares_memory(first, second):
                raise GradcheckError(f"the gradients of leaves {i} and {j} share memory after backward()\n"
                                     f"in the graph\n{graph!r}")
