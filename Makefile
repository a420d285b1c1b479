# The project's verbs. `make test` and `make demo` work from a fresh clone with only
# Python 3.11 and make: both install what they need into .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated lint typecheck pytest test demo bench spec-diff clean

install: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required (found $(PYTHON))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

generate: $(STAMP)
	$(PY) scripts/generate.py

check-generated: $(STAMP)
	$(PY) scripts/generate.py --check

lint: $(STAMP)
	$(VENV)/bin/ruff check --no-cache .
	$(VENV)/bin/ruff format --no-cache --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest

test: lint typecheck check-generated pytest

demo: $(STAMP)
	$(PY) -m monite_async.demo

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache
