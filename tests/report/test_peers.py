"""The peers report: its rows table, curve tables and plots, from a summary alone."""

import numpy as np

from kvbench.report.peers import curve_table, peers_table, write_report
from kvbench.results.summary import Summary


def fake_summary(trials: int = 6) -> dict:
    def metrics(tps: float) -> dict:
        return {
            "http_tps": stored([tps * (1 + i / 100) for i in range(trials)]),
            "http_p99_ms": stored([2.0] * trials),
            "server_cpu_us_per_req": stored([1e6 / tps] * trials),
            "loadgen_cpu_share": stored([0.5] * trials),
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
        "curves": {"concurrency": curve, "workers": curve},
        "files": {},
    }


def test_peers_table_without_intervals_says_so():
    table = peers_table(fake_summary(trials=2))
    assert "±" not in table and "no interval below 6 trials" in table


def test_curve_table_one_line_per_point_and_service():
    curve = fake_summary()["curves"]["concurrency"]
    table = curve_table(curve, "connections", [("http_tps", "throughput (req/s)")])
    assert [line.split(" | ")[:2] for line in table.splitlines()[2:4]] == [
        ["| 1", "optimized"],
        ["| 1,000", "optimized"],
    ]
    assert (
        table.splitlines()[-1] == "Medians of n = 6 trials per point ± the wider side of "
        "their 95% interval."
    )


def test_curve_table_below_six_trials_says_n_and_claims_no_interval():
    curve = fake_summary(trials=3)["curves"]["concurrency"]
    table = curve_table(curve, "connections", [("http_tps", "throughput (req/s)"),
                                               ("server_busy", "server busy (cores)")])  # fmt: skip
    assert "±" not in table and "server busy" not in table  # not recorded: no column
    assert table.endswith("Medians of n = 3 trials per point: too few for an interval, so none "
                          "is claimed.\n")  # fmt: skip


def test_write_report_writes_markdown_and_plots(tmp_path, golden):
    summary = fake_summary()
    np.save(tmp_path / "latency-optimized.npy", np.arange(1, 2001, dtype=np.int64) * 1000)
    summary["files"] = {"latency": {"optimized": "latency-optimized.npy"}}
    report = write_report(tmp_path, summary).read_text()
    golden("report-peers.md", report)
    for stem in ["peers-throughput", "peers-latency", "scaling-concurrency", "scaling-workers"]:
        assert f"plots/{stem}.png" in report
        assert (tmp_path / "plots" / f"{stem}.png").stat().st_size > 0
        assert (tmp_path / "plots" / f"{stem}.svg").stat().st_size > 0


def stored(values) -> dict:
    """A metric as summary.json stores it."""
    return Summary.of(values).to_json()


def test_a_row_where_the_generator_used_its_core_is_a_lower_bound_and_says_so():
    summary = fake_summary()
    summary["services"]["raw-protocol"]["loadgen_cpu_share"] = stored([0.96] * 6)
    rows = {line.split(" | ")[0]: line for line in peers_table(summary).splitlines()}
    assert " | ≥ 82.00k" in rows["| raw-protocol"] and "≥" not in rows["| optimized"]
    assert "the load generator used over 90% of its core on `raw-protocol`" in peers_table(summary)


def test_rows_a_check_of_the_run_flagged_are_marked_and_the_note_says_why():
    summary = fake_summary()
    summary["checks"] = {
        "schedule": {"status": "failed", "trials_late": [{"round": 3, "service": "bare-asgi"}]},
        "sensitivity": {"status": "failed", "service": "optimized", "slowdown": 1.7,
                        "ratio": 0.9, "noise": 0.05},
    }  # fmt: skip
    table = peers_table(summary)
    rows = {line.split(" | ")[0]: line.split(" | ") for line in table.splitlines()}
    assert rows["| bare-asgi"][3].endswith(" †") and not rows["| optimized"][3].endswith("†")
    assert rows["| optimized"][2].endswith(" ‡") and not rows["| bare-asgi"][2].endswith("‡")
    assert "schedule check failed in a trial of `bare-asgi` (round 3)" in table
    assert (
        "sensitivity check failed on `optimized`: with the generator slowed, its "
        "throughput moved to 0.900x, beyond the noise (5.0%)" in table
    )
    assert "†" not in peers_table(fake_summary())  # a run whose checks passed has no marks


def test_a_sensitivity_check_that_failed_without_a_fall_is_not_told_as_one():
    summary = fake_summary()
    summary["checks"] = {
        "sensitivity": {"status": "failed", "service": "optimized", "slowdown": 1.1,
                        "ratio": 1.02, "noise": 0.01, "tolerance": 0.02},
    }  # fmt: skip
    table = peers_table(summary)
    assert "could not test the generator" in table and "moved to" not in table


def test_a_row_whose_sensitivity_check_was_undecided_is_marked_and_not_called_failed():
    summary = fake_summary()
    summary["checks"] = {
        "sensitivity": {"status": "undecided", "service": "optimized", "ratio": 0.91,
                        "noise": 0.012, "tolerance": 0.02, "reading": "it moved"},
    }  # fmt: skip
    table = peers_table(summary)
    rows = {line.split(" | ")[0]: line.split(" | ") for line in table.splitlines()}
    assert rows["| optimized"][2].endswith(" ‡")
    assert (
        "sensitivity check on `optimized` was undecided: with the generator slowed, its "
        "throughput moved to 0.910x, beyond the noise (2.0%), while the server stayed " in table
    )
    assert "check failed" not in table
