"""Hypothesis strategies and a gradient property-test helper, for your own ops and for ours.

Property-test the gradients of a custom ``Function`` in three lines::

    from tinygrad_dl.testing import arrays, check_gradients

    test_softplus_grads = check_gradients(Softplus.apply, arrays(shape=(3, 4)))

pytest collects ``test_softplus_grads``: hypothesis draws inputs, and for each draw the engine's gradients
(and, with ``second_order=True``, its second derivatives) are compared with central differences in
float64. ``reference=np_function`` also compares the forward values with NumPy. Inside your own
``@given`` test, call ``assert_gradients_match(fn, *arrays)`` instead.

The strategies keep inputs where a numerical derivative is meaningful:

- ``arrays(..., away_from=0)`` keeps every element at least ``margin`` away from kinks (relu, abs);
- ``distinct_values(shapes)`` gives arrays whose elements are pairwise far apart (no ties for max/min);
- ``shapes``, ``broadcastable_shapes``, ``valid_axes`` and ``index_expressions`` cover the shapes,
  broadcasting, axes (None, ints, negative ints, tuples) and indices (ints, slices with steps, None,
  Ellipsis, integer arrays with repeats, boolean masks) an op should accept.

Needs hypothesis: ``pip install "tinygrad_dl[test]"``.
"""
import numpy as np

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as err:  # hypothesis is only a test dependency
    raise ImportError('tinygrad_dl.testing needs hypothesis: pip install "tinygrad_dl[test]"') from err

from ._random_graphs import GraphOp, RandomGraph, assert_graph_gradients, default_graph_ops, random_graphs
from .gradcheck import gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["arrays", "shapes", "broadcastable_shapes", "valid_axes", "index_expressions", "distinct_values",
           "assert_gradients_match", "check_gradients", "random_graphs", "GraphOp", "RandomGraph",
           "default_graph_ops", "assert_graph_gradients", "check_random_graphs"]


# ----------------------------------------------------------------------------------------------------
# Shapes and axes


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes (tuples) with ``min_dims..max_dims`` axes of ``min_side..max_side`` entries each."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together (sides of 1 and missing axes included)."""
    shapes_and_result = hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                                          max_dims=max_dims, min_side=min_side, max_side=max_side)
    return shapes_and_result.map(lambda drawn: tuple(drawn.input_shapes))


def valid_axes(shape, allow_none=True, allow_tuple=True):
    """The ``axis=`` values a reduction over ``shape`` accepts: None, an int (negative too), a tuple of
    distinct axes (empty, negative and out-of-order included)."""
    ndim = len(shape)
    options = []
    if allow_none:
        options.append(st.none())
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(hnp.valid_tuple_axes(ndim))
    if not options:
        raise ValueError(f"valid_axes: a shape {shape} with allow_none=False and allow_tuple=False has no axis")
    return st.one_of(*options)


# ----------------------------------------------------------------------------------------------------
# Float arrays


def _forbidden_intervals(points, margin):
    """The open intervals (point - margin, point + margin), merged where they overlap."""
    merged = []
    for point in sorted(points):
        low, high = point - margin, point + margin
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return merged


def _away_from_mapper(points, margin, min_value, max_value):
    """A function moving a value in [min_value, max_value] out of the forbidden intervals to the nearer
    edge that lies in range. Checks up front that such an edge exists for every interval."""
    intervals = _forbidden_intervals(points, margin)
    for low, high in intervals:
        if low <= min_value and high >= max_value:
            raise ValueError(f"arrays: away_from={points} with margin {margin} leaves nothing of "
                             f"[{min_value}, {max_value}]")

    def move(value):
        for low, high in intervals:
            if low < value < high:
                candidates = [edge for edge in (low, high) if min_value <= edge <= max_value]
                return min(candidates, key=lambda edge: abs(edge - value))
        return value

    return move


def _as_points(away_from):
    if away_from is None:
        return ()
    return tuple(float(p) for p in np.atleast_1d(away_from))


def arrays(dtype=np.float64, shape=None, min_value=-3.0, max_value=3.0, away_from=None, margin=0.1):
    """NumPy float arrays with elements in [min_value, max_value].

    ``dtype``: a float dtype, a list of them, or a strategy. ``shape``: a tuple, a strategy of tuples, or
    None for ``shapes()``. ``away_from``: a number or a list of numbers (kinks such as 0 for relu and abs,
    clip bounds); every element then stays at least ``margin`` away from each of them.
    """
    if min_value > max_value:
        raise ValueError(f"arrays: min_value {min_value} > max_value {max_value}")
    dtypes = dtype if isinstance(dtype, st.SearchStrategy) else st.sampled_from(
        [np.dtype(d) for d in dtype] if isinstance(dtype, (list, tuple)) else [np.dtype(dtype)])
    shape = shapes() if shape is None else shape
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    points = _as_points(away_from)
    if points:
        elements = elements.map(_away_from_mapper(points, margin, min_value, max_value))
    # Draw float64 and cast: hypothesis refuses float32 bounds that float32 cannot represent exactly.
    float64_arrays = hnp.arrays(np.float64, shape, elements=elements)
    return st.tuples(float64_arrays, dtypes).map(lambda pair: pair[0].astype(pair[1]))


def distinct_values(shapes, dtype=np.float64, min_value=-3.0, max_value=3.0, gap=0.01):
    """A tuple of arrays, one per shape in ``shapes``, whose elements (across all arrays) differ pairwise by
    at least ``gap``: max/min reductions and maximum/minimum then never meet a tie.

    ``shapes``: a tuple of shapes, or a strategy of such tuples (e.g. ``broadcastable_shapes()``).
    A single shape as a plain tuple of ints gives a one-element tuple.
    """
    steps = int(np.floor((max_value - min_value) / gap))

    def arrays_for(shape_tuple):
        if all(isinstance(n, (int, np.integer)) for n in shape_tuple):
            shape_tuple = (tuple(shape_tuple),)
        sizes = [int(np.prod(s)) for s in shape_tuple]
        if sum(sizes) > steps + 1:
            raise ValueError(f"distinct_values: {sum(sizes)} values {gap} apart do not fit in "
                             f"[{min_value}, {max_value}]")
        grid = st.integers(0, steps).map(lambda i: min_value + i * gap)
        flat = hnp.arrays(np.float64, sum(sizes), elements=grid, unique=True)
        bounds = np.cumsum([0] + sizes)
        return flat.map(lambda values: tuple(values[lo:hi].reshape(s).astype(dtype)
                                             for lo, hi, s in zip(bounds[:-1], bounds[1:], shape_tuple)))

    if isinstance(shapes, st.SearchStrategy):
        return shapes.flatmap(arrays_for)
    return arrays_for(shapes)


# ----------------------------------------------------------------------------------------------------
# Indices


def _integer_array_index(shape):
    """``(:, ..., :, array)``: an integer array (repeats and negative entries included) on one axis."""
    def on_axis(axis):
        side = shape[axis]
        entries = st.integers(-side, side - 1)
        index_array = hnp.arrays(np.intp, shapes(min_dims=1, max_dims=2, max_side=5), elements=entries)
        return index_array.map(lambda a: (slice(None),) * axis + (a,))

    return st.integers(0, len(shape) - 1).flatmap(on_axis)


def _boolean_mask_index(shape):
    """A boolean mask over some consecutive axes (leading, or after full slices)."""
    def over_axes(first_and_count):
        first, count = first_and_count
        mask = hnp.arrays(np.bool_, shape[first:first + count])
        return mask.map(lambda m: (slice(None),) * first + (m,))

    ndim = len(shape)
    first_and_count = st.integers(0, ndim - 1).flatmap(
        lambda first: st.tuples(st.just(first), st.integers(1, ndim - first)))
    return first_and_count.flatmap(over_axes)


def index_expressions(shape):
    """Valid indices for an array of ``shape``: ints (negative too), slices with steps, None, Ellipsis,
    integer arrays (repeated entries included) and boolean masks."""
    shape = tuple(shape)
    basic = hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)
    if not shape or 0 in shape:
        return basic
    return st.one_of(basic, _integer_array_index(shape), _boolean_mask_index(shape))


# ----------------------------------------------------------------------------------------------------
# The gradient property test


def _split_constants(inputs):
    """Floating arrays/tensors are differentiated; anything else (ints, bools, masks, None) is a constant."""
    def is_variable(x):
        if isinstance(x, Tensor):
            return x.requires_grad or x.dtype.kind == "f"
        return isinstance(x, np.ndarray) and x.dtype.kind == "f"

    return [i for i, x in enumerate(inputs) if is_variable(x)]


def _forward_matches(fn, inputs, reference, atol, rtol):
    variable = _split_constants(inputs)
    tensors = [Tensor(x) if i in variable and isinstance(x, np.ndarray) else x for i, x in enumerate(inputs)]
    arrays_in = [x.data if isinstance(x, Tensor) else x for x in inputs]
    got = fn(*tensors)
    expected = np.asarray(reference(*arrays_in))
    if got.shape != expected.shape:
        raise AssertionError(f"forward: shape {got.shape}, NumPy reference gives {expected.shape}")
    np.testing.assert_allclose(got.data, expected, atol=atol, rtol=rtol, err_msg="forward values differ from "
                               "the NumPy reference")


def assert_gradients_match(fn, *inputs, reference=None, second_order=False, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Assert that ``fn``'s gradients equal central differences (float64) for every floating input.

    ``inputs``: arrays or Tensors; integer/bool arrays, Python numbers and other values are passed to ``fn``
    unchanged and not differentiated. ``reference``: a NumPy function whose result ``fn``'s forward must
    match. ``second_order=True`` also runs ``gradgradcheck``. Raises ``GradcheckError`` (an
    AssertionError) with a per-input report on a mismatch.
    """
    if reference is not None:
        _forward_matches(fn, inputs, reference, atol, rtol)
    variable = _split_constants(inputs)
    if not variable:
        raise ValueError("assert_gradients_match: no floating-point input to differentiate")

    def with_constants(*leaves):
        full = list(inputs)
        for position, leaf in zip(variable, leaves):
            full[position] = leaf
        return fn(*full)

    chosen = [inputs[i] for i in variable]
    gradcheck(with_constants, chosen, eps=eps, atol=atol, rtol=rtol)
    if second_order:
        gradgradcheck(with_constants, chosen, eps=eps, atol=atol, rtol=rtol)


def check_gradients(fn, *input_strategies, reference=None, second_order=False, max_examples=None,
                    eps=1e-6, atol=1e-5, rtol=1e-3):
    """A hypothesis test (assign it to a ``test_...`` name) checking ``fn``'s gradients on drawn inputs.

    Each strategy draws one positional input of ``fn``. ``max_examples`` overrides the active hypothesis
    profile; the deadline is always off (numerical differences are slow by nature).
    """
    overrides = {"deadline": None}
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    def test_gradients(inputs):
        assert_gradients_match(fn, *inputs, reference=reference, second_order=second_order, eps=eps,
                               atol=atol, rtol=rtol)

    # named before decorating, so hypothesis's failure report says which function failed
    test_gradients.__name__ = test_gradients.__qualname__ = f"test_gradients_of_{_function_name(fn)}"
    return settings(**overrides)(given(st.tuples(*input_strategies))(test_gradients))


def _function_name(fn):
    owner = getattr(fn, "__self__", None)  # Function.apply is a bound classmethod: name the class
    name = owner.__name__ if isinstance(owner, type) else getattr(fn, "__name__", "fn")
    return name if name.isidentifier() else "fn"


def check_random_graphs(*extra_ops, ops=None, second_order=None, max_examples=None, eps=1e-6, atol=1e-5,
                        rtol=1e-3, **graph_options):
    """A hypothesis test (assign it to a ``test_...`` name) checking random graphs' gradients.

    ``extra_ops``: your own ``GraphOp``s, mixed into the default pool (or into ``ops``). ``second_order``:
    None checks second derivatives when every op of the drawn graph supports them. ``graph_options`` go to
    ``random_graphs`` (``max_leaves``, ``max_steps``, ...)::

        softplus = GraphOp("softplus", Softplus.apply)
        test_softplus_in_graphs = check_random_graphs(softplus)
    """
    overrides = {"deadline": None}
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    def test_random_graph_gradients(graph):
        assert_graph_gradients(graph, second_order=second_order, eps=eps, atol=atol, rtol=rtol)

    strategy = random_graphs(ops=ops, extra_ops=extra_ops, **graph_options)
    return settings(**overrides)(given(strategy)(test_random_graph_gradients))
