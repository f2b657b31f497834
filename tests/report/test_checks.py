import json

from kvbench.measure.checks import checks
from kvbench.measure.sensitivity import summarize
from kvbench.report.checks import checks_section
from kvbench.results.model import Run


def windows(tps: list[float], cost_us: float, busy: float) -> list[dict]:
    return [
        {"http_tps": t, "loadgen_cpu_share": t * cost_us / 1e6, "server_busy": busy} for t in tps
    ]


def sensitivity(slow: list[float], busy: float) -> dict:
    normal = windows([40_000, 40_400, 39_800], 8.0, 0.99)
    return summarize("optimized", normal, windows(slow, 12.0, busy), 4_000, 1)


def section(checked: dict) -> str:
    return checks_section(Run.from_json({"services": {}, "checks": checked}))


ROUNDS = [{"busy": {"optimized": 0.99}, "loadgen_share": {"optimized": 0.5}}]


def test_a_passed_sensitivity_check_says_within_the_noise():
    within = section(checks(ROUNDS, frozenset(), 1, sensitivity([40_000], 0.99)))
    assert within.startswith("## Checks\n\nEvery check passed: ")
    assert "optimized's throughput moved to 1.000x, within the noise (2%)" in within


def test_an_undecided_check_is_said_apart_neither_passed_nor_failed():
    said = section(checks(ROUNDS, frozenset(), 1, sensitivity([36_000], 0.99)))
    assert "Every check passed" not in said and "warning" not in said
    assert "- sensitivity: undecided (neither passed nor failed): with the generator" in said
    assert "0.900x, beyond the noise (2.0%); the server stayed saturated" in said
    assert "No check failed; the others passed: every pinned server was busy" in said
    assert "moved to 0.900x, within" not in said  # not said as passed


def test_an_undecided_check_beside_a_failed_one_is_listed_with_the_warnings():
    rounds = [{"busy": {"optimized": 0.5}, "loadgen_share": {"optimized": 0.5}}]
    said = section(checks(rounds, frozenset(), 1, sensitivity([36_000], 0.99)))
    assert said.startswith("## Checks\n\n1 warning(s): ")
    assert "\n- sensitivity: undecided (neither passed nor failed): " in said


def test_the_stores_table_marks_the_tail_a_late_sender_shaped(tmp_path):
    from kvbench.report import sizing
    from kvbench.results.resultset import read_results
    from kvbench.results.summary import Summary

    stat = Summary.of([1000.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0]).to_json()
    metrics = {"http_tps": stat, "http_p99_ms": stat, "server_cpu_us_per_req": stat}
    services = {name: metrics for name in ("memory-1", "redis-1")}
    late = {"status": "failed", "max_excess": 0.05,
            "trials_late": [{"service": "redis-1", "round": 1}]}  # fmt: skip
    summary = {"schema": 1, "services": services, "checks": {"schedule": late, "ok": False}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    table = sizing.stores(read_results(tmp_path / "summary.json"))
    rows = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| `")}
    assert " †" in rows["| `redis-1`"] and "†" not in rows["| `memory-1`"]
    assert "†: the schedule check failed in a trial of `redis-1` (round 1)" in table


def test_a_run_that_did_not_check_has_no_checks_section():
    assert checks_section(Run.from_json({"services": {}})) == ""  # schema 1
