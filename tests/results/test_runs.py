"""Run folders beside the reference, the `latest` pointer, and promotion of a run."""

import datetime

import pytest

from kvbench import PROJECT_ROOT, KvbenchError
from kvbench.results import runs


def write(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_reference_is_the_checkouts_bench_results():
    assert runs.REFERENCE == PROJECT_ROOT / "bench-results" and runs.is_checkout(PROJECT_ROOT)


@pytest.mark.parametrize(
    "pyproject",
    [None, '[project]\nname = "other"\n', "not toml ["],
    ids=["site-packages", "another-project", "unreadable"],
)
def test_an_installed_kvbench_keeps_results_in_the_current_directory(tmp_path, pyproject):
    site = tmp_path / "site-packages"  # the parent of an installed (non-editable) kvbench/
    (site / "kvbench").mkdir(parents=True)
    if pyproject is not None:
        write(site / "pyproject.toml", pyproject)
    here = tmp_path / "work"
    assert runs.reference_folder(site, here) == here / "bench-results"
    write(site / "pyproject.toml", '[project]\nname = "kvbench"\n')
    assert runs.reference_folder(site, here) == site / "bench-results"


def test_a_new_run_is_named_by_its_utc_start_and_becomes_latest(tmp_path):
    folder = runs.start(runs.NEW, tmp_path)
    assert folder.parent == tmp_path / "runs"
    assert datetime.datetime.strptime(folder.name, "%Y%m%dT%H%M%SZ")
    assert (tmp_path / "runs" / "latest").resolve() == folder.resolve()
    assert runs.find(runs.LATEST, tmp_path) == folder.resolve()


def test_latest_is_a_relative_symlink_so_the_checkout_can_move(tmp_path):
    folder = runs.start(runs.NEW, tmp_path)
    link = tmp_path / "runs" / "latest"
    assert link.is_symlink() and str(link.readlink()) == folder.name


def test_two_runs_in_one_second_get_two_folders(tmp_path):
    first, second = runs.start(runs.NEW, tmp_path), runs.start(runs.NEW, tmp_path)
    assert first != second
    assert runs.find(runs.LATEST, tmp_path) == second.resolve()


def test_latest_adds_to_the_last_run_or_starts_one(tmp_path):
    started = runs.start(runs.LATEST, tmp_path)  # none yet: a new one
    assert runs.start(runs.LATEST, tmp_path).resolve() == started.resolve()
    named = runs.start("mine", tmp_path)
    assert named == tmp_path / "runs" / "mine"
    assert runs.start(runs.LATEST, tmp_path).resolve() == named.resolve()


@pytest.mark.parametrize("name", ["", "..", "a/b"])
def test_a_run_name_is_a_plain_folder_name(tmp_path, name):
    with pytest.raises(KvbenchError, match="--run takes"):
        runs.start(name, tmp_path)


def test_find_says_how_to_make_a_run_when_there_is_none(tmp_path):
    with pytest.raises(KvbenchError, match="make bench TRIALS=2"):
        runs.find(runs.LATEST, tmp_path)
    runs.start("one", tmp_path)
    with pytest.raises(KvbenchError, match="no run 'two'; runs: one"):
        runs.find("two", tmp_path)
    assert runs.find(str(tmp_path / "runs" / "one"), tmp_path).name == "one"  # a path


def reference_and_run(tmp_path):
    reference = tmp_path / "bench-results"
    for name in ["summary.json", "http-old.json", "REPORT.md", "plots/a.png"]:
        write(reference / name, "reference")
    write(reference / "ladder" / "summary.json", "reference")
    write(reference / "profiles" / "README.md", "reference")
    run = runs.start("r1", reference)
    for name in ["summary.json", "http-optimized.json", "REPORT.md", "plots/b.png"]:
        write(run / name, "run")
    write(run / "peers" / "summary.json", "run")
    write(run / "peers" / "REPORT.md", "run")
    write(run / "profiles" / "optimized" / "cpu.pyspy.svg", "run")
    write(run / "profiles" / "live" / "live-1.pyspy.svg", "run")
    return reference, run


def test_parts_are_what_a_finished_command_wrote(tmp_path):
    reference, run = reference_and_run(tmp_path)
    assert runs.parts(run) == ["main", "peers"]  # profiles/ without its README.md: unfinished
    write(run / "profiles" / "README.md", "run")
    assert runs.parts(run) == ["main", "peers", "profiles"]
    assert runs.parts(reference) == ["main", "ladder", "profiles"]


def test_promote_replaces_each_part_the_run_holds_and_keeps_the_rest(tmp_path):
    reference, run = reference_and_run(tmp_path)
    write(run / "profiles" / "README.md", "run")
    assert runs.promote(run, reference) == ["main", "peers", "profiles"]
    top = sorted(p.name for p in reference.iterdir() if p.is_file())
    assert top == ["REPORT.md", "http-optimized.json", "summary.json"]  # http-old.json is gone
    assert (reference / "summary.json").read_text() == "run"
    assert (reference / "REPORT.md").read_text() == "reference"  # reports are regenerated
    assert (reference / "ladder" / "summary.json").read_text() == "reference"  # not in the run
    assert (reference / "peers" / "summary.json").read_text() == "run"
    assert not (reference / "peers" / "REPORT.md").exists()
    assert (reference / "profiles" / "optimized" / "cpu.pyspy.svg").exists()
    assert not (reference / "profiles" / "live").exists()
    assert (reference / "runs" / "r1" / "summary.json").exists()  # the run itself stays


def test_promote_refuses_an_empty_run_and_the_reference_itself(tmp_path):
    reference, _ = reference_and_run(tmp_path)
    with pytest.raises(KvbenchError, match="nothing to promote"):
        runs.promote(runs.start("empty", reference), reference)
    with pytest.raises(KvbenchError, match="the reference itself"):
        runs.promote(reference, reference)
