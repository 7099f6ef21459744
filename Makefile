# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint typecheck pytest services browser clean bench

run: $(STAMP)  ## start Temporal dev server + worker + web app with demo data
	$(BIN)/cityloop run

test: $(STAMP) services browser lint typecheck pytest  ## everything CI runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

# PostgreSQL proves the production database; start the machine's server if it is down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  { command -v pg_ctlcluster >/dev/null && \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start && sleep 2; } || \
	  echo "PostgreSQL is not reachable: its tests will be skipped"

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium could not be installed: browser tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy workflows activities api web core

pytest: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m bench.lifecycle

clean:
	rm -rf var .mypy_cache .ruff_cache
