# anchor-deploy console — the commands a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run serve shell provision test test-fast lint format bench bench-export bench-logs reliability chaos clean

setup: $(STAMP)

# requirements-dev.txt is production's requirements.txt plus the test, lint and benchmark tools.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip
	$(BIN)/pip install -qq -r requirements-dev.txt
	touch $(STAMP)

# The whole console on this machine: DynamoDB Local and moto's S3 on loopback, stage dev, demo
# data, a staff account, the dashboard on 127.0.0.1:8000. Ctrl-C stops everything it started.
run: setup
	DEBUG=true $(BIN)/python manage.py run_console $(ARGS)

# The production server: collectstatic, then gunicorn on $HOST:$PORT (127.0.0.1:8000), DEBUG
# off, static files from WhiteNoise. Needs SECRET_KEY and the environment README's Deploying names.
serve: setup
	DEBUG=false $(BIN)/python manage.py serve

# The support shell (`manage.py shell`, repository imported) on the local AWS of a running
# `make run` (start that first, in another terminal).
shell: setup
	DEBUG=true $(BIN)/python manage.py local_shell

# `provision --stage dev` on the local AWS of a running `make run`: ARGS="--check" (exit 0 in
# sync, 2 on drift, 1 on an error), ARGS="--dry-run" (the plan), ARGS="--check --json".
provision: setup
	DEBUG=true $(BIN)/python manage.py local_provision $(ARGS)

# ruff, then the architecture contracts of pyproject.toml (docs/architecture.md), then no
# production module over 500 lines (.ci/module_sizes.py).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/python .ci/module_sizes.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# lint, the scale benchmark's quick mode (its call and items-read counts are exact, so a page
# whose cost grows with the data fails the build; times are printed only), the whole suite.
test: setup lint
	$(BIN)/python -m benchmarks.scale --quick
	$(BIN)/pytest

# The quick loop while working (a few minutes, no lint): tests/unit and tests/integration on moto
# in-process only. Left to `make test`: the DynamoDB Local half of every ENGINES
# parametrisation (tests/conftest.py; marked `contract`), tests/contract, tests/e2e (browser),
# tests/reliability (faults, races, chaos) and the benchmark. ARGS are pytest's (ARGS=-x, -k ...).
test-fast: setup
	$(BIN)/pytest tests/unit tests/integration -m "not contract and not e2e" -q $(ARGS)

# Every dashboard page's DynamoDB calls, items read and time for projects of 1,000 and 100,000
# deployments on DynamoDB Local, beside its target (README "Performance"). ARGS=--quick for
# 1,000 and 10,000 (what `make test` runs), ARGS="--size 1000000" for a million.
bench: setup
	$(BIN)/python -m benchmarks.scale $(ARGS)

# The worker's peak memory while streaming a tenant export of 100,000 deployments as CSV
# (ARGS="--size 1000000" for a million, ARGS=--trace for Python's own allocation peak too).
bench-export: setup
	$(BIN)/python -m benchmarks.export $(ARGS)

# The log viewer on a 200 MB build log in moto's S3 server: bytes read and time to open line
# 1,000,000 by a permalink, by "go to line" and by "jump to first error" (benchmarks/logs.py).
bench-logs: setup
	$(BIN)/python -m benchmarks.logs $(ARGS)

# The fault, race and chaos suites at full size, printing each figure (make test runs them with
# smaller counts): lost answers, throttling, error pages, races and chaos on DynamoDB Local.
reliability: setup
	ANCHOR_RELIABILITY=full LOG_LEVEL=WARNING $(BIN)/pytest -s \
		tests/reliability tests/integration/test_error_pages.py

# The chaos run alone: 10,000+ operations under 30 % faults, ending with the anomaly table.
chaos: setup
	ANCHOR_RELIABILITY=full LOG_LEVEL=WARNING $(BIN)/pytest -s tests/reliability/test_chaos.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
