"""The Makefile's knobs reach the commands, and each target writes where it says (`make -n`)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kvbench.catalog.experiments import EXPERIMENTS, MAIN

ROOT = Path(__file__).resolve().parents[1]
KNOBS = ("RUN", "TRIALS", "DURATION", "WARMUP", "LATENCY_WINDOW", "CONNECTIONS", "CONCURRENCY")
KNOBS += ("GATE_PCT", "BASE", "FRACTION")
pytestmark = pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")


def dry_run(*argv: str) -> list[str]:
    """The command lines `make` would run; the venv is taken as installed."""
    # Under `make test TRIALS=...`: neither the outer make's flags nor its variables.
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", *KNOBS}
    env = {k: v for k, v in os.environ.items() if k not in outer}
    done = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    joined = done.stdout.replace("\\\n", " ")  # continuation lines make one command
    return [" ".join(line.split()) for line in joined.splitlines()]


def test_a_short_run_of_the_real_thing_passes_every_setting():
    argv = ["TRIALS=2", "DURATION=1.5", "WARMUP=0.5", "LATENCY_WINDOW=1", "CONNECTIONS=16"]
    (line,) = dry_run("bench", *argv)
    assert line == (
        ".venv/bin/kvbench bench --trials 2 --duration 1.5 --warmup 0.5 --latency-window 1 "
        "--connections 16"
    )


def test_the_old_concurrency_name_still_sets_the_connections():
    (line,) = dry_run("bench", "CONCURRENCY=16")
    assert line == ".venv/bin/kvbench bench --connections 16"


def test_gate_compares_with_the_given_revision():
    assert dry_run("gate", "BASE=HEAD~1") == [".venv/bin/kvbench gate --base HEAD~1"]


def test_the_defaults_are_the_commands_own():
    assert dry_run("bench") == [".venv/bin/kvbench bench"]
    assert dry_run("compare") == [".venv/bin/python scripts/compare.py"]
    assert dry_run("profile") == [".venv/bin/kvbench run profiles"]
    assert dry_run("bench-peers") == [".venv/bin/kvbench run peers"]


def test_run_picks_the_folder_for_every_target():
    assert dry_run("bench", "RUN=mine") == [".venv/bin/kvbench bench --run mine"]
    assert dry_run("compare", "RUN=mine") == [".venv/bin/python scripts/compare.py --run mine"]
    assert dry_run("report", "RUN=mine") == [".venv/bin/kvbench report bench-results/runs/mine"]
    (ladder,) = dry_run("bench-ladder", "RUN=mine", "TRIALS=3")
    assert ladder == ".venv/bin/kvbench run ladder --run mine --trials 3"
    assert dry_run("bench-peers", "RUN=mine", "TRIALS=1") == [
        ".venv/bin/kvbench run peers --run mine --trials 1"
    ]


def test_every_experiment_of_the_catalogue_starts_as_kvbench_run():
    for item in EXPERIMENTS:
        (line,) = dry_run(item.target, "RUN=mine")
        # main's one step, as it is; `make soak` takes its own DURATION (30m) and FRACTION,
        # and `kvbench run soak` (what `make remeasure` runs) is its committed shape.
        command = {MAIN.name: "bench", "soak": "soak"}.get(item.name, f"run {item.name}")
        assert line.startswith(f".venv/bin/kvbench {command} "), line
        assert "--run mine" in line


def test_remeasure_says_its_plan_only_when_dry():
    assert dry_run("remeasure", "DRY=1") == [".venv/bin/kvbench remeasure --dry-run"]
    assert dry_run("remeasure", "RUN=mine") == [".venv/bin/kvbench remeasure --run mine"]


def test_promote_copies_the_latest_run_by_default_then_regenerates_the_docs():
    assert dry_run("promote") == [
        ".venv/bin/kvbench promote latest",
        ".venv/bin/kvbench docs",
    ]
    assert dry_run("promote", "RUN=20261127T101500Z")[0].endswith("promote 20261127T101500Z")


def test_the_gate_compares_its_own_run_with_the_reference():
    bench, compare = dry_run("bench-check", "TRIALS=3")
    assert bench == ".venv/bin/kvbench bench --trials 6 --trials 3"  # the last one wins
    assert compare.endswith("bench-results bench-results/runs/latest")


def test_nothing_but_promote_and_docs_writes_into_the_reference():
    targets = ["bench", "bench-quick", "bench-ladder", "bench-peers", "profile", "report"]
    for target in targets:
        for line in dry_run(target):
            assert "--out" not in line, line
            assert "bench-results " not in f"{line} " or "runs/" in line, line


def test_soak_takes_its_length_from_duration():
    assert dry_run("soak") == [".venv/bin/kvbench soak --duration 10m"]
    (line,) = dry_run("soak", "DURATION=90s", "FRACTION=0.5", "RUN=mine")
    assert line == ".venv/bin/kvbench soak --duration 90s --fraction 0.5 --run mine"
