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
    checks = {"no_acknowledged_write_lost": {"ok": True, "count": 0}, "rss_flat": flat}
    soak = {"setup": "a test", "settings": {"fraction": 0.8}, "load": load}
    soak |= {"faults": [fault], "recovery": [recovery]}
    return {"soak": soak, "checks": checks | {"ok": True}}


def test_rewrite_makes_the_report_and_plot_from_the_files(tmp_path):
    rows = [{"t_s": t, "ok": 800, "errors": 12 if t == 1 else 0, "service_rss_mb": 100.0}
            for t in (1, 2, 3)]  # fmt: skip
    write_csv(rows, tmp_path / "series.csv")
    assert read_csv(tmp_path / "series.csv")[0]["errors"] == 12.0
    (tmp_path / "summary.json").write_text(json.dumps(summary()))
    text = report.rewrite(tmp_path).read_text()
    assert "| kill_redis | 1.0 | 0.5 | 12 | 0.1 | 0.9 | 0.9 | - |" in text
    assert "| rss_flat | undecided (not enforced) | slope +3/h, 95% interval [-1, +7]" in text
    assert "Verdict: **pass**" in text
    assert (tmp_path / "plots" / "soak.png").stat().st_size > 0
