"""kvbench.runtime.supervisor: workers that share the load, one /debug/vars, clean stops."""

import dataclasses
import os
import signal
import socket
import time

import psutil
import pytest

from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.measure.pinning import loadgen_pinned, server_cpus
from kvbench.processes import ServerError, running_server
from kvbench.runtime.debugvars import combined, summed
from kvbench.runtime.supervisor import reuseport_sockets
from kvbench.runtime.worker import uvicorn_config
from kvbench.services import SERVICES, TUNED_UVICORN

OPTIMIZED = SERVICES["optimized"]


def test_reuseport_sockets_share_the_port_that_the_first_bind_picked():
    sockets = reuseport_sockets("127.0.0.1", 0, 3, 16)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and ports != {0}
        assert len({sock.fileno() for sock in sockets}) == 3
    finally:
        for sock in sockets:
            sock.close()


def test_reuseport_sockets_close_what_they_opened_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            reuseport_sockets("127.0.0.1", taken.getsockname()[1], 2, 16)


def test_worker_config_is_what_uvicorns_command_line_says():
    argv = ["optimized.app:app", "--host", "127.0.0.1", "--port", "0", *TUNED_UVICORN,
            "--workers", "2", "--header", "x-a:b"]  # fmt: skip
    config = uvicorn_config(argv)
    assert (config.app, config.loop, config.http) == ("optimized.app:app", "uvloop", "httptools")
    assert not config.access_log and not config.proxy_headers and not config.server_header
    assert config.workers == 1  # the supervisor runs the processes, not uvicorn
    assert config.headers == [["x-a", "b"]]


def test_combined_sums_the_workers_and_keeps_each_answer():
    def worker(index: int, total: int, pause: float) -> dict:
        gc = {"collections": [index, 0, 1], "pause_total_ms": pause, "pause_max_ms": pause,
              "since_last_read": {"collections": 1, "pause_max_ms": pause}}  # fmt: skip
        return {"index": index, "pid": 100 + index, "counters": {"total": total, "gets": total},
                "gc": gc, "rss_bytes": 10, "peak_rss_bytes": 20,
                "connections": {"open": 1, "accepted": index + 1}}  # fmt: skip

    workers = [worker(0, 3, 0.5), worker(1, 4, 2.0), {"index": 2, "pid": 102, "error": "gone"}]
    found = combined(workers)
    assert found["counters"] == {"total": 7, "gets": 7}
    assert found["workers"] == workers and found["complete"] is False
    assert found["gc"]["collections"] == [1, 0, 2] and found["gc"]["pause_max_ms"] == 2.0
    assert found["gc"]["since_last_read"] == {"collections": 2, "pause_max_ms": 2.0}
    assert (found["rss_bytes"], found["peak_rss_bytes"]) == (20, 40)
    assert found["connections"] == {"open": 2, "accepted": 3}
    assert found["pid"] == os.getpid()


def test_summed_adds_numbers_and_keeps_agreeing_text():
    parts = [{"n": 1, "store": {"backend": "redis", "gets": 2}}, {"n": 2, "store": {"gets": 3}}]
    assert summed(parts) == {"n": 3, "store": {"backend": "redis", "gets": 5}}
    assert summed([{"at": "a"}, {"at": "b"}]) == {}


def two_workers(**changes):
    return running_server(dataclasses.replace(OPTIMIZED, workers=2), **changes)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


@pytest.mark.slow
def test_two_workers_share_64_connections_opened_at_once(tmp_path):
    # The bar: each worker serves at least 30% of the requests, by its own counters.
    # Both workers on the server's CPU, the load generator on the other: CPU shares are
    # even, and the request shares follow the CPU shares.
    cpus = server_cpus()
    with loadgen_pinned(cpus), two_workers(cpus=cpus, log_path=tmp_path / "log") as server:
        before = server.debug_vars()
        assert before["complete"] and len(before["workers"]) == 2
        result = run_load(LoadConfig(server.host, server.port, connections=64, duration_s=1.5))
        result.check()
        after = server.debug_vars()
    served = [a["counters"]["total"] - b["counters"]["total"]
              for b, a in zip(before["workers"], after["workers"], strict=True)]  # fmt: skip
    assert min(served) / sum(served) >= 0.30, served
    accepted = [w["connections"]["accepted"] for w in after["workers"]]
    assert min(accepted) > 0, accepted
    assert after["counters"]["total"] == sum(w["counters"]["total"] for w in after["workers"])


@pytest.mark.slow
def test_a_dead_worker_stops_the_others_and_the_supervisor_exits_1(tmp_path):
    with two_workers(log_path=tmp_path / "log") as server:
        pids = [w["pid"] for w in server.debug_vars()["workers"]]
        os.kill(pids[0], signal.SIGKILL)
        assert server.process.wait(15) == 1
        assert wait_gone(pids)
        assert "worker 0" in server.log_tail() and "stopping every worker" in server.log_tail()


@pytest.mark.slow
def test_sigterm_stops_every_worker(tmp_path):
    with two_workers(log_path=tmp_path / "log") as server:
        pids = [w["pid"] for w in server.debug_vars()["workers"]]
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert wait_gone(pids)
        assert "Traceback" not in server.log_tail(100)


@pytest.mark.slow
def test_a_killed_supervisor_takes_its_workers_along(tmp_path):
    with two_workers(log_path=tmp_path / "log") as server:
        pids = [w["pid"] for w in server.debug_vars()["workers"]]
        os.kill(server.pid, signal.SIGKILL)  # no chance to stop them itself
        assert wait_gone(pids)


@pytest.mark.slow
def test_a_worker_that_cannot_start_fails_the_start(tmp_path):
    broken = dataclasses.replace(OPTIMIZED, app="tests.apps.nowhere:app", workers=2)
    failed = pytest.raises(ServerError, match="exited with code 1")
    with failed, running_server(broken, log_path=tmp_path / "log", start_timeout_s=20):
        pass
