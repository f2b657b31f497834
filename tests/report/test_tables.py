"""Every output format of `kvbench compare`, against golden files rendered from the fixture."""

import json
from pathlib import Path

import pytest

from kvbench.report.formatting import pct
from kvbench.report.tables import FORMATS, centre, context_for, render
from kvbench.results.compare import compare_sets, geomean
from kvbench.results.gate import gate
from kvbench.results.resultset import read_results
from kvbench.results.summary import Summary

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"
SUFFIX = {"text": "txt", "md": "md", "csv": "csv", "json": "json", "article": "article.md"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_matches_its_golden_file(fmt, golden):
    run = read_results(FIXTURE)
    rows = compare_sets(run.service("unoptimized"), run.service("optimized"))
    context = context_for(run, "unoptimized", "optimized")  # pooled latency, paired ratios
    golden(f"compare.{SUFFIX[fmt]}", render(rows, fmt, ("unoptimized", "optimized"), context))


def test_two_runs_group_rows_by_service(golden):
    run = read_results(FIXTURE)
    rows = []
    for service in ("unoptimized", "optimized"):
        rows += compare_sets(run.service(service), run.service(service), group=service)
    golden("compare-two-runs.txt", render(rows, "text", ("base", "new")))


def test_a_schema_1_run_pools_its_raw_latency_files_and_has_no_paired_ratios(tmp_path):
    stored = json.loads((FIXTURE / "summary.json").read_text())
    data = {k: v for k, v in stored.items() if k not in ("latency", "paired", "rounds", "checks")}
    (tmp_path / "summary.json").write_text(json.dumps(data))
    for name in ("unoptimized", "optimized"):
        (tmp_path / f"latency-{name}.npy").write_bytes(
            (FIXTURE / f"latency-{name}.npy").read_bytes()
        )
    context = context_for(read_results(tmp_path), "unoptimized", "optimized")
    # The same percentiles as the stored ones: both come from the raw files, nearest rank;
    # but a bare file does not say which request came from which trial: no interval.
    for side, name in zip(context.latency, ("unoptimized", "optimized"), strict=True):
        for percentile, entry in stored["latency"][name].items():
            if isinstance(entry, dict):
                assert side[percentile]["ms"] == entry["ms"]
                assert side[percentile]["ci_low"] is side[percentile]["ci_high"] is None
    assert context.paired == {}
    (tmp_path / "latency-optimized.npy").unlink()
    assert context_for(read_results(tmp_path), "unoptimized", "optimized").latency is None


def test_centre_is_the_median_and_the_wider_side_of_its_interval():
    assert centre(Summary.of([90, 95, 100, 100, 101, 102, 130])) == "100.0 ± 30%"
    assert centre(Summary.of([24_000, 24_100, 24_200])) == "24.10k"
    notes: list[str] = []
    assert centre(Summary.of([1.0, 2.0]), notes) == "1.500 ± ∞ ¹"
    assert notes == ["need >= 6 values for a 95% confidence interval"]
    assert centre(None) == "—"


def test_a_diagnostic_shows_its_change_with_no_verdict_geomean_or_gate():
    # The closed-loop p99 is throughput again (Little's law), and the answered rate is the
    # offered one: both move "significantly" and neither may be judged or counted.
    old = {"http_tps": Summary.of([100.0 + i for i in range(8)]),
           "http_closed_p99_ms": Summary.of([64.0 + i for i in range(8)]),
           "http_open_answered_rate": Summary.of([1699.67] * 4 + [1700.0] * 4)}  # fmt: skip
    new = {"http_tps": Summary.of([200.0 + i for i in range(8)]),
           "http_closed_p99_ms": Summary.of([32.0 + i for i in range(8)]),
           "http_open_answered_rate": Summary.of([1700.0] * 8)}  # fmt: skip
    rows = compare_sets(old, new)
    text = render(rows, "text")
    for name in ("http_closed_p99_ms", "http_open_answered_rate"):
        line = next(x for x in text.splitlines() if x.startswith(name))
        assert "diagnostic n=8" in line and not any(w in line for w in ("better", "worse", "~"))
        assert json.loads(render(rows, "json"))["rows"][rows.index(
            next(r for r in rows if r.metric == name))]["verdict"] == "diagnostic"  # fmt: skip
    assert geomean(rows) == geomean([r for r in rows if r.metric == "http_tps"])
    named = gate(rows, 5.0, names=["http_tps", "http_closed_p99_ms"])
    assert named.refusals == ["http_closed_p99_ms: a diagnostic (shown, never judged), not a "
                              "metric to gate on"]  # fmt: skip


def test_a_shares_bounds_get_digits_until_they_read_apart():
    assert pct(4.3, (4.1, 4.5)) == "4.3% (4.1 to 4.5%)"
    assert pct(24.1, (23.6, 24.4)) == "24.1% (23.6 to 24.4%)"  # "24 to 24%" says nothing
    assert pct(38.0) == "38%"
