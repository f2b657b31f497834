"""The peers run's rows, ratios and floor check."""

import dataclasses
import time

import pytest

from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.measure import peers
from kvbench.processes import running_server
from kvbench.results.summary import Summary
from kvbench.services import FRAMEWORK_FLOOR, PEERS, PYTHON_CEILING, SERVICES

ROW_NAMES = [row.service.name for row in PEERS]


def test_rows_skip_nginx_with_a_note_when_it_is_missing(monkeypatch):
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    rows, skipped = peers.rows()
    assert [r.service.name for r in rows] == ROW_NAMES
    assert skipped == {"nginx": "skipped: nginx is not installed on this machine"}
    monkeypatch.setattr(peers.shutil, "which", lambda name: "/usr/sbin/nginx")
    rows, skipped = peers.rows()
    assert rows[-1].service.name == "nginx" and skipped == {}


def test_every_row_has_a_distinct_name_and_the_ceiling_and_floor_are_rows():
    assert len(set(ROW_NAMES)) == len(ROW_NAMES)
    assert {PYTHON_CEILING, FRAMEWORK_FLOOR, "optimized", "unoptimized"} <= set(ROW_NAMES)


def tps(*values: float) -> dict:
    return {"http_tps": Summary.of(values).to_json()}


def test_ratios_are_to_the_ceiling_median():
    services = {"optimized": tps(10, 20, 30), PYTHON_CEILING: tps(80, 80, 80)}
    assert peers.ratios(services) == {"optimized": 0.25, PYTHON_CEILING: 1.0}
    assert peers.ratios({"optimized": tps(1)}) == {"optimized": None}


def test_floor_check_within_and_outside_15_percent():
    within = peers.floor_check({"optimized": tps(86), FRAMEWORK_FLOOR: tps(100)})
    assert within == {"ratio": 0.86, "tolerance": 0.15, "within": True}
    assert peers.floor_check({"optimized": tps(84), FRAMEWORK_FLOOR: tps(100)})["within"] is False
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
