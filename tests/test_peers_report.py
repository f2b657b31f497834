"""The peers report: its rows table, curve tables and plots, from a summary alone."""

import numpy as np

from kvbench.peers_report import curve_table, peers_table, write_report
from kvbench.stats import summarize


def fake_summary(trials: int = 6) -> dict:
    def metrics(tps: float) -> dict:
        return {
            "http_tps": summarize([tps * (1 + i / 100) for i in range(trials)]),
            "http_p99_ms": summarize([2.0] * trials),
            "server_cpu_us_per_req": summarize([1e6 / tps] * trials),
            "loadgen_cpu_share": summarize([0.5] * trials),
        }

    rows = {"optimized": 20_000.0, "bare-asgi": 22_000.0, "raw-protocol": 80_000.0}
    curve = {"optimized": {"1": metrics(5_000.0), "1000": metrics(20_000.0)}}
    return {
        "environment": {"cores": 2, "http": {"offered_rate": 3000.0, "trials": trials}},
        "services": {name: metrics(tps) for name, tps in rows.items()},
        "rows": {name: f"the {name} row" for name in rows},
        "skipped": {"nginx": "skipped: nginx is not installed on this machine"},
        "ratio_to_ceiling": {name: tps / 80_000.0 for name, tps in rows.items()},
        "floor_check": {"ratio": 20_000 / 22_000, "tolerance": 0.15, "within": True},
        "scaling": {"concurrency": curve, "workers": curve},
        "files": {},
    }


def test_peers_table_has_every_row_its_ratio_and_the_skipped_note():
    table = peers_table(fake_summary())
    lines = table.splitlines()
    assert lines[0].startswith("| row | throughput (req/s) | p99 at 3,000 req/s (ms) |")
    assert any(line.startswith("| optimized | 20,500 ± ") and "0.25×" in line for line in lines)
    assert any(line.startswith("| raw-protocol |") and "1.00×" in line for line in lines)
    assert "| nginx | skipped: nginx is not installed on this machine |" in table
    assert "n = 6 trials per row" in table


def test_peers_table_without_intervals_says_so():
    table = peers_table(fake_summary(trials=2))
    assert "±" not in table and "no interval below 6 trials" in table


def test_curve_table_one_line_per_point_and_service():
    curve = fake_summary()["scaling"]["concurrency"]
    table = curve_table(curve, "connections", [("http_tps", "throughput (req/s)", 0)])
    assert table.splitlines()[2].startswith("| 1 | optimized | 5,125 ± ")
    assert table.splitlines()[3].startswith("| 1,000 | optimized | 20,500 ± ")


def test_write_report_writes_markdown_and_plots(tmp_path):
    summary = fake_summary()
    np.save(tmp_path / "latency-optimized.npy", np.arange(1, 2001, dtype=np.int64) * 1000)
    summary["files"] = {"latency": {"optimized": "latency-optimized.npy"}}
    report = write_report(tmp_path, summary).read_text()
    assert "within 15% of it" in report and "0.25× its throughput" in report
    for stem in ["peers-throughput", "peers-latency", "scaling-concurrency", "scaling-workers"]:
        assert f"plots/{stem}.png" in report
        assert (tmp_path / "plots" / f"{stem}.png").stat().st_size > 0
        assert (tmp_path / "plots" / f"{stem}.svg").stat().st_size > 0
