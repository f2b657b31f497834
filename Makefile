# One target per user task; `make help` lists them. Every target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help test test-fast check format venv serve-unoptimized serve-optimized

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

# The venv is rebuilt whenever pyproject.toml is newer than the last install.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh the local .venv from pyproject.toml

check: $(STAMP) ## lint, format check (ruff) and type check (mypy, kvbench/)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: check docs-check ## lint, the docs check (docs-check), then the whole pytest suite
	$(PY) -m pytest

test-fast: $(STAMP) ## the edit-test loop: pytest without real servers or wall-clock-timed loads
	$(PY) -m pytest -m "not slow and not timing"

serve-unoptimized: $(STAMP) ## serve the naive service on :8000 (debug vars on 127.0.0.1:6060)
	$(PY) -m kvbench serve unoptimized

serve-optimized: $(STAMP) ## serve the optimized service on :8000 (debug vars on 127.0.0.1:6060)
	$(PY) -m kvbench serve optimized

.PHONY: profile profile-stores
profile: $(STAMP) ## py-spy, scalene and memray profiles of both services into bench-results/profiles/
	$(PY) -m kvbench profile unoptimized optimized

profile-stores: $(STAMP) ## py-spy CPU profiles of optimized on Redis, GET by GET and with MGET, into bench-results/profiles/
	$(PY) -m kvbench profile redis-1 redis-mget-1 --only cpu

.PHONY: bench bench-quick bench-ladder bench-stores
bench: $(STAMP) ## the main job: benchmark both services into bench-results/ (about 7 min)
	$(PY) -m kvbench bench

bench-quick: $(STAMP) ## a short benchmark (under 2 min) into bench-results/quick/
	$(PY) -m kvbench bench --quick

bench-ladder: $(STAMP) ## measure every rung of the docs/04 ladder into bench-results/ladder/ (about 12 min)
	$(PY) -m kvbench bench --ladder --layers asgi,http --latency-window 0 --out bench-results/ladder

bench-stores: $(STAMP) ## memory vs Redis vs Redis+MGET, 1 and 2 workers, into bench-results/stores/ (about 12 min; needs redis-server)
	$(PY) -m kvbench bench --stores --out bench-results/stores

# Compare, report and the regression gate (kvbench/results/compare.py, kvbench/report/bench.py).
.PHONY: compare report bench-check
# region gate-settings
# The gate's threshold must sit above this machine's run-to-run noise: two runs of the same
# code on a shared 2-core machine differ by several percent, and with enough trials the
# Mann-Whitney test calls even that drift significant, so a tighter gate fails at random.
# Override with `make bench-check GATE_PCT=15` on a noisier machine. The gate compares
# optimized relative to unoptimized measured in the same run (--relative-to): this machine
# runs 2x slower for minutes at a time, which an absolute comparison reads as a regression.
GATE_PCT ?= 10
# Per-request metrics only: per-trial totals (GC pause total, collections) scale with the
# trial length, which --quick shortens, and open-loop latencies and the achieved rate depend
# on the offered rate each run calibrates for itself; none of them compare across the runs.
GATE_METRICS ?= http_tps server_cpu_us_per_req asgi_ns_per_op asgi_allocs_per_op \
	asgi_bytes_per_op micro_store_get_ns_per_op micro_encode_ns_per_op
# endregion gate-settings

compare: $(STAMP) ## compare unoptimized with optimized in bench-results/, benchstat style
	$(PY) scripts/compare.py --old unoptimized --new optimized bench-results

report: $(STAMP) ## write bench-results/REPORT.md with the tables and plots (PNG, SVG)
	$(PY) -m kvbench report bench-results

# region gate
# The check runs the committed run's windows with fewer trials: a --quick run's shorter
# windows change the ratio itself (the naive service never warms up in 1.5 s).
bench-check: $(STAMP) ## a 6-trial bench (about 5 min), then fail if optimized got > GATE_PCT% worse
	$(PY) -m kvbench bench --trials 6 --out bench-results/quick
	$(PY) scripts/compare.py --service optimized --relative-to unoptimized \
		--fail-on-regression $(GATE_PCT) \
		$(addprefix --metric ,$(GATE_METRICS)) bench-results bench-results/quick
# endregion gate

# The docs' generated blocks (kvbench/docgen/generate.py): tables, numbers and snippets between markers.
.PHONY: docs docs-check
docs: $(STAMP) ## regenerate every table, number and snippet in docs/ and README.md
	$(PY) -m kvbench docs

docs-check: $(STAMP) ## fail if docs/ or README.md differ from bench-results/ and the sources
	$(PY) -m kvbench docs --check

# Peers, ceilings and scaling curves (kvbench/commands/peers.py, kvbench/measure/curves.py, peers/).
.PHONY: bench-peers
bench-peers: $(STAMP) ## the services beside a bare ASGI app, granian, FastAPI and two ceilings, plus scaling curves (about 13 min)
	$(PY) -m kvbench peers --out bench-results/peers
