"""Every way of running tinygrad_dl works: a normal (non-editable) install of the built wheel, run from the
checkout and from elsewhere; an editable install; and no install at all with the dependencies present.

Each case is a fresh virtual environment (made without pip, in a few milliseconds) that sees the current
interpreter's site-packages for the dependencies (NumPy, graphviz, pytest, setuptools...) but not this
checkout. The package is built from a copy of the checkout (so nothing is written into the working tree),
with no network and no dependency resolution: `pip wheel --no-deps --no-build-isolation --no-index`.
"""
import importlib.util
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
ON_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")  # CI sets CI=true
COPIED = ("tinygrad_dl", "nn", "optim", "demos", "tests", "setup.cfg", "pyproject.toml", "README.md")
PACKAGES = ("tinygrad_dl", "tinygrad_dl/nn", "tinygrad_dl/optim", "tinygrad_dl/viz", "tinygrad_dl/data")
EXTRAS = ("data", "plot", "test", "demos")

IMPORT_CHECK = """
import os, sys
import tinygrad_dl
from tinygrad_dl import Tensor, nn, optim, viz, data, plot
import tinygrad_dl.nn.functional as F
model = nn.Linear(2, 1)
loss = F.mse_loss(model(Tensor([[1.0, 2.0]])), Tensor([[0.5]]))
loss.backward()
optim.SGD(model.parameters(), lr=0.1).step()
loader = data.DataLoader(data.TensorDataset([[1.0], [2.0], [3.0]]), batch_size=2)
assert [batch[0].shape for batch in loader] == [(2, 1), (1, 1)]
print("core", os.path.dirname(tinygrad_dl.__file__))
print("nn", os.path.dirname(nn.__file__))
print("grad", model.weight.grad.shape)
"""


def _missing(what):
    if ON_CI:
        pytest.fail(f"{what}; the test extra installs it")
    pytest.skip(what)


def run(python, args, cwd):
    """Run ``python args`` in ``cwd`` with a clean environment (no PYTHONPATH); returns stdout."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(map(str, args))} in {cwd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def make_environment(folder):
    """A virtual environment without pip that imports the dependencies from this interpreter's site-packages."""
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    target = Path(run(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], folder).strip())
    # a plain path line: the directories are added, their own .pth files (an editable install of this
    # checkout, say) are not run
    (target / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    return python


def lines_by_key(output):
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the checkout: building and editable installs write build/ and *.egg-info into it."""
    copy = tmp_path_factory.mktemp("checkout") / "tinygrad_dl_src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache", "demo_output")
    for name in COPIED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, copy / name, ignore=ignore)
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy / name)
    return copy


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory):
    for module in ("pip", "setuptools", "wheel"):
        if importlib.util.find_spec(module) is None:
            _missing(f"building the wheel needs the {module!r} package")
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                         "--wheel-dir", str(dist), str(source)], source)
    wheels = list(dist.glob("tinygrad_dl-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, got {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh environment with the wheel installed the normal way (no -e)."""
    python = make_environment(tmp_path_factory.mktemp("normal") / "env")
    run(python, ["-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], wheel.parent)
    return python


def test_the_wheel_holds_the_library_and_nothing_else(wheel, source):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in PACKAGES:
        assert f"{package}/__init__.py" in names
    assert "tinygrad_dl/plot.py" in names
    assert not any(name.startswith(("tests/", "demos/", "nn/", "optim/")) for name in names)
    # every module of the source folders is in the wheel, under its installed name
    for folder, installed_as in (("tinygrad_dl", "tinygrad_dl"), ("nn", "tinygrad_dl/nn"),
                                 ("optim", "tinygrad_dl/optim")):
        for module in (source / folder).rglob("*.py"):
            assert f"{installed_as}/{module.relative_to(source / folder).as_posix()}" in names
    metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for extra in EXTRAS:
        assert f"Provides-Extra: {extra}" in text
    assert "Requires-Dist: numpy" in text


def test_normal_install_runs_from_anywhere(installed, tmp_path):
    output = lines_by_key(run(installed, ["-c", IMPORT_CHECK], tmp_path))
    site_packages = Path(run(installed, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             tmp_path).strip())
    assert Path(output["core"]) == site_packages / "tinygrad_dl"
    assert Path(output["nn"]) == site_packages / "tinygrad_dl" / "nn"
    assert output["grad"] == "(1, 2)"


def test_normal_install_runs_the_demos_and_tests_from_the_checkout(installed, source):
    # from the checkout's root its own tinygrad_dl/ comes first and maps nn/ and optim/ in
    output = lines_by_key(run(installed, ["-c", IMPORT_CHECK], source))
    assert Path(output["core"]) == source / "tinygrad_dl" and Path(output["nn"]) == source / "nn"
    listing = run(installed, ["-m", "demos"], source)
    assert "planar_flower" in listing and "python -m demos tour" in listing
    tests = run(installed, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_packaging.py"], source)
    assert "2 passed" in tests


def test_editable_install_runs_from_anywhere(source, tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        _missing("an editable install needs setuptools")
    python = make_environment(tmp_path / "env")
    run(python, ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-e",
                 str(source)], source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = lines_by_key(run(python, ["-c", IMPORT_CHECK], elsewhere))
    assert Path(output["core"]) == source / "tinygrad_dl" and Path(output["nn"]) == source / "nn"
    assert "planar_flower" in run(python, ["-m", "demos"], source)


def test_no_install_runs_from_the_checkout(source, tmp_path):
    python = make_environment(tmp_path / "env")
    output = lines_by_key(run(python, ["-c", IMPORT_CHECK], source))
    assert Path(output["core"]) == source / "tinygrad_dl" and Path(output["nn"]) == source / "nn"
    assert "planar_flower" in run(python, ["-m", "demos"], source)
    tests = run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_packaging.py"], source)
    assert "2 passed" in tests
