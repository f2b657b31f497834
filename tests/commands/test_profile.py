import json
import subprocess
import sys

import pytest

from kvbench.cli import build_parser, main
from kvbench.commands import profile
from kvbench.services import LADDER


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_help_says_what_attaching_needs(capsys):
    with pytest.raises(SystemExit):
        build_parser("profile").parse_args(["profile", "--help"])
    text = capsys.readouterr().out
    assert "CAP_SYS_PTRACE" in text and "ptrace_scope" in text and "SYS_PTRACE" in text
    assert "py-spy top --pid PID" in text


def test_attaching_to_a_missing_pid_is_one_clear_line(capsys, tmp_path):
    pid = dead_pid()
    assert main(["profile", "--pid", str(pid), "--seconds", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: no process with pid {pid}\n"


def test_unknown_service_is_refused(capsys, tmp_path):
    assert main(["profile", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown service 'nosuch'" in capsys.readouterr().err


def test_nonpositive_settings_are_refused(capsys, tmp_path):
    assert main(["profile", "optimized", "--rate", "0", "--out", str(tmp_path)]) == 2
    assert "must be positive" in capsys.readouterr().err


@pytest.mark.slow
def test_profile_command_writes_files_and_index(tmp_path, capsys):
    argv = ["profile", "optimized", "--only", "allocs", "--requests", "100", "--out", str(tmp_path)]
    assert main(argv) == 0
    counts = json.loads((tmp_path / "optimized" / "allocs.memray.json").read_text())
    assert counts["requests"] == 100
    readme = (tmp_path / "README.md").read_text()
    assert "## optimized" in readme
    assert "[allocs.memray.json](optimized/allocs.memray.json)" in readme
    assert not list(tmp_path.rglob("*.bin"))


def test_ladder_refuses_named_services(capsys, tmp_path):
    assert main(["profile", "--ladder", "optimized", "--out", str(tmp_path)]) == 2
    assert "--ladder profiles every rung" in capsys.readouterr().err


def test_ladder_profiles_every_rung_cpu_view_only(monkeypatch, tmp_path):
    made: list[tuple[str, tuple]] = []

    def fake(service, out, args):
        made.append((service.name, tuple(args.only)))
        return False

    monkeypatch.setattr(profile, "profile_service", fake)
    monkeypatch.setattr(profile, "write_readme", lambda out: out / "README.md")
    assert main(["profile", "--ladder", "--out", str(tmp_path)]) == 0
    assert [name for name, _ in made] == [rung.name for rung, _ in LADDER]
    assert {only for _, only in made} == {("cpu",)}
