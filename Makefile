# Two entry points: `make demo` and `make test`. Both create .venv when missing and install
# the project from its own files; nothing is expected to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OFFICIAL_VENV := .venv-official
OFFICIAL_VERSION := 2.11.2
SBPACK_VENV := .venv-sbpack
SBPACK_VERSION := 2026.10.21

.PHONY: demo test test-s3 test-toil lint install official sbpack sandbox-tool clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,dev,toil]'
	touch $@

install: $(VENV)/.installed

# The official client lives in its own venv: its import name clashes with ours.
$(OFFICIAL_VENV)/.installed:
	test -x $(OFFICIAL_VENV)/bin/python || $(PYTHON) -m venv $(OFFICIAL_VENV)
	$(OFFICIAL_VENV)/bin/python -m pip install --quiet sevenbridges-python==$(OFFICIAL_VERSION)
	touch $@

official: $(OFFICIAL_VENV)/.installed

# sbpack and sbpull, the official tools that push and pull CWL apps: the HTTPS tests run them
# unchanged against `sbg local serve --tls` (tests/compat/test_tls_tools.py). Own venv: they
# bring their own sevenbridges-python.
$(SBPACK_VENV)/.installed:
	test -x $(SBPACK_VENV)/bin/python || $(PYTHON) -m venv $(SBPACK_VENV)
	$(SBPACK_VENV)/bin/python -m pip install --quiet sbpack==$(SBPACK_VERSION)
	touch $@

sbpack: $(SBPACK_VENV)/.installed

# Tasks run in a bubblewrap sandbox (see docs/security.md); the tests check that isolated path,
# so install it when it is missing and we may (root with apt-get), otherwise say so.
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (task isolation)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else \
	    echo "warning: bubblewrap (bwrap) is not installed: tasks will run without isolation;" \
	      "install it (sudo apt-get install bubblewrap)"; \
	  fi; }

lint: install
	$(VENV)/bin/ruff check .

test: install official sbpack sandbox-tool lint
	SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest

# The whole server suite with every platform's files in S3 (moto's server, started by the tests;
# see tests/storage_fixtures.py). `make test` runs only the storage slice on S3 (marker s3).
test-s3: install official sbpack sandbox-tool
	SBG_TEST_STORAGE=s3 SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest

# The Toil executor's long tests (a workflow with scatter, restarts, unsandboxed aborts); the
# default run has a small slice of them.
test-toil: install sandbox-tool
	SBG_TEST_TOIL=all $(VENV)/bin/pytest -m toil tests/local/test_execution_toil.py tests/local/test_draft2_toil.py

demo: install sandbox-tool
	$(VENV)/bin/sbg demo

clean:
	rm -rf $(VENV) $(OFFICIAL_VENV) $(SBPACK_VENV) .pytest_cache .ruff_cache *.egg-info
