# Two commands set everything up on a fresh machine:
#   make run    the portal at http://127.0.0.1:8000 on an embedded SQLite database under ./var/
#   make test   every test: unit, integration (SQLite, and PostgreSQL when
#               TENANTRY_TEST_POSTGRES_URL is set) and the browser tests in Chromium
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed-app
TEST_STAMP := $(VENV)/.installed-test
# Two test processes (pytest-xdist) halve the suite's time on 2 cores; each has its own databases
# and its own browser-test server.
PYTEST_ARGS ?= -n auto --maxprocesses=4

.PHONY: run test lint format check-migrations chromium constraints bench clean

$(APP_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $@

$(TEST_STAMP): $(APP_STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

run: $(APP_STAMP)
	@mkdir -p var
	@export TENANTRY_ENV=$${TENANTRY_ENV:-development} \
		TENANTRY_PERMISSIONS_FILE=$${TENANTRY_PERMISSIONS_FILE-examples/permissions.toml} \
		TENANTRY_PLANS_FILE=$${TENANTRY_PLANS_FILE-examples/plans.toml}; \
		$(BIN)/tenantry migrate && $(BIN)/tenantry run

test: $(TEST_STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

# Playwright can't download browsers here: the tests drive Debian's Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# The migrations must produce exactly the tables the models describe.
check-migrations: $(APP_STAMP)
	@rm -rf var/check-migrations && mkdir -p var/check-migrations
	TENANTRY_ENV=development TENANTRY_DATABASE_URL=sqlite+aiosqlite:///./var/check-migrations/check.db \
		$(BIN)/tenantry check-migrations

constraints: $(TEST_STAMP)
	@(echo "# Exact versions used by \`make run\` and \`make test\`; regenerate with \`make constraints\`."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e') > constraints.txt

bench: $(TEST_STAMP)
	$(BIN)/python bench/org_pages.py
	$(BIN)/python bench/access.py
	$(BIN)/python bench/audit_log.py
	$(BIN)/python bench/api_check.py --backend sqlite

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
