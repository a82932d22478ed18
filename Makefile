# pprofx developer entry points. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# speedscope's JSON schema, for tests/report/test_flame_exports.py only: taken from its npm
# package into the git-ignored .cache/ (never committed). A failed fetch only skips those
# tests locally; under CI=true they fail.
SPEEDSCOPE_VERSION ?= 1.25.0
SPEEDSCOPE_SCHEMA  := .cache/speedscope-$(SPEEDSCOPE_VERSION)/file-format-schema.json
PYENV_ROOT ?= $(HOME)/.pyenv
# Interpreters for the compatibility run of the core (pprofx.profile) tests.
COMPAT_VERSIONS ?= 3.9 3.13

.PHONY: demo test test-versions lint bench clean speedscope-schema

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,all,servers]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

speedscope-schema: $(SPEEDSCOPE_SCHEMA)

$(SPEEDSCOPE_SCHEMA):
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent speedscope@$(SPEEDSCOPE_VERSION) >/dev/null \
	  && tar -xzf speedscope-$(SPEEDSCOPE_VERSION).tgz --strip-components=3 \
	       package/dist/release/file-format-schema.json \
	  && rm -f speedscope-$(SPEEDSCOPE_VERSION).tgz

test: $(STAMP)
	-$(MAKE) --no-print-directory speedscope-schema
	$(BIN)/python -m pytest -q

# Runs the agent tests (tests/profile, tests/runtime) under each of COMPAT_VERSIONS from pyenv,
# each in its own venv (.venv-3.9, …); the tests cover both wire decoders.
test-versions:
	@set -e; for v in $(COMPAT_VERSIONS); do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null | sort -V | tail -n 1); \
	  if [ -z "$$py" ]; then echo "Python $$v not found under $(PYENV_ROOT)/versions"; exit 1; fi; \
	  venv=.venv-$$v; \
	  test -x $$venv/bin/python || $$py -m venv $$venv; \
	  $$venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'; \
	  echo "== Python $$v: tests/profile tests/runtime"; \
	  $$venv/bin/python -m pytest -q tests/profile tests/runtime; \
	done

lint: $(STAMP)
	$(BIN)/ruff check pprofx tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/decode.py

clean:
	rm -rf build dist *.egg-info pprofx/profile/*.so
