"""`kvbench gate`: exit codes on a tiny synthetic repository (counts mocked), then a real run."""

import subprocess
from pathlib import Path

import pytest

from kvbench import cli
from kvbench.commands import gate
from kvbench.commands.gate import Row, table, verdict
from kvbench.measure import instructions
from kvbench.processes import PROJECT_ROOT


def git(folder: Path, *argv: str) -> str:
    who = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
    done = subprocess.run(["git", *who, *argv], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A repository of two commits, the same lock at both; the gate runs inside it."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "--quiet")
    (folder / "requirements.lock").write_text("pip==1\n")
    (folder / "app.py").write_text("# v1\n")
    git(folder, "add", ".")
    git(folder, "commit", "--quiet", "-m", "one")
    (folder / "app.py").write_text("# v2\n")
    git(folder, "commit", "--quiet", "-am", "two")
    monkeypatch.chdir(folder)
    monkeypatch.setattr(gate, "endpoints", lambda path: [instructions.HOT_GET])
    return folder


def counts(base: tuple[float, float], head: tuple[float, float]):
    """A stand-in for the measurement: by which side the app is imported from."""
    seen = []

    def count(target, missing):
        seen.append(target.path[0])
        assert target.path[0].exists()  # the worktree and the link are there while counted
        return base if target.path[0].name == "base" else head

    return count, seen


def test_unchanged_counts_pass_and_the_worktree_is_removed(repo, monkeypatch, capsys):
    count, seen = counts((22_000.0, 30.0), (22_004.0, 30.0))
    monkeypatch.setattr(gate, "count", count)
    assert cli.main(["gate", "--base", "HEAD~1"]) == 0
    assert [p.name for p in seen] == ["base", "head"]
    assert not any(p.exists() for p in seen)  # the temporary folder is gone
    assert git(repo, "worktree", "list").count("\n") == 1  # and git forgot the worktree
    out, err = capsys.readouterr()
    assert "instructions per request" in out and "+0.02%" in out
    assert "gate passed" in err


def test_a_count_that_grew_past_the_threshold_fails_naming_it(repo, monkeypatch, capsys):
    monkeypatch.setattr(gate, "count", counts((22_000.0, 30.0), (22_000.0, 31.0))[0])
    assert cli.main(["gate", "--base", "HEAD~1"]) == 1
    err = capsys.readouterr().err
    assert "regression: allocations per request, GET /get?key=key-0042: 30.0 -> 31.0" in err
    assert "+3.33%" in err
    assert cli.main(["gate", "--base", "HEAD~1", "--threshold", "5"]) == 0


def test_a_failed_measurement_exits_1_and_still_removes_the_worktree(repo, monkeypatch):
    def broken(target, missing):
        raise gate.KvbenchError("the app failed outside valgrind")

    monkeypatch.setattr(gate, "count", broken)
    assert cli.main(["gate", "--base", "HEAD~1"]) == 1
    assert git(repo, "worktree", "list").count("\n") == 1


def test_a_different_lock_at_the_base_is_refused(repo, monkeypatch, capsys):
    (repo / "requirements.lock").write_text("pip==2\n")
    monkeypatch.setattr(gate, "count", counts((1.0, 1.0), (1.0, 1.0))[0])
    assert cli.main(["gate", "--base", "HEAD~1"]) == 1
    assert "requirements.lock differs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["gate"],
        ["gate", "--base", "no-such-revision"],
        ["gate", "--base", "HEAD", "--threshold", "0"],
        ["gate", "--base", "HEAD", "--app", "mine"],
        ["gate", "--base", "HEAD", "--app", "mine=mymodule:app"],  # no --requests
    ],
)
def test_usage_errors_exit_2(repo, argv):
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2


def test_the_table_right_aligns_the_numbers_and_a_zero_base_is_infinite():
    rows = [Row("allocations per request", "GET hit", 0.0, 0.0),
            Row("allocations per request", "PUT", 0.0, 2.0)]  # fmt: skip
    lines = table(rows).splitlines()
    assert lines[0].split() == ["metric", "endpoint", "base", "head", "change"]
    assert lines[1].endswith("+0.00%") and lines[2].endswith("+inf%")
    assert verdict(rows, 2.0) == 1


@pytest.fixture
def no_valgrind(repo, monkeypatch):
    """valgrind off the PATH; the allocation count (mocked) still there."""
    monkeypatch.setattr(instructions, "valgrind", lambda: None)

    def count(target, missing):
        assert missing == {"instructions per request": "valgrind"}
        return float("nan"), 30.0 if target.path[0].name == "base" else 31.0

    monkeypatch.setattr(gate, "count", count)


def test_without_valgrind_the_gate_fails_with_the_install_line(no_valgrind, capsys):
    assert cli.main(["gate", "--base", "HEAD~1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: valgrind is not installed (apt-get install valgrind): the "
                          "gate cannot count instructions per request")  # fmt: skip
    assert "--allow-missing valgrind" in err


def test_allowed_missing_valgrind_gates_allocations_and_says_what_was_not(no_valgrind, capsys):
    argv = ["gate", "--base", "HEAD~1", "--allow-missing", "valgrind"]
    assert cli.main([*argv, "--threshold", "5"]) == 0
    out, err = capsys.readouterr()
    skipped = [line for line in out.splitlines() if line.startswith("instructions")]
    assert skipped and all(line.endswith("not gated: no valgrind") for line in skipped)
    assert (
        "note: not gated: instructions per request (no valgrind, --allow-missing valgrind)" in err
    )
    assert "gate passed: no count grew by more than 5% (1 of 2 rows gated)" in err
    assert cli.main(argv) == 1  # the allocations it still counts still gate: +3.33% > 2%


def test_a_missing_memray_fails_too_and_both_missing_leave_nothing(repo, monkeypatch, capsys):
    monkeypatch.setattr(gate.importlib.util, "find_spec", lambda name: None)
    assert cli.main(["gate", "--base", "HEAD~1"]) == 1
    assert "memray is not installed" in capsys.readouterr().err
    monkeypatch.setattr(instructions, "valgrind", lambda: None)
    everything = ["--allow-missing", "valgrind", "--allow-missing", "memray"]
    assert cli.main(["gate", "--base", "HEAD~1", *everything]) == 1
    assert "nothing to gate" in capsys.readouterr().err


def test_a_count_missing_without_an_allowed_reason_fails(capsys):
    rows = [Row("instructions per request", "GET hit", float("nan"), 20.0),
            Row("allocations per request", "GET hit", 30.0, 30.0)]  # fmt: skip
    assert verdict(rows, 2.0) == 1
    assert "error: instructions per request, GET hit: not counted" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(300)  # valgrind runs both trees' counts
@pytest.mark.skipif(instructions.valgrind() is None, reason=instructions.INSTALL_HINT)
def test_the_real_gate_on_the_optimized_service_passes_against_head(monkeypatch, capsys):
    """The working tree against HEAD: the same app code, so every count within 2%."""
    monkeypatch.chdir(PROJECT_ROOT)
    assert cli.main(["gate", "--base", "HEAD"]) == 0
    out = capsys.readouterr().out
    for endpoint in ("GET", "PUT"):
        assert endpoint in out
    assert out.count("instructions per request") == out.count("allocations per request") == 3
