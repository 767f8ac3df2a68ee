# Two commands matter: `make demo` and `make test`. Both bootstrap everything they need
# from python3 alone: uv goes into .tools/, the locked dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DEMO_DATE ?= 2026-11-20
# weeks of history make demo runs, one social_ingest and one signals run each
DEMO_WEEKS ?= 5
# pytest-xdist workers for make test (the stack tests share one); 1 runs the suite serially
TEST_WORKERS ?= 2

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export RADAR_DATA_DIR ?= $(CURDIR)/data

.PHONY: setup demo screenshots test lint format report bench bench-ingest bench-transforms bench-lake bench-extract bench-demo bench-campaigns synthetic clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --inexact --python $(PYTHON)
	touch $@

# dlt, for the ingest benchmark's comparison (and its tiny run in the tests) only
$(VENV)/.synced-bench: $(VENV)/.synced
	$(UV) sync --frozen --inexact --group bench --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

## run the DAGs over DEMO_WEEKS weeks up to DEMO_DATE, the bundled feed's day aged back into
## a history: per week social_ingest, then signals as of the week's end, as the asset would;
## then print the candidates
demo: setup
	@$(BIN)/python -m ops.demo --date $(DEMO_DATE) --weeks $(DEMO_WEEKS)

## the README's screenshots (docs/img/) from the HTML report make demo wrote (Debian chromium)
screenshots: setup
	$(BIN)/python -m ops.report_screenshots \
		$(RADAR_DATA_DIR)/exports/candidates-$(shell date -d '$(DEMO_DATE) + 1 day' +%F).html \
		--out docs/img

## the candidates again, without re-running anything (radar report --help: --as-of, --top)
report: setup
	$(BIN)/radar report

## install everything and run the whole test suite
test: $(VENV)/.synced-bench
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql/
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

## every benchmark at full size (about 70 minutes, 17 GB of disk); appends to docs/benchmarks.md
bench: bench-ingest bench-transforms bench-extract bench-demo bench-lake bench-campaigns

## ingest at 0.5 M and 5 M Mastodon posts: read_json floor, same-work floor, ours, dlt (0.5 M)
bench-ingest: $(VENV)/.synced-bench
	$(BIN)/python -m bench.ingest_bench --posts 500000 5000000 --dlt-max-posts 500000 --repeat 2 \
		--append-to docs/benchmarks.md

## transform benchmark at 0.5 M and 5 M posts (a few minutes)
bench-transforms: setup
	$(BIN)/python -m bench.transforms_bench --posts 500000 --days 365 --accounts 2000 \
		--append-to docs/benchmarks.md
	$(BIN)/python -m bench.transforms_bench --posts 5000000 --days 365 --accounts 20000 \
		--append-to docs/benchmarks.md

## the DuckDB file against a DuckLake (catalog in a Postgres the benchmark starts on 127.0.0.1
## and stops): full rebuild and incremental days at 5 M posts side by side, then lake load
## throughput with 1, 2 and 4 concurrent loaders at 0.5 M, every load checked against the
## file's serial one: fails when one differs (about 15 minutes on a quiet machine)
bench-lake: setup
	$(BIN)/python -m bench.transforms_bench --posts 5000000 --days 365 --accounts 20000 \
		--backend both --append-to docs/benchmarks.md
	$(BIN)/python -m bench.lake_load_bench --posts 500000 --loaders 1 2 4 --repeat 3 \
		--append-to docs/benchmarks.md

## extraction against a rate-limited loopback Mastodon: utilisation and 429s
bench-extract: setup
	$(BIN)/python -m bench.extract_bench --append-to docs/benchmarks.md

## campaign exports (1 M Shopify orders, 10 M short-link clicks, 100 campaigns; generated once
## into data/bench) landed, loaded and attributed, against DuckDB's own read_csv of the same
## files; fails when a creator's orders, revenue or clicks differ from the planted truth
bench-campaigns: setup
	$(BIN)/python -m bench.campaign_bench --orders 1000000 --clicks 10000000 --repeat 2 \
		--append-to docs/benchmarks.md

## the README's main command after setup
bench-demo: setup
	$(BIN)/python -m bench.demo_bench --runs 3 --append-to docs/benchmarks.md

## a seeded synthetic world as a fixture feed (see docs/synthetic.md)
synthetic: setup
	$(BIN)/radar generate --seed 7 --accounts 2000 --days 90 --out data/synthetic

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql/

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) $(TOOLS) $(AIRFLOW_HOME) data

.PHONY: airflow airflow-celery airflow-stop
AIRFLOW_WORKERS ?= 2

## the real Airflow services on 127.0.0.1 with the LocalExecutor and a Postgres metadata DB;
## returns once healthy (state, logs, PIDs: .airflow/stack/)
airflow: setup
	$(BIN)/python -m ops.stack start local

## the same with a Redis broker and AIRFLOW_WORKERS Celery workers
airflow-celery: setup
	$(BIN)/python -m ops.stack start celery --workers $(AIRFLOW_WORKERS)

## stop what make airflow or make airflow-celery started
airflow-stop: setup
	$(BIN)/python -m ops.stack stop

.PHONY: airflow-lake airflow-celery-lake

## make airflow with the warehouse as a DuckLake: its catalog the database radar_lake on the
## stack's Postgres (a role and password of its own), its Parquet files in RADAR_DATA_DIR/lake;
## the banner says how to attach it as an analyst
airflow-lake: setup
	$(BIN)/python -m ops.stack start local --warehouse lake

## make airflow-celery on the DuckLake: each platform loads in its own task, side by side
airflow-celery-lake: setup
	$(BIN)/python -m ops.stack start celery --workers $(AIRFLOW_WORKERS) --warehouse lake

.PHONY: soak
RADAR_CRASH_KILLS ?= 500

## the crash test at length: RADAR_CRASH_KILLS SIGKILLs of loads and transforms (default
## 500, about 17 minutes; RADAR_CRASH_SEED picks other instants), then every table compared
## with an uninterrupted run's; prints its figures as a `crash test:` line
soak: setup
	RADAR_CRASH_KILLS=$(RADAR_CRASH_KILLS) $(BIN)/pytest -s -q tests/reliability/test_crash.py

.PHONY: replay-week

## a week on an unseen world (issue #21's acceptance at full size): five seeded worlds served
## by the live API emulator, seven days of niche_discovery → social_ingest → signals each
## through the live clients, judged against the planted truth; prints the table in
## docs/signals.md (about 5 minutes a seed)
replay-week: setup
	$(BIN)/python -m bench.replay_week --seeds 1 2 3 4 5
