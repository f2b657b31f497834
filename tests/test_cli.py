"""The command line's conventions: --version, exit codes, one spelling, progress off a terminal."""

import io
import socket
import subprocess
import sys

import pytest

from kvbench import cli
from kvbench.measure import progress
from kvbench.measure.progress import Progress


def exit_code(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # argparse exits itself for --version and bad flags
        return int(exc.code or 0)


def test_version_is_the_package_version(capsys):
    assert exit_code(["--version"]) == 0
    assert capsys.readouterr().out == f"kvbench {cli.version()}\n"
    assert cli.version()[0].isdigit()


def test_a_bad_flag_exits_2():
    assert exit_code(["bench", "--no-such-flag"]) == 2
    assert exit_code(["no-such-command"]) == 2


def test_options_that_cannot_go_together_exit_2(capsys):
    assert exit_code(["bench", "--trials", "0"]) == 2
    assert "--trials and --connections must be at least 1" in capsys.readouterr().err


def test_connections_is_the_spelling_and_concurrency_a_hidden_alias(capsys):
    for command in ("bench", "peers"):
        parser = cli.build_parser(command)
        assert parser.parse_args([command]).concurrency == 64
        assert parser.parse_args([command, "--connections", "8"]).concurrency == 8
        assert parser.parse_args([command, "--concurrency", "8"]).concurrency == 8
    exit_code(["bench", "--help"])
    shown = capsys.readouterr().out
    assert "--connections" in shown and "--concurrency" not in shown


@pytest.mark.slow
def test_a_failed_run_exits_1(capsys):
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["loadgen", "--port", str(port), "--duration", "0.3", "--warmup", "0"]
    assert cli.main(argv) == 1
    assert "Connection refused" in capsys.readouterr().err


@pytest.mark.slow
def test_the_installed_command_says_its_version():
    done = subprocess.run([sys.executable, "-m", "kvbench", "--version"], capture_output=True)
    assert done.returncode == 0 and done.stdout.startswith(b"kvbench ")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_prints_every_step_when_not_a_terminal():
    clock, out = Clock(), io.StringIO()
    shown = Progress(600, stream=out, clock=clock)
    shown.step("micro suite")
    clock.now += 65
    shown.step("in-process suite")
    assert out.getvalue().splitlines() == [
        "[0m00s, ~10m00s left] micro suite",
        "[1m05s, ~8m55s left] in-process suite",
    ]


def test_a_long_step_is_repeated_at_least_every_10_seconds():
    clock, out = Clock(), io.StringIO()
    shown = Progress(60, stream=out, clock=clock)
    shown.tick()  # no step yet: nothing to repeat
    shown.step("trial 1/10")
    for _ in range(25):  # 25 s in 1 s ticks, as the heartbeat thread ticks
        clock.now += 1
        shown.tick()
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0m00s, ~1m00s left] trial 1/10",
        "[0m10s, ~0m50s left] trial 1/10 (still running)",
        "[0m20s, ~0m40s left] trial 1/10 (still running)",
    ]


def test_quiet_silences_the_steps_but_not_what_is_said(monkeypatch):
    monkeypatch.setattr(progress, "QUIET", True)
    clock, out = Clock(), io.StringIO()
    shown = Progress(60, stream=out, clock=clock)
    shown.step("trial 1/10")
    clock.now += 30
    shown.tick()
    shown.say("benchmarking into bench-results/runs/x/")
    assert out.getvalue() == "benchmarking into bench-results/runs/x/\n"


def test_quiet_is_an_option_of_the_long_commands():
    assert cli.build_parser("bench").parse_args(["bench", "--quiet"]).quiet
    assert cli.build_parser("peers").parse_args(["peers", "--quiet"]).quiet
    assert cli.build_parser("gate").parse_args(["gate", "--base", "HEAD", "--quiet"]).quiet
