import dataclasses
import subprocess
import sys
import time

import psutil
import pytest

from kvbench.load.summary import LoadError
from kvbench.measure.trials import TrialPlan, WindowMarks, run_trial, worker_spread
from kvbench.services import SERVICES, get_service, parse_variant

pytestmark = pytest.mark.slow

TINY = TrialPlan(connections=4, warmup_s=0.2, duration_s=0.5, latency_s=0.5, rate=400)


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_trial_records_every_metric():
    result = run_trial(SERVICES["optimized"], TINY)
    metrics = result.metrics
    assert metrics["http_tps"] > 0
    assert 0 < metrics["server_busy"] <= 1.2 and 0 < metrics["loadgen_cpu_share"] <= 1.2
    assert metrics["server_open_cpu_us_per_req"] > 0
    assert "server_cpu_us_per_req" not in metrics  # 1/throughput in a saturated closed loop
    assert metrics["server_rss_mb"] > 1
    # 200 requests: p50 and p90 have at least 10 beyond them, p99 does not.
    assert 0 < metrics["http_trial_p50_ms"] <= metrics["http_trial_p90_ms"]
    assert "http_trial_p99_ms" not in metrics
    assert metrics["http_achieved_rate"] == pytest.approx(400, rel=0.3)
    assert result.latencies_ns is not None and result.latencies_ns.size == 200


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
