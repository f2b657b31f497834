import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kvbench import KvbenchError
from kvbench.cli import main as cli
from kvbench.report.formatting import number, ratio
from kvbench.report.tables import context_for, render
from kvbench.results.compare import (
    BOOTSTRAP,
    PAIRED,
    compare_sets,
    geomean,
    relative_rows,
)
from kvbench.results.resample import unpaired_ratio
from kvbench.results.resultset import read_results as load
from kvbench.results.stats import mann_whitney, tie_groups
from kvbench.results.summary import Summary

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "run"
OLD = [10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 10.2, 9.7, 10.5, 10.0]
NEW = [8.1, 8.4, 7.9, 8.0, 8.3, 8.2, 7.8, 8.5, 8.0, 8.6]


def ns(values, name="asgi_ns_per_op", unit="ns/op"):
    return {name: Summary.of(values, unit)}


def test_row_median_interval_and_p_value_match_independent_values():
    (row,) = compare_sets(ns(OLD), ns(NEW))
    # Sorted OLD: 9.7 9.8 9.9 10.0 10.0 10.1 10.2 10.3 10.4 10.5 -> median 10.05, CI [x2, x9].
    assert row.old.median == pytest.approx(10.05)
    assert row.old.ci == (9.8, 10.4)
    assert row.new.median == pytest.approx(8.15)
    assert row.delta_pct == pytest.approx((8.15 - 10.05) / 10.05 * 100)
    # Every NEW value is below every OLD one: 1 of the C(20, 10) splits is this extreme, ties
    # within OLD (10.0 twice) or not; two-sided, twice that.
    assert row.p == pytest.approx(2 / math.comb(20, 10))
    assert row.verdict == "better"


def test_identical_samples_read_as_no_difference():
    (row,) = compare_sets(ns(OLD), ns(OLD))
    assert row.verdict == "same"
    assert row.p == pytest.approx(1.0)
    assert "~ (-3.9% to +3.5%, p=1.000 n=10)" in render([row])


def test_lower_throughput_is_worse_and_lower_latency_is_better():
    old = {**ns(OLD, "http_tps", "req/s"), **ns(OLD, "http_p99_ms", "ms")}
    new = {**ns(NEW, "http_tps", "req/s"), **ns(NEW, "http_p99_ms", "ms")}
    verdicts = {r.metric: r.verdict for r in compare_sets(old, new)}
    assert verdicts == {"http_tps": "worse", "http_p99_ms": "better"}


def test_text_row_looks_like_benchstat():
    text = render(compare_sets(ns(OLD), ns(NEW)), "text", ("base", "head"))
    header, line = text.splitlines()[:2]
    assert header.split() == ["metric", "unit", "base", "head", "vs", "base"]
    # Interval [9.8, 10.4] around 10.05 is at most 0.35 away: 3% of the median.
    assert "10.05 ± 3%" in line and "ns/op ↓" in line
    assert "-18.91% (-22.3% to -15.6%, p=0.000 n=10) better" in line


def test_unequal_sizes_show_both_counts():
    (row,) = compare_sets(ns(OLD), ns(NEW + [8.0, 8.1]))
    assert "n=10+12" in render([row])


def test_small_samples_get_footnotes_as_benchstat_prints_them():
    text = render(compare_sets(ns([1.0, 2.0, 3.0]), ns([4.0, 5.0, 6.0])))
    # Three a side can never reach p <= 0.05 (the least p is 2 / C(6, 3) = 0.1).
    assert "2.000 ± ∞ ¹" in text and "~ (p=0.100 n=3) ²" in text
    assert "¹ need >= 6 values for a 95% confidence interval" in text
    # benchstat's footnote there says the test cannot reach alpha; the words follow the
    # interval of the change, which needs 6 a side, and say so instead
    assert "² no 95% interval of the change from n=3, so no word: ~" in text


def test_a_zero_baseline_is_reported_and_gated_not_called_the_same():
    rows = compare_sets(ns([0.0] * 10, "gc_pause_max_ms", "ms"),
                        ns([3.0, 4.0, 3.0, 5.0, 4.0, 3.0, 4.0, 5.0, 3.0, 4.0], "gc_pause_max_ms",
                           "ms"))  # fmt: skip
    (row,) = rows
    assert row.from_zero and row.delta_pct is None and row.verdict == "worse"
    assert "from 0 (p=0.000 n=10) worse" in render(rows)
    assert "from 0" in render(rows, "article")


def test_metric_on_one_side_only_is_a_row_with_a_note():
    rows = compare_sets(ns(OLD), {**ns(NEW), **ns(NEW, "http_tps", "req/s")})
    only = next(r for r in rows if r.metric == "http_tps")
    assert only.note == "only in new" and only.old is None and only.verdict == ""
    assert "only in new" in render(rows)


def test_mismatched_units_refuse_the_row():
    (row,) = compare_sets(ns(OLD, unit="ns/op"), ns(NEW, unit="ms"))
    assert row.verdict == "" and row.p is None
    assert row.note == "units differ (ns/op vs ms); not compared"


def test_a_metric_without_values_is_not_read(tmp_path):
    summary = '{"services": {"optimized": {"http_tps": {"values": []}, "x_ms": {"values": [1]}}}}'
    (tmp_path / "summary.json").write_text(summary)
    assert list(load(tmp_path).services["optimized"]) == ["x_ms"]


def test_a_missing_side_is_a_note_not_a_crash():
    (row,) = compare_sets({}, ns(NEW))
    assert row.note == "only in new"
    assert "only in new" in render([row], "md")


def test_geomean_of_medians_and_its_change():
    old = {**ns([100.0] * 4, "a_ns_per_op"), **ns([400.0] * 4, "b_ns_per_op")}
    new = {**ns([50.0] * 4, "a_ns_per_op"), **ns([200.0] * 4, "b_ns_per_op")}
    rows = compare_sets(old, new)
    assert geomean(rows) == pytest.approx((200.0, 100.0, -50.0))
    (line,) = [line for line in render(rows).splitlines() if line.startswith("geomean")]
    assert line.split() == ["geomean", "200.0", "100.0", "-50.00%"]


def test_geomean_over_mixed_directions_counts_throughput_as_a_cost():
    old = {**ns([100.0] * 4, "http_tps", "req/s"), **ns([10.0] * 4, "http_p99_ms", "ms")}
    new = {**ns([200.0] * 4, "http_tps", "req/s"), **ns([10.0] * 4, "http_p99_ms", "ms")}
    # Costs: 1/100 -> 1/200 and 10 -> 10: the geomean falls by 1 - sqrt(1/2).
    assert geomean(compare_sets(old, new))[2] == pytest.approx((0.5**0.5 - 1) * 100)


def test_fixture_within_one_run_in_every_format():
    rows = compare_sets(load(FIXTURE).services["unoptimized"], load(FIXTURE).services["optimized"])
    summary = json.loads((FIXTURE / "summary.json").read_text())["services"]
    assert len(rows) == len(summary["optimized"]) and all(r.verdict for r in rows)
    records = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [r["metric"] for r in records] == [r.metric for r in rows]
    doc = json.loads(render(rows, "json", ("unoptimized", "optimized")))
    assert doc["old"] == "unoptimized" and len(doc["rows"]) == len(rows)
    table = render(rows, "md").splitlines()[: len(rows) + 3]  # header, rule, rows, geomean
    assert all(line.startswith("|") and line.count(" | ") == 4 for line in table)


def test_article_table_shape_and_delta_convention():
    summary = json.loads((FIXTURE / "summary.json").read_text())["services"]
    tps = summary["optimized"]["http_tps"]["median"] / summary["unoptimized"]["http_tps"]["median"]
    rows = compare_sets(load(FIXTURE).services["unoptimized"], load(FIXTURE).services["optimized"])
    lines = render(rows, "article", ("unoptimized", "optimized")).splitlines()
    assert lines[0] == "| Metric | Unoptimized | Optimized | Delta |"
    assert len(lines) == 2 + 5  # no http_p99_ms (schema 2), no context given: no pooled rows
    assert lines[2].startswith("| HTTP throughput (req/s) |") and f"| {ratio(tps)} (" in lines[2]
    # no per-round pairs in this context: the ratio's unpaired interval, as a ratio too
    assert re.search(r"\(95% CI [0-9.]+x to [0-9.]+x, unpaired, n=\d+\)", lines[2])
    assert "-85% (6.88x less)" in lines[4]  # allocations: 1100 -> 160


def test_article_with_the_runs_context_shows_pooled_tails_and_the_paired_ratio():
    run = load(FIXTURE)
    rows = compare_sets(run.services["unoptimized"], run.services["optimized"])
    context = context_for(run, "unoptimized", "optimized")
    lines = render(rows, "article", ("unoptimized", "optimized"), context).splitlines()
    stored = json.loads((FIXTURE / "summary.json").read_text())
    paired = stored["paired"]["optimized"]["metrics"]["http_tps"]
    low, high = number(paired["ci_low"]), number(paired["ci_high"])
    expected = f"{ratio(paired['median'])} ({low} to {high}, paired)"
    assert lines[2].endswith(f"| {expected} |")
    p99 = [line for line in lines if line.startswith("| Latency p99 at 1,000 req/s (ms) |")]
    p999 = [line for line in lines if line.startswith("| Latency p99.9 at 1,000 req/s (ms) |")]
    assert len(p99) == len(p999) == 1
    unoptimized = np.load(FIXTURE / "latency-unoptimized.npy")
    pooled_p99 = np.percentile(unoptimized, 99, method="inverted_cdf") / 1e6
    assert f"| {number(pooled_p99)} |" in p99[0]  # recomputed from the raw file


def test_pyperf_suite_values_become_ns_per_op():
    suite = load(FIXTURE / "asgi.json").services
    summary = load(FIXTURE).services
    for service in ("unoptimized", "optimized"):
        got = suite[service]["asgi_ns_per_op"]
        assert got.unit == "ns/op"
        assert got.values == pytest.approx(summary[service]["asgi_ns_per_op"].values)


def test_http_trial_suite_takes_its_service_from_the_file_name():
    suite = load(FIXTURE / "http-optimized.json").services
    summary = load(FIXTURE).services["optimized"]
    assert list(suite) == ["optimized"]
    for name in ("http_tps", "http_trial_p99_ms", "server_open_cpu_us_per_req", "server_rss_mb"):
        got = suite["optimized"][name]
        assert got.unit == summary[name].unit  # seconds and bytes back to ms, us/req, MB
        assert got.values == pytest.approx(summary[name].values)


def test_missing_and_corrupt_files_raise_clear_errors(tmp_path):
    with pytest.raises(KvbenchError, match="no such file"):
        load(tmp_path / "absent.json")
    with pytest.raises(KvbenchError, match="no summary.json in this folder"):
        load(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(KvbenchError, match="not readable JSON"):
        load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text("[1, 2]")
    with pytest.raises(KvbenchError, match="neither a summary.json nor a pyperf suite"):
        load(tmp_path / "other.json")


def test_non_numeric_and_nan_values_are_clear_errors(tmp_path):
    for bad, message in (('["fast"]', "non-numeric"), ("[1.0, NaN]", "NaN or infinite")):
        summary = '{"services": {"optimized": {"http_tps": {"values": VALUES}}}}'
        (tmp_path / "summary.json").write_text(summary.replace("VALUES", bad))
        with pytest.raises(KvbenchError, match=f"metric 'http_tps' has {message} values"):
            load(tmp_path)


def test_broken_pyperf_suite_is_a_clear_error(tmp_path):
    (tmp_path / "suite.json").write_text('{"version": "1.0", "benchmarks": [{"runs": 3}]}')
    with pytest.raises(KvbenchError, match="not a valid pyperf suite"):
        load(tmp_path / "suite.json")


def test_unknown_service_names_what_exists(capsys):
    assert main(["--old", "unoptimized", "--new", "nope", str(FIXTURE)]) == 1
    err = capsys.readouterr().err
    assert "no service 'nope' (has: unoptimized, optimized)" in err


@pytest.mark.slow
def test_script_reports_bad_input_in_one_line(tmp_path):
    (tmp_path / "summary.json").write_text('{"services": {"optimized": {"http_tps": 5}}')
    for target in (tmp_path / "absent", tmp_path):
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "compare.py"), str(target)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1  # unreadable results: a failed command, not bad usage
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")
        assert "Traceback" not in done.stderr and done.stdout == ""


def planted(tmp_path, factor: float, name: str = "http_tps", others: float = 1.0) -> Path:
    """A copy of the fixture run: optimized's `name` scaled by `factor`, unoptimized's by
    `others` (a machine that is slower for both), the paired ratios recomputed to match."""
    run = tmp_path / f"run-{name}-{factor}-{others}"
    shutil.copytree(FIXTURE, run)
    data = json.loads((run / "summary.json").read_text())
    services = data["services"]
    for service, scale in (("optimized", factor), ("unoptimized", others)):
        services[service][name] = Summary.of(
            [v * scale for v in services[service][name]["values"]]
        ).to_json()
    paired = data["paired"]["optimized"]["metrics"]
    if name in paired:
        new, base = services["optimized"][name]["values"], services["unoptimized"][name]["values"]
        paired[name] = Summary.of([a / b for a, b in zip(new, base, strict=True)]).to_json()
    (run / "summary.json").write_text(json.dumps(data))
    return run


def summary_file(tmp_path, name: str, services: dict[str, dict[str, list[float]]]) -> str:
    data = {"schema": 2, "services": {s: {m: Summary.of(v).to_json() for m, v in metrics.items()}
                                      for s, metrics in services.items()}}  # fmt: skip
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_nan_is_a_clear_error_never_a_hang():
    nan = [1.0, 2.0, math.nan, 3.0]
    for call in (lambda: compare_sets(ns(OLD), {"asgi_ns_per_op": Summary(tuple(nan))}),
                 lambda: tie_groups(nan, OLD), lambda: mann_whitney(OLD, nan)):  # fmt: skip
        with pytest.raises(ValueError, match="NaN"):
            call()


def test_the_command_turns_a_statistics_error_into_a_message(tmp_path, capsys, monkeypatch):
    old = summary_file(tmp_path, "old", {"app": {"http_tps": OLD}})

    def broken(*args, **kwargs):
        raise ValueError("the first sample has a NaN or infinite value (nan): no statistic")

    monkeypatch.setattr("kvbench.commands.compare.compare_sets", broken)
    assert main([old, old]) == 1
    err = capsys.readouterr().err
    assert (
        err == "error: cannot compare these results: the first sample has a NaN or infinite "
        "value (nan): no statistic\n"
    )
    assert main(["--fail-on-regression", "5", old, old]) == 4  # the gate refuses, as it says
    assert (
        capsys.readouterr().err == "gate refused: the first sample has a NaN or infinite "
        "value (nan): no statistic\n"
    )


def test_relative_rows_use_the_paired_ratios_and_forgive_a_slower_machine(tmp_path):
    slow = planted(tmp_path, 0.6, others=0.6)  # both services 40% slower: the ratio holds
    (row,) = relative_rows(load(FIXTURE), load(slow), "unoptimized", ["optimized"],
                           names=["http_tps"])  # fmt: skip
    assert row.basis == PAIRED and row.delta_pct == pytest.approx(0.0)
    worse = planted(tmp_path, 0.85)  # optimized alone lost 15%, inside its own ±20% noise
    (row,) = relative_rows(load(FIXTURE), load(worse), "unoptimized", ["optimized"],
                           names=["http_tps"])  # fmt: skip
    assert row.basis == PAIRED and row.verdict == "worse"
    assert row.delta_pct == pytest.approx(-15.0)
    assert row.new.values == pytest.approx([v * 0.85 for v in row.old.values])


def test_relative_rows_bootstrap_a_metric_without_paired_ratios(tmp_path):
    worse = planted(tmp_path, 1.25, "asgi_ns_per_op")
    (row,) = relative_rows(load(FIXTURE), load(worse), "unoptimized", ["optimized"],
                           names=["asgi_ns_per_op"])  # fmt: skip
    assert row.basis == BOOTSTRAP and row.p < 0.05
    # The interval carries the base's error: wider than the values' own over its median.
    naive = row.old.with_ci(Summary.of(row.old.values).ci)
    assert row.old.spread_pct > naive.spread_pct
    # so does the change's: wider than resampling the scaled values alone would give
    low, high = row.change_ci
    _, alone = unpaired_ratio(row.new.values, row.old.values)
    assert low < row.new.median / row.old.median < high
    assert math.log(high / low) > math.log(alone[1] / alone[0])


def test_relative_rows_read_a_run_without_paired_ratios(tmp_path):
    old = tmp_path / "schema1"
    shutil.copytree(FIXTURE, old)
    data = json.loads((old / "summary.json").read_text())
    del data["paired"]
    (old / "summary.json").write_text(json.dumps(data))
    (row,) = relative_rows(load(old), load(FIXTURE), "unoptimized", ["optimized"],
                           names=["http_tps"])  # fmt: skip
    assert row.basis == BOOTSTRAP and row.verdict == "same"


def main(argv: list[str]) -> int:
    return cli(["compare", *argv])


def test_an_exact_count_is_judged_against_the_spread_of_its_repeats():
    def counts(*values):
        return {"asgi_instructions_per_op": Summary.of(values, "instr/op")}

    (moved,) = compare_sets(counts(100_000, 100_050, 100_020), counts(90_000, 90_010, 90_005))
    assert moved.exact and moved.verdict == "better" and moved.evidence == "exact"
    # 0.2% is within the layout noise floor (0.5%): no change, whatever the repeats say
    (still,) = compare_sets(counts(100_000, 100_000, 100_000), counts(100_200, 100_200, 100_200))
    assert still.verdict == "same"
    # a change smaller than the spread of the repeats is no change either
    (noisy,) = compare_sets(counts(100_000, 103_000, 101_000), counts(102_000, 102_500, 102_400))
    assert noisy.verdict == "same"
    assert "(exact n=3)" in render([moved], "text")
