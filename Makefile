# Two commands matter: `make run` and `make test`. Everything they need is set up on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

.PHONY: run test install worker lint bench clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start everything: embedded Redis, worker, cron, web server; migrate and seed on first start.
run: install
	$(BIN)/python -m crm.embedded

## The whole suite, browser tests included when Chromium is installed.
test: install
	@if [ -n "$(CHROMIUM)" ]; then \
		CHROMIUM_PATH="$(CHROMIUM)" $(BIN)/python -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "Chromium was not found, and under CI the browser tests must run. Install it: apt-get install chromium"; \
		exit 1; \
	else \
		echo "NOTE: Chromium was not found, so the browser tests in tests/e2e are NOT run."; \
		echo "      Install it (apt-get install chromium) to run them."; \
		$(BIN)/python -m pytest --ignore=tests/e2e $(PYTEST_ARGS); \
	fi

## A worker against REDIS_URL/DATABASE_URL (production-style; `make run` starts its own).
worker: install
	$(BIN)/python worker.py

lint: install
	$(BIN)/ruff check crm tests worker.py app.py bench

bench: install
	@ls bench/*.py | while read script; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
