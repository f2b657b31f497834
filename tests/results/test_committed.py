"""The committed reference, checked the way a skeptic would: every latency figure recomputed
from the raw request records, every share a share, every check that did not run said so.

These read bench-results/ as committed; a run before schema 3 (no raw records) is skipped.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from kvbench.load.summary import PERCENTILES, load_records, percentile_ms
from kvbench.results.latency import CI_METHOD, pooled
from kvbench.results.resultset import read_results

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"
SUMMARIES = sorted(
    p for p in RESULTS.rglob("summary.json")
    if p.relative_to(RESULTS).parts[0] not in ("runs", "tmp")
)  # fmt: skip


def run_with_records(path: Path) -> dict:
    data = json.loads(path.read_text())
    if data.get("schema", 1) < 3 or not (data.get("files") or {}).get("latency"):
        pytest.skip("measured before raw request records (schema < 3) or without an open loop")
    return data


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_latency_recomputes_from_the_intended_send(path):
    data = run_with_records(path)
    for service, name in data["files"]["latency"].items():
        records = load_records(path.parent / name)
        done = records["answered_ns"] >= 0
        latency = records["answered_ns"][done] - records["intended_ns"][done]
        stored = data["latency"][service]
        assert stored["n"] == latency.size
        # the interval resamples whole trials: as read, from the same records (a run that
        # stored an interval made another way gets this method's when read)
        trials = [latency[records["trial"][done] == t] for t in np.unique(records["trial"])]
        again = pooled(trials, stored["offered_rate"])
        read = read_results(path).latency[service]
        for key, percent in PERCENTILES.items():
            assert (key in stored) == (key in again)  # reported only with enough requests
            if key in stored:
                assert stored[key]["ms"] == percentile_ms(latency, percent)
                assert read[key] == again[key]
                if stored["ci_method"] == CI_METHOD:
                    assert stored[key] == again[key]
                # a pooled percentile of whole trials never leaves their own percentiles
                each = [percentile_ms(t, percent) for t in trials]
                assert min(each) <= read[key]["ci_low"] <= read[key]["ci_high"] <= max(each)
        # a latency counts from the intended send, so it is never below the sender's lag
        sent_late = records["sent_ns"][done] - records["intended_ns"][done]
        assert np.all(latency >= sent_late)


@pytest.mark.parametrize("path", SUMMARIES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_shares_are_shares_and_checks_say_what_ran(path):
    data = json.loads(path.read_text())
    if data.get("schema", 1) < 3:
        pytest.skip("measured before schema 3")
    if "services" not in data:
        pytest.skip("not a run of services (the soak's summary has checks of its own)")
    for service, metrics in data["services"].items():
        for value in (metrics.get("server_busy") or {}).get("values", []):
            assert 0 <= value <= 1, f"{service}: busy share {value}"
        assert "http_achieved_rate" not in metrics  # the offered rate, by construction
    checks = data.get("checks") or {}
    if checks:
        statuses = [
            c.get("status") for c in checks.values() if isinstance(c, dict) and "status" in c
        ]
        # ok: one check passed and none failed; an undecided one is named beside ok
        assert checks["ok"] == ("ok" in statuses and "failed" not in statuses)
        assert set(statuses) <= {"ok", "failed", "undecided"}
        undecided = [n for n, c in checks.items() if status_of(c) == "undecided"]
        assert sorted(checks.get("undecided", [])) == sorted(undecided)


def status_of(check) -> str | None:
    return check.get("status") if isinstance(check, dict) else None


def test_the_main_runs_tail_ratio_has_an_interval_from_its_rounds():
    run = read_results(RESULTS)
    found = run.latency_ratios("unoptimized", "optimized")
    assert set(found) == {"p99", "p999"}
    for name, (value, ci) in found.items():
        stored = [run.latency[s][name]["ms"] for s in ("unoptimized", "optimized")]
        assert value == pytest.approx(stored[1] / stored[0], rel=1e-5)  # ms kept to 1 ns
        assert ci is not None and ci[0] < value < ci[1]
