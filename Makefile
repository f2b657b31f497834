# One target per user task; `make help` lists them. Every target bootstraps .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KVBENCH := $(VENV)/bin/kvbench
LOCK := requirements.lock

.DEFAULT_GOAL := help
.PHONY: help test test-fast test-system check format venv serve-unoptimized serve-optimized

help: ## list the targets, then the variables that shape a run
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'
	@echo "variables, e.g. make bench TRIALS=2:"
	@grep -hE '^## [A-Z_]+=' $(MAKEFILE_LIST) | sed 's/^## /  /'

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
lock: ## regenerate requirements.lock (3.11) and requirements-3.X.lock (3.12, 3.13) from pyproject.toml (UPGRADE=1: newer versions)
	@test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	printf 'pip\nsetuptools>=77\n' | $(LOCK_VENV)/bin/uv pip compile --quiet pyproject.toml - \
		--all-extras --generate-hashes $(LOCK_TARGET) $(if $(UPGRADE),--upgrade) \
		--custom-compile-command 'make lock' --output-file $(LOCK)
	sed -i '3i $(LOCK_NOTE)' $(LOCK)
	@for minor in $(OTHER_MINORS); do $(MAKE) --no-print-directory lock-minor MINOR=$$minor; done

# One lock per other minor version, requirements-3.X.lock, made the same way. A new one
# starts as a copy of requirements.lock, so it keeps the 3.11 lock's versions wherever they
# install on that Python (uv keeps the pins of the file it writes over).
OTHER_MINORS := 3.12 3.13
.PHONY: lock-minor
lock-minor:
	test -f requirements-$(MINOR).lock || cp $(LOCK) requirements-$(MINOR).lock
	printf 'pip\nsetuptools>=77\n' | $(LOCK_VENV)/bin/uv pip compile --quiet pyproject.toml - \
		--all-extras --generate-hashes --python-version $(MINOR) \
		--python-platform x86_64-manylinux_2_28 $(if $(UPGRADE),--upgrade) \
		--custom-compile-command 'make lock' --output-file requirements-$(MINOR).lock
	sed -i '3i \# Locked for CPython $(MINOR) on Linux x86_64 (glibc 2.28 or newer).' \
		requirements-$(MINOR).lock

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

# The suite in two tiers, by marker (pyproject.toml defines them; a test that starts a real
# server or a subprocess is `slow`). The unit tier runs on every core. The system tier starts
# real servers, valgrind and profilers, pinned to CPU 0 (servers) and CPU 1 (loads): two of
# them at a time share those two CPUs correctly, so it runs on two workers, an idle one taking
# queued tests from the busy one (they last from a second to two minutes); a test whose
# assertions read the wall clock (`timing`) runs alone, after the others.
UNIT_TESTS := -m "not slow and not timing"
SYSTEM_TESTS := -m "slow and not timing"
TIMING_TESTS := -m timing

test: check docs-check test-fast test-system ## lint, the docs check (docs-check), then both tiers of the suite

test-system: $(STAMP) ## the system tier: real servers, loads and profilers (two workers, then the timed tests alone)
	$(PY) -m pytest -n 2 --dist worksteal --durations=15 $(SYSTEM_TESTS)
	$(PY) -m pytest $(TIMING_TESTS)

# `make test-fast PY=/path/to/python3.X` runs them under that interpreter instead, in a venv
# of its own, .venv-3.X, made from its own lock the way .venv is (requirements.lock for 3.11).
# PY given on the command line names that interpreter; .venv's python stays $(VENV)/bin/python.
ifeq ($(origin PY),command line)
OTHER_PY := $(PY)
override PY := $(VENV)/bin/python
MINOR := $(shell $(OTHER_PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
OTHER_VENV := .venv-$(MINOR)
OTHER_LOCK := $(or $(wildcard requirements-$(MINOR).lock),$(LOCK))
OTHER_STAMP := $(OTHER_VENV)/.installed

$(OTHER_STAMP): pyproject.toml $(OTHER_LOCK)
	@test -n "$(MINOR)" || { echo "PY=$(OTHER_PY) is not a Python"; exit 1; }
	@test -x $(OTHER_VENV)/bin/python && test $@ -nt $(OTHER_LOCK) \
		|| $(OTHER_PY) -m venv --clear $(OTHER_VENV)
	awk '/^[^ #]/ { keep = /^pip==/ } keep' $(OTHER_LOCK) \
		| $(OTHER_VENV)/bin/python -m pip install --quiet --require-hashes -r /dev/stdin
	$(OTHER_VENV)/bin/python -m pip install --quiet --require-hashes -r $(OTHER_LOCK)
	PYTHONWARNINGS='ignore:Editable installation' $(OTHER_VENV)/bin/python \
		-m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

.PHONY: venv-other
venv-other: $(OTHER_STAMP) ## with PY=/path/to/python3.X: create or refresh .venv-3.X from its lock

test-fast: $(OTHER_STAMP)
	$(OTHER_VENV)/bin/python -m pytest -n auto $(UNIT_TESTS)
else
test-fast: $(STAMP) ## the unit tier, the edit-test loop: no real servers or timed loads, on every core (PY=... another Python)
	$(PY) -m pytest -n auto $(UNIT_TESTS)
endif

serve-unoptimized: $(STAMP) ## serve the naive service on :8000 (debug vars on 127.0.0.1:6060)
	$(KVBENCH) serve unoptimized

serve-optimized: $(STAMP) ## serve the optimized service on :8000 (debug vars on 127.0.0.1:6060)
	$(KVBENCH) serve optimized

# Where results go (kvbench/results/runs.py). bench-results/ holds the committed reference
# run, which the docs and reports quote; nothing but `make promote` writes into it. Each run
# of yours gets its own git-ignored folder, bench-results/runs/<UTC time>/, laid out like the
# reference, and bench-results/runs/latest points to the run written last. `make bench` starts
# a new run; bench-ladder, bench-peers and profile add their part (ladder/, peers/, profiles/)
# to the latest one; compare and report read the latest one. RUN picks another.
## RUN=NAME             the run folder: new, latest, or a run's name (default: new for bench, bench-quick and bench-check; latest for the rest)
## TRIALS=N             HTTP trials per service (bench targets, bench-peers)
## DURATION=S           closed-loop seconds per trial (bench targets); the load's length (soak: 90s, 10m, 1h)
## WARMUP=S             unrecorded warm-up seconds before each window (bench targets)
## LATENCY_WINDOW=S     open-loop seconds per trial, 0 skips latency (bench targets)
## CONNECTIONS=N        connections (bench targets, bench-peers; CONCURRENCY=N, the old name, still works)
RUN ?=
TRIALS ?=
DURATION ?=
WARMUP ?=
LATENCY_WINDOW ?=
CONCURRENCY ?=
CONNECTIONS ?= $(CONCURRENCY)
RUN_FLAG = $(if $(RUN),--run $(RUN))
BENCH_ARGS = $(strip $(RUN_FLAG) $(if $(TRIALS),--trials $(TRIALS)) \
	$(if $(DURATION),--duration $(DURATION)) $(if $(WARMUP),--warmup $(WARMUP)) \
	$(if $(LATENCY_WINDOW),--latency-window $(LATENCY_WINDOW)) \
	$(if $(CONNECTIONS),--connections $(CONNECTIONS)))
PEERS_ARGS = $(strip $(RUN_FLAG) $(if $(TRIALS),--trials $(TRIALS)) \
	$(if $(CONNECTIONS),--connections $(CONNECTIONS)))
PYTHONS_ARGS = $(strip $(RUN_FLAG) $(if $(TRIALS),--trials $(TRIALS)) \
	$(if $(DURATION),--duration $(DURATION)) $(if $(WARMUP),--warmup $(WARMUP)) \
	$(if $(LATENCY_WINDOW),--latency-window $(LATENCY_WINDOW)))

.PHONY: profile profile-ladder profile-stores
profile: $(STAMP) ## py-spy, scalene and memray profiles of both services into the latest run's profiles/
	$(KVBENCH) run profiles $(RUN_FLAG)

profile-ladder: $(STAMP) ## py-spy CPU views (flamegraph, speedscope) of every ladder rung into the latest run's profiles/
	$(KVBENCH) run ladder-profiles $(RUN_FLAG)

profile-stores: $(STAMP) ## py-spy CPU profiles of optimized on Redis, GET by GET and with MGET, into the latest run's profiles/
	$(KVBENCH) run store-profiles $(RUN_FLAG)

.PHONY: bench bench-quick bench-ladder bench-stores
bench: $(STAMP) ## the main job: benchmark both services into a new run folder (says how long at the start)
	$(KVBENCH) bench $(BENCH_ARGS)

bench-quick: $(STAMP) ## a smoke run: few trials with short windows, into a new run folder
	$(KVBENCH) bench --quick $(BENCH_ARGS)

bench-ladder: $(STAMP) ## measure every rung of the docs/04 ladder into the latest run's ladder/
	$(KVBENCH) run ladder $(BENCH_ARGS)

bench-stores: $(STAMP) ## memory vs Redis vs Redis+MGET, 1 and 2 workers, into the latest run's stores/ (needs redis-server)
	$(KVBENCH) run stores $(BENCH_ARGS)

# The measurements behind single claims of the docs, each into a part of the latest run.
# Every experiment starts as `kvbench run NAME`, its steps declared in
# kvbench/catalog/experiments.py (`kvbench run NAME --dry-run` prints them).
.PHONY: bench-crosscheck bench-proxy bench-put bench-hostile bench-schedule bench-writepath bench-pythons

bench-crosscheck: $(STAMP) ## wrk and the built-in generator alternating on the same servers, into the latest run's crosscheck/ (needs wrk)
	$(KVBENCH) run crosscheck $(BENCH_ARGS)

bench-proxy: $(STAMP) ## optimized with and without nginx in front, into the latest run's proxy/ (needs nginx)
	$(KVBENCH) run proxy $(BENCH_ARGS)

bench-put: $(STAMP) ## what a PUT and its body read cost in-process (pyperf), into the latest run's put/
	$(KVBENCH) run put $(RUN_FLAG)

bench-writepath: $(STAMP) ## the one-write rung (optimized) beside its predecessor (gcfreeze) and granian interleaved (10 trials), plus writes per answer (strace), into the latest run's writepath/
	$(KVBENCH) run writepath $(BENCH_ARGS)

## PYTHONS="3.11 3.12 3.13" the interpreters of bench-pythons, each found on PATH or under pyenv
PYTHONS ?= 3.11 3.12 3.13
bench-pythons: $(STAMP) ## both services and the bare-ASGI floor under each of PYTHONS, one interleaved run, into the latest run's pythons/ (about 15 min)
	$(KVBENCH) run pythons --with='--pythons "$(PYTHONS)"' $(PYTHONS_ARGS)

bench-schedule: $(STAMP) ## the open loop's lateness against its own schedule, measured where requests arrive, into the latest run's schedule/
	$(KVBENCH) run schedule $(RUN_FLAG)

bench-hostile: $(STAMP) ## slow and oversized clients against each served configuration, into the latest run's hostile/
	$(KVBENCH) run hostile $(RUN_FLAG)

# The soak (kvbench/soak/): optimized, 2 workers, durable Redis, hours under load and faults.
.PHONY: soak
## FRACTION=F           soak: the open loop's rate as a fraction of the capacity it measures first (default 0.8)
FRACTION ?=
soak: $(STAMP) ## optimized under 80% load with faults for DURATION (default 10m; 90s, 30m, 1h), checked, into the latest run's soak/ (needs redis-server)
	$(KVBENCH) soak --duration $(or $(DURATION),10m) $(if $(FRACTION),--fraction $(FRACTION)) $(RUN_FLAG)

# Compare, report and the regression gate (kvbench/results/compare.py, kvbench/report/bench.py).
.PHONY: compare report bench-check promote
# region gate-settings
# The gate's threshold must sit above this machine's run-to-run noise: two runs of the same
# code on a shared 2-core machine differ by several percent, and with enough trials the
# Mann-Whitney test calls even that drift significant, so a tighter gate fails at random.
# Override with `make bench-check GATE_PCT=15` on a noisier machine. The gate compares
# optimized relative to unoptimized measured in the same run (--relative-to): this machine
# runs 2x slower for minutes at a time, which an absolute comparison reads as a regression.
GATE_PCT ?= 10
# Per-request metrics only: per-trial totals (GC pause total, collections) scale with the
# trial length, which --quick shortens, and open-loop latencies, open-loop CPU per request
# and the achieved rate depend on the offered rate each run calibrates for itself; none of
# them compare across the runs. (Closed-loop CPU per request was 1/throughput: not gated.)
GATE_METRICS ?= asgi_instructions_per_op http_tps asgi_ns_per_op asgi_allocs_per_op \
	asgi_bytes_per_op micro_store_get_ns_per_op micro_encode_ns_per_op
# endregion gate-settings

compare: $(STAMP) ## benchstat style: your latest run's services, then the run beside the committed reference
	$(PY) scripts/compare.py $(RUN_FLAG)

report: $(STAMP) ## write REPORT.md with the tables and plots (PNG, SVG) into your latest run
	$(KVBENCH) report bench-results/runs/$(or $(RUN),latest)

# For maintainers: every committed experiment of kvbench/catalog/experiments.py re-measured
# into one new run (RUN names another, e.g. to resume), which then becomes the reference.
## DRY=1                make remeasure: print the plan and its estimate, measure nothing
## ONLY=a,b             make remeasure: only these experiments (the rest keep their results)
DRY ?=
.PHONY: remeasure
remeasure: $(STAMP) ## maintainers: re-run every committed experiment into one new run, promote it, regenerate the docs (says how long first; DRY=1 the plan only)
	$(KVBENCH) remeasure $(if $(DRY),--dry-run) $(if $(ONLY),--only $(ONLY)) $(RUN_FLAG)

# For maintainers: a run becomes the reference, and the reports and docs follow it.
promote: $(STAMP) ## maintainers: copy a run (RUN, default latest) into bench-results/, regenerate reports and docs
	$(KVBENCH) promote $(or $(RUN),latest)
	$(KVBENCH) docs

# region gate
# The check runs the committed run's windows with fewer trials: a --quick run's shorter
# windows change the ratio itself (the naive service never warms up in 1.5 s). It is timed,
# so for a quiet machine only; a shared CI runner gates on counts instead (make gate).
bench-check: $(STAMP) ## timed, quiet machines only: a 6-trial bench, then the compare gate against the reference (exit 1 regression, 3 inconclusive)
	$(KVBENCH) bench --trials 6 $(BENCH_ARGS)
	$(PY) scripts/compare.py --service optimized --relative-to unoptimized \
		--fail-on-regression $(GATE_PCT) \
		$(addprefix --metric ,$(GATE_METRICS)) bench-results bench-results/runs/latest

# The count gate (docs/11): instructions and allocations per request, which a busy machine
# does not move, at BASE (a temporary git worktree) and in the working tree.
## BASE=REV             the revision `make gate` compares with, e.g. origin/main or HEAD~1
BASE ?=
.PHONY: gate
gate: $(STAMP) ## fail if instructions or allocations per request grew > 2% since BASE (CI-safe: counts, not times)
	$(if $(BASE),,$(error make gate needs BASE=REV, e.g. make gate BASE=HEAD~1))$(KVBENCH) gate --base $(BASE)
# endregion gate

# The docs' generated blocks (kvbench/docgen/generate.py): tables, numbers and snippets between markers.
.PHONY: docs docs-check
docs: $(STAMP) ## regenerate every table, number and snippet in docs/ and README.md from the reference
	$(KVBENCH) docs

docs-check: $(STAMP) ## fail if docs/ or README.md differ from the reference in bench-results/ and the sources
	$(KVBENCH) docs --check

# Peers, ceilings and scaling curves (kvbench/commands/peers.py, kvbench/measure/curves.py, peers/).
.PHONY: bench-peers
bench-peers: $(STAMP) ## the services beside a bare ASGI app, granian, FastAPI and two ceilings, plus scaling curves, into the latest run's peers/
	$(KVBENCH) run peers $(PEERS_ARGS)
