# Two entry points: `make demo` and `make test`. Both create .venv when missing and install
# the project from its own files; nothing is expected to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OFFICIAL_VENV := .venv-official
OFFICIAL_VERSION := 2.11.2

.PHONY: demo test lint install official clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev]'
	touch $@

install: $(VENV)/.installed

# The official client lives in its own venv: its import name clashes with ours.
$(OFFICIAL_VENV)/.installed:
	test -x $(OFFICIAL_VENV)/bin/python || $(PYTHON) -m venv $(OFFICIAL_VENV)
	$(OFFICIAL_VENV)/bin/python -m pip install --quiet sevenbridges-python==$(OFFICIAL_VERSION)
	touch $@

official: $(OFFICIAL_VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .

test: install official lint
	SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest

demo: install
	$(VENV)/bin/sbg demo

clean:
	rm -rf $(VENV) $(OFFICIAL_VENV) .pytest_cache .ruff_cache *.egg-info
