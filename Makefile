# One target per user task; `make help` lists them. Every target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.DEFAULT_GOAL := help
.PHONY: help test test-fast check format venv serve-unoptimized serve-optimized

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

# The venv is exactly the lock: created afresh from it whenever the lock changes (the
# locked pip first, which installs the rest in a third less time than the venv's own), then
# the project itself without dependencies, again whenever pyproject.toml changes. The lock
# brings the setuptools that builds the project, so nothing unhashed is downloaded.
# setuptools notes every editable install of a flat layout ("folders in your working
# directory ... may take precedence"): here that is the point, so the note is filtered.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) && test $(STAMP) -nt $(LOCK) || $(PYTHON) -m venv --clear $(VENV)
	awk '/^[^ #]/ { keep = /^pip==/ } keep' $(LOCK) \
		| $(PY) -m pip install --quiet --require-hashes -r /dev/stdin
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	PYTHONWARNINGS='ignore:Editable installation' \
		$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh the local .venv from requirements.lock

# The lock: exact versions and hashes of every dependency and extra in pyproject.toml, plus
# pip and setuptools, for CPython 3.11 on Linux x86_64. Pins already in the lock are kept
# (the committed results were measured on them); `make lock UPGRADE=1` moves all to the newest.
# uv, pinned, lives in its own .venv-lock so that .venv holds the lock and nothing else.
UV_VERSION := 0.13.9
LOCK_VENV := .venv-lock
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-manylinux_2_28
LOCK_NOTE := \# Locked for CPython 3.11 on Linux x86_64 (glibc 2.28 or newer).

.PHONY: lock lock-check
lock: ## regenerate requirements.lock from pyproject.toml (UPGRADE=1 to take newer versions)
	@test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	printf 'pip\nsetuptools>=77\n' | $(LOCK_VENV)/bin/uv pip compile --quiet pyproject.toml - \
		--all-extras --generate-hashes $(LOCK_TARGET) $(if $(UPGRADE),--upgrade) \
		--custom-compile-command 'make lock' --output-file $(LOCK)
	sed -i '3i $(LOCK_NOTE)' $(LOCK)

# Names as pip normalizes them (Jinja2 -> jinja2, pydantic_core -> pydantic-core), sorted.
NORMALIZE := awk -F'==' '{ name = tolower($$1); gsub(/[-_.]+/, "-", name); print name "==" $$2 }' | sort

lock-check: $(STAMP) ## fail unless the packages in .venv are exactly those requirements.lock pins
	$(PY) -m pip freeze --all --exclude-editable | $(NORMALIZE) > $(VENV)/installed.txt
	grep -oE '^[A-Za-z0-9][^ =]*==[^ ]+' $(LOCK) | $(NORMALIZE) \
		| diff -u --label .venv --label $(LOCK) $(VENV)/installed.txt -

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

.PHONY: profile profile-ladder
profile: $(STAMP) ## py-spy, scalene and memray profiles of both services into bench-results/profiles/
	$(PY) -m kvbench profile unoptimized optimized

profile-ladder: $(STAMP) ## py-spy CPU views (flamegraph, speedscope) of every ladder rung into bench-results/profiles/ (about 7 min)
	$(PY) -m kvbench profile --ladder

.PHONY: bench bench-quick bench-ladder
bench: $(STAMP) ## the main job: benchmark both services into bench-results/ (about 8 min)
	$(PY) -m kvbench bench

bench-quick: $(STAMP) ## a short benchmark (under 2 min) into bench-results/quick/
	$(PY) -m kvbench bench --quick

bench-ladder: $(STAMP) ## measure every rung of the docs/04 ladder into bench-results/ladder/ (about 22 min)
	$(PY) -m kvbench bench --ladder --layers asgi,instructions,http --latency-window 0 --out bench-results/ladder

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
