"""The flower training step of two builds of tinygrad_dl, timed in one process, so a 1 % change shows.

    python benchmarks/ab_flower.py [BASE] [--new REV] [--runs 6]

BASE and REV are git revisions; BASE defaults to HEAD and the new build to the working tree. Timed in separate
processes, two builds' difference drowns in the machine's: on the shared 2-core machine the flower's ratio to
the course's code moves by 5 % from one process to the next. This script copies the packages (tinygrad_dl, nn,
optim) of both builds into a temporary folder under names of their own, builds the same flower network (2-4-1,
BCE-with-logits, SGD) in each, and times both with the course's NumPy step round by round
(``bench_course_nets.time_rounds``), the builds' order swapped from one run to the next (the slot right after
the NumPy code runs about 2 % slower). It prints each build's ratio to the course code and the median over the
runs of new / base. Two copies of one build measured 0.994-1.002 that way.
"""
import argparse
import importlib
import io
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from anywhere inside the checkout

from benchmarks import bench_course_nets as course  # noqa: E402  (the checkout is on sys.path above)
from benchmarks._training_step import training_step  # noqa: E402

PACKAGES = ("tinygrad_dl", "nn", "optim")


def copy_build(revision, folder, name):
    """The packages of ``revision`` (None: the working tree) as one package ``name`` under ``folder``: tinygrad_dl's
    files at its top, nn and optim inside it (where setup.cfg installs them), every import renamed."""
    source = folder / f"{name}_source"
    if revision is None:
        for package in PACKAGES:
            shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, *PACKAGES],
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # (the "data" filter refuses links and paths out of the folder; Pythons before 3.11.4 lack it)
            tar.extractall(source, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    target = folder / name
    shutil.move(source / "tinygrad_dl", target)
    for package in ("nn", "optim"):
        shutil.move(source / package, target / package)
    for path in target.rglob("*.py"):
        path.write_text(re.sub(r"\btinygrad_dl\b", name, path.read_text()))
    return target


def flower_step(package, X, Y):
    """One training step closure of the benchmark's flower network built with ``package`` (a renamed build)."""
    nn, optim = package.nn, package.optim
    model = nn.Sequential(nn.Linear(2, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 1, dtype=np.float64))
    reference = course.numpy_flower_params()
    for number, layer in enumerate((model[0], model[2]), start=1):
        layer.weight.data[...] = reference[f"W{number}"]
        layer.bias.data[...] = reference[f"b{number}"].ravel()
    inputs, targets = package.Tensor(np.ascontiguousarray(X.T)), package.Tensor(Y.T.astype(np.float64))
    optimizer = optim.SGD(model.parameters(), lr=1.2)
    return training_step(model, nn.BCEWithLogitsLoss(), optimizer, inputs, targets)


def compare(base, new, runs=6, iterations=40, repeats=30):
    """{"base": [ratio to the course code per run], "new": [...], "new/base": [...]} for two revisions."""
    X, Y = course.flower_data()
    params = course.numpy_flower_params()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        copy_build(base, folder, "tgdl_base")
        copy_build(new, folder, "tgdl_new")
        sys.path.insert(0, str(folder))
        for module in [key for key in sys.modules if key.split(".")[0] in ("tgdl_base", "tgdl_new")]:
            del sys.modules[module]  # (builds imported by an earlier call in this process)
        try:
            steps = {name: flower_step(importlib.import_module(name), X, Y) for name in ("tgdl_base", "tgdl_new")}
        finally:
            sys.path.remove(str(folder))
    losses = {name: step() for name, step in steps.items()}
    if abs(losses["tgdl_base"] - losses["tgdl_new"]) > 1e-12:
        raise RuntimeError(f"the two builds compute different losses: {losses}")
    numpy_step = lambda: course.numpy_flower_step(params, X, Y, 1.2)  # noqa: E731
    ratios = {"base": [], "new": [], "new/base": []}
    for run in range(runs):
        order = ["tgdl_base", "tgdl_new"] if run % 2 == 0 else ["tgdl_new", "tgdl_base"]
        _, measured = course.time_rounds({"numpy": numpy_step, **{name: steps[name] for name in order}},
                                         iterations, repeats)
        ratios["base"].append(measured["tgdl_base"])
        ratios["new"].append(measured["tgdl_new"])
        ratios["new/base"].append(measured["tgdl_new"] / measured["tgdl_base"])
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", nargs="?", default="HEAD", help="git revision of the base build (default HEAD)")
    parser.add_argument("--new", default=None, help="git revision of the new build (default: the working tree)")
    parser.add_argument("--runs", type=int, default=6, help="timing runs, the builds' order swapped each run")
    parser.add_argument("--iterations", type=int, default=40, help="iterations per timed round")
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per run")
    args = parser.parse_args(argv)
    ratios = compare(args.base, args.new, args.runs, args.iterations, args.repeats)
    new_name = args.new or "working tree"
    for label, key in ((f"base ({args.base})", "base"), (f"new ({new_name})", "new")):
        values = ", ".join(f"{value:.3f}" for value in ratios[key])
        print(f"{label}: ratio to the course code per run {values}; median {statistics.median(ratios[key]):.3f}")
    values = ", ".join(f"{value:.3f}" for value in ratios["new/base"])
    print(f"new / base per run: {values}; median {statistics.median(ratios['new/base']):.3f}")
    return ratios


if __name__ == "__main__":
    main()
