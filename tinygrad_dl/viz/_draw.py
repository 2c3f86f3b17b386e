"""Turn a collected graph and its gradients into a ``graphviz.Digraph``.

Layout decisions live here: which nodes are drawn one by one, which naming scopes become clusters or
collapse into a single box, where the node cap cuts, and how gradients colour the picture. DOT lines are
written straight into the Digraph's body (our node ids and attribute values need no quoting), which keeps
a graph of thousands of nodes fast to build.
"""
import textwrap
from collections import Counter

from ._format import (NONFINITE_COLOR, ZERO_COLOR, array_lines, esc, grad_color, grad_norm, number, op_arguments,
                      shape_text)
from ._render import GraphPicture

FONT = "Helvetica"  # Graphviz writes "Helvetica,sans-Serif" into SVG: every viewer has a match
MONO = "Courier"  # values: "Courier,monospace", so the columns of a matrix line up
NORM = "grad norm"  # plain words: the double-bar glyph is missing from many proportional fonts
# fills: what a node is
OP_FILL, OP_DONE_FILL, OP_CURRENT_FILL = "#fff3c4", "#e8e8e8", "#ffa726"
LEAF_FILL, CONSTANT_FILL, INTERMEDIATE_FILL, OUTPUT_FILL = "#d6e6ff", "#eeeeee", "#ffffff", "#ffd180"
CURRENT_EDGE, INCOMING_EDGE = "#d62728", "#ff7f0e"
MARKED_FILL = "#ffb3b3"  # draw_graph(mark=...): e.g. the op an AnomalyError names


class DrawOptions:
    """The keyword options of draw_graph, checked once."""

    def __init__(self, max_elements=6, show_values=True, show_grads=True, grad_flow=False, collapse="auto",
                 max_nodes=300, rankdir="TB", legend=None, title=None, show_args=True, compact=None,
                 mark=None):
        if not (isinstance(max_elements, int) and max_elements >= 0):
            raise ValueError(f"draw_graph: max_elements must be an int >= 0, got {max_elements!r}")
        if isinstance(collapse, (list, tuple, set, frozenset)):
            if not all(isinstance(name, str) for name in collapse):
                raise ValueError(f"draw_graph: collapse as a list must hold scope names (str), got {collapse!r}")
            collapse = frozenset(collapse)
        elif not (collapse in ("auto", None, False, True) or isinstance(collapse, int) and collapse >= 1):
            raise ValueError(f"draw_graph: collapse must be 'auto', True, False/None, a scope depth >= 1 or a list "
                             f"of scope names, got {collapse!r}")
        if not (max_nodes is None or isinstance(max_nodes, int) and max_nodes >= 2):
            raise ValueError(f"draw_graph: max_nodes must be None or an int >= 2, got {max_nodes!r}")
        if rankdir not in ("TB", "BT", "LR", "RL"):
            raise ValueError(f"draw_graph: rankdir must be one of TB, BT, LR, RL, got {rankdir!r}")
        self.max_elements = max_elements
        self.show_values = show_values
        self.show_grads = show_grads
        self.grad_flow = grad_flow
        self.collapse = collapse
        self.max_nodes = max_nodes
        self.rankdir = rankdir
        self.legend = legend
        self.title = title
        self.show_args = show_args
        # compact: an unnamed intermediate is drawn inside the op that made it (half the ranks); the default
        # for LR/RL, where every rank costs the width of a node
        self.compact = rankdir in ("LR", "RL") if compact is None else bool(compact)
        self.marked = _marked_ops(mark)


def _marked_ops(mark):
    """The ids of the op nodes (Functions) to outline in red: ``mark`` is one, a list of them, or an error."""
    if mark is None:
        return frozenset()
    mark = getattr(mark, "node", mark)  # an AnomalyError carries its op as .node
    marks = list(mark) if isinstance(mark, (list, tuple, set, frozenset)) else [mark]
    for item in marks:
        if not hasattr(item, "parents") or not hasattr(item, "backward"):
            raise TypeError(f"draw_graph: mark must be an op node (a Function such as tensor.grad_fn or an "
                            f"AnomalyError's .node), a list of them, or an AnomalyError; got {type(item).__name__}")
    return frozenset(id(item) for item in marks)


# ----------------------------------------------------------------------------------------------------
# Which unit (plain node, collapsed box or the "more" summary) each tensor and op is drawn as


def _never_collapses(info):
    """Outputs and named data stay visible even when their scope collapses into a box."""
    return info.is_output or info.kind == "constant"


def _items(graph):
    """Every tensor and op as (kind, object), tensors first: the units a picture is made of."""
    return [("tensor", t) for t in graph.tensors.values()] + [("op", op) for op in graph.ops]


def choose_collapse_depth(graph, collapse, max_nodes):
    """The scope depth at which scopes collapse into boxes, or None to draw every node."""
    if collapse is None or collapse is False:
        return None
    if collapse is True:
        return 1
    if isinstance(collapse, frozenset):
        return None  # collapse by name, see Plan.box_prefix
    if collapse != "auto":
        return int(collapse)
    items = _items(graph)
    if max_nodes is None or len(items) <= max_nodes:
        return None
    deepest = max((len(obj.scope) for _, obj in items), default=0)
    # the deepest (most detailed) collapse that fits under the cap; depth 1 plus the cap otherwise
    for depth in range(deepest, 0, -1):
        if _count_at_depth(items, depth) <= max_nodes:
            return depth
    return 1 if deepest else None


def _count_at_depth(items, depth):
    prefixes = set()
    plain = 0
    for kind, obj in items:
        if len(obj.scope) >= depth and not (kind == "tensor" and _never_collapses(obj)):
            prefixes.add(obj.scope[:depth])
        else:
            plain += 1
    return plain + len(prefixes)


class _Box:
    """A naming scope collapsed into one node."""

    def __init__(self, box_id, prefix):
        self.id = box_id
        self.prefix = prefix
        self.ops = []
        self.tensors = []


class Plan:
    """Node ids, boxes and the cap for one picture."""

    MORE = "more"

    def __init__(self, graph, options):
        self.graph = graph
        self.depth = choose_collapse_depth(graph, options.collapse, options.max_nodes)
        self.collapse_names = options.collapse if isinstance(options.collapse, frozenset) else frozenset()
        self.node_id = {}  # ("tensor", key) / ("op", step) -> its own DOT id
        self.unit = {}  # same keys -> the DOT id it is drawn as (its own, a box's, or MORE)
        self.boxes = {}  # box id -> _Box
        self.cluster_of = {}  # drawn unit id -> scope tuple of the cluster it sits in
        self.hidden = Counter()  # what the "more" node stands for: op names and "tensors"
        ranks = {}
        boxes_by_prefix = {}
        for index, (kind, obj) in enumerate(_items(graph)):
            key = (kind, obj.key if kind == "tensor" else obj.step)
            own = f"t{index}" if kind == "tensor" else f"op{obj.step}"
            self.node_id[key] = own
            rank = (obj.first_step if kind == "tensor" else obj.step, 0 if kind == "tensor" else 1)
            prefix = self.box_prefix(obj.scope)
            if prefix is not None and not (kind == "tensor" and _never_collapses(obj)):
                box = boxes_by_prefix.get(prefix)
                if box is None:
                    box = boxes_by_prefix[prefix] = _Box(f"box{len(boxes_by_prefix)}", prefix)
                    self.boxes[box.id] = box
                    self.cluster_of[box.id] = prefix[:-1]
                (box.ops if kind == "op" else box.tensors).append(obj)
                self.unit[key] = box.id
                ranks[box.id] = min(ranks.get(box.id, rank), rank)
            else:
                self.unit[key] = own
                # next to the box of its scope, if that scope collapsed (outputs and data never do)
                self.cluster_of[own] = obj.scope if prefix is None else prefix[:-1]
                ranks[own] = rank
        if options.compact:
            self._merge_outputs_into_ops(graph, ranks)
        self.capped = self._apply_cap(ranks, options.max_nodes)

    def _merge_outputs_into_ops(self, graph, ranks):
        """compact: each unnamed intermediate drawn on its own is drawn inside the op node that made it."""
        for op in graph.ops:
            info = op.output
            key = ("tensor", info.key)
            own = self.node_id.get(key)
            if (own is None or self.unit[key] != own or info.name is not None or info.is_output
                    or info.tensor is None or self.unit[("op", op.step)] != self.node_id[("op", op.step)]):
                continue
            self.unit[key] = self.unit[("op", op.step)]
            ranks.pop(own, None)
            self.cluster_of.pop(own, None)

    def merged_output(self, op):
        """The op's output tensor when it is drawn inside the op's node (compact), else None."""
        key = ("tensor", op.output.key)
        return op.output if key in self.unit and self.unit[key] == self.node_id[("op", op.step)] else None

    def box_prefix(self, scope):
        """The scope of the box a node with this scope collapses into, or None when it is drawn itself."""
        if self.depth is not None:
            return scope[:self.depth] if len(scope) >= self.depth else None
        for i, name in enumerate(scope):
            if name in self.collapse_names:
                return scope[:i + 1]
        return None

    def _apply_cap(self, ranks, max_nodes):
        """Keep the max_nodes - 1 units nearest the output; the rest become one summary node."""
        if max_nodes is None or len(ranks) <= max_nodes:
            return 0
        order = sorted(ranks, key=ranks.get)
        dropped = set(order[max_nodes - 1:])
        for key, unit in self.unit.items():
            if unit in dropped:
                self.unit[key] = self.MORE
                self.hidden["tensors" if key[0] == "tensor" else self._op_name(key[1])] += 1
        for unit in dropped:
            self.cluster_of.pop(unit, None)
            self.boxes.pop(unit, None)
        self.cluster_of[self.MORE] = ()
        return sum(self.hidden.values())

    def notes(self, options):
        """Sentences for the caption about what the picture leaves out."""
        notes = []
        if self.depth is not None and options.collapse == "auto":
            notes.append(f"scopes collapsed at depth {self.depth} (collapse=False draws every op)")
        if self.capped:
            total = len(self.graph.tensors) + len(self.graph.ops)
            notes.append(f"{self.capped} of {total} nodes summarised (max_nodes={options.max_nodes})")
        return notes

    def _op_name(self, step):
        return self.graph.ops[step - 1].name

    def tensor_unit(self, info):
        return self.unit[("tensor", info.key)]

    def op_unit(self, op):
        return self.unit[("op", op.step)]


# ----------------------------------------------------------------------------------------------------
# Labels


def _table(rows, fill, border=1, color="#555555"):
    return (f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" BGCOLOR="{fill}" '
            f'COLOR="{color}">' + "".join(rows) + "</TABLE>")


def _row(text, fill=None, align="CENTER"):
    bg = f' BGCOLOR="{fill}"' if fill else ""
    return f'<TR><TD ALIGN="{align}"{bg}>{text}</TD></TR>'


def _small(text, color=None, size=9):
    color = f' COLOR="{color}"' if color else ""
    return f'<FONT POINT-SIZE="{size}"{color}>{text}</FONT>'


def _lines(lines):
    """Values, left-aligned, in the monospaced face (so a matrix's rows and columns line up)."""
    text = '<BR ALIGN="LEFT"/>'.join(esc(line) for line in lines) + '<BR ALIGN="LEFT"/>'
    return f'<FONT FACE="{MONO}">{text}</FONT>'


def _tensor_title(info, output_number):
    if info.name is not None:
        return info.name
    if info.is_output:
        return "output" if output_number is None else f"output {output_number}"
    return None


def _prefixed(prefix, lines):
    """'data [[1, 2],' then ' [3, 4]]' indented under the first line's numbers."""
    return [prefix + lines[0]] + [" " * len(prefix) + line for line in lines[1:]]


def tensor_label(info, grad, complete, options, output_number=None):
    """The HTML label of a tensor: name, shape and dtype, values, gradient (coloured by its norm)."""
    rows = []
    title = _tensor_title(info, output_number)
    if title is not None:
        rows.append(_row(f"<B>{esc(title)}</B>"))
    tensor = info.tensor
    if tensor is None:
        rows.append(_row(_small("(freed)")))
        return _table(rows, INTERMEDIATE_FILL)
    data = tensor.data
    note = " · no grad" if info.kind == "constant" else ""
    rows.append(_row(_small(esc(f"{shape_text(data.shape)} {data.dtype}{note}"), color="#333333")))
    compact = options.rankdir in ("LR", "RL")
    if options.show_values:
        rows.append(_row(_lines(_prefixed("data ", array_lines(data, options.max_elements, compact))),
                         align="LEFT"))
    if options.show_grads and grad is not None:
        norm = grad_norm(grad)
        color = grad_color(norm)
        lines = _prefixed("grad " if complete else "grad so far ", array_lines(grad, options.max_elements, compact))
        lines.append(f"{NORM} {number(norm)}")
        rows.append(_row(f'<FONT COLOR="{color.font}">{_lines(lines)}</FONT>', fill=color.fill, align="LEFT"))
    fill = {"leaf": LEAF_FILL, "constant": CONSTANT_FILL}.get(info.kind, INTERMEDIATE_FILL)
    if info.is_output:
        fill = OUTPUT_FILL
    return _table(rows, fill, border=3 if info.is_output else 1)


def op_label(op, options, output=None):
    """An op: its name, arguments and backward step; with ``output`` (compact) the tensor it made below."""
    rows = [_row(f"<B>{esc(op.name)}</B>")]
    if options.show_args:
        rows += [_row(_small(esc(arg))) for arg in op_arguments(op.node)]
    rows.append(_row(_small(f"backward step {op.step}", color="#6a5d2e")))
    if output is not None:
        info, grad, complete = output
        rows.append(f"<TR><TD>{tensor_label(info, grad, complete, options)}</TD></TR>")
    return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>"


def box_label(box, view, options):
    """A collapsed scope: its name, its ops, its backward steps and its parameters with their gradients."""
    name = box.prefix[-1]  # the enclosing scopes are drawn as clusters around the box
    ops = Counter(op.name for op in reversed(box.ops))  # reversed: forward order
    op_text = ", ".join(f"{n}×{name_}" if n > 1 else name_ for name_, n in ops.most_common(4))
    if len(ops) > 4:
        op_text += ", …"
    steps = sorted(op.step for op in box.ops)
    rows = [_row(f"<B>{esc(name)}</B>")]
    if box.ops:
        rows.append(_row(_small(esc(f"{len(box.ops)} ops: {op_text}"))))
        step_text = f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}–{steps[-1]}"
        rows.append(_row(_small(f"backward {step_text}", color="#6a5d2e")))
    norms = []
    leaves = [t for t in reversed(box.tensors) if t.kind == "leaf"]  # reversed: in forward order
    for info in leaves[:6]:
        grad, _ = view.tensor_grad(info) if options.show_grads else (None, False)
        text = f"{info.name or 'leaf'} {shape_text(info.tensor.shape)}"
        if grad is None:
            rows.append(_row(_small(esc(text)), align="LEFT"))
            continue
        norm = grad_norm(grad)
        norms.append(norm)
        color = grad_color(norm)
        rows.append(_row(_small(esc(f"{text}  {NORM} {number(norm)}"), color=color.font), fill=color.fill,
                         align="LEFT"))
    if len(leaves) > 6:
        rows.append(_row(_small(f"+ {len(leaves) - 6} more parameters")))
    fill = grad_color(max(norms)).fill if norms else LEAF_FILL
    marked = [op.name for op in reversed(box.ops) if id(op.node) in options.marked]
    if marked:  # draw_graph(mark=...) named an op hidden in this box
        rows.append(_row(_small(esc("marked: " + ", ".join(marked)), color=CURRENT_EDGE)))
        return _table(rows, MARKED_FILL, color=CURRENT_EDGE), fill
    return _table(rows, "#f5f5f5", color="#333333"), fill


def more_label(plan):
    """The summary node standing for everything beyond the node cap."""
    tensors = plan.hidden["tensors"]
    op_counts = Counter({name: n for name, n in plan.hidden.items() if name != "tensors"})
    ops = sum(op_counts.values())
    parts = ", ".join(f"{n} {name}" for name, n in op_counts.most_common(5))
    if len(op_counts) > 5:
        parts += ", …"
    rows = [_row(f"<B>… {ops + tensors} more nodes</B>"),
            _row(_small(esc(f"{ops} ops ({parts}) and {tensors} tensors"))),
            _row(_small("draw_graph(..., max_nodes=None) draws them all", color="#666666"))]
    return _table(rows, "#fafafa", color="#999999")


def legend_label(grad_flow=False):
    """The colour scale of gradient norms, one cell per decade, and what the node colours mean."""
    cells = [(ZERO_COLOR, "0")] + [(grad_color(10.0 ** k), f"1e{k}") for k in range(-7, 6)] + [(NONFINITE_COLOR, "nan")]
    row = "".join(f'<TD BGCOLOR="{c.fill}">{_small(text, color=c.font, size=8)}</TD>' for c, text in cells)
    span = len(cells)
    words = "vanishing ← small · healthy (1e-2 to 1e2) · large → exploding"
    arrows = "arrows: the way the gradient flows (output → inputs) · " if grad_flow else ""
    kinds = (f'<TD COLSPAN="4" BGCOLOR="{OP_FILL}">{_small("op (backward step n)", size=8)}</TD>'
             f'<TD COLSPAN="3" BGCOLOR="{LEAF_FILL}">{_small("leaf", size=8)}</TD>'
             f'<TD COLSPAN="3" BGCOLOR="{CONSTANT_FILL}">{_small("data (no grad)", size=8)}</TD>'
             f'<TD COLSPAN="3" BGCOLOR="{OUTPUT_FILL}">{_small("output", size=8)}</TD>'
             f'<TD COLSPAN="{span - 13}" BGCOLOR="{INTERMEDIATE_FILL}">{_small("intermediate", size=8)}</TD>')
    return (f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="#999999">'
            f'<TR><TD COLSPAN="{span}">{_small("<B>gradient norm</B> " + esc(words), size=9)}</TD></TR>'
            f'<TR>{row}</TR><TR>{kinds}</TR>'
            + (f'<TR><TD COLSPAN="{span}">{_small(esc(arrows.rstrip(" ·")), size=8)}</TD></TR>' if arrows else "")
            + '</TABLE>')


# ----------------------------------------------------------------------------------------------------
# The Digraph


def _attributes(attrs):
    return " ".join(f'{k}="{v}"' for k, v in attrs.items() if v is not None)


class _Writer:
    """Collects DOT lines per cluster, then writes the nested clusters into the Digraph's body."""

    def __init__(self, rankdir, titles):
        self.lines = {(): []}
        self.titles = titles  # scope tuple -> cluster title ("0: Linear(2→4)")
        # Graphviz places a cluster's label relative to the rank direction: "b" is on top when drawing bottom-up
        self.label_location = "b" if rankdir == "BT" else "t"

    def add(self, scope, line):
        self.lines.setdefault(tuple(scope), []).append(line)

    def node(self, scope, node_id, label, **attrs):
        self.add(scope, f"\t{node_id} [label=<{label}> {_attributes(attrs)}]\n")

    def write(self, body):
        children = {}
        for scope in list(self.lines):
            while scope:
                parent = scope[:-1]
                children.setdefault(parent, set()).add(scope)
                self.lines.setdefault(parent, [])
                scope = parent
        counter = [0]

        def emit(scope, indent):
            for line in self.lines.get(scope, ()):
                body.append(indent + line)
            for child in sorted(children.get(scope, ())):
                counter[0] += 1
                body.append(f"{indent}\tsubgraph cluster_{counter[0]} {{\n")
                title = self.titles.get(child, child[-1])
                body.append(f'{indent}\t\tlabel=<<B>{esc(title)}</B>> labelloc="{self.label_location}" '
                            'style="rounded,filled" '
                            f'fillcolor="#f7f9fc" color="#9aa5b8" fontname="{FONT}" fontsize=11\n')
                emit(child, indent + "\t")
                body.append(f"{indent}\t}}\n")

        emit((), "")


def build_picture(graph, view, options, caption=None, explain_plan=False):
    """The Digraph for ``graph`` with gradients from ``view`` (a TraceView or LiveView).

    With ``explain_plan`` the caption also says when scopes were collapsed or nodes summarised.
    """
    plan = Plan(graph, options)
    if explain_plan:
        caption = "; ".join(filter(None, [caption] + plan.notes(options) + list(getattr(view, "notes", ()))))
    picture = GraphPicture(name="tinygrad_dl", graph_attr={
        "rankdir": options.rankdir, "nodesep": "0.25", "ranksep": "0.3", "fontname": FONT, "fontsize": "12",
        "labelloc": "t", "bgcolor": "white", "newrank": "true"},
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"color": "#777777", "arrowsize": "0.7", "fontname": FONT, "fontsize": "9"})
    writer = _Writer(options.rankdir, cluster_titles(graph))
    grads = {}  # tensor key -> (grad, complete), looked up once per tensor
    any_grad = _write_tensors(writer, plan, graph, view, options, grads)
    _write_ops(writer, plan, graph, view, options, grads)
    _write_boxes(writer, plan, view, options)
    if plan.capped:
        writer.node((), Plan.MORE, more_label(plan), shape="plain")
    writer.write(picture.body)
    _write_edges(picture.body, plan, graph, view, options, grads)
    # title, caption and legend sit together above the graph, so the legend is never far from what it explains
    legend = options.legend or (options.legend is None and options.show_grads and any_grad)
    heading = _heading(options, caption, legend_label(options.grad_flow) if legend else None)
    if heading:
        picture.attr(label=f"<{heading}>")
    # what was left out, for callers and tests (not the plan itself: it would keep the graph's tensors alive)
    picture.collapse_depth, picture.summarised, picture.boxes = plan.depth, plan.capped, len(plan.boxes)
    return picture


def cluster_titles(graph):
    """Titles of the scope clusters: the module's summary when the graph knows the model ("0: Linear(2→4)"),
    else, for a scope holding a single op, that op ("1: Tanh"); other scopes keep their name."""
    titles = dict(graph.scope_titles)
    ops_by_scope = {}
    for op in graph.ops:
        for depth in range(1, len(op.scope) + 1):
            ops_by_scope.setdefault(op.scope[:depth], []).append(op)
    for scope, ops in ops_by_scope.items():
        # a capitalised name is a root module's class name (BCEWithLogitsLoss): it already says what it is
        if scope in titles or len(ops) != 1 or scope[-1][:1].isupper():
            continue
        summary = op_summary(ops[0])
        if summary != scope[-1]:
            titles[scope] = f"{scope[-1]}: {summary}"
    return titles


def op_summary(op):
    """An op as a layer: Linear(in→out) from its weight's shape, else the op's name."""
    if op.name == "Linear" and len(op.node.parents) >= 2 and op.node.parents[1] is not None:
        weight = op.node.parents[1].data
        if weight.ndim == 2:
            return f"Linear({weight.shape[1]}→{weight.shape[0]})"
    return op.name


def _heading(options, caption, legend):
    rows = []
    if options.title:
        lines = "<BR/>".join(esc(line) for line in str(options.title).split("\n"))  # HTML labels ignore \n
        rows.append(f'<TR><TD><FONT POINT-SIZE="14"><B>{lines}</B></FONT></TD></TR>')
    if caption:
        rows += [f"<TR><TD>{esc(line)}</TD></TR>" for line in textwrap.wrap(caption, 90)]
    if legend:
        rows.append(f"<TR><TD>{legend}</TD></TR>")
    if not rows:
        return ""
    return '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">' + "".join(rows) + "</TABLE>"


def _write_tensors(writer, plan, graph, view, options, grads):
    numbered = len(graph.roots) > 1
    output_numbers = {id(root): i for i, root in enumerate(graph.roots, start=1)} if numbered else {}
    any_grad = False
    for info in graph.tensors.values():
        grad, complete = view.tensor_grad(info) if options.show_grads else (None, False)
        grads[info.key] = (grad, complete)
        any_grad = any_grad or grad is not None
        key = ("tensor", info.key)
        unit = plan.unit[key]
        if unit != plan.node_id[key]:
            continue  # drawn inside a box or the summary node
        label = tensor_label(info, grad, complete, options, output_numbers.get(info.key))
        writer.node(plan.cluster_of[unit], unit, label, shape="plain")
    return any_grad


def _write_ops(writer, plan, graph, view, options, grads):
    highlighted = view.highlighted_step
    visited = view.visited_steps
    for op in graph.ops:
        unit = plan.op_unit(op)
        if unit != plan.node_id[("op", op.step)]:
            continue
        node_id = None
        if op.step == highlighted:
            fill, pen, color, node_id = OP_CURRENT_FILL, "3", CURRENT_EDGE, "current"  # the page scrolls to it
        elif id(op.node) in options.marked:
            fill, pen, color = MARKED_FILL, "3", CURRENT_EDGE
        elif visited is not None and op.step in visited:
            fill, pen, color = OP_DONE_FILL, "1", "#999999"
        else:
            fill, pen, color = OP_FILL, "1", "#c9a227"
        merged = plan.merged_output(op)
        output = None if merged is None else (merged,) + grads[merged.key]
        writer.node(plan.cluster_of[unit], unit, op_label(op, options, output), shape="box", style="rounded,filled",
                    fillcolor=fill, color=color, penwidth=pen, margin="0.08,0.04", id=node_id)


def _write_boxes(writer, plan, view, options):
    highlighted = view.highlighted_step
    for box in plan.boxes.values():
        label, fill = box_label(box, view, options)
        current = highlighted is not None and any(op.step == highlighted for op in box.ops)
        writer.node(plan.cluster_of[box.id], box.id, label, shape="box", style="rounded,filled",
                    fillcolor=OP_CURRENT_FILL if current else fill, color=CURRENT_EDGE if current else "#555555",
                    penwidth="3" if current else "1.5", margin="0.1,0.06", id="current" if current else None)


def _write_edges(body, plan, graph, view, options, grads):
    """Forward edges (input -> op -> output); with grad_flow they point back and carry the gradient's shape."""
    seen = set()
    highlighted = view.highlighted_step
    for op in graph.ops:
        head = plan.op_unit(op)
        for slot, info in op.inputs + [(None, c) for c in op.constants]:
            tail = plan.tensor_unit(info)
            grad = view.edge_grad(op, slot)
            if grad is None and view.frame is None and slot is not None and info.kind != "constant":
                grad = grads[info.key][0] if _single_consumer(info) else None
            current = op.step == highlighted and slot is not None
            _edge(body, seen, tail, head, grad, info, options, current, CURRENT_EDGE)
        out = op.output
        grad = grads[out.key][0]
        incoming = op.step == highlighted
        _edge(body, seen, head, plan.tensor_unit(out), grad, out, options, incoming, INCOMING_EDGE)


def _single_consumer(info):
    return len(info.consumers) == 1


def _edge(body, seen, tail, head, grad, info, options, current, current_color):
    if tail == head:
        return
    if tail.startswith(("box", Plan.MORE)) or head.startswith(("box", Plan.MORE)):
        if (tail, head) in seen:
            return  # one edge between a box and its neighbour is enough
        seen.add((tail, head))
    attrs = {}
    if options.grad_flow or current:
        attrs["dir"] = "back" if options.grad_flow and info.kind != "constant" else None
        if grad is not None:
            attrs["color"] = grad_color(grad_norm(grad)).edge if not current else current_color
            attrs["label"] = _shape_change(grad, info)
            attrs["penwidth"] = "2.5" if current else "1.8"
        elif current:
            attrs["color"] = current_color
            attrs["penwidth"] = "2.5"
    if info.kind == "constant":
        attrs["style"] = "dashed"
    body.append(f"\t{tail} -> {head} [{_attributes(attrs)}]\n" if attrs else f"\t{tail} -> {head}\n")


def _shape_change(grad, info):
    """The gradient's shape; 'sent → summed' when the op's gradient had a broadcast shape."""
    target = info.tensor.shape if info.tensor is not None else grad.shape
    if grad.shape != target:
        return f" {shape_text(grad.shape)} → {shape_text(target)} "
    return f" {shape_text(grad.shape)} "
