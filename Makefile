# Two entry points for a fresh clone: `make demo` and `make test`.
# Both create .venv and install what they need; nothing else is assumed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP_BASE := $(VENV)/.installed-base
STAMP_DEV  := $(VENV)/.installed-dev

.PHONY: demo test check lint typecheck fmt clean help

help:
	@echo "make demo   - build, run locally and benchmark the bundled MNIST function (no TensorFlow)"
	@echo "make test   - lint, type-check and run the whole test suite (what CI runs: .ci/run;"
	@echo "              installs TensorFlow into .venv)"
	@echo "make check  - the same as make test"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The demo needs only the slim runtime set: no TensorFlow.
$(STAMP_BASE): pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	@touch $@

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[tf,dev,compile]'
	@# awslambdaric for other Lambda Pythons found here (pyenv), so python3.12+ functions run
	@# under their own Python locally; skipped where none is installed. Where qemu-user is
	@# installed (.ci/run does), also the arm64 userland for emulated python3.13 arm64 runs.
	$(PY) -m lambdalite.local.provision
	@touch $(STAMP_BASE) $@

demo: $(STAMP_BASE)
	$(PY) -m lambdalite.examples.demo

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check lambdalite tests tools

typecheck: $(STAMP_DEV)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tools

# What .ci/run calls: lint and types first (seconds), then the suite in TEST_WORKERS
# processes (pytest-xdist; a test file stays in one process, so its module fixtures are made
# once). Most tests wait on a child process or a pip run for part of their time: two workers
# on 2 cores took pytest from 1139 to 546 s here (fresh clones, caches cold, the same code
# otherwise). TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2
test: $(STAMP_DEV) lint typecheck
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

check: test

fmt: $(STAMP_DEV)
	$(VENV)/bin/ruff check --fix lambdalite tests tools
	$(VENV)/bin/ruff format lambdalite tests tools

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
