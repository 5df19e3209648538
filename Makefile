# Telesales — two commands to start:  make demo  |  make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# Two workers by default (pytest-xdist): the suite is CPU-bound; PYTEST_ARGS= runs it serially.
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint check messages screenshots bench clean help

help:
	@echo "make demo         set up and serve the demo center on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test         set up and run the whole test suite (SQLite, or DATABASE_URL)"
	@echo "make lint         ruff, import contracts, Django checks, migrations check"
	@echo "make messages     compile the translations (no GNU gettext needed)"
	@echo "make screenshots  regenerate docs/screenshots from the demo center in Chromium"

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Telesales needs Python 3.11 or newer (PYTHON=$(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	@touch $@

$(VENV)/.installed: $(VENV)/.python-ok pyproject.toml
	$(PIP) install -e .
	@touch $@

$(VENV)/.test-installed: $(VENV)/.installed
	$(PIP) install -e '.[test]'
	@touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/telesales bootstrap
	$(VENV)/bin/telesales seed-demo
	$(VENV)/bin/telesales serve

test: $(VENV)/.test-installed
	@if [ ! -x /usr/bin/chromium ]; then $(PY) -m playwright install chromium; fi
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

messages: $(VENV)/.test-installed
	$(PY) scripts/compile_messages.py

screenshots: $(VENV)/.test-installed
	$(PY) scripts/screenshots.py

bench: $(VENV)/.installed
	$(VENV)/bin/telesales bench $(or $(NAME),list)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
