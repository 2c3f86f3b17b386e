"""Tests for tinygrad_dl.viz: the DOT source of known graphs (values, gradients, names, shapes, steps), the
recorded backward pass against the engine and NumPy, layout at scale (clusters, boxes, the node cap), rendering
with the real `dot` program, and the error path when `dot` is missing.

Browser tests of the step-through page are in test_viz_browser.py.
"""
import gc
import os
import re
import weakref

import graphviz
import numpy as np
import pytest

from tinygrad_dl import Function, Tensor, backward_order, name_scope, viz
from tinygrad_dl.viz import _format

ON_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")  # CI sets CI=true


def require_dot():
    """Skip without Graphviz's `dot` on a developer's machine; on CI it must be there."""
    if viz.dot_available():
        return
    message = "Graphviz's `dot` program is not installed (apt-get install graphviz)"
    if ON_CI:
        pytest.fail(f"{message}; CI installs it in .ci/run")
    pytest.skip(message)


# ----------------------------------------------------------------------------------------------------
# A known small graph: z = W @ x + b, loss = sum(z * z)
#   z = [1 - 2 + 1.5 + 0.5, 0 + 4 - 6 - 1] = [1, -3], loss = 1 + 9 = 10
#   dloss/dz = 2 z = [2, -6], dW = outer(dz, x) = [[2, 4, 6], [-6, -12, -18]], db = [2, -6]
#   ||dW|| = sqrt(560) = 23.66, ||db|| = sqrt(40) = 6.325


def small_graph():
    W = Tensor(np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0]]), requires_grad=True)
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    b = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    z = W @ x + b
    loss = (z * z).sum()
    return W, x, b, z, loss


def node_lines(source):
    """DOT node lines by id."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\s*(\w+) \[label=<.*$", source, flags=re.M)}


def node_named(source, name):
    """The DOT line of the node whose label starts with the bold ``name``."""
    found = [line for line in node_lines(source).values() if f"<B>{name}</B>" in line]
    assert len(found) == 1, f"expected one node named {name!r}, found {len(found)}"
    return found[0]


def node_id(line):
    return line.strip().split(" ", 1)[0]


def edges(source):
    """(tail, head) pairs, in order (parallel edges repeat)."""
    return re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)


def edge_line(source, tail, head):
    found = [line for line in source.splitlines() if re.match(rf"\s*{tail} -> {head}\b", line)]
    assert found, f"no edge {tail} -> {head}"
    return found[0]


# ----------------------------------------------------------------------------------------------------
# The DOT source of the small graph


def test_forward_picture_has_every_node_with_names_shapes_and_values():
    W, x, b, z, loss = small_graph()
    source = viz.draw_graph(loss, names={"W": W, "x": x, "b": b, "z": z}).source
    ops = {node_id(line): line for line in node_lines(source).values() if "backward step" in line}
    # one op node per Function, numbered by the backward pass: Sum, Mul, Add, MatMul
    assert sorted(ops) == ["op1", "op2", "op3", "op4"]
    for step, name in enumerate(["Sum", "Mul", "Add", "MatMul"], start=1):
        assert f"<B>{name}</B>" in ops[f"op{step}"] and f"backward step {step}<" in ops[f"op{step}"]

    w_line = node_named(source, "W")
    assert "(2, 3) float64" in w_line
    assert "data [[1, -1, 0.5],<BR" in w_line and "[0,  2,  -2]]" in w_line  # columns aligned
    assert "data [0.5, -1]" in node_named(source, "b")
    assert "data [1, -3]" in node_named(source, "z")
    x_line = node_named(source, "x")  # data that needs no grad, found as the array MatMul saved
    assert "(3,) float64 · no grad" in x_line and "data [1, 2, 3]" in x_line
    out_line = node_named(source, "output")
    assert "scalar float64" in out_line and "data 10<" in out_line and 'BORDER="3"' in out_line
    assert "‖grad‖" not in source and "legend" not in source  # nothing has a gradient yet

    ids = {name: node_id(node_named(source, name)) for name in ("W", "x", "b", "z", "output")}
    found = edges(source)
    assert (ids["W"], "op4") in found and (ids["x"], "op4") in found and (ids["b"], "op3") in found
    assert found.count((ids["z"], "op2")) == 2  # z * z uses z twice
    assert ("op1", ids["output"]) in found and ("op3", ids["z"]) in found
    assert 'style="dashed"' in edge_line(source, ids["x"], "op4")
    assert len(found) == 11  # 4 op -> output edges, 7 input edges


def test_leaves_show_their_grad_after_backward():
    W, x, b, z, loss = small_graph()
    loss.backward()
    source = viz.draw_graph(loss, names={"W": W, "b": b, "z": z}).source
    w_line = node_named(source, "W")
    assert "grad [[ 2,   4,   6],<BR" in w_line and "[-6, -12, -18]]" in w_line and "grad norm 23.66<" in w_line
    assert "grad [2, -6]" in node_named(source, "b") and "grad norm 6.325" in node_named(source, "b")
    assert "grad" not in node_named(source, "z")  # intermediates keep no gradient (PyTorch semantics)
    # the colour of the gradient row follows its norm
    assert f'BGCOLOR="{viz.grad_color(np.sqrt(560.0)).fill}"' in w_line


def test_retain_grad_intermediate_is_shown():
    W, x, b, z, loss = small_graph()
    z.retain_grad()
    loss.backward()
    assert "grad [2, -6]" in node_named(viz.draw_graph(loss, names={"z": z}).source, "z")


def test_backward_true_records_every_gradient_and_fills_leaf_grads():
    W, x, b, z, loss = small_graph()
    source = viz.draw_graph(loss, names={"W": W, "x": x, "b": b, "z": z}, backward=True).source
    assert "grad [2, -6]" in node_named(source, "z") and "grad norm 6.325" in node_named(source, "z")
    assert "grad 1<" in node_named(source, "output")
    squares = [line for line in node_lines(source).values() if "data [1, 9]" in line]
    assert len(squares) == 1 and "grad [1, 1]" in squares[0]  # d sum / d (z*z)
    assert "grad [[ 2,   4,   6]," in node_named(source, "W")
    assert "‖grad‖" not in node_named(source, "x")
    np.testing.assert_array_equal(W.grad.data, [[2, 4, 6], [-6, -12, -18]])  # a real backward pass ran
    np.testing.assert_array_equal(b.grad.data, [2, -6])


def test_draw_graph_alone_runs_no_backward():
    W, x, b, z, loss = small_graph()
    viz.draw_graph(loss)
    assert W.grad is None
    loss.backward()  # the graph is intact
    np.testing.assert_array_equal(b.grad.data, [2, -6])


def test_pictures_and_traces_let_the_graph_die_by_reference_counting():
    gc.disable()  # no cycle collector: the graph must be freed by reference counting alone
    try:
        W, x, b, z, loss = small_graph()
        alive = weakref.ref(z)
        picture = viz.draw_graph(loss, names={"z": z, "x": x})
        recorded = viz.trace(loss)
        frames = list(recorded.frames())
        del W, x, b, z, loss, recorded, frames
        assert alive() is None
        assert "<B>z</B>" in picture.source  # the picture itself is text
    finally:
        gc.enable()


# ----------------------------------------------------------------------------------------------------
# Trace once, draw many times; what a viz call does on a graph whose backward pass already ran


def test_one_trace_feeds_every_picture_and_fills_grad_once(tmp_path):
    require_dot()
    W, x, b, z, loss = small_graph()
    trace = viz.trace(loss, names={"W": W, "z": z})
    picture, steps = trace.draw(), list(trace.steps())
    page = trace.save_html(tmp_path / "steps.html")
    assert "grad [2, -6]" in node_named(picture.source, "z") and len(steps) == 5
    assert page.read_text(encoding="utf-8").count('<figure class="frame"') == 5
    assert "grad norm 23.66" in trace._repr_html_()  # the notebook player, drawn from the same record
    np.testing.assert_array_equal(W.grad.data, [[2, 4, 6], [-6, -12, -18]])  # one backward pass, not four
    np.testing.assert_array_equal(b.grad.data, [2, -6])


def test_draw_graph_after_backward_shows_values_and_leaf_grads_without_adding_to_them():
    W, x, b, z, loss = small_graph()
    loss.backward()
    for backward in (False, True, True):  # three calls in a row: .grad stays what backward() left
        source = viz.draw_graph(loss, names={"W": W, "z": z}, backward=backward).source
        assert "grad [[ 2,   4,   6]," in node_named(source, "W") and "data [1, -3]" in node_named(source, "z")
    assert "backward=True: the backward pass already ran through this graph" in source
    assert "t = viz.trace(loss) instead of loss.backward()" in source.replace("</TD></TR><TR><TD>", " ")
    np.testing.assert_array_equal(W.grad.data, [[2, 4, 6], [-6, -12, -18]])


@pytest.mark.parametrize("call", ["trace", "backward_steps", "save_html"])
def test_a_call_that_must_rerun_a_freed_backward_says_so(call, tmp_path):
    W, x, b, z, loss = small_graph()
    viz.draw_graph(loss, backward=True)  # runs (and frees) the backward pass
    arguments = {"trace": (), "backward_steps": (), "save_html": (tmp_path / "page.html",)}[call]
    with pytest.raises(RuntimeError) as info:
        result = getattr(viz, call)(loss, *arguments)
        list(result) if call == "backward_steps" else None
    message = str(info.value)
    assert message.startswith(f"viz.{call}: cannot record the backward pass: it already ran through this graph")
    assert "t = viz.trace(loss)" in message and "t.steps()" in message and "retain_graph=True" in message
    np.testing.assert_array_equal(b.grad.data, [2, -6])  # nothing was added
    assert not (tmp_path / "page.html").exists()


def test_tracing_a_retained_graph_again_records_the_same_gradients_without_adding_them_twice():
    W, x, b, z, loss = small_graph()
    first = viz.trace(loss, retain_graph=True)
    second = viz.trace(loss, retain_graph=True)
    assert first.accumulated and not second.accumulated
    np.testing.assert_array_equal(second.grad(z), first.grad(z))
    np.testing.assert_array_equal(W.grad.data, [[2, 4, 6], [-6, -12, -18]])
    assert "was left as the first pass left it" in repr(second)
    loss.backward()  # the user's own backward still accumulates, as in PyTorch
    np.testing.assert_array_equal(b.grad.data, [4, -12])


def test_readable_reprs_of_a_trace_and_its_nodes():
    net = mlp()
    trace = viz.trace(net["loss"], names={"W1": net["W1"], "b1": net["b1"], "W2": net["W2"]})
    text = repr(trace)
    assert text.startswith(f"<BackwardTrace of output (scalar float64 = {_format.number(net['loss'].item())}): "
                           "9 backward steps")
    assert "step 9: MatMul  [layer1] receives a (4, 5) gradient" in text
    assert "leaves: W1 (4, 3) grad norm" in text and ".draw(), .steps(), .save_html(path)>" in text
    assert "object at 0x" not in text
    node = trace.order[-1]
    assert repr(node) == "<MatMul node in layer1: (4, 3) float64, data -> (4, 5) float64, saved values freed>"
    assert repr(trace.order[0]).startswith("<Add node: scalar float64, scalar float64 -> scalar float64")


def test_notebook_player_is_html_and_css_only():
    require_dot()
    W, x, b, z, loss = small_graph()
    trace = viz.trace(loss, names={"W": W, "z": z})
    player = trace._repr_html_()
    assert trace._repr_html_() is player  # drawn once, then kept
    assert "<script" not in player  # works where notebooks strip scripts
    uid = re.search(r'<div id="(tgviz-[\w-]+)"', player).group(1)
    assert player.count(f'type="radio" name="{uid}"') == 5 and player.count("<svg") == 5
    assert f'<label for="{uid}-zoom"' in player  # a full-size toggle, CSS only
    assert f"#{uid}-2:checked ~ .tg-frames .tg-f2 {{ display: block; }}" in player
    assert "Step 2 of 4: Mul receives" in player and 'for="' + uid + '-3"' in player
    ids = re.findall(r' id="([^"]+)"', player)
    assert len(ids) == len(set(ids))  # frames' SVG ids made unique
    other = viz.trace(small_graph()[-1])._repr_html_()
    assert re.search(r'<div id="(tgviz-[\w-]+)"', other).group(1) != uid  # two players in one notebook


# ----------------------------------------------------------------------------------------------------
# The recorded backward pass


def mlp(seed=0):
    """Course-style 3 -> 4 tanh -> 2 net on 5 examples, with a broadcast bias and a shared tensor."""
    rng = np.random.default_rng(seed)
    X = Tensor(rng.standard_normal((3, 5)))
    W1 = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b1 = Tensor(rng.standard_normal((4, 1)), requires_grad=True)
    W2 = Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    with name_scope("layer1"):
        Z1 = W1 @ X + b1
        A1 = Z1.tanh()
    with name_scope("layer2"):
        Z2 = W2 @ A1
    loss = (Z2 * Z2).mean() + (A1 * 0.5).sum()  # A1 feeds two ops: its gradient arrives in two parts
    return locals()


def test_trace_visits_nodes_in_the_engines_backward_order():
    net = mlp()
    expected = backward_order(net["loss"])
    trace = viz.trace(net["loss"])
    assert len(trace) == len(expected) == 9
    assert all(a is b for a, b in zip(trace.order, expected))
    assert [record.step for record in trace.records] == list(range(1, 10))
    # and the picture numbers the op nodes by the same order
    source = trace.draw(collapse=False).source
    for step, node in enumerate(expected, start=1):
        line = node_lines(source)[f"op{step}"]
        assert f"<B>{node.name}</B>" in line and f"backward step {step}<" in line


def test_trace_gradients_match_hand_written_numpy_backprop():
    net = mlp()
    trace = viz.trace(net["loss"])
    X, W1, b1, W2 = (net[k].data for k in ("X", "W1", "b1", "W2"))
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1
    dZ2 = 2 * Z2 / Z2.size
    dA1 = W2.T @ dZ2 + 0.5
    dZ1 = dA1 * (1 - A1 ** 2)
    np.testing.assert_allclose(trace.grad(net["Z2"]), dZ2, rtol=1e-12)
    np.testing.assert_allclose(trace.grad(net["A1"]), dA1, rtol=1e-12)
    np.testing.assert_allclose(trace.grad(net["Z1"]), dZ1, rtol=1e-12)
    np.testing.assert_allclose(trace.grad(net["b1"]), dZ1.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(net["W1"].grad.data, dZ1 @ X.T, rtol=1e-12)
    np.testing.assert_allclose(trace.grad(net["W1"]), net["W1"].grad.data, rtol=1e-12)
    # the record of each step: what the op received and what it sent (before broadcasting was undone)
    add = next(r for r in trace.records if r.op.name == "Add" and r.op.scope == ("layer1",))
    np.testing.assert_allclose(add.grad_output, dZ1, rtol=1e-12)
    assert add.input_grads[1].shape == (4, 5)  # sent at the output's shape; the engine sums it to (4, 1)
    assert trace.grad(net["X"]) is None  # data gets no gradient


def test_partial_gradients_between_steps():
    net = mlp()
    trace = viz.trace(net["loss"])
    A1 = net["A1"]
    arrivals = [i for i, r in enumerate(trace.records, start=1)
                if any(info.tensor is A1 for _, info in r.op.inputs)]
    first, last = arrivals
    assert first < last
    grad_first, complete = trace.grad_state(id(A1), first)
    assert not complete
    np.testing.assert_allclose(grad_first, np.full((4, 5), 0.5))  # from (A1 * 0.5).sum() alone
    grad_all, complete = trace.grad_state(id(A1), last)
    assert complete
    np.testing.assert_allclose(grad_all, trace.grad(A1))
    assert trace.grad(A1, frame=first - 1) is None


def test_trace_with_a_seed_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    trace = viz.trace(y, grad=np.array([1.0, 10.0]))
    np.testing.assert_allclose(trace.grad(y), [1.0, 10.0])
    np.testing.assert_allclose(x.grad.data, [2.0, 40.0])
    with pytest.raises(RuntimeError, match="shape"):
        viz.trace(Tensor(np.ones(2), requires_grad=True) * 2)  # non-scalar output needs grad=


def test_backward_steps_show_the_pass_frame_by_frame():
    W, x, b, z, loss = small_graph()
    frames = [p.source for p in viz.backward_steps(loss, names={"W": W, "z": z})]
    assert len(frames) == 5  # the seed, then Sum, Mul, Add, MatMul
    assert "Step 0 of 4" in frames[0] and "grad 1<" in node_named(frames[0], "output")
    assert "grad" not in node_named(frames[0], "W") and "grad" not in node_named(frames[0], "z")
    # after step 2 (Mul) z has its gradient; W not yet
    assert "grad [2, -6]" in node_named(frames[2], "z") and "grad" not in node_named(frames[2], "W")
    ops = node_lines(frames[2])
    assert f'fillcolor="{viz._draw.OP_CURRENT_FILL}"' in ops["op2"] and 'id="current"' in ops["op2"]
    assert f'fillcolor="{viz._draw.OP_DONE_FILL}"' in ops["op1"]
    assert f'fillcolor="{viz._draw.OP_FILL}"' in ops["op3"]
    z_id = node_id(node_named(frames[2], "z"))
    z_edge = edge_line(frames[2], z_id, "op2")
    # the arrows point the way the gradient flows: from the op back to its input
    assert 'dir="back"' in z_edge and viz._draw.CURRENT_EDGE in z_edge
    assert ("Step 2 of 4: Mul receives the gradient of its output (shape (2,), gradient norm 1.414) and sends "
            "gradients: z gets (2,), z gets (2,).") in frames[2].replace("</TD></TR><TR><TD>", " ")  # wrapped lines
    assert "grad [[ 2,   4,   6]," in node_named(frames[4], "W")


def test_grad_flow_edges_point_back_with_the_gradients_shape():
    rng = np.random.default_rng(1)
    W = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    data = Tensor(rng.standard_normal((4, 3)))
    loss = ((W * data) + b).sum()
    source = viz.draw_graph(loss, names={"W": W, "b": b, "data": data}, backward=True, grad_flow=True).source
    w_edge = edge_line(source, node_id(node_named(source, "W")), "op3")
    assert 'dir="back"' in w_edge and 'label=" (4, 3) "' in w_edge
    b_edge = edge_line(source, node_id(node_named(source, "b")), "op2")
    assert 'label=" (4, 3) → (3,) "' in b_edge  # Add sent (4, 3); the engine summed it to b's shape
    data_edge = edge_line(source, node_id(node_named(source, "data")), "op3")
    assert "dir" not in data_edge and 'style="dashed"' in data_edge


# ----------------------------------------------------------------------------------------------------
# Gradient health


def test_gradient_colour_scale():
    assert viz.grad_color(1e-9) == viz.GradColor("#3f007d", "white", viz.grad_color(1e-9).edge, "vanished")
    assert viz.grad_color(1e-5).word == "vanishing" and viz.grad_color(1e-5).fill == "#6a51a3"
    assert viz.grad_color(0.5).fill == "#a6dba0" and viz.grad_color(0.5).word == "healthy"
    assert viz.grad_color(5e4).word == "exploding" and viz.grad_color(1e9).fill == "#7f2704"
    assert viz.grad_color(0.0).word == "zero" and viz.grad_color(float("nan")).word == "nan/inf"
    # halfway between the anchors at 1e-2 (#d9f0d3) and 1e-1 (#a6dba0), within rounding
    mixed = viz.grad_color(10 ** -1.5).fill
    halfway = [(0xd9 + 0xa6) / 2, (0xf0 + 0xdb) / 2, (0xd3 + 0xa0) / 2]
    assert all(abs(int(mixed[i:i + 2], 16) - h) <= 0.5 for i, h in zip((1, 3, 5), halfway))


def test_deep_sigmoid_net_fades_towards_its_first_layers():
    rng = np.random.default_rng(0)
    X = Tensor(rng.standard_normal((2, 20)))
    A = X
    weights = []
    for layer in range(1, 9):
        W = Tensor(rng.standard_normal((4, A.shape[0])), requires_grad=True)
        weights.append(W)
        with name_scope(f"layer{layer}"):
            A = (W @ A).sigmoid()
    loss = A.mean()
    source = viz.draw_graph(loss, names={f"W{i}": w for i, w in enumerate(weights, 1)}, backward=True,
                            collapse=True).source
    norms = [viz.grad_norm(w.grad.data) for w in weights]
    assert norms[0] < 1e-3 * norms[-1]
    assert viz.grad_color(norms[0]).word in ("vanished", "vanishing", "small")
    assert viz.grad_color(norms[-1]).word == "healthy"
    boxes = {re.search(r"<B>(layer\d)</B>", line).group(1): line
             for line in node_lines(source).values() if re.search(r"<B>layer\d</B>", line)}
    assert len(boxes) == 8
    for layer, norm in zip(range(1, 9), norms):
        assert f'fillcolor="{viz.grad_color(norm).fill}"' in boxes[f"layer{layer}"]
        assert f"grad norm {_format.number(norm)}" in boxes[f"layer{layer}"]
    assert viz.grad_color(norms[0]).fill != viz.grad_color(norms[-1]).fill


# ----------------------------------------------------------------------------------------------------
# Scopes, collapsing and the node cap


def test_scopes_become_nested_clusters():
    net = mlp()
    source = viz.draw_graph(net["loss"], names={"W1": net["W1"]}, collapse=False).source
    # a scope with a single op is titled by it
    assert "<B>layer1</B>> labelloc" in source and "<B>layer2: MatMul</B>> labelloc" in source
    # the parameter sits in its layer's cluster, next to the ops that use it
    start = source.index("<B>layer1</B>> labelloc")
    cluster = source[start:source.index("\t}", start)]
    assert "<B>W1</B>" in cluster and "<B>MatMul</B>" in cluster and "<B>Tanh</B>" in cluster
    nested = viz.draw_graph(Tensor(np.ones(2), requires_grad=True).sum(), collapse=False)
    assert "subgraph" not in nested.source
    with name_scope("model"):
        with name_scope("fc1"):
            y = (Tensor(np.ones(2), requires_grad=True) * 2).sum()
    source = viz.draw_graph(y, collapse=False).source
    assert source.index("<B>model</B>") < source.index("<B>fc1</B>") < source.index("<B>Mul</B>")
    assert source.count("subgraph cluster_") == 2


def test_collapse_turns_each_scope_into_one_box():
    net = mlp()
    source = viz.draw_graph(net["loss"], names={"W1": net["W1"], "b1": net["b1"], "W2": net["W2"]},
                            collapse=True, backward=True).source
    layer1 = node_named(source, "layer1")
    assert "3 ops: MatMul, Add, Tanh" in layer1  # in forward order
    assert "backward steps 7–9" in layer1
    assert "W1 (4, 3)" in layer1 and "b1 (4, 1)" in layer1
    layer2 = node_named(source, "layer2")
    assert "1 ops: MatMul" in layer2 and "W2 (2, 4)" in layer2
    assert "<B>Tanh</B>" not in source  # inside the box
    ids = {name: node_id(node_named(source, name)) for name in ("layer1", "layer2")}
    assert edges(source).count((ids["layer1"], ids["layer2"])) == 1  # one edge between two boxes
    norm = viz.grad_norm(net["W1"].grad.data)
    assert f"W1 (4, 3)  grad norm {_format.number(norm)}" in layer1


def deep_chain(layers, scoped=True, width=3):
    rng = np.random.default_rng(0)
    h = Tensor(rng.standard_normal((width, 2)))
    params = {}
    for k in range(layers):
        W = Tensor(rng.standard_normal((width, width)) * 0.5, requires_grad=True)
        params[f"W{k}"] = W
        if scoped:
            with name_scope(f"block{k}"):
                h = (W @ h).tanh()
        else:
            h = (W @ h).tanh()
    return h.sum(), params


def test_auto_collapse_picks_the_most_detailed_depth_that_fits():
    loss, params = deep_chain(40)  # 40 blocks of 5 nodes (W, MatMul, its output, Tanh, its output), Sum, output
    total = len(viz.Graph(loss).tensors) + len(viz.Graph(loss).ops)
    assert total == 40 * 5 + 2
    full = viz.draw_graph(loss, max_nodes=None)
    assert len(node_lines(full.source)) == total
    auto = viz.draw_graph(loss, max_nodes=100)
    assert auto.collapse_depth == 1 and auto.summarised == 0 and auto.boxes == 40
    assert len(node_lines(auto.source)) == 40 + 2
    assert "scopes collapsed at depth 1" in auto.source


def test_node_cap_keeps_the_nodes_nearest_the_output_and_summarises_the_rest():
    loss, params = deep_chain(100, scoped=False)
    total = 100 * 5 + 2
    picture = viz.draw_graph(loss, max_nodes=50)
    lines = node_lines(picture.source)
    assert len(lines) == 50
    assert "more" in lines
    hidden = total - 49
    assert f"… {hidden} more nodes" in lines["more"]
    assert "draw_graph(..., max_nodes=None)" in lines["more"]
    assert f"{hidden} of {total} nodes summarised (max_nodes=50)" in picture.source
    assert "op1" in lines and "<B>output</B>" in picture.source  # the output end is kept
    assert "op200" not in lines
    assert sum(1 for tail, head in edges(picture.source) if "more" in (tail, head)) == 1


def test_a_list_of_outputs_draws_both_graphs():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    first = (w * 3.0).sum()
    second = (w * w).sum()
    source = viz.draw_graph([first, second], names={"w": w}, backward=True).source
    assert "data 9<" in node_named(source, "output 1") and "data 5<" in node_named(source, "output 2")
    assert "grad [5, 7]" in node_named(source, "w")  # 3 + 2w from both outputs
    np.testing.assert_allclose(w.grad.data, [5.0, 7.0])


# ----------------------------------------------------------------------------------------------------
# Labels


def test_value_summaries_for_larger_tensors():
    values = Tensor(np.arange(100.0).reshape(10, 10) * 0.5, requires_grad=True)
    source = viz.draw_graph(values.sum(), names={"values": values}).source
    assert "data min 0 · mean 24.75 · max 49.5" in node_named(source, "values")
    assert "(10, 10) float64" in node_named(source, "values")
    broken = np.array([1.0, np.nan, 3.0, np.inf, 5.0, 6.0, 7.0])
    assert _format.summary_text(broken) == "2 nan/inf · min 1 · mean 4.4 · max 7"
    assert _format.array_lines(np.arange(6.0).reshape(2, 3), 6) == ["[[0, 1, 2],", " [3, 4, 5]]"]
    assert _format.array_lines(np.ones((1, 1, 7)), 6) == ["min 1 · mean 1 · max 1"]


def test_number_formatting():
    assert _format.number(0.6931471805599453) == "0.6931"
    assert _format.number(-3.0) == "-3"
    assert _format.number(1.5e-7) == "1.5e-7"
    assert _format.number(123456.0) == "1.235e+5"
    assert _format.number(np.int64(12)) == "12"
    assert _format.number(-0.0) == "0"
    assert _format.shape_text(()) == "scalar" and _format.shape_text((3,)) == "(3,)"


def test_op_arguments_that_matter_are_shown():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.sum(axis=1, keepdims=True).reshape(1, 2)[:, 0] + x[None, ..., ::2].sum()
    source = viz.draw_graph(y.var(ddof=1) if y.size > 1 else y).source
    assert "axis=1" in source and "keepdims=True" in source
    assert "shape=(1, 2)" in source
    assert "index=[:, 0]" in source and "index=[None, ..., ::2]" in source

    class LeakyStep(Function):
        @staticmethod
        def forward(ctx, a, slope=0.1):
            ctx.slope = slope
            ctx.mask = a > 0  # an array: never shown
            return np.where(ctx.mask, a, slope * a)

        @staticmethod
        def backward(ctx, grad):
            return grad * np.where(ctx.mask, 1.0, ctx.slope)

    source = viz.draw_graph(LeakyStep.apply(x, slope=0.2).sum()).source
    line = next(line for line in node_lines(source).values() if "<B>LeakyStep</B>" in line)
    assert "slope=0.2" in line and "mask" not in line


def test_numbers_of_one_array_share_one_format():
    assert _format.numbers([0.00368, 0.0004051, 0.001717]) == ["3.68e-3", "4.051e-4", "1.717e-3"]
    assert _format.numbers([0.5, -2.0, 12.25]) == ["0.5", "-2", "12.25"]
    assert _format.number(0.0004051) == "4.051e-4" and _format.number(12345.0) == "1.234e+4"
    assert _format.array_lines(np.array([[1.0, -10.0], [100.0, 0.5]]), 6) == ["[[  1, -10],", " [100, 0.5]]"]
    assert _format.summary_text(np.array([1e-5, 2e-5, 0.5, 0.25, 0.125, 0.0625, 0.03])) == \
        "min 1e-5 · mean 1.382e-1 · max 5e-1"
    assert _format.array_lines(np.linspace(0, 1, 7), 6, compact=True) == ["min 0", "mean 0.5", "max 1"]


def test_fused_ops_show_what_a_learner_recognises():
    nn = pytest.importorskip("tinygrad_dl.nn")
    logits = Tensor(np.random.default_rng(0).standard_normal((64, 10)), requires_grad=True)
    labels = Tensor(np.arange(64) % 10)
    source = viz.draw_graph(nn.CrossEntropyLoss()(logits, labels)).source
    line = next(line for line in node_lines(source).values() if "<B>CrossEntropy</B>" in line)
    assert "labels (64,)" in line
    assert "index=" not in line and "indices" not in line and "reduction" not in line  # internals and defaults
    dropped = nn.Dropout(0.25, generator=np.random.default_rng(0))(logits).sum()
    line = next(line for line in node_lines(viz.draw_graph(dropped).source).values() if "<B>Dropout</B>" in line)
    assert "keep_prob=0.75" in line and "mask (64, 10)" in line
    summed = viz.draw_graph(nn.CrossEntropyLoss(reduction="sum")(logits, labels)).source
    assert "reduction=sum" in summed


def test_clusters_are_titled_by_their_module():
    nn = pytest.importorskip("tinygrad_dl.nn")
    np.random.seed(0)
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.Tanh(), nn.Linear(3, 1, dtype=np.float64),
                          nn.Dropout(0.5))
    model.eval()
    loss = model(Tensor(np.ones((5, 2)))).sum()
    source = viz.draw_graph(loss, model=model).source
    for title in ("Sequential", "0: Linear(2→3)", "1: Tanh", "2: Linear(3→1)"):
        assert f"<B>{title}</B>> labelloc" in source
    assert "<B>0.weight</B>" in source and "<B>2.bias</B>" in source  # the model names its parameters
    # without the model, a scope holding a single op is titled by that op (a Linear by its weight's shape)
    plain = viz.draw_graph(loss).source
    assert "<B>0: Linear(2→3)</B>> labelloc" in plain and "<B>1: Tanh</B>> labelloc" in plain
    assert viz._graph.module_summary(nn.Dropout(0.5)) == "Dropout(p=0.5)"
    assert viz._graph.module_summary(nn.BatchNorm1d(20)) == "BatchNorm1d(20)"
    with pytest.raises(TypeError, match="draw_graph: model must be an nn.Module, got dict"):
        viz.draw_graph(loss, model={})


def test_left_to_right_pictures_draw_intermediates_inside_their_op():
    net = mlp()
    trace = viz.trace(net["loss"], names={"W1": net["W1"]})
    tall, wide = trace.draw(collapse=False), trace.draw(collapse=False, rankdir="LR")
    assert len(node_lines(wide.source)) < len(node_lines(tall.source))
    tanh = next(line for line in node_lines(wide.source).values() if "<B>Tanh</B>" in line)
    assert "(4, 5) float64" in tanh and "grad min" in tanh  # its output, with the gradient it received
    assert "<B>W1</B>" in wide.source  # named tensors keep their own node
    assert len(node_lines(trace.draw(collapse=False, rankdir="LR", compact=False).source)) == \
        len(node_lines(tall.source))
    if viz.dot_available():
        svg = viz.to_svg(viz.draw_graph(trace, grad_flow=True, rankdir="LR"))
        width, height = (float(n) for n in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups())
        assert width < 3.5 * height  # not a strip


def test_names_from_tensor_name_pairs_and_mappings():
    a = Tensor(np.ones(2), requires_grad=True, name="alpha")
    b = Tensor(np.ones(2), requires_grad=True, name="ignored")
    out = (a * b).sum()
    source = viz.draw_graph(out, names=[("beta", b)]).source  # (name, tensor) pairs, like named_parameters()
    assert "<B>alpha</B>" in source and "<B>beta</B>" in source and "ignored" not in source
    out.name = "loss"
    assert "<B>loss</B>" in viz.draw_graph(out).source


def test_nn_module_scopes_and_parameter_names():
    nn = pytest.importorskip("tinygrad_dl.nn")
    np.random.seed(0)
    model = nn.Sequential(nn.Linear(2, 3, dtype=np.float64), nn.Tanh(), nn.Linear(3, 1, dtype=np.float64))
    X = Tensor(np.random.default_rng(0).standard_normal((5, 2)))
    loss = model(X).sum()
    source = viz.draw_graph(loss, names=dict(model.named_parameters(), X=X), backward=True, collapse=False).source
    for name, parameter in model.named_parameters():
        line = node_named(source, name)
        assert _format.shape_text(parameter.shape) in line
        assert f"grad norm {_format.number(viz.grad_norm(parameter.grad.data))}" in line
    assert "<B>Sequential</B>" in source and "<B>X</B>" in source
    collapsed = viz.draw_graph(loss, names=dict(model.named_parameters()), collapse=2).source
    assert "<B>0</B>" in collapsed and "<B>2</B>" in collapsed  # one box per Linear layer


# ----------------------------------------------------------------------------------------------------
# Rendering with `dot`, and without it


def test_render_svg_png_pdf_with_dot(tmp_path):
    require_dot()
    W, x, b, z, loss = small_graph()
    picture = viz.draw_graph(loss, names={"W": W, "x": x}, backward=True, title="small graph")
    svg = viz.save(picture, tmp_path / "graph.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and ">small graph<" in svg
    assert ">backward step 4<" in svg and ">MatMul<" in svg and "23.66" in svg
    assert svg.count('class="node"') == len(node_lines(picture.source))
    assert viz.save(picture, tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert viz.save(picture, tmp_path / "graph.pdf").read_bytes()[:4] == b"%PDF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.pdf", "graph.png", "graph.svg"]
    assert viz.to_svg(picture).startswith("<?xml")


def test_save_html_writes_one_self_contained_page(tmp_path):
    require_dot()
    W, x, b, z, loss = small_graph()
    path = viz.save_html(loss, tmp_path / "page.html", names={"W": W, "z": z}, title="tiny & small")
    page = path.read_text(encoding="utf-8")
    figures = re.findall(r'<figure class="frame" id="frame-(\d+)"[^>]*>', page)
    assert figures == ["0", "1", "2", "3", "4"]
    assert page.count("<svg") == 5 and "<?xml" not in page
    assert 'id="f2-current"' in page and 'id="f3-current"' in page  # the op of each step can be found
    assert "<title>tiny &amp; small</title>" in page
    for control in ('id="prev"', 'id="next"', 'id="play"', 'id="slider"', 'max="4"'):
        assert control in page
    assert 'data-caption="Step 2 of 4: Mul receives' in page
    # self-contained: no script, style or image is fetched
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert set(re.findall(r'(?:src|href)="(https?:[^"]*)"', page)) == set()


def test_missing_dot_still_gives_dot_source_and_explains_how_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "no-programs-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # `dot` cannot be found
    assert not viz.dot_available()
    W, x, b, z, loss = small_graph()
    picture = viz.draw_graph(loss, names={"W": W})
    assert isinstance(picture, graphviz.Digraph) and "<B>W</B>" in picture.source
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.save(picture, tmp_path / "graph.svg")
    message = str(info.value)
    assert "`dot`" in message and "sudo apt-get install graphviz" in message
    assert "brew install graphviz" in message and "conda install -c conda-forge graphviz" in message
    assert isinstance(info.value, graphviz.ExecutableNotFound)  # callers catching graphviz's error still work
    assert not (tmp_path / "graph.svg").exists()
    with pytest.raises(viz.GraphvizNotFoundError, match="winget install graphviz"):
        picture.render(tmp_path / "graph", format="png")
    with pytest.raises(viz.GraphvizNotFoundError):
        picture.pipe(format="svg")
    shown = picture._repr_mimebundle_()  # what Jupyter displays
    assert list(shown) == ["text/plain"] and "install Graphviz" in shown["text/plain"]
    assert "digraph tinygrad_dl" in shown["text/plain"]
    with pytest.raises(viz.GraphvizNotFoundError):
        viz.save_html(loss, tmp_path / "page.html")
    player = viz.trace(small_graph()[-1])._repr_html_()  # the notebook says what to install, and the steps
    assert player.startswith("<pre>") and "install Graphviz" in player and "&lt;BackwardTrace of" in player


def test_install_hint_names_this_system_first(monkeypatch):
    monkeypatch.setattr("platform.system", lambda: "Darwin")
    assert viz.install_hint().splitlines()[0] == "  macOS: brew install graphviz"
    monkeypatch.setattr("platform.system", lambda: "Windows")
    assert viz.install_hint().splitlines()[0].startswith("  Windows: winget install graphviz")


# ----------------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_gives_clear_errors(tmp_path):
    W, x, b, z, loss = small_graph()
    with pytest.raises(TypeError, match="draw_graph: output must be a Tensor .* got ndarray"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(TypeError, match=r"draw_graph: names\['a'\] must be a Tensor, got int"):
        viz.draw_graph(loss, names={"a": 3})
    with pytest.raises(TypeError, match="draw_graph: unknown option 'colour'"):
        viz.draw_graph(loss, colour="red")
    with pytest.raises(ValueError, match="draw_graph: collapse must be"):
        viz.draw_graph(loss, collapse="sometimes")
    with pytest.raises(ValueError, match="draw_graph: max_nodes must be None or an int >= 2"):
        viz.draw_graph(loss, max_nodes=1)
    with pytest.raises(ValueError, match="draw_graph: rankdir must be one of"):
        viz.draw_graph(loss, rankdir="sideways")
    with pytest.raises(TypeError, match="grad= and retain_graph= only apply with backward=True"):
        viz.draw_graph(loss, grad=np.ones(()))
    picture = viz.draw_graph(loss)
    with pytest.raises(ValueError, match=r"viz.save: cannot tell the format of '.*graph.gif'"):
        viz.save(picture, tmp_path / "graph.gif")
    with pytest.raises(TypeError, match="viz.save: expected a graphviz.Digraph"):
        viz.save("digraph {}", tmp_path / "graph.svg")
    trace = viz.trace(loss)
    with pytest.raises(TypeError, match="a trace already has its names"):
        viz.draw_graph(trace, names={"W": W})
    with pytest.raises(ValueError, match=r"trace: grads must be a list with one seed per output \(2 outputs\)"):
        viz.trace([(W * 2).sum(), (b * 2).sum()], grad=np.ones(()))


# ----------------------------------------------------------------------------------------------------
# The demo


def test_demo_writes_its_pictures_and_shows_the_vanishing_gradient(tmp_path):
    require_dot()
    from demos import viz_demo
    results = viz_demo.run(out=tmp_path, steps=2)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["backprop_steps.html", "flower_grad_flow.svg", "flower_graph.png", "flower_graph.svg",
                       "tiny_net_graph.svg", "vanishing_gradients.png", "vanishing_gradients.svg"]
    costs = results["flower"]["costs"]
    assert len(costs) == 2 and costs[1] < costs[0]
    assert results["steps_page"]["steps"] == 14
    assert (tmp_path / "backprop_steps.html").read_text(encoding="utf-8").count('<figure class="frame"') == 15
    sigmoid, relu = results["vanishing"]["weight_grad_norms"].values()
    assert len(sigmoid) == len(relu) == 11
    assert sigmoid[0] < 1e-3 * sigmoid[-1]  # fades by more than a factor of 1000 towards the first layer
    assert max(relu) < 10 * min(relu)  # He init keeps every layer's gradient within a factor of 10
    svg = (tmp_path / "vanishing_gradients.svg").read_text(encoding="utf-8")
    assert viz.grad_color(sigmoid[0]).fill in svg and viz.grad_color(relu[0]).fill in svg


def test_step_through_views_pick_the_direction_that_fits_a_landscape_window():
    require_dot()
    chain, _ = deep_chain(12)  # a long chain: output on the left, the pass reads left to right
    direction, first = viz._step_direction(viz.trace(chain), {"legend": True, "grad_flow": True}, "test")
    assert direction == "RL" and first.startswith("<?xml")
    from tinygrad_dl import concatenate
    leaves = [Tensor(np.full(2, float(k)), requires_grad=True) for k in range(10)]
    wide = viz.trace(concatenate([leaf * 2.0 for leaf in leaves]).sum())  # wide and shallow: output on top
    assert viz._step_direction(wide, {"legend": True, "grad_flow": True}, "test")[0] == "BT"
    svgs = viz.frame_svgs(wide)
    assert len(svgs) == len(wide) + 1 and 'class="graph"' in svgs[0]


def test_mark_outlines_the_op_an_anomaly_error_names_and_nothing_else():
    import tinygrad_dl as tg
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tg.detect_anomaly():
        loss = (x.sqrt() * 3.0).sum()
        with pytest.raises(tg.AnomalyError) as caught:
            loss.backward()
    for mark in (caught.value, caught.value.node, [caught.value.node]):
        source = viz.draw_graph(loss, {"x": x}, mark=mark).source
        marked = [line for line in source.splitlines() if 'fillcolor="#ffb3b3"' in line]
        assert len(marked) == 1 and "<B>Sqrt</B>" in marked[0] and 'penwidth="3"' in marked[0]
    assert 'fillcolor="#ffb3b3"' not in viz.draw_graph(loss, {"x": x}).source


def test_a_marked_op_inside_a_collapsed_scope_marks_its_box():
    x = Tensor(np.ones(3), requires_grad=True)
    with name_scope("block"):
        hidden = (x * 2.0).tanh()
    out = hidden.sum()
    source = viz.draw_graph(out, collapse=True, mark=hidden.grad_fn).source
    box = [line for line in source.splitlines() if line.lstrip().startswith("box0 [")]
    assert len(box) == 1 and 'BGCOLOR="#ffb3b3"' in box[0] and "marked: Tanh" in box[0]


def test_mark_refuses_what_is_not_an_op():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"draw_graph: mark must be an op node .* got Tensor"):
        viz.draw_graph(x.sum(), mark=x)


def test_a_title_breaks_lines_at_newlines():
    x = Tensor(np.ones(2), requires_grad=True)
    source = viz.draw_graph(x.sum(), title="first line\nsecond <line>").source
    assert "<B>first line<BR/>second &lt;line&gt;</B>" in source
