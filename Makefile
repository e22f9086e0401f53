# One entry point: `make demo` runs the demo city, `make test` runs every test. Both do their own set-up.
SHELL := /bin/bash
# uv from PATH, else a private copy in .tools/ (a venv, so no system pip policy gets in the way).
UV ?= $(shell command -v uv 2>/dev/null || echo "$(CURDIR)/.tools/bin/uv")
export UV
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
PEOPLE ?= 100000
# Arguments for `make yiwang`, e.g. make yiwang ARGS="audit status"
ARGS ?= --help

.PHONY: setup demo serve migrate yiwang audit-verify audit-status test test-sqlite test-pg lint bench browser clean backup restore setup-pg-client

# uv and the locked dependencies; Debian's chromium and CJK fonts for browser tests and PDFs.
setup:
	@[ -x "$(UV)" ] || ($(PYTHON) -m venv .tools && .tools/bin/pip install --quiet "uv==0.13.9")
	@$(UV) sync --frozen --quiet

browser:
	@bash scripts/install_browser.sh

demo: setup
	@$(UV) run --frozen yiwang demo --host $(HOST) --port $(PORT) --people $(PEOPLE)

# Serve an existing database (after `make demo` or `make migrate`) without rebuilding the demo city.
serve: setup
	@$(UV) run --frozen yiwang serve --host $(HOST) --port $(PORT)

migrate: setup
	@$(UV) run --frozen yiwang db upgrade

# Any `yiwang` command through the project's own uv: make yiwang ARGS="audit anchor"
yiwang: setup
	@$(UV) run --frozen yiwang $(ARGS)

# Prove the audit chain whole (exit 0) or name its first broken record (exit 1).
audit-verify: setup
	@$(UV) run --frozen yiwang audit verify --progress

audit-status: setup
	@$(UV) run --frozen yiwang audit status

lint: setup
	@$(UV) run --frozen ruff check src tests bench
	@$(UV) run --frozen ruff format --check src tests bench

# The whole suite on SQLite, then again on PostgreSQL when it is reachable (CI requires it).
test: setup browser
	@bash scripts/run_tests.sh

test-sqlite: setup
	@$(UV) run --frozen pytest -n 2 tests

bench: setup
	@bash scripts/install_bench_tools.sh
	@for b in bench/bench_*.py; do echo "== $$b"; $(UV) run --frozen python $$b || exit 1; done

# Backup of the configured database (YIWANG_DATABASE_URL) into var/backups/, with its manifest; restore
# one into the configured (empty) database and prove it: `make restore FILE=var/backups/yiwang-….db`.
# See docs/operations.md. FORCE=1 overwrites a database that has data (stop the server first).
setup-pg-client:
	@bash scripts/install_pg_client.sh

backup: setup setup-pg-client
	@$(UV) run --frozen yiwang backup $(if $(FILE),--to $(FILE),)

restore: setup setup-pg-client
	@test -n "$(FILE)" || (echo "用法：make restore FILE=<备份文件> [FORCE=1]" >&2; exit 2)
	@$(UV) run --frozen yiwang restore "$(FILE)" $(if $(FORCE),--force,)

clean:
	rm -rf .venv var yiwang.db yiwang.db-wal yiwang.db-shm
