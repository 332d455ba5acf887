# Two commands do all the set-up on a fresh machine (see README):
#   make demo   - create .venv, install, run the default scenario
#   make test   - create .venv, install, run the test suite (what CI runs)
# GPU users: make TORCH="torch --index-url https://download.pytorch.org/whl/cu124" demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(TORCH)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# What only the test suite needs: Ray (the --ray test on a local ray.init) and ORCA's bindings
# (pyrvo declares a simulator GUI package as a dependency it does not import, hence --no-deps).
$(VENV)/.test-extras: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps 'pyrvo==0.4.3'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/robocoord run scenarios/amr_goto.yaml

test: $(VENV)/.test-extras
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.test-extras
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs results .pytest_cache
