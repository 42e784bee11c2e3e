# CivicDesk: `make run` serves the demo on the embedded default; `make test` runs every gate.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# In CI, PostgreSQL and Redis run on this machine and must be used.
ifeq ($(CI),true)
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL
endif

.PHONY: run setup test lint types contracts migrations-check unit-sqlite unit-postgres browser-deps imap-deps messages demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/civicdesk migrate --no-input
	$(BIN)/civicdesk demo
	$(BIN)/civicdesk serve --host 127.0.0.1 --port 8000

demo: setup
	$(BIN)/civicdesk migrate --no-input
	$(BIN)/civicdesk demo

browser-deps:
	@scripts/ensure-browser

# The IMAP tests start Debian's Dovecot on loopback (skipped without it, except in CI).
imap-deps:
	@scripts/ensure-dovecot

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

types: setup
	$(BIN)/mypy civicdesk config tests conftest.py

contracts: setup
	$(BIN)/lint-imports

migrations-check: setup
	env -u DATABASE_URL $(BIN)/civicdesk makemigrations --check --dry-run

unit-sqlite: setup browser-deps imap-deps
	env -u DATABASE_URL $(BIN)/pytest

unit-postgres: setup imap-deps
	@if [ -n "$(DATABASE_URL)" ]; then \
		echo "== PostgreSQL: $(DATABASE_URL)"; \
		DATABASE_URL="$(DATABASE_URL)" $(BIN)/pytest -m "not browser"; \
	else echo "== DATABASE_URL not set: PostgreSQL run skipped (CI sets it)"; fi

test: setup lint types contracts migrations-check unit-sqlite unit-postgres

messages: setup
	cd civicdesk && ../$(BIN)/django-admin compilemessages --ignore '.venv'

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
