# Two entry points: `make demo` and `make test`. Both create .venv when missing and install
# the project from its own files; nothing is expected to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
OFFICIAL_VENV := .venv-official
OFFICIAL_VERSION := 2.11.2
SBPACK_VENV := .venv-sbpack
SBPACK_VERSION := 2026.10.21

.PHONY: demo test test-s3 test-toil test-postgres test-scaled lint install official sbpack sandbox-tool postgres-server clean conformance

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

# The tests start a throw-away PostgreSQL cluster (initdb + pg_ctl, tests/pg_cluster.py): install
# the server when its binaries are missing and we may (root with apt-get), otherwise say so (the
# PostgreSQL runs then skip with the reason).
postgres-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql (the tests' database server)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; \
	  else \
	    echo "warning: PostgreSQL (initdb, pg_ctl) is not installed: its tests will be skipped;" \
	      "install it (sudo apt-get install postgresql)"; \
	  fi; }

lint: install
	$(VENV)/bin/ruff check .

# Two pytest-xdist workers, a whole test file at a time each (module fixtures and a file's order
# stay as written; each worker has its own session platform, clouds and temp dirs). Much of the
# suite waits on servers and subprocesses: on an idle 2-core machine two workers took the first
# pass from 17:46 to 11:26 (2026-12-01). On a machine already loaded by other work they can be
# slower: TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2

# The whole suite on SQLite, then the tests marked `postgres` (a database-dependent slice) again
# on PostgreSQL; the tests of PostgreSQL itself (test_postgres.py) run in that second pass only.
test: install official sbpack sandbox-tool postgres-server lint
	SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest \
	  -n $(TEST_WORKERS) --dist loadfile --ignore=tests/local/test_postgres.py -m "not scaled" \
	  --durations=15
	SBG_TEST_DATABASE=postgresql $(VENV)/bin/pytest -q -m postgres

# The whole suite with every platform on PostgreSQL (long: not part of `make test`).
test-postgres: install official sbpack sandbox-tool postgres-server
	SBG_TEST_DATABASE=postgresql SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python \
	  $(VENV)/bin/pytest

# The whole server suite with every platform's files in S3 (moto's server, started by the tests;
# see tests/storage_fixtures.py). `make test` runs only the storage slice on S3 (marker s3).
test-s3: install official sbpack sandbox-tool
	SBG_TEST_STORAGE=s3 SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest

# The Toil executor's long tests: the execution tests' Toil variants (test_execution.py runs each
# behaviour with cwltool and Toil), restarts from the job store, unsandboxed aborts, a task whose
# API process is killed; the default run has a small slice of them.
test-toil: install sandbox-tool
	SBG_TEST_TOIL=all $(VENV)/bin/pytest -m toil tests/local/test_execution.py \
	  tests/local/test_execution_toil.py tests/local/test_api_processes.py tests/local/test_draft2_toil.py \
	  tests/local/test_task_priority.py

# Every scaled backend at once (issue 12): `sbg local serve --database postgresql://...
# --storage s3://... --s3-endpoint (moto) --executor toil --workers 2` runs the official client's
# compatibility script and the README quickstart (tests/e2e/test_scaled_backends.py, ~80 s).
test-scaled: install official sandbox-tool postgres-server
	SBG_OFFICIAL_PYTHON=$(CURDIR)/$(OFFICIAL_VENV)/bin/python $(VENV)/bin/pytest -m scaled \
	  tests/e2e/test_scaled_backends.py

# CWL conformance through the REST API (not part of `make test`; see docs/conformance.md):
#   make conformance TAGS=required            platform (embedded, started for the run)
#   make conformance ENGINE=cwltool-direct    plain cwltool on the same tests
SUITE ?= ../shared/cwl-v1.2
TAGS ?= required
ENGINE ?= platform
JOBS ?= 2
CONFORMANCE_ARGS ?=
conformance: install
	$(PY) -c 'import cwltest' 2>/dev/null || $(PY) -m pip install --quiet 'cwltest>=2.5'
	$(PY) tools/conformance.py --suite $(SUITE) --tags $(TAGS) --engine $(ENGINE) -j $(JOBS) \
	  $(CONFORMANCE_ARGS)

demo: install sandbox-tool
	$(VENV)/bin/sbg demo

clean:
	rm -rf $(VENV) $(OFFICIAL_VENV) $(SBPACK_VENV) .pytest_cache .ruff_cache *.egg-info
