import dataclasses
import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from kvbench.load.summary import LoadError, LoadResult
from kvbench.measure import trials
from kvbench.measure.trials import TrialPlan, WindowMarks, open_metrics, run_trial, worker_spread
from kvbench.services import SERVICES, get_service, parse_variant

pytestmark = pytest.mark.slow

TINY = TrialPlan(connections=4, warmup_s=0.2, duration_s=0.5, latency_s=0.5, rate=400)


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_trial_records_every_metric():
    result = run_trial(SERVICES["optimized"], TINY)
    metrics = result.metrics
    assert metrics["http_tps"] > 0
    assert 0 < metrics["server_busy"] <= 1.0 and 0 < metrics["loadgen_cpu_share"] <= 1.2
    assert metrics["server_open_cpu_us_per_req"] > 0
    assert "server_cpu_us_per_req" not in metrics  # 1/throughput in a saturated closed loop
    assert metrics["server_rss_mb"] > 1
    # 200 requests: p50 and p90 have at least 10 beyond them, p99 does not.
    assert 0 < metrics["http_trial_p50_ms"] <= metrics["http_trial_p90_ms"]
    assert "http_trial_p99_ms" not in metrics
    assert "http_achieved_rate" not in metrics  # the offered rate by construction
    assert 0 < metrics["http_open_answered_rate"] <= 400 * 1.01
    assert 0 <= metrics["http_send_lag_p50_ms"] <= metrics["http_send_lag_p99_ms"]
    assert metrics["http_send_lag_p99_ms"] <= metrics["http_send_lag_max_ms"]
    assert 0 < metrics["http_service_p50_ms"] <= metrics["http_trial_p50_ms"]
    assert result.latencies_ns is not None and result.latencies_ns.size == 200
    records = result.open_loop
    assert records is not None and (records.answered_ns >= records.sent_ns).all()


def test_trial_without_rate_skips_the_open_loop():
    plan = TrialPlan(connections=2, warmup_s=0, duration_s=0.3, latency_s=0)
    result = run_trial(SERVICES["optimized"], plan)
    assert "http_trial_p50_ms" not in result.metrics
    assert result.latencies_ns is None


def test_server_errors_fail_the_trial_loudly_and_leave_no_process():
    before = children()
    erroring = parse_variant("erroring=tests.apps.erroring:app --loop asyncio")
    with pytest.raises(LoadError, match="500"):
        run_trial(erroring, TINY)
    assert children() <= before


def test_worker_spread_is_the_least_loaded_workers_share_of_the_window():
    def worker(total: int, accepted: int) -> dict:
        return {"counters": {"total": total}, "connections": {"accepted": accepted}}

    before = [worker(10, 4), worker(5, 4)]
    after = [worker(70, 40), worker(45, 32)]
    assert worker_spread(before, after) == {
        "worker_request_share_min": 0.4,
        "worker_connection_share_min": 28 / 64,
    }


@pytest.mark.usefixtures("redis_checked")
def test_a_redis_backed_trial_with_two_workers_records_the_store_and_the_spread():
    plan = dataclasses.replace(TINY, connections=16)
    metrics = run_trial(get_service("redis-mget-2"), plan).metrics
    assert metrics["redis_cpu_us_per_req"] > 0
    assert 0 < metrics["redis_cmds_per_req"] <= 1.1
    assert 0 <= metrics["worker_request_share_min"] <= 0.5
    assert 0 <= metrics["worker_connection_share_min"] <= 0.5


@pytest.mark.timing
def test_window_marks_add_up_the_cpu_of_every_process_given():
    busy: list[subprocess.Popen] = []
    try:
        busy += [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        one, both = WindowMarks(busy[0].pid), WindowMarks(busy[0].pid, busy[1].pid)
        one("start"), both("start")
        time.sleep(0.5)
        one("end"), both("end")
    finally:
        for process in busy:
            process.kill()
            process.wait()
    alone, together = one.spent()[1], both.spent()[1]
    # two spinning processes, each given the same share of the CPUs: about twice the CPU
    assert alone > 0 and together > 1.3 * alone


def test_the_busy_share_cannot_exceed_the_wall_time_when_finding_processes_is_slow():
    # A server busy the whole window: its CPU clock runs as the wall clock does. Finding its
    # processes (psutil scans /proc) is slow at the end: read between the two clock reads,
    # as it once was, those 50 ms counted as CPU in the window and not as wall time.
    calls = []

    def find(pids):
        calls.append(pids)
        if len(calls) == 2:
            time.sleep(0.05)
        return []

    marks = WindowMarks(1, find=find, read=lambda processes: time.perf_counter())
    marks("start")
    time.sleep(0.01)
    marks("end")
    wall, cpu, _ = marks.spent()
    assert cpu / wall <= 1.0


def test_metrics_of_an_open_loop_window():
    intended = np.arange(2000, dtype=np.int64) * 500_000
    sent = intended + 10_000
    sent[-21:] += 1_000_000  # the last 21 left a millisecond late: p99 is among them
    answered = sent + 100_000
    result = LoadResult("open", 4, 0.0, 1.0, 2000, 0, 0, 0, {}, [], intended, sent, answered,
                        2000.0, 1990)  # fmt: skip
    metrics = open_metrics(result)
    assert metrics["http_send_lag_p50_ms"] == 0.01
    assert metrics["http_send_lag_p99_ms"] == metrics["http_send_lag_max_ms"] == 1.01
    assert metrics["http_trial_p50_ms"] == 0.11 and metrics["http_service_p50_ms"] == 0.1
    assert metrics["http_open_answered_rate"] == 1990


@pytest.mark.timing  # its bound is 8 ms of wall clock: a busy neighbour breaks it
def test_a_ticked_reading_is_exact_between_its_two_wall_clock_reads(monkeypatch):
    # A running process's CPU clock, read from elsewhere, steps once a tick (4 ms) to the
    # exact figure; in between it is stale. The reading waits for the step.
    tick = 0.004
    monkeypatch.setattr(
        trials, "process_cpu_seconds", lambda p: (time.perf_counter() // tick) * tick
    )
    before, cpu, after = trials.ticked_cpu(None)
    assert before <= cpu <= after  # the tick's instant, and the CPU exact there
    assert after - before < 2 * tick


def test_a_sleeping_process_is_read_at_once_and_exactly(monkeypatch):
    monkeypatch.setattr(trials, "process_cpu_seconds", lambda p: 1.25)
    before, cpu, after = trials.ticked_cpu(None)
    assert cpu == 1.25 and after - before >= trials.TICK_WAIT_S


@pytest.mark.timing
def test_a_saturated_pinned_process_is_never_more_than_busy():
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs to pin on")
    cpu = min(os.sched_getaffinity(0))
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))  # fmt: skip
    try:
        time.sleep(0.2)
        shares = []
        for _ in range(10):
            marks = WindowMarks(spin.pid, ticked=True)
            marks("start")
            time.sleep(0.2)
            marks("end")
            wall, used, _ = marks.spent()
            shares.append(used / wall)
    finally:
        spin.kill()
        spin.wait()
    assert max(shares) <= 1.0 and max(shares) > 0.3
