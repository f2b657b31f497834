"""`kvbench remeasure`: every experiment into one run, the plan said first, then promoted."""

import argparse

import pytest

from kvbench import KvbenchError, cli
from kvbench.catalog.experiments import EXPERIMENTS
from kvbench.commands import remeasure
from kvbench.results import runs


def test_the_dry_run_lists_every_experiment_with_its_estimate(capsys, monkeypatch):
    monkeypatch.setattr(runs, "start", lambda *a: pytest.fail("a dry run made a run folder"))
    assert cli.main(["remeasure", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"remeasure: {len(EXPERIMENTS)} experiments into ")
    assert "then promoted: about " in lines[0]
    planned = [line.split(":")[0] for line in lines[1:] if not line.startswith(" ")]
    assert planned == [item.name for item in EXPERIMENTS]


def test_from_resumes_at_an_experiment_of_a_named_run():
    found = remeasure.plan("mine", EXPERIMENTS[3].name)
    assert [name for name, _ in found] == [item.name for item in EXPERIMENTS[3:]]
    assert cli.main(["remeasure", "--from", EXPERIMENTS[3].name, "--dry-run"]) == 2


def fake_run(monkeypatch, tmp_path, fail: str | None = None) -> list[str]:
    done: list[str] = []
    monkeypatch.setattr(runs, "start", lambda *a: tmp_path / "r1")

    def execute(step):
        if fail and fail in step.shown:
            raise KvbenchError("boom")
        done.append(step.shown)

    monkeypatch.setattr(remeasure, "execute", execute)
    monkeypatch.setattr(cli, "main", lambda argv: done.append(" ".join(argv)) or 0)
    return done


def test_every_step_in_order_into_one_run_then_promote_and_docs(monkeypatch, tmp_path, capsys):
    done = fake_run(monkeypatch, tmp_path)
    args = argparse.Namespace(dry_run=False, run=None, start=None, only=None)
    assert remeasure.run(args) == 0
    steps = sum(len(item.steps) for item in EXPERIMENTS)
    assert len(done) == steps + 2 and done[-2:] == ["promote r1", "docs"]
    assert done[0] == "kvbench bench --run r1"
    assert all("--run r1" in line or str(tmp_path / "r1") in line for line in done[:-2])


def test_a_failure_stops_the_run_and_says_how_to_resume(monkeypatch, tmp_path):
    done = fake_run(monkeypatch, tmp_path, fail="--stores")
    args = argparse.Namespace(dry_run=False, run=None, start=None, only=None)
    with pytest.raises(KvbenchError, match="kvbench remeasure --run r1 --from stores"):
        remeasure.run(args)
    assert "promote r1" not in done


def test_only_runs_the_named_experiments_in_the_catalogues_order(capsys):
    last, first = EXPERIMENTS[-1].name, EXPERIMENTS[0].name
    assert cli.main(["remeasure", "--dry-run", "--only", f"{last},{first}"]) == 0
    planned = [line.split(":")[0] for line in capsys.readouterr().out.splitlines()[1:]
               if not line.startswith(" ")]  # fmt: skip
    assert planned == [first, last]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["remeasure", "--dry-run", "--only", "nosuch"])
    assert stopped.value.code == 2 and "unknown experiment nosuch" in capsys.readouterr().err
