"""`kvbench run NAME`: an experiment's steps, its options on the first, nothing run when dry."""

import pytest

from kvbench import UsageError, cli
from kvbench.catalog.experiments import BY_NAME
from kvbench.commands import run
from kvbench.results import runs


def no_run_folder(*args, **kwargs):
    raise AssertionError("a dry run made a run folder")


def test_the_first_step_gets_the_options_and_later_steps_the_parts_folder(tmp_path):
    found = run.steps(BY_NAME["writepath"], "mine", {"trials": "2"}, (), tmp_path)
    bench, syscalls = (step.argv for step in found)
    assert bench[:3] == ("bench", "--part", "writepath")
    assert bench[-6:] == ("--trials", "10", "--run", "mine", "--trials", "2")  # the last wins
    assert syscalls[:3] == ("python", "-m", "kvbench.measure.syscalls")
    assert syscalls[-1] == f"{tmp_path}/writepath/syscalls.json" and "--run" not in syscalls


def test_words_of_with_go_to_the_first_step_only():
    (step,) = run.steps(BY_NAME["pythons"], None, {}, ("--pythons", "3.11"))
    assert step.argv == ("pythons", "--pythons", "3.11")
    assert step.shown == "kvbench pythons --pythons 3.11"


def test_an_option_the_experiment_does_not_take_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setattr(runs, "start", no_run_folder)
    with pytest.raises(UsageError, match="put does not take --trials"):
        run.steps(BY_NAME["put"], None, {"trials": "2"})
    assert cli.main(["run", "put", "--trials", "2", "--dry-run"]) == 2
    assert "does not take --trials" in capsys.readouterr().err


def test_a_dry_run_prints_the_steps_and_runs_nothing(capsys, monkeypatch):
    monkeypatch.setattr(runs, "start", no_run_folder)
    monkeypatch.setattr(run, "execute", lambda step: pytest.fail(f"ran {step.shown}"))
    assert cli.main(["run", "schedule", "--dry-run"]) == 0
    head, step = capsys.readouterr().out.splitlines()
    assert head.startswith("schedule (The generator's schedule): about ")
    assert step.strip() == "python -m kvbench.measure.schedule --part <run>/schedule"


def test_estimates_come_from_the_command_or_the_experiments_rough_figure():
    (bench,) = run.steps(BY_NAME["stores"], None, {"trials": "1"})
    (more,) = run.steps(BY_NAME["stores"], None, {"trials": "4"})
    assert bench.estimate_s is not None and more.estimate_s > bench.estimate_s
    (hostile,) = run.steps(BY_NAME["hostile"], None, {})
    assert hostile.estimate_s == BY_NAME["hostile"].about_s


def test_a_failed_step_is_an_error_naming_it(monkeypatch):
    monkeypatch.setattr(cli, "main", lambda argv: 1)
    with pytest.raises(Exception, match="`kvbench peers --run mine` failed"):
        run.execute(run.Step(("peers", "--run", "mine"), None))
