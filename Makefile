# dspic-book: two commands.
#   make book   execute every chapter (PROFILE=cpu by default) and render book/_build/html
#   make test   unit tests, nbval on the committed notebooks, pairing check, smoke book build
# Every target is idempotent; the venv is (re)installed only when pyproject.toml changes.

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
PROFILE ?= cpu
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test
LOCK    := requirements.lock
TLOCK   := requirements-test.lock
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: install install-test lock book test test-all reference bench linkcheck clean help

help:
	@echo "make book [PROFILE=cpu|smoke|paper]   execute the chapters and build the HTML book"
	@echo "make test                            unit tests + nbval + pairing check + smoke book build"
	@echo "make test-all                        make test, plus the tests marked slow"
	@echo "make reference                       re-execute notebooks/*.py under smoke into notebooks/*.ipynb"
	@echo "make bench                           performance benchmarks (prints figures, never fails on speed)"
	@echo "make linkcheck                       check the book's external links (skipped when offline)"
	@echo "make lock                            re-resolve the pins of pyproject.toml into the two lock files"
	@echo "make clean                           remove the built book, executed notebooks and caches"

install: $(STAMP)

# The venv holds exactly the locked environment: every package at the version of the lock, nothing else
# (pip-sync semantics with pip alone: install the lock, then the project without resolving again).
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	rm -f $(TSTAMP)
	touch $(STAMP)

install-test: $(TSTAMP)

$(TSTAMP): $(STAMP) $(TLOCK)
	$(BIN)/python -m pip install --quiet --no-deps -r $(TLOCK)
	$(BIN)/python -m pip check
	touch $(TSTAMP)

# Resolve pyproject.toml's pins (and everything they pull in) in fresh venvs and freeze them.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
	.lock-venv/bin/python -m pip install --quiet .
	.lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -e "^dspic-book" -e "^pip==" > $(LOCK)
	.lock-venv/bin/python -m pip install --quiet ".[test,cluster]"
	.lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -e "^dspic-book" -e "^pip==" > $(TLOCK)
	rm -rf .lock-venv
	@echo "wrote $(LOCK) ($$(wc -l < $(LOCK)) packages) and $(TLOCK) ($$(wc -l < $(TLOCK)) packages)"

book: install
	$(BIN)/dspic book --profile $(PROFILE)
	@echo "Open $(CURDIR)/book/_build/html/index.html"

test: install-test
	$(BIN)/ruff check .
	$(BIN)/vulture
	$(BIN)/dspic book --profile smoke
	$(BIN)/python -m pytest -m "not slow" tests notebooks --nbval-lax -p no:cacheprovider

test-all: install-test
	$(BIN)/ruff check .
	$(BIN)/vulture
	$(BIN)/dspic book --profile smoke
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

reference: install-test
	$(BIN)/dspic book --store-reference

bench: install-test
	@for b in bench/bench_*.py; do [ -f "$$b" ] && $(BIN)/python "$$b"; done; true

linkcheck: install
	bash book/linkcheck.sh

clean:
	rm -rf book/_build book/executed .pytest_cache
