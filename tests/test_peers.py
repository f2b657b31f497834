"""`kvbench peers`: its settings, ratios and checks, and a tiny run that writes every row."""

import argparse
import dataclasses
import json
import time

import pytest

from kvbench import KvbenchError, peers
from kvbench.cli import main
from kvbench.loadgen import LoadConfig, run_load
from kvbench.server import running_server
from kvbench.services import SERVICES
from kvbench.stats import summarize

ROW_NAMES = [row.service.name for row in peers.ROWS]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    peers.configure(parser)
    return parser.parse_args(argv)


def test_default_settings_fit_the_time_budget():
    settings = peers.settings_from(parse())
    assert (settings.trials, settings.curve_trials) == (10, 3)
    assert settings.curves.levels == (1, 8, 64, 256, 1024)
    assert settings.curves.keys == (1_000, 100_000, 1_000_000)
    assert peers.estimate_s(settings, len(peers.ROWS)) < 15 * 60


def test_quick_settings_are_one_short_trial():
    settings = peers.settings_from(parse("--quick"))
    assert (settings.trials, settings.curve_trials, settings.duration_s) == (1, 1, 0.5)


@pytest.mark.parametrize("argv", [["--trials", "0"], ["--rate", "-5"], ["--curves", "speed"]])
def test_bad_settings_are_clear_errors(argv):
    with pytest.raises(KvbenchError):
        peers.settings_from(parse(*argv))


def test_rows_skip_nginx_with_a_note_when_it_is_missing(monkeypatch):
    monkeypatch.setattr(peers.nginx, "installed", lambda: None)
    rows, skipped = peers.rows()
    assert [r.service.name for r in rows] == ROW_NAMES
    assert skipped == {"nginx": "skipped: nginx is not installed on this machine"}
    monkeypatch.setattr(peers.nginx, "installed", lambda: "/usr/sbin/nginx")
    rows, skipped = peers.rows()
    assert rows[-1].service.name == "nginx" and skipped == {}


def test_every_row_has_a_distinct_name_and_the_ceiling_and_floor_are_rows():
    assert len(set(ROW_NAMES)) == len(ROW_NAMES)
    assert {peers.CEILING, peers.FLOOR, "optimized", "unoptimized"} <= set(ROW_NAMES)


def tps(*values: float) -> dict:
    return {"http_tps": summarize(values)}


def test_ratios_are_to_the_ceiling_median():
    services = {"optimized": tps(10, 20, 30), peers.CEILING: tps(80, 80, 80)}
    assert peers.ratios(services) == {"optimized": 0.25, peers.CEILING: 1.0}
    assert peers.ratios({"optimized": tps(1)}) == {"optimized": None}


def test_floor_check_within_and_outside_15_percent():
    within = peers.floor_check({"optimized": tps(86), peers.FLOOR: tps(100)})
    assert within == {"ratio": 0.86, "tolerance": 0.15, "within": True}
    assert peers.floor_check({"optimized": tps(84), peers.FLOOR: tps(100)})["within"] is False
    assert peers.floor_check({"optimized": tps(84)})["within"] is None


@pytest.mark.slow
def test_uvicorn_workers_each_answer_debug_vars():
    flags = SERVICES["optimized"].server_args + ("--workers", "2")
    service = dataclasses.replace(SERVICES["optimized"], server_args=flags)
    with running_server(service) as server:
        pids: set[int] = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            run_load(LoadConfig(server.host, server.port, 4, 0.1)).check()
            pids.add(server.debug_vars()["pid"])
    assert len(pids) == 2 and server.pid not in pids


@pytest.mark.slow
def test_a_tiny_run_writes_every_row_curve_and_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(peers.nginx, "installed", lambda: None)
    argv = ["peers", "--quick", "--rate", "200", "--levels", "8", "--keys", "2000"]
    assert main([*argv, "--workers", "2", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["services"]) == ROW_NAMES
    for name, metrics in summary["services"].items():
        assert metrics["http_tps"]["median"] > 0, name
        assert metrics["server_cpu_us_per_req"]["median"] > 0, name  # granian: its worker too
        assert metrics["http_p99_ms"]["n"] == 1, name
    assert summary["ratio_to_ceiling"][peers.CEILING] == 1.0
    assert summary["skipped"] == {"nginx": "skipped: nginx is not installed on this machine"}
    scaling = summary["scaling"]
    assert list(scaling["concurrency"]["optimized"]) == ["8"]
    assert scaling["keys"]["optimized"]["2000"]["server_startup_s"]["median"] > 0
    assert scaling["workers"]["unoptimized"]["2"]["loadgen_cpu_share"]["median"] > 0
    report = (tmp_path / "REPORT.md").read_text()
    assert "| nginx | skipped" in report
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
