"""``python -m demos`` (the list), ``python -m demos <name>`` (dispatch) and ``python -m demos tour``."""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from demos import __main__ as index

REPO = Path(__file__).resolve().parent.parent


def test_every_registered_demo_is_a_runnable_module():
    assert {"logistic_regression", "planar_flower", "deep_nn_application"} <= set(index.REGISTRY)
    for name, description in index.REGISTRY.items():
        module = importlib.import_module(f"demos.{name}")
        assert callable(module.run) and callable(module.main), name
        assert description and "\n" not in description, name


def test_list_prints_one_line_per_demo(capsys):
    index.main([])
    lines = capsys.readouterr().out.splitlines()
    for name, description in index.REGISTRY.items():
        assert sum(line.split()[:1] == [name] and line.endswith(description) for line in lines) == 1, name
    assert any(line.split()[:1] == ["tour"] for line in lines)


def test_python_dash_m_demos_lists_and_rejects_unknown_commands():
    listing = subprocess.run([sys.executable, "-m", "demos"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0 and "planar_flower" in listing.stdout
    wrong = subprocess.run([sys.executable, "-m", "demos", "no_such_demo"], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert wrong.returncode == 2 and "invalid choice: 'no_such_demo'" in wrong.stderr


def test_a_demo_name_dispatches_to_its_main(tmp_path, capsys):
    results = index.main(["planar_flower", "--iterations", "3", "--no-baseline", "--quiet", "--out", str(tmp_path)])
    assert set(results["costs"]) == {0}
    assert (tmp_path / "decision_boundary.png").is_file()
    assert "Planar flower, 4 hidden units" in capsys.readouterr().out


def test_quick_tour_prints_three_tables_with_sensible_numbers(capsys):
    sections = index.main(["tour", "--quick", "--quiet"])
    out = capsys.readouterr().out
    assert len(sections) == 3 and out.count("metric") == 3
    flower, init, optimizers = (dict((row[0], row[2]) for row in rows) for rows in sections.values())
    # 500 iterations of the 2-4-1 net: cost well below log(2), and the points are mostly separated already
    assert flower["cost after iteration 0"] == pytest.approx(0.6930480201, abs=1e-9)
    assert flower["accuracy %"] > 85
    # all-zero weights stay symmetric: the net predicts one class, which is half of each set (the course's 0.5)
    assert init["zeros: train accuracy"] == 0.5 and init["zeros: test accuracy"] == 0.5
    assert init["he: cost @ 0"] == pytest.approx(0.8830537463419761, abs=1e-12)  # the course's He init, seed 3
    # Adam is far ahead of plain gradient descent after a few hundred epochs at lr 0.0007
    assert optimizers["adam: accuracy"] > optimizers["gd: accuracy"] + 0.05
