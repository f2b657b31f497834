"""`kvbench soak` end to end, short: every fault kind once, the run's invariants checked.

A system test (real Redis, real service, about a minute): the flatness and p99 trend
checks cannot decide in so short a run and are not enforced; what must hold is that
nothing acknowledged was lost, no error fell outside a fault's window, no answer was wrong,
every fault ran, and nothing the soak started is left running. In 45 s the four faults
start about 8 s apart (at 10.7, 18.6, 26.4 and 34.3 s), and the load runs 10 s past the
last one.
"""

import json
from pathlib import Path

import psutil
import pytest

from kvbench import cli
from kvbench.soak import series
from kvbench.soak.faults import KINDS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("redis_checked")]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_short_soak_loses_nothing_and_leaves_nothing_running(tmp_path):
    # Half the measured capacity: the suite shares the machine with other tests.
    code = cli.main(["soak", "--duration", "45s", "--capacity-window", "3s",
                     "--fraction", "0.5", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    data = json.loads((tmp_path / "summary.json").read_text())
    checks, soak = data["checks"], data["soak"]
    judged = {name: c for name, c in checks.items() if isinstance(c, dict)}
    failed = {name: c for name, c in judged.items() if c["status"] == "failed"}
    assert code == 0, failed
    # one vocabulary with a benchmark's checks: a status per check, the undecided named
    said = {True: "ok", False: "failed", None: "undecided"}
    assert all(c["status"] in ("diagnostic", said[c["ok"]]) for c in judged.values())
    assert checks["no_acknowledged_write_lost"]["count"] == 0
    (restart,) = checks["no_acknowledged_write_lost"]["at_redis_restarts"]  # one Redis kill
    assert restart["lost"] == 0 and restart["acknowledged_before"] > 0
    assert soak["load"]["puts_acknowledged"] > 0
    assert soak["load"]["keys_read_back"] > 0
    assert checks["every_fault_injected"]["counts"] == dict.fromkeys(KINDS, 1)
    assert [r["kind"] for r in soak["recovery"]] == list(KINDS)
    assert soak["service_restarts"] and soak["service_restarts"][0]["exit_code"] == 1
    for name in ("series.csv", "REPORT.md", "plots/soak.png", "service.log"):
        assert (tmp_path / name).is_file()
    rows = series.read_csv(tmp_path / "series.csv")  # Redis's own counts, read from INFO
    assert {r["redis_aof_rewrites"] for r in rows if r["redis_clients"] is not None} >= {0.0}
    assert checks["redis_rss_mb_flat"]["warm_after"] == "redis_aof_rewrites"
    last = soak["last_processes"]
    assert len(last["service_pids"]) == 3  # the supervisor and its two workers
    assert not [pid for pid in [*last["service_pids"], last["redis_pid"]] if alive(pid)]
    assert not Path(last["redis_datadir"]).exists()
