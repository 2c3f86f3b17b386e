"""The demo index: ``python -m demos`` lists the demos, ``python -m demos tour`` runs a short tour.

    python -m demos                      # one line per demo
    python -m demos tour [--quick]       # flower net, initialization and optimizer comparisons (< 1 minute,
                                         # no downloaded file needed)
    python -m demos <name> [options]     # the same as python -m demos.<name> [options]
"""
import argparse
import importlib
import sys
import time

import numpy as np

# name -> one-line description. Each name is a module demos/<name>.py with run() and main().
REGISTRY = {
    "logistic_regression": "C1W2 logistic regression on cat vs non-cat (one sigmoid unit, zero init)",
    "planar_flower": "C1W3 one hidden tanh layer on the planar 'flower' data vs logistic regression",
    "deep_nn_application": "C1W4 deep NN on cat vs non-cat: 2-layer 12288-7-1 and L-layer 12288-20-7-5-1",
    "initialization": "C2W1 zeros vs large random vs He initialization on the circles (2-10-5-1 relu)",
    "regularization": "C2W1 no regularization vs L2 vs dropout on the French football data (2-20-3-1 relu)",
    "gradient_checking": "C2W1 gradcheck catches the course's buggy hand-written backward (4-5-3-1 net)",
    "optimization": "C2W2 mini-batch GD vs momentum vs Adam (+ learning-rate decay) on the moons (2-5-2-1)",
    "softmax_batchnorm": "C2W3 softmax classifier (SIGNS or digits), batch norm vs none, random hyperparameter search",
}


def list_demos(out=None):
    out = out or sys.stdout  # looked up at call time, so redirected output is honoured
    width = max(len(name) for name in REGISTRY)
    print("Course demos (run one with: python -m demos.<name> --help)\n", file=out)
    for name, description in REGISTRY.items():
        print(f"  {name.ljust(width)}  {description}", file=out)
    print(f"\n  {'tour'.ljust(width)}  a short tour that needs no downloaded file: python -m demos tour", file=out)


# --------------------------------------------------------------------------------------------------
# The tour: three short runs on generated data (the course's own generators), each ending in a table.
# The course column holds the notebook's full-length numbers; the tour's runs are shorter, so "ours"
# shows how far the same recipe gets in the shortened run.


def _network(layer_dims, init, seed):
    """A ReLU network (sigmoid in the loss) initialised like the Course 2 notebooks, from np.random after seed."""
    from tinygrad_dl import nn

    linears = [nn.Linear(n_in, n_out, dtype=np.float64) for n_in, n_out in zip(layer_dims[:-1], layer_dims[1:])]
    np.random.seed(seed)
    for layer in linears:
        if init == "zeros":
            nn.init.zeros_(layer.weight)
        elif init == "large random":
            nn.init.scaled_normal_(layer.weight, 10)
        else:  # He
            nn.init.kaiming_normal_(layer.weight)
        nn.init.zeros_(layer.bias)
    layers = []
    for layer in linears[:-1]:
        layers += [layer, nn.ReLU()]
    return nn.Sequential(*layers, linears[-1])


def _accuracy(model, X, Y):
    from tinygrad_dl import Tensor, no_grad

    with no_grad():
        logits = model(Tensor(np.ascontiguousarray(X.T))).data.T
    return float(np.mean((logits > 0) == Y))


def tour_flower(iterations, quiet):
    from . import planar_flower

    try:
        import sklearn  # noqa: F401
        baseline = True
    except ImportError:
        baseline = False
    results = planar_flower.run(num_iterations=iterations, baseline=baseline, quiet=True)
    rows = [row for row in planar_flower.results_rows(results)
            if not row[0].startswith("cost after") or int(row[0].split()[-1]) < iterations]
    return rows, f"1. Planar flower, 2-4-1 tanh network, {iterations} iterations (course: 10000)"


def tour_initialization(iterations, quiet):
    from tinygrad_dl import Tensor, nn, optim

    from . import common
    from .datasets import load_circles_dataset

    train_X, train_Y, test_X, test_Y = load_circles_dataset()
    course = {"zeros": (0.5, 0.5), "large random": (0.83, 0.86), "He": (0.9933333333, 0.96)}
    rows = []
    for init in course:
        model = _network((2, 10, 5, 1), init, seed=3)
        optimizer = optim.SGD(model.parameters(), lr=0.01)
        inputs, targets, loss_fn = Tensor(train_X.T), Tensor(train_Y.T.astype(np.float64)), nn.BCEWithLogitsLoss()
        for _ in common.progress(range(iterations), iterations, init, quiet):
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
        rows += [(f"{init}: train accuracy", course[init][0], _accuracy(model, train_X, train_Y)),
                 (f"{init}: test accuracy", course[init][1], _accuracy(model, test_X, test_Y))]
    return rows, f"2. Initialization on the circles, 2-10-5-1 relu, lr 0.01, {iterations} iterations (course: 15000)"


def tour_optimizers(epochs, quiet):
    from tinygrad_dl import Tensor, nn, optim

    from . import common
    from .datasets import load_moons_dataset, random_mini_batches

    X, Y = load_moons_dataset()
    Y = Y.astype(np.float64)
    course = {"gradient descent": 0.7966666666666666, "momentum": 0.7966666666666666, "Adam": 0.94}
    rows = []
    for name in course:
        model = _network((2, 5, 2, 1), "He", seed=3)
        if name == "Adam":
            optimizer = optim.Adam(model.parameters(), lr=0.0007)
        else:
            beta = 0.9 if name == "momentum" else 0.0
            optimizer = optim.SGD(model.parameters(), lr=0.0007, momentum=beta, dampening=beta)
        loss_fn = nn.BCEWithLogitsLoss()
        for epoch in common.progress(range(epochs), epochs, name, quiet):
            for batch_X, batch_Y in random_mini_batches(X, Y, 64, seed=10 + epoch + 1):
                optimizer.zero_grad()
                loss_fn(model(Tensor(np.ascontiguousarray(batch_X.T))), Tensor(batch_Y.T)).backward()
                optimizer.step()
        rows.append((f"{name}: accuracy", course[name], _accuracy(model, X, Y)))
    return rows, (f"3. Optimizers on the moons, 2-5-2-1 relu, mini-batches of 64, lr 0.0007, {epochs} epochs "
                  f"(course: 10000)")


def tour(quick=False, quiet=False):
    """Run the three short runs and print a results table after each; returns {section title: rows}."""
    from . import common

    sizes = (500, 1000, 300) if quick else (10000, 15000, 10000)
    sections = {}
    for step, size in zip((tour_flower, tour_initialization, tour_optimizers), sizes):
        start = time.perf_counter()
        rows, title = step(size, quiet)
        sections[title] = rows
        common.print_results(rows, f"{title}  [{time.perf_counter() - start:.1f} s]")
        print(flush=True)
    return sections


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in REGISTRY:
        return importlib.import_module(f"{__package__ or 'demos'}.{argv[0]}").main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m demos", description="List the course demos or run a short tour.")
    parser.add_argument("command", nargs="?", choices=("list", "tour"), default="list",
                        help="list (default): one line per demo; tour: short runs that need no downloaded file")
    parser.add_argument("--quick", action="store_true", help="tour: even shorter runs")
    parser.add_argument("--quiet", action="store_true", help="tour: no progress bars")
    args = parser.parse_args(argv)
    if args.command == "tour":
        return tour(quick=args.quick, quiet=args.quiet)
    list_demos()
    return None


if __name__ == "__main__":
    main()
