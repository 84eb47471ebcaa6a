# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The benchmarks' peers (Sling, dlt) live in a venv of their own: their pins never touch Airflow's.
BENCH_VENV := .venv-bench
UV ?= $(BIN)/uv
UV_VERSION := 0.13.8
DEMO_DIR ?= .local/demo
# Debian's Chromium for the browser tests and Playwright (its own browser download cannot work offline).
CHROMIUM := /usr/bin/chromium
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export SCARF_NO_ANALYTICS := true
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

.PHONY: install bench-install demo lint test test-scheduler clean

install: $(VENV)/.installed $(CHROMIUM)

$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo -E) apt-get install -y -qq chromium >/dev/null

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# bench/ingest.py's peers, from bench/requirements.txt (pinned, bench only). Needs only uv, not the
# product's install: `make bench-install UV=/path/to/uv` uses another checkout's uv.
bench-install: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: bench/requirements.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BENCH_VENV)
	$(UV) pip install --quiet --python $(BENCH_VENV)/bin/python -r bench/requirements.txt
	touch $@

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

demo: install
	$(BIN)/sinergi-sim demo --out $(DEMO_DIR)

# Errors and import order (ruff), and the direction of dependencies between packages (import-linter):
# both configured in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Two layers: tests/unit (no database, seconds) first, then tests/integration (PostgreSQL, dbt, Airflow).
test: install lint
	$(BIN)/python -m pytest tests/unit
	$(BIN)/python -m pytest tests/integration

# Each DAG run with dag.test() on a small world (the real scheduler, LocalExecutor and Celery, and every
# compose service's command are part of `make test`).
test-scheduler: install
	$(BIN)/python -m pytest -m scheduler

clean:
	rm -rf $(VENV) $(BENCH_VENV) .local .pytest_cache
