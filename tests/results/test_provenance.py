import json
import subprocess
import sys

import pytest

from kvbench.results import provenance
from kvbench.results.model import Provenance


@pytest.fixture
def tree(tmp_path):
    """A git checkout with one service file and one file outside the measured sources."""
    (tmp_path / "optimized").mkdir()
    (tmp_path / "optimized" / "app.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("docs\n")
    (tmp_path / "requirements.lock").write_text("pip==1\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t",
                                                  "commit", "-qm", "start"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return tmp_path


def test_collect_records_revision_interpreter_lock_and_sources(tree):
    found = provenance.collect(tree)
    assert found.git_revision and len(found.git_revision) == 40
    assert found.git_dirty is False
    assert list(found.sources) == ["optimized/app.py", "requirements.lock"]  # not README.md
    assert found.lock_sha256 == provenance.sha256(tree / "requirements.lock")
    assert found.interpreter["version"] and "gil_disabled" in found.interpreter


def test_a_changed_added_or_removed_source_is_stale(tree):
    recorded = provenance.collect(tree)
    assert provenance.stale(recorded, tree) == []
    (tree / "README.md").write_text("other docs\n")
    assert provenance.stale(recorded, tree) == []  # not a source
    (tree / "optimized" / "app.py").write_text("x = 2\n")
    assert provenance.stale(recorded, tree) == ["changed: optimized/app.py"]
    assert provenance.collect(tree).git_dirty is True
    (tree / "optimized" / "extra.py").write_text("")
    subprocess.run(["git", "add", "optimized/extra.py"], cwd=tree, check=True)
    assert "added: optimized/extra.py" in provenance.stale(recorded, tree)


def test_committed_results_that_describe_other_code_are_problems(tree):
    results = tree / "bench-results"
    (results / "ladder").mkdir(parents=True)
    (results / "runs" / "mine").mkdir(parents=True)
    summary = {"services": {}, "provenance": provenance.collect(tree).to_json()}
    for where in (results, results / "ladder", results / "runs" / "mine"):
        (where / "summary.json").write_text(json.dumps(summary))
    (results / "peers").mkdir()
    (results / "peers" / "summary.json").write_text(json.dumps({"services": {}}))  # schema 2
    assert provenance.committed_problems(results, tree) == []
    (tree / "optimized" / "app.py").write_text("x = 3\n")
    problems = provenance.committed_problems(results, tree)
    assert [p.split(":")[0] for p in problems] == [
        "bench-results/ladder/summary.json",
        "bench-results/summary.json",
    ]  # your own runs under runs/ are not the committed reference
    assert "changed: optimized/app.py" in problems[0]


def test_provenance_round_trips():
    found = Provenance("abc", True, {"version": "3.11.7"}, None, {"b.py": "2", "a.py": "1"})
    assert Provenance.from_json(found.to_json(), "p") == found
    assert list(found.to_json()["sources"]) == ["a.py", "b.py"]


def test_the_harness_files_a_run_imported_and_every_lock_are_measured_files(tree, monkeypatch):
    (tree / "kvbench" / "measure").mkdir(parents=True)
    (tree / "kvbench" / "report").mkdir()
    for name in ("measure/trials.py", "measure/unused.py", "report/tables.py"):
        (tree / "kvbench" / name).write_text("x = 1\n")
    (tree / "requirements-3.12.lock").write_text("pip==2\n")
    for name in ("trials", "tables"):
        module = type(sys)(name)
        module.__file__ = str(tree / "kvbench" / ("measure" if name == "trials" else "report")
                              / f"{name}.py")  # fmt: skip
        monkeypatch.setitem(sys.modules, f"fake_{name}", module)
    recorded = provenance.collect(tree)
    assert "kvbench/measure/trials.py" in recorded.sources  # imported: it shaped the numbers
    assert "kvbench/measure/unused.py" not in recorded.sources  # never imported
    assert "kvbench/report/tables.py" not in recorded.sources  # only presents them
    assert {"requirements.lock", "requirements-3.12.lock"} <= set(recorded.sources)
    (tree / "kvbench" / "measure" / "trials.py").write_text("x = 2\n")
    (tree / "requirements.lock").write_text("pip==3\n")
    assert provenance.stale(recorded, tree) == [
        "changed: kvbench/measure/trials.py",
        "changed: requirements.lock",
    ]
    (tree / "kvbench" / "measure" / "unused.py").write_text("x = 2\n")  # shaped nothing
    assert len(provenance.stale(recorded, tree)) == 2


def test_a_dirty_tree_is_recorded_file_by_file(tree):
    (tree / "README.md").write_text("edited\n")
    found = provenance.collect(tree)
    assert found.git_dirty is True and found.dirty_files == ["README.md"]
    assert Provenance.from_json(found.to_json(), "p").dirty_files == ["README.md"]
