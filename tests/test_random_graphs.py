"""Random computation graphs (issue 7 §2): every leaf's gradient against central differences in float64.

The graphs reuse values one to four times, add them back together, reduce to 0-d and broadcast again,
mix elementwise ops, matmul, reductions with axes, indexing with repeated indices, reshape/transpose and
stack/concatenate. On the engine before the fix of issue 7 §1 about a third of the drawn graphs fail
(a 0-d value used three or more times lost contributions), so 50 examples find it on every run.
"""
import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tinygrad_dl import Function, Tensor
from tinygrad_dl.gradcheck import GradcheckError
from tinygrad_dl.testing import (GraphOp, RandomGraph, assert_graph_gradients, check_random_graphs,
                                 default_graph_ops, random_graphs)
from tests._shared import Softplus  # the README's op, differentiable twice

EXAMPLES = max(50, settings.default.max_examples)  # the default profile's 25 is raised to 50

test_random_graphs_first_and_second_order = check_random_graphs(max_examples=EXAMPLES)


# ----------------------------------------------------------------------------------------------------
# Users mix their own Function into the graphs


test_custom_function_in_random_graphs = check_random_graphs(GraphOp("softplus", Softplus.apply), max_examples=15)


class DoubledBackward(Function):
    """x * 3 with a wrong backward (6 instead of 3): the random graphs must catch it."""

    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        return grad * 6


def test_a_wrong_backward_is_caught():
    @settings(max_examples=5, phases=[Phase.generate], database=None, deadline=None)  # no shrinking: fast
    @given(random_graphs(ops=[GraphOp("broken", DoubledBackward.apply)], min_steps=1))
    def check(graph):
        assert_graph_gradients(graph, second_order=False)

    with pytest.raises(GradcheckError, match=r"(?s)MISMATCH.*in the graph\n.*RandomGraph.*broken\(v0\)"):
        check()


def test_gradients_that_share_memory_are_caught(monkeypatch):
    """reshape(a) + b: the add hands one array to b and, through the reshape's view, to a. With the engine's check of
    the memory's root undone (the engine before the fix), the graph check reports the shared memory."""
    from tinygrad_dl import autograd
    from tinygrad_dl.testing import RandomGraph

    reshape = GraphOp("reshape", lambda x: x.reshape(6))
    add = GraphOp("add", lambda a, b: a + b, arity=2)
    graph = RandomGraph([np.ones((2, 3)), np.arange(6.0)], [(reshape, (0,), {}), (add, (2, 1), {})],
                        [(3, np.linspace(0.5, 1.5, 6))])
    assert_graph_gradients(graph, second_order=False)
    monkeypatch.setattr(autograd, "_root_array", lambda array: array)
    with pytest.raises(GradcheckError, match="gradients of leaves 0 and 1 share memory"):
        assert_graph_gradients(graph, second_order=False)


def test_op_without_second_order_support_skips_gradgradcheck():
    class FirstOrderOnly(Function):
        supports_create_graph = False

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    square = GraphOp("square", FirstOrderOnly.apply, second_order=False)
    check_random_graphs(ops=[square], min_steps=1, max_steps=3, max_examples=5)()  # passes: first order only


# ----------------------------------------------------------------------------------------------------
# The strategy draws what it promises


def features(graph):
    values = graph.values(*[Tensor(leaf) for leaf in graph.leaves])
    uses = {}
    for _, operands, _ in graph.steps:
        for i in operands:
            uses[i] = uses.get(i, 0) + 1
    for i, _ in graph.sinks:
        uses[i] = uses.get(i, 0) + 1
    found = {op.name for op, _, _ in graph.steps}
    leaves = len(graph.leaves)
    if any(values[i].ndim == 0 and n >= 3 for i, n in uses.items() if i >= leaves):
        found.add("0-d value used 3+ times")
    if any(n >= 4 for n in uses.values()):
        found.add("a value used 4 times")
    if any(op.name == "getitem" and isinstance(params["index"][-1], np.ndarray)
           and len(np.unique(params["index"][-1])) < len(params["index"][-1]) for op, _, params in graph.steps):
        found.add("repeated indices")
    if any(len(set(operands)) < len(operands) for _, operands, _ in graph.steps):
        found.add("one value twice in one op")
    if any(leaf.ndim == 0 for leaf in graph.leaves):
        found.add("0-d leaf")
    return found


def test_the_strategy_covers_the_structures_engine_bugs_live_in():
    seen = set()

    @settings(max_examples=150, database=None, deadline=None, derandomize=True)  # a coverage count: no luck
    @given(random_graphs())
    def collect(graph):
        seen.update(features(graph))

    collect()
    wanted = {"0-d value used 3+ times", "a value used 4 times", "repeated indices", "one value twice in one op",
              "0-d leaf", "matmul", "sum", "mean", "getitem", "reshape", "transpose", "stack", "concatenate",
              "broadcast_to", "sum_of"}
    assert wanted <= seen, f"never drawn: {sorted(wanted - seen)}"


def test_every_default_op_runs_on_its_own():
    # each op of the pool, alone in graphs of 1-3 steps: catches an op whose guard or parameters are wrong
    names = [op.name for op in default_graph_ops()]
    assert len(names) == len(set(names)) and len(names) >= 35

    @settings(max_examples=len(names) * 2, database=None, deadline=None)
    @given(st.sampled_from(default_graph_ops()).flatmap(lambda op: random_graphs(ops=[op], max_steps=3)))
    def check(graph):
        assert_graph_gradients(graph)

    check()


def test_a_graph_prints_as_a_program_and_evaluates_like_numpy():
    x = np.array([[0.5, -1.0, 2.0]])
    steps = [(GraphOp("mul", lambda a, b: a * b, arity=2), (0, 0), {}),
             (GraphOp("sum", lambda a, axis: a.sum(axis=axis)), (1,), {"axis": None})]
    graph = RandomGraph([x], steps, [(2, np.array(2.0)), (2, np.array(-0.5))])
    assert repr(graph).splitlines()[2:] == ["  v1 = mul(v0, v0)", "  v2 = sum(v1, axis=None)",
                                            "  out = sum(v2 * w0) + sum(v2 * w1)"]
    out = graph(Tensor(x))
    assert out.shape == () and out.item() == pytest.approx(1.5 * np.sum(x * x))
    assert_graph_gradients(graph)
