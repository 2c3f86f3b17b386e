"""``import tinygrad_dl`` tunes glibc's malloc so a training step's freed buffers are reused, not page-faulted in
again (tinygrad_dl/_malloc.py); TINYGRAD_DL_TUNE_MALLOC=0 leaves malloc alone. Each case runs in a fresh
interpreter: the setting is process-wide and cannot be undone."""
import os
import subprocess
import sys

import pytest

from tinygrad_dl import _malloc

ON_GLIBC = (_malloc.glibc_version() or "").startswith("glibc")

# Allocate and free four 800 kB arrays 20 times, as a training step does with its buffers; print the page
# faults per round and whether the import tuned malloc.
_FAULTS = """
import resource
import numpy as np
import tinygrad_dl

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

for _ in range(3):
    arrays = [np.ones(100_000) for _ in range(4)]
    del arrays
before = faults()
for _ in range(20):
    arrays = [np.ones(100_000) for _ in range(4)]
    del arrays
print(tinygrad_dl._malloc.applied, (faults() - before) / 20)
"""


def _run(code, setting=None):
    env = dict(os.environ)
    env.pop(_malloc.ENVIRONMENT_VARIABLE, None)
    if setting is not None:
        env[_malloc.ENVIRONMENT_VARIABLE] = setting
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(not ON_GLIBC, reason="malloc is tuned on glibc only")
def test_import_makes_freed_buffers_reusable_without_page_faults():
    done = _run(_FAULTS)
    assert done.returncode == 0, done.stderr
    applied, faults = done.stdout.split()
    assert applied == "True"
    assert float(faults) < 20  # 0 here; 750 a round (every page of every array) with glibc's defaults


@pytest.mark.skipif(not ON_GLIBC, reason="malloc is tuned on glibc only")
@pytest.mark.parametrize("setting", ["0", "off", " False "])
def test_the_environment_variable_leaves_malloc_alone(setting):
    done = _run(_FAULTS, setting)
    assert done.returncode == 0, done.stderr
    applied, faults = done.stdout.split()
    assert applied == "False"
    assert float(faults) > 100  # glibc's defaults: the freed arrays go back to the kernel


@pytest.mark.parametrize("setting", ["1", "on", "", "TRUE"])
def test_values_that_keep_the_default(setting):
    done = _run("import tinygrad_dl; print(tinygrad_dl._malloc.applied)", setting)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(ON_GLIBC)


@pytest.mark.parametrize("setting", ["maybe", "2", "-1"])
def test_an_unreadable_value_is_a_clear_error(setting):
    done = _run("import tinygrad_dl", setting)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ValueError: TINYGRAD_DL_TUNE_MALLOC=") and repr(setting) in last and "use 0" in last


def test_thresholds_are_glibcs_own_maxima():
    assert _malloc.MMAP_THRESHOLD == 32 * 2 ** 20 and _malloc.TRIM_THRESHOLD == 2 * _malloc.MMAP_THRESHOLD


@pytest.mark.parametrize("version", [None, "musl 1.2", ""])
def test_other_c_libraries_are_left_alone(monkeypatch, version):
    monkeypatch.setattr(_malloc, "glibc_version", lambda: version)
    monkeypatch.setattr(_malloc, "applied", "untouched")
    assert _malloc.tune_malloc() is False and _malloc.applied == "untouched"


def test_a_python_without_ctypes_is_left_alone(monkeypatch):
    monkeypatch.setattr(_malloc, "glibc_version", lambda: "glibc 2.36")
    monkeypatch.setitem(sys.modules, "ctypes", None)  # `import ctypes` now raises ImportError
    monkeypatch.setattr(_malloc, "applied", "untouched")
    assert _malloc.tune_malloc() is False and _malloc.applied == "untouched"
