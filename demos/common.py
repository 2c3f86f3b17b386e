"""What every course demo shares: its command line, a progress bar and the closing results table.

Plots come from ``tinygrad_dl.plot``, data from ``tinygrad_dl.data`` (both ship in the wheel).

A demo module defines ``run(...) -> dict`` (used by the tests) and ``main(argv=None)`` built from these
pieces, so ``python -m demos.<name> --help`` looks the same for all of them.
"""
import argparse
import os
from pathlib import Path

DEFAULT_OUTPUT = Path("demo_output")
CURVE_EVERY = 100  # cost curves: one point per 100 iterations (or epochs), as the course's plots


def make_parser(name, description, needs_data=False):
    """The shared command line: --out for plots, --data for the course's files, --quiet for no progress bar."""
    parser = argparse.ArgumentParser(prog=f"python -m demos.{name}", description=description)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT / name,
                        help=f"folder for the plots (default: {DEFAULT_OUTPUT / name})")
    if needs_data:
        parser.add_argument("--data", default=None,
                            help="folder with the course's data files (default: $TINYGRAD_DL_DATA, ./data/course or "
                                 "../shared/data/course)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no cost printouts")
    return parser


def progress(iterable, total=None, description=None, quiet=False):
    """A tqdm progress bar on long loops (silent when quiet, or when tqdm is not installed)."""
    if quiet:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=description, leave=False, mininterval=0.5)


def train_full_batch(model, loss_fn, X, Y, num_iterations, learning_rate, print_every, description="train",
                     quiet=True, record_last=False, record_every=None):
    """Full-batch gradient descent as the Course 1 notebooks run it; returns {iteration: cost}.

    X, Y are in the course's column layout ((n_features, m), (1, m)); the model takes rows, so it gets X.T.
    The cost is recorded every ``record_every`` iterations (default: ``print_every``; the cost curves use one
    point per 100), printed unless quiet every ``print_every``, and recorded at the last one too with
    ``record_last``.
    """
    import numpy as np
    from tinygrad_dl import Tensor, optim

    inputs, targets = Tensor(np.ascontiguousarray(X.T)), Tensor(Y.T.astype(np.float64))
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    costs = {}
    for i in progress(range(num_iterations), num_iterations, description, quiet):
        optimizer.zero_grad()
        cost = loss_fn(model(inputs), targets)
        cost.backward()
        optimizer.step()
        if i % (record_every or print_every) == 0 or (record_last and i == num_iterations - 1):
            costs[i] = cost.item()
            if i % print_every == 0 or i == num_iterations - 1:
                log(f"Cost after iteration {i}: {costs[i]:f}", quiet)
    return costs


def train_random_mini_batches(model, loss_fn, optimizer, X, y, epochs, batch_size, seed, description=None,
                              quiet=True):
    """Mini-batch training as the Course 3 demos run it: every epoch the course's ``random_mini_batches`` of the
    rows of X and y (seeded ``seed + epoch``), one optimizer step per mini-batch."""
    from tinygrad_dl import Tensor, optim

    for epoch in progress(range(epochs), epochs, description, quiet):
        for X_batch, y_batch in optim.random_mini_batches(X, y, batch_size, seed=seed + epoch, axis=0):
            optimizer.zero_grad()
            loss_fn(model(Tensor(X_batch)), y_batch).backward()
            optimizer.step()


def train_shuffled_epoch(optimizer, batch_loss, count, batch_size, rng, description=None, quiet=True,
                         scheduler=None):
    """One epoch over ``count`` examples in the order ``rng.permutation(count)``, as the Course 5 demos train:
    for each mini-batch of ``batch_size`` indices the loss ``batch_loss(indices)``, then one optimizer step (and
    scheduler step). Returns the epoch's loss per example (each batch's mean loss weighted by its size)."""
    order = rng.permutation(count)
    total = 0.0
    starts = range(0, count, batch_size)
    for start in progress(starts, len(starts), description, quiet):
        batch = order[start:start + batch_size]
        loss = batch_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(batch)
    return total / count


def log(message, quiet=False):
    """Print a line (through tqdm when it is installed, so a running progress bar is not torn apart)."""
    if quiet:
        return
    try:
        from tqdm import tqdm
    except ImportError:
        print(message, flush=True)
        return
    tqdm.write(str(message))


def results_table(rows, title=None):
    """Format rows of (metric, course's number, ours) as an aligned text table and return it."""
    header = ("metric", "course", "ours")
    text_rows = [header] + [tuple(_fmt(v) for v in row) for row in rows]
    widths = [max(len(r[i]) for r in text_rows) for i in range(3)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in text_rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    if title:
        lines.insert(0, title)
    return "\n".join(lines)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.10g}"
    return "-" if value is None else str(value)


def print_results(rows, title=None):
    print(results_table(rows, title), flush=True)


def run_and_report(run, rows, title):
    """``main()``'s ending: call ``run()``, turn a missing data file or package into a message (not a
    traceback), print the results table made by ``rows(results)`` and the plots written."""
    try:
        results = run()
    except (FileNotFoundError, ImportError) as error:
        raise SystemExit(str(error)) from None
    print_results(rows(results), title)
    for path in results.get("plots", ()):
        print(f"wrote {path}")
    return results


def output_dir(path):
    path = Path(os.fspath(path))
    path.mkdir(parents=True, exist_ok=True)
    return path
