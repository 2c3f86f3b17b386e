"""See backprop: pictures of a computation graph and of its backward pass, and a step-through page.

Record the backward pass once (instead of ``loss.backward()``), then look at it in every way::

    from tinygrad_dl import viz

    t = viz.trace(loss, model=model, names={"X": X})   # the backward pass; leaves' .grad fill as usual
    t                                         # in Jupyter: a step-through player (print(t): the steps)
    viz.save(t.draw(), "out/graph.svg")       # the whole pass in one picture (or .png / .pdf; needs `dot`)
    for picture in t.steps(): ...             # one picture per step of the backward pass
    t.save_html("out/backprop.html")          # a self-contained page: prev / next / play, slider, zoom, pan

What a picture shows: op nodes (yellow; the Function's name, the arguments a learner recognises and the
step at which the backward pass visits it) and tensor nodes (blue leaves, grey named data, a gold output,
white intermediates) with name, shape, dtype, values (every number for tiny tensors, min / mean / max for
larger ones) and gradient (the same, plus its norm, on a colour scale that makes vanishing and exploding
gradients stand out; the legend sits under the title). Operations made inside ``name_scope("fc1")`` (which
``nn.Module.__call__`` enters) sit in a cluster titled by its module when ``model=`` is given ("0:
Linear(2→4)"), or collapse into one box when the graph is large; a node cap summarises the rest.

Where gradients come from: the backward pass keeps gradients only on leaves (``.grad``), not on
intermediate tensors. ``draw_graph(output)`` shows what the tensors hold (values, leaves' ``.grad``, and
intermediates that called ``retain_grad()``) and runs nothing. ``trace`` (and ``draw_graph(output,
backward=True)``, ``backward_steps``, ``save_html`` given a tensor) run the backward pass themselves and record
the gradient of every tensor on the way. A graph whose backward pass already ran has freed what a second
run needs: those calls then say so (``draw_graph(backward=True)`` draws the leaves' ``.grad`` and notes it).
"""
import re
from pathlib import Path

from ._draw import DrawOptions, build_picture
from ._format import GRAD_SCALE, GRAD_WORDS, GradColor, grad_color, grad_norm, number, shape_text
from ._graph import Graph
from ._html import page as _page
from ._render import GraphPicture, GraphvizNotFoundError, dot_available, install_hint, save, to_svg
from ._trace import BackwardTrace, LiveView, StepRecord

__all__ = ["draw_graph", "backward_steps", "save_html", "trace", "save", "BackwardTrace", "StepRecord",
           "GraphPicture", "GraphvizNotFoundError", "GRAD_SCALE", "GRAD_WORDS", "GradColor", "grad_color", "grad_norm",
           "dot_available", "install_hint", "to_svg"]


def trace(output, names=None, grad=None, retain_graph=False, model=None):
    """Run the backward pass of ``output`` (a Tensor or a list of them) once, recording every gradient.

    Call it *instead of* ``output.backward()``: the leaves' ``.grad`` fill as usual. Returns a
    ``BackwardTrace`` that every picture reuses: ``.draw()``, ``.steps()``, ``.save_html(path)``, its notebook
    display (a step-through player) and ``print(trace)``; ``.order`` (the nodes in visit order), ``.records``
    (per step: the op, the gradient it received, the gradients it sent) and ``.grad(tensor)`` for any tensor
    of the graph. ``names`` maps names to tensors ({"X": X}); ``model`` (an nn.Module) names its parameters
    and titles the clusters of its modules ("0: Linear(2→4)"). ``grad`` seeds the backward like
    ``backward(grad=...)``; with several outputs, a list of seeds. A graph whose backward pass already ran
    (and freed its saved values) cannot be traced: the error says what to do instead.
    """
    return BackwardTrace(output, names=names, grads=grad, retain_graph=retain_graph, model=model)


def draw_graph(output, names=None, *, backward=False, grad=None, retain_graph=False, model=None, **options):
    """A ``graphviz.Digraph`` of everything that produced ``output`` (a Tensor, a list of them, or a trace).

    names: a mapping of names to tensors (``{"X": X, "Y": Y}``) or (name, tensor) pairs; unnamed tensors fall
        back to ``Tensor.name``. Named data that needs no gradient is drawn where an op saved it (before the
        backward pass frees the saved values).
    model: an nn.Module: names its parameters and titles the cluster of each module ("0: Linear(2→4)").
    backward: run the backward pass now (instead of ``output.backward()``; seeded with ``grad``, keeping the
        graph with ``retain_graph``) and show every tensor's gradient, intermediates included. To draw the
        same pass several times, record it once with ``viz.trace`` and call ``trace.draw()``.

    Without ``backward`` nothing runs: the picture shows what the tensors hold (values, the leaves' ``.grad``
    after your own ``loss.backward()``). With ``backward=True`` on a graph whose backward pass already ran
    and freed its saved values, it shows the same and says so in its caption (nothing is added to ``.grad``).

    Options:
        max_elements=6     tensors with at most this many elements show every number, others min/mean/max
        show_values=True, show_grads=True, show_args=True   what the labels include
        grad_flow=False    draw edges from the output towards the inputs, labelled with the gradient's
                           shape ("sent → summed to" where broadcasting was undone) and coloured by its norm
        collapse="auto"    True: each top-level scope becomes one box; an int: scopes at that depth do;
                           a list of scope names: those scopes do (collapse=["cost"]); False: never;
                           "auto": the most detailed depth that fits under max_nodes
        max_nodes=300      at most this many nodes; the ones farthest from the output become one summary
                           node (None: no cap)
        rankdir="TB"       Graphviz direction: TB (inputs on top), LR, BT, RL; LR and RL give narrower labels
        compact=None       True: each unnamed intermediate is drawn inside the op that made it (half the
                           nodes); None: only for LR and RL, where every rank costs a node's width
        legend=None        the colour legend above the graph (None: when gradients are shown)
        title=None         a title above the picture ("\n" starts a new line)
        mark=None          ops to outline in red: a Function (``tensor.grad_fn``), a list of them, or an
                           ``AnomalyError`` (its ``.node``, the op whose forward or backward went non-finite)

    Returns a ``GraphPicture`` (a ``graphviz.Digraph``): shown inline in Jupyter, ``.source`` is the DOT
    text, ``viz.save(picture, "graph.svg")`` or ``.render()`` write files (these need Graphviz's ``dot``
    program; without it they raise ``GraphvizNotFoundError`` saying how to install it).
    """
    graph, view = _graph_and_view(output, names, backward, grad, retain_graph, model)
    draw_options = _options("draw_graph", options)
    return build_picture(graph, view, draw_options, explain_plan=True)


def backward_steps(output, names=None, *, grad=None, retain_graph=False, model=None, **options):
    """One picture per step of the backward pass of ``output`` (a Tensor, a list of them, or a trace).

    Runs the backward pass at once (like ``output.backward()``) unless ``output`` is a trace, and returns an
    iterator of ``GraphPicture``: first the forward graph with the seed gradient at the output, then one
    picture after each node the backward pass visits. The node being processed is orange (the edges to its
    inputs red, labelled with the gradients' shapes), nodes already done are grey, each tensor shows the
    gradient that has reached it so far, and the arrows point the way the gradient flows (``grad_flow=False``
    draws them forward). Takes the options of ``draw_graph``.
    """
    recorded = _recorded(output, names, grad, retain_graph, model, "viz.backward_steps")
    options.setdefault("grad_flow", True)
    draw_options = _options("backward_steps", options)
    return (build_picture(recorded.graph, recorded.view(frame), draw_options, caption=caption)
            for frame, caption in enumerate(step_captions(recorded)))


def save_html(output, path, names=None, *, grad=None, retain_graph=False, model=None, title=None, **options):
    """Write the step-through page of the backward pass of ``output`` to ``path`` and return the path.

    One self-contained HTML file: every step as an inline SVG picture (see ``backward_steps``), previous /
    next / play buttons, a slider and the arrow keys; the picture fits the window, the mouse wheel or
    + / - zoom, dragging pans, "fit" (or 0) fits again. No network access. Runs the backward pass (like
    ``output.backward()``) unless ``output`` is a trace. Needs Graphviz's ``dot`` program.

    The frames put the output on the left (``rankdir="RL"``) or, when that draws the graph larger in a
    landscape window, on top (``"BT"``); pass ``rankdir=`` to choose. Each intermediate is drawn inside the
    op that made it (``compact=False`` gives it its own node).
    """
    recorded = _recorded(output, names, grad, retain_graph, model, "viz.save_html")
    options = dict(options)
    svgs = frame_svgs(recorded, options)  # fills in the direction it chose
    html = _page(svgs, step_captions(recorded), title or "Backpropagation, step by step", options["rankdir"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def frame_svgs(recorded, options=None, caller="viz.save_html"):
    """Every frame of a trace as SVG, drawn for a step-through view (the page or the notebook player)."""
    options = options if options is not None else {}  # updated in place: the caller sees the direction chosen
    options.setdefault("legend", True)
    options.setdefault("grad_flow", True)  # the arrows point the way the gradient flows
    options.setdefault("compact", True)  # each intermediate inside the op that made it: half the nodes
    # a step-through view shows each step's caption above the picture, so the pictures carry none
    first = None
    if "rankdir" not in options:
        options["rankdir"], first = _step_direction(recorded, options, caller)
    draw_options = _options(caller, options)
    svgs = [first] if first is not None else []
    return svgs + [to_svg(build_picture(recorded.graph, recorded.view(frame), draw_options))
                   for frame in range(len(svgs), len(recorded.records) + 1)]


# the window a step-through view is read in (a laptop screen less the controls)
_WINDOW = (1400.0, 820.0)


def _step_direction(recorded, options, caller):
    """The direction whose last frame (every gradient shown) is drawn largest in a landscape window: the
    output on the left ("RL", the pass reads left to right) or on top ("BT", it reads downwards).

    Returns the direction and the first frame drawn that way (already made: it is reused).
    """
    best = None
    for rankdir in ("RL", "BT"):
        draw_options = _options(caller, dict(options, rankdir=rankdir))
        last = to_svg(build_picture(recorded.graph, recorded.view(len(recorded.records)), draw_options))
        scale = min(w / size for w, size in zip(_WINDOW, _svg_size(last)))
        if best is None or scale > best[0] * 1.05:  # RL unless BT is clearly larger
            best = (scale, rankdir, draw_options)
    _, rankdir, draw_options = best
    return rankdir, to_svg(build_picture(recorded.graph, recorded.view(0), draw_options))


def _svg_size(svg):
    """(width, height) of dot's SVG in points."""
    match = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return (float(match.group(1)), float(match.group(2))) if match else (1.0, 1.0)


# ----------------------------------------------------------------------------------------------------


def _recorded(output, names, grad, retain_graph, model, caller):
    if isinstance(output, BackwardTrace):
        if names is not None or model is not None or grad is not None or retain_graph:
            raise TypeError(f"{caller}: a trace already ran its backward pass; pass names=, model=, grad= and "
                            "retain_graph= to viz.trace()")
        return output
    return BackwardTrace(output, names=names, grads=grad, retain_graph=retain_graph, model=model, caller=caller)


def _graph_and_view(output, names, backward, grad, retain_graph, model):
    if isinstance(output, BackwardTrace):
        if names is not None or model is not None:
            raise TypeError("draw_graph: a trace already has its names; pass names= and model= to viz.trace()")
        return output.graph, output.view()
    if not backward:
        if grad is not None or retain_graph:
            raise TypeError("draw_graph: grad= and retain_graph= only apply with backward=True")
        return Graph(output, names, model), LiveView()
    graph = Graph(output, names, model)
    if any(op.node.saved_tensors is None for op in graph.ops):
        return graph, LiveView(notes=[
            "backward=True: the backward pass already ran through this graph and freed its saved values, so it "
            "is not run again: the leaves show their .grad, intermediates none. To see every gradient, record "
            "the pass with t = viz.trace(loss) instead of loss.backward(), then t.draw()"])
    recorded = BackwardTrace(output, grads=grad, retain_graph=retain_graph, caller="draw_graph", _graph=graph)
    return recorded.graph, recorded.view()


def _options(caller, options):
    try:
        return DrawOptions(**options)
    except TypeError as err:
        unknown = str(err).split("argument")[-1].strip(" '")
        raise TypeError(f"{caller}: unknown option {unknown!r}; see help(tinygrad_dl.viz.draw_graph) for the "
                        "options") from None


def _tensor_words(info):
    return info.name or "the output"


def step_captions(recorded):
    """One sentence per frame of a trace: what the backward pass does at that step."""
    total = len(recorded.records)
    outputs = [info for info in recorded.graph.tensors.values() if info.is_output]
    start = ("the gradient 1 (d output / d output)" if len(outputs) == 1 and outputs[0].tensor.size == 1
             else "the seed gradient of each output")
    captions = [f"Step 0 of {total}: the forward pass is done; the backward pass starts at "
                f"{_tensor_words(outputs[0]) if len(outputs) == 1 else 'the outputs'} with {start}."]
    for index, record in enumerate(recorded.records, start=1):
        op = record.op
        where = f" (in {'/'.join(op.scope)})" if op.scope else ""
        received = (f"receives the gradient of its output (shape {shape_text(record.grad_output.shape)}, "
                    f"gradient norm {number(grad_norm(record.grad_output))})")
        sent = []
        for slot, info in op.inputs:
            grad = record.input_grads[slot]
            if grad is None:
                continue
            target = info.tensor.shape if info.tensor is not None else grad.shape
            shape = shape_text(grad.shape) if grad.shape == target else \
                f"{shape_text(grad.shape)} summed to {shape_text(target)}"
            sent.append(f"{info.name or 'input ' + str(slot + 1)} gets {shape}")
        sends = "sends gradients: " + ", ".join(sent) if sent else "sends no gradient further"
        captions.append(f"Step {index} of {total}: {op.name}{where} {received} and {sends}.")
    return captions
