# Two commands for a fresh machine:
#   make demo   - create .venv, install tinygrad_dl with the demo extras, run the course tour
#   make test   - create .venv, install tinygrad_dl with the test extras, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demos]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m demos tour

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_core.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis *.egg-info
