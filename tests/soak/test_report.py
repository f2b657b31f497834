"""kvbench/soak/report.py: REPORT.md and the plot from summary.json and series.csv alone."""

import json

from kvbench.soak import report
from kvbench.soak.series import read_csv, write_csv


def summary() -> dict:
    load = {"mix": "90% GET, 10% PUT", "offered_rps": 800.0, "capacity_rps": 1000.0}
    load |= {"connections": 64, "load_s": 3, "answered_ok": 2400, "errors": 12}
    load |= {"puts_acknowledged": 240, "puts_unknown": 3}
    fault = {"kind": "kill_redis", "start": 1.0, "end": 1.5, "detail": {}}
    recovery = {"kind": "kill_redis", "at_s": 1.0, "window_s": 0.5, "errors": 12}
    recovery |= {"first_error_s": 0.1, "last_error_s": 0.9, "answering_s": 0.9}
    flat = {"ok": None, "slope_per_hour": 3.0, "interval_per_hour": [-1.0, 7.0]}
    flat |= {"bound_per_hour": 1.0, "level": 100.0, "samples": 3, "why": "too short"}
    trend = {"ok": None, "status": "undecided", "median_p99_ms": 11.0, "slope_ms_per_hour": 2.4}
    trend |= {"interval_ms_per_hour": [0.6, 4.2], "minutes": 28, "why": "the interval straddles"}
    checks = {"no_acknowledged_write_lost": {"ok": True, "count": 0}, "rss_flat": flat}
    checks["p99_per_minute_not_rising"] = trend
    held = {"ok": True, "slope_per_hour": 0.01, "interval_per_hour": [-0.05, 0.07], "level": 13.0}
    held |= {"bound_per_hour": 0.13, "samples": 1700, "held": "redis_clients"}
    held |= {"held_range": [32, 42], "held_cost_per_unit": [0.021, 0.012, 0.031]}
    checks["redis_rss_mb_flat"] = held
    soak = {"setup": "a test", "settings": {"fraction": 0.8}, "load": load}
    soak |= {"faults": [fault], "recovery": [recovery]}
    soak["generator_gc"] = {"collections": [90, 8, 2], "total_ms": 9.0, "max_ms": [0.1, 0.4, 3.5]}
    return {"soak": soak, "checks": checks | {"ok": True}}


def test_rewrite_makes_the_report_and_plot_from_the_files(tmp_path):
    rows = [{"t_s": t, "ok": 800, "errors": 12 if t == 1 else 0, "service_rss_mb": 100.0}
            for t in (1, 2, 3)]  # fmt: skip
    write_csv(rows, tmp_path / "series.csv")
    assert read_csv(tmp_path / "series.csv")[0]["errors"] == 12.0
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    text = report.rewrite(tmp_path).read_text()
    assert "| kill_redis | 1.0 | 0.5 | 12 | 0.1 | 0.9 | 0.9 | - |" in text
    assert "| rss_flat | undecided | slope +3/h, 95% interval [-1, +7]" in text
    assert "too short |" in text
    assert "with redis_clients (32 to 42) as a covariate, +0.021 each [+0.012, +0.031] |" in text
    # Undecided in a run long enough to enforce: the check's own reason, not "not enforced".
    assert (
        "| p99_per_minute_not_rising | undecided | median p99 11 ms, slope +2.4 ms/h, "
        "95% interval [+0.6, +4.2], 28 minutes; the interval straddles |"
    ) in text
    assert "Verdict: **pass**" in text
    assert "The soak's own process ran 2 full GC collections, the longest 3.5 ms" in text
    assert (tmp_path / "plots" / "soak.png").stat().st_size > 0


def test_a_check_decided_by_its_stretches_alone_is_explained_not_a_crash(tmp_path):
    # The ratchet returns before any interval of the calm end is fitted: the first
    # committed 30-minute run's report crashed on this.
    data = summary()
    data["checks"]["redis_rss_flat"] = {
        "ok": False, "slope_per_hour": 1.3, "bound_per_hour": 0.13, "level": 13.1,
        "samples": 866, "stretch_levels": [12.8, 13.3],
        "stretch_slope_per_hour": [35.0, 25.2, 44.9],
        "why": "the level steps up from stretch to stretch (a step at each fault)",
    }  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(data))
    write_csv([{"t_s": 1, "ok": 800, "errors": 0}], tmp_path / "series.csv")
    text = report.rewrite(tmp_path).read_text()
    assert "| redis_rss_flat | **FAIL** | slope +1.3/h, bound 0.13/h" in text
    assert "their slope +35/h [+25.2, +44.9]; the level steps up" in text


def test_each_restarts_read_says_when_it_came_after_the_pong_or_why_it_failed():
    check = {"ok": False, "count": 0, "why": "the restart read at 90 s failed (OSError: x)"}
    check["at_redis_restarts"] = [
        {"at_s": 50.0, "lost": 0, "after_ping_ms": 27.4},
        {"at_s": 90.0, "lost": 0, "error": "OSError: x"},
    ]
    said = report.explain(check)
    assert "0 lost at 50 s (read 27.4 ms after its first PONG)" in said
    assert "not read at 90 s: OSError: x" in said


def test_the_aof_rewrites_marked_are_rises_within_one_redis_not_a_restarts_reset():
    rows = [{"t_s": 0.5, "redis_pid": 4, "redis_aof_rewrites": 1},  # done before its first row
            {"t_s": 1.0, "redis_pid": 5, "redis_aof_rewrites": 0},
            {"t_s": 2.0, "redis_pid": 5, "redis_aof_rewrites": 1},
            {"t_s": 3.0, "redis_pid": 5, "redis_aof_rewrites": None},
            {"t_s": 4.0, "redis_pid": 6, "redis_aof_rewrites": 0},
            {"t_s": 5.0, "redis_pid": 6, "redis_aof_rewrites": 0},
            {"t_s": 6.0, "redis_pid": 6, "redis_aof_rewrites": 2}]  # fmt: skip
    assert report.rewrites(rows) == [0.5, 2.0, 6.0]
