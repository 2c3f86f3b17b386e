# Two commands for a fresh machine (Python >= 3.10 with its venv module):
#   make demo   - create .venv, install tinygrad_dl with the demo extras, run the course tour
#   make test   - create .venv, install tinygrad_dl with the test and demo extras, run the whole test suite
# PYTHON=python3.12 make test picks another interpreter; make clean removes .venv and the outputs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

# the venv itself, with a current pip (a fresh machine's pip may be too old for editable installs)
$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "tinygrad_dl needs Python >= 3.10; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.11 $(MAKECMDGOALS)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "could not create $(VENV): install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

# one stamp per set of extras, remade when the package's configuration changes
$(VENV)/.installed-demos: $(VENV)/.created setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[demos]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.created setup.cfg pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,demos]'
	touch $@

demo: $(VENV)/.installed-demos
	$(PY) -m demos tour

test: $(VENV)/.installed-test
	$(PY) -m pytest

bench: $(VENV)/.installed-demos
	$(PY) benchmarks/bench_core.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis build dist *.egg-info
