"""See backprop with tinygrad_dl.viz: the graph of a small net after one backward pass, a step-through page
of backprop, and a deep sigmoid net next to a ReLU net (He init) showing the vanishing gradient.

    python -m demos.viz_demo [--out demo_output/viz] [--steps 5] [--quiet]

Writes into --out:
    flower_graph.svg / .png       the 2-4-1 flower net (nn.Sequential) after its first backward pass: every
                                  tensor with its values and gradient, the op nodes with their backward step
    flower_grad_flow.svg          the same with the gradient flow drawn (arrows from the loss to the inputs)
    backprop_steps.html           a page to step through the backward pass of a tiny 2-3-1 net written with
                                  the course's equations (W1 @ X + b1 ...) inside name_scope blocks
    tiny_net_graph.svg            that net's whole backward pass in one picture (the README's docs/backprop.svg)
    vanishing_gradients.svg / .png  10 sigmoid layers (N(0, 1) init) next to 10 ReLU layers (He init): one box per
                                  layer, coloured by its weight gradient's norm

Without Graphviz's `dot` program the pictures are written as DOT source (.gv) and the demo says how to
install Graphviz.
"""
from pathlib import Path

import numpy as np

from tinygrad_dl import Tensor, name_scope, nn, optim, viz
from tinygrad_dl.data import make_flower

from . import common

NAME = "viz_demo"
DEFAULT_OUT = common.DEFAULT_OUTPUT / "viz"


def _write(picture, out, stem, formats=("svg", "png")):
    """Render ``picture`` to out/stem.<format>; without `dot`, write the DOT source instead."""
    paths = []
    for format in formats:
        try:
            paths.append(viz.save(picture, out / f"{stem}.{format}"))
        except viz.GraphvizNotFoundError:
            source = out / f"{stem}.gv"
            source.write_text(picture.source, encoding="utf-8")
            return [source]
    return paths


# ----------------------------------------------------------------------------------------------------
# 1. A small net trained for a few steps; the picture of its first backward pass


def flower_model(seed=2):
    """The course's 2 -> 4 tanh -> 1 net (sigmoid in the loss), weights randn * 0.5 so numbers are readable."""
    np.random.seed(seed)
    hidden = nn.Linear(2, 4, dtype=np.float64, init=lambda w: nn.init.scaled_normal_(w, 0.5))
    output = nn.Linear(4, 1, dtype=np.float64, init=lambda w: nn.init.scaled_normal_(w, 0.5))
    return nn.Sequential(hidden, nn.Tanh(), output)


def train_flower(out, steps=5, learning_rate=1.2, quiet=True):
    """Gradient descent on the flower data; the first step's backward pass is drawn by viz (backward=True)."""
    X, Y = make_flower()
    inputs, targets = Tensor(X.T), Tensor(Y.T.astype(np.float64))
    model = flower_model()
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    names = {"X": inputs, "Y": targets}  # the model names its parameters and titles its layers itself
    costs, files = [], []
    for step in range(steps):
        optimizer.zero_grad()
        cost = loss_fn(model(inputs), targets)
        if step == 0:
            # the trace runs this backward pass (instead of cost.backward()) and records every gradient once
            trace = viz.trace(cost, names=names, model=model)
            files += _write(trace.draw(title="Flower net 2-4-1 after one backward pass"), out, "flower_graph")
            files += _write(trace.draw(grad_flow=True, title="Gradient flow (arrows point from the loss "
                                                                "to the inputs)"), out, "flower_grad_flow", ("svg",))
        else:
            cost.backward()
        optimizer.step()
        costs.append(cost.item())
        common.log(f"step {step}: cost {cost.item():.6f}", quiet)
    return {"costs": costs, "files": files, "first_step_order": [node.name for node in trace.order]}


# ----------------------------------------------------------------------------------------------------
# 2. The step-through page of a tiny net written with the course's equations


def tiny_course_net(seed=1):
    """2 -> 3 tanh -> 1 sigmoid on two examples of the flower data: every tensor small enough to show its numbers.

    Returns the cost and the names of its tensors. The layers use name_scope directly (what nn.Module does).
    """
    X_all, Y_all = make_flower()
    X, Y = Tensor(X_all[:, [0, 399]]), Tensor(Y_all[:, [0, 399]].astype(np.float64))
    rng = np.random.default_rng(seed)
    W1 = Tensor(rng.standard_normal((3, 2)) * 0.5, requires_grad=True)
    b1 = Tensor(np.zeros((3, 1)), requires_grad=True)
    W2 = Tensor(rng.standard_normal((1, 3)) * 0.5, requires_grad=True)
    b2 = Tensor(np.zeros((1, 1)), requires_grad=True)
    with name_scope("layer1"):
        A1 = (W1 @ X + b1).tanh()
    with name_scope("layer2"):
        A2 = (W2 @ A1 + b2).sigmoid()
    with name_scope("cost"):
        cost = -(Y * A2.log() + (1 - Y) * (1 - A2).log()).mean()
    names = {"X": X, "Y": Y, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "A1": A1, "A2": A2, "cost": cost}
    return cost, names


def step_through_page(out):
    cost, names = tiny_course_net()
    trace = viz.trace(cost, names=names)
    # the README's picture (docs/backprop.svg): the whole pass at once, the cost's ops folded into one box
    files = _write(trace.draw(collapse=["cost"], grad_flow=True), out, "tiny_net_graph", ("svg",))
    try:
        path = viz.save_html(trace, out / "backprop_steps.html", title="Backprop through a 2-3-1 net, step by step")
    except viz.GraphvizNotFoundError as err:
        common.log(str(err))
        path = None
    return {"file": path, "files": files, "steps": len(trace), "dW1": trace.grad(names["W1"])}


# ----------------------------------------------------------------------------------------------------
# 3. Vanishing gradients: deep sigmoid net vs ReLU net with He initialisation


def deep_net(X, Y, activation, depth=10, width=8, seed=1):
    """``depth`` hidden layers of ``width`` units, one name_scope per layer, sigmoid output, cross-entropy cost.

    sigmoid layers get N(0, 1) weights (the course's "large" init); ReLU layers He init N(0, 2 / fan_in).
    """
    rng = np.random.default_rng(seed)
    sizes = [X.shape[0]] + [width] * depth + [1]
    params = {}
    A = X
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        scale = 1.0 if activation == "sigmoid" else np.sqrt(2.0 / n_in)
        W = Tensor(rng.standard_normal((n_out, n_in)) * scale, requires_grad=True)
        b = Tensor(np.zeros((n_out, 1)), requires_grad=True)
        params[f"W{layer}"], params[f"b{layer}"] = W, b
        with name_scope(f"layer {layer}"):
            Z = W @ A + b
            A = Z.sigmoid() if activation == "sigmoid" or layer == len(sizes) - 1 else Z.relu()
    with name_scope("cost"):
        cost = -(Y * A.log() + (1 - Y) * (1 - A).log()).mean()
    return cost, params


def vanishing_gradients(out, depth=10):
    X_all, Y_all = make_flower()
    X, Y = Tensor(X_all), Tensor(Y_all.astype(np.float64))
    with name_scope("sigmoid, N(0, 1) init"):
        sigmoid_cost, sigmoid_params = deep_net(X, Y, "sigmoid", depth)
    with name_scope("ReLU, He init"):
        relu_cost, relu_params = deep_net(X, Y, "relu", depth)
    names = {**{f"sigmoid.{k}": v for k, v in sigmoid_params.items()},
             **{f"relu.{k}": v for k, v in relu_params.items()}, "X": X, "Y": Y}
    # both costs in one picture: one backward pass through both graphs; collapse=2 gives one box per layer
    picture = viz.draw_graph([sigmoid_cost, relu_cost], names=names, backward=True, collapse=2, show_values=False,
                             title=f"Vanishing gradients: {depth} sigmoid layers vs {depth} ReLU layers (He init)")
    files = _write(picture, out, "vanishing_gradients")
    norms = {kind: [viz.grad_norm(params[f"W{layer}"].grad.data) for layer in range(1, depth + 2)]
             for kind, params in (("sigmoid", sigmoid_params), ("relu", relu_params))}
    return {"files": files, "weight_grad_norms": norms}


# ----------------------------------------------------------------------------------------------------


def run(out=DEFAULT_OUT, steps=5, quiet=True):
    out = common.output_dir(out)
    if not viz.dot_available():
        common.log("Graphviz's `dot` program is missing: writing DOT source (.gv) instead of pictures. Install:\n"
                   + viz.install_hint())
    results = {"flower": train_flower(out, steps, quiet=quiet)}
    results["steps_page"] = step_through_page(out)
    results["vanishing"] = vanishing_gradients(out)
    return results


def main(argv=None):
    parser = common.make_parser(NAME, "Pictures of backprop: a graph after one backward pass, a step-through "
                                      "page, and vanishing gradients in a deep sigmoid net")
    parser.set_defaults(out=DEFAULT_OUT)
    parser.add_argument("--steps", type=int, default=5, help="gradient descent steps on the flower net")
    args = parser.parse_args(argv)
    results = run(Path(args.out), args.steps, quiet=args.quiet)
    norms = results["vanishing"]["weight_grad_norms"]
    print("||dW|| per layer, first to last:")
    for kind, values in norms.items():
        print(f"  {kind:8s}" + " ".join(f"{v:8.1e}" for v in values))
    files = (results["flower"]["files"] + results["steps_page"]["files"] + [results["steps_page"]["file"]]
             + results["vanishing"]["files"])
    print("wrote:\n  " + "\n  ".join(str(f) for f in files if f is not None))
    return results


if __name__ == "__main__":
    main()
