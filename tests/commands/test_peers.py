"""`kvbench peers`: its settings, and a tiny run that writes every row, curve and plot."""

import argparse
import functools
import json

import pytest

from kvbench import KvbenchError
from kvbench.cli import main
from kvbench.commands import peers
from kvbench.measure import floor
from kvbench.measure import peers as measure_peers
from kvbench.services import PEERS, PYTHON_CEILING

ROW_NAMES = [row.service.name for row in PEERS]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    peers.configure(parser)
    return parser.parse_args(argv)


def test_default_settings_fit_the_time_budget():
    settings = peers.settings_from(parse())
    assert (settings.trials, settings.curve_trials) == (10, 3)
    assert settings.curves.levels == (1, 8, 64, 256, 1024)
    assert settings.curves.keys == (1_000, 100_000, 1_000_000)
    assert measure_peers.estimate_s(settings, len(PEERS)) < 15 * 60


def test_quick_settings_are_one_short_trial():
    settings = peers.settings_from(parse("--quick"))
    assert (settings.trials, settings.curve_trials, settings.duration_s) == (1, 1, 0.5)


@pytest.mark.parametrize("argv", [["--trials", "0"], ["--rate", "-5"], ["--curves", "speed"]])
def test_bad_settings_are_clear_errors(argv):
    with pytest.raises(KvbenchError):
        peers.settings_from(parse(*argv))


@pytest.mark.slow
@pytest.mark.timeout(300)  # every peer, its curves and plots
def test_a_tiny_run_writes_every_row_curve_and_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(measure_peers.shutil, "which", lambda name: None)
    # the run's floor (floor.measure, tested in test_floor.py) in 2 s instead of 10: not read here
    monkeypatch.setattr(floor, "measure", functools.partial(floor.measure, seconds=2.0))
    argv = ["peers", "--quick", "--rate", "200", "--levels", "8", "--keys", "2000"]
    assert main([*argv, "--workers", "2", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["services"]) == ROW_NAMES
    for name, metrics in summary["services"].items():
        assert metrics["http_tps"]["median"] > 0, name
        assert metrics["server_open_cpu_us_per_req"]["median"] > 0, name  # granian's worker too
        assert metrics["server_busy"]["median"] > 0, name
        assert metrics["http_trial_p50_ms"]["n"] == 1, name
        assert summary["latency"][name]["n"] == 100, name  # 200 req/s for 0.5 s, pooled
    assert set(summary["paired"]) == set(ROW_NAMES) - {"optimized"}
    assert {entry["vs"] for entry in summary["paired"].values()} == {"optimized"}
    assert summary["checks"]["exempt"] == [PYTHON_CEILING]
    assert summary["ratio_to_ceiling"][PYTHON_CEILING] == 1.0
    assert summary["skipped"] == {"nginx": "skipped: nginx is not installed on this machine"}
    curves = summary["curves"]
    assert list(curves["concurrency"]["optimized"]) == ["8"]
    assert curves["keys"]["optimized"]["2000"]["server_startup_s"]["median"] > 0
    assert curves["workers"]["unoptimized"]["2"]["loadgen_cpu_share"]["median"] > 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "| nginx | skipped" in report
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
