# dspic-book: two commands.
#   make book   execute every chapter (PROFILE=cpu by default) and render book/_build/html
#   make test   unit tests, nbval on the committed notebooks, pairing check, smoke book build
# Every target is idempotent; the venv is (re)installed only when pyproject.toml changes.

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
PROFILE ?= cpu
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: install book test test-all reference bench clean help

help:
	@echo "make book [PROFILE=cpu|smoke|paper]   execute the chapters and build the HTML book"
	@echo "make test                            unit tests + nbval + pairing check + smoke book build"
	@echo "make test-all                        make test, plus the tests marked slow"
	@echo "make reference                       re-execute notebooks/*.py under smoke into notebooks/*.ipynb"
	@echo "make bench                           performance benchmarks (prints figures, never fails on speed)"
	@echo "make clean                           remove the built book, executed notebooks and caches"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $(STAMP)

book: install
	$(BIN)/dspic book --profile $(PROFILE)
	@echo "Open $(CURDIR)/book/_build/html/index.html"

test: install
	$(BIN)/dspic book --profile smoke
	$(BIN)/python -m pytest -m "not slow" tests notebooks --nbval-lax -p no:cacheprovider

test-all: install
	$(BIN)/dspic book --profile smoke
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

reference: install
	$(BIN)/dspic book --store-reference

bench: install
	@for b in bench/bench_*.py; do [ -f "$$b" ] && $(BIN)/python "$$b"; done; true

clean:
	rm -rf book/_build book/executed .pytest_cache
