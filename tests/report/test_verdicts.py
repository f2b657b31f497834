"""The one verdict rule: a row's word comes from the interval of its change, not the U test."""

import dataclasses
import json

from kvbench.report.article import article_delta
from kvbench.report.formatting import change_span
from kvbench.report.tables import Context, render
from kvbench.report.verdicts import judged
from kvbench.results.compare import BOOTSTRAP, compare_samples
from kvbench.results.summary import Summary

FLOOR = {"round_trip_ms": {"p50": 0.1, "p99": 0.5}, "at_floor_factor": 2.0}


def tps(*values: float) -> Summary:
    return Summary.of(values, "req/s")


def row(old: Summary, new: Summary, name: str = "http_tps"):
    return compare_samples(old, new, 0.05, "", name)


def test_paired_ratios_that_all_agree_name_a_change_the_rank_test_cannot():
    # Two services that swing together with the machine (round by round), new ~5% ahead:
    # the unpaired samples overlap (U test: no difference), the per-round ratios do not.
    base = [1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900]
    old, new = tps(*base), tps(*(b * 1.05 for b in base))
    plain = row(old, new)
    assert plain.verdict == "same" and plain.p > 0.05  # benchstat's own word, kept in results
    ratios = Summary.of([1.04, 1.05, 1.06, 1.05, 1.04, 1.06, 1.05, 1.05, 1.04, 1.06], "x")
    found = judged(plain, ratios)
    assert found.verdict == "better" and found.change_ci[0] > 1
    assert "(paired)" in found.basis and "decides nothing" in found.basis


def test_paired_ratios_that_straddle_one_say_can_not_tell_whatever_p_says():
    old = tps(100, 101, 102, 103, 104, 105, 106, 107, 108, 109)
    new = tps(110, 111, 112, 113, 114, 115, 116, 117, 118, 119)
    assert row(old, new).verdict == "better"  # separated samples: p < 0.05
    ratios = Summary.of([0.95, 1.2, 0.97, 1.25, 0.9, 1.1, 0.99, 1.3, 0.92, 1.15], "x")
    assert judged(row(old, new), ratios).verdict == "same"


def test_unpaired_the_resampled_interval_of_the_ratio_decides():
    old = tps(100, 101, 102, 103, 104, 105, 106, 107, 108, 109)
    assert (
        judged(row(old, tps(150, 151, 152, 153, 154, 155, 156, 157, 158, 159))).verdict == "better"
    )
    assert judged(row(old, tps(50, 51, 52, 53, 54, 55, 56, 57, 58, 59))).verdict == "worse"
    overlapping = tps(98, 100, 102, 104, 106, 108, 110, 112, 101, 103)
    assert judged(row(old, overlapping)).verdict == "same"


def test_a_family_of_comparisons_widens_the_interval():
    # 10 rounds: the 95% order-statistic interval drops the lowest and highest ratio; at
    # 1 - 0.05/14 it holds every round, so one round below 1 leaves the step undecided.
    ratios = Summary.of([0.99, 1.04, 1.05, 1.06, 1.05, 1.04, 1.06, 1.05, 1.05, 1.07], "x")
    one = row(tps(*[100] * 9, 101), tps(*[105] * 9, 104))
    assert judged(one, ratios).verdict == "better"
    assert judged(one, ratios, family=14).verdict == "same"
    assert "one of 14 comparisons" in judged(one, ratios, family=14).basis


def test_a_latency_percentile_at_the_floor_gets_no_word():
    ms = [0.30, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36]
    old, new = Summary.of(ms, "ms"), Summary.of([m * 3 for m in ms], "ms")
    found = judged(row(old, new, "http_trial_p99_ms"), floor=FLOOR)  # 0.33 ms <= 2 x 0.5 ms
    assert found.verdict == "same" and any("floor" in w for w in found.warnings)
    assert judged(row(old, new, "http_trial_p99_ms")).verdict == "worse"  # no floor measured


def test_exact_counts_and_diagnostics_keep_their_own_rules():
    counts = row(Summary.of([160, 160, 160], "allocs/op"), Summary.of([200, 200, 200], "allocs/op"),
                 "asgi_allocs_per_op")  # fmt: skip
    assert judged(counts) is counts
    busy = row(Summary.of([0.99] * 6, "cores"), Summary.of([0.5] * 6, "cores"), "server_busy")
    assert judged(busy) is busy


def test_an_exact_count_counted_once_shows_its_change_and_no_word():
    once = row(Summary.of([5.5], "per 1k req"), Summary.of([0.5], "per 1k req"),
               "gc_collections_per_kreq")  # fmt: skip
    assert once.verdict == "better"  # the spread rule alone: no repeats, no spread
    assert judged(once).verdict == "once"
    line = next(ln for ln in render([once], "text", ("a", "b")).splitlines()
                if ln.startswith("gc_collections_per_kreq"))  # fmt: skip
    assert "-90.91% (exact n=1)" in line and "better" not in line and "~" not in line
    record = json.loads(render([once], "json", ("a", "b")))
    assert [r["verdict"] for r in record["rows"] if r["metric"] == "gc_collections_per_kreq"] == [
        "once"
    ]
    assert article_delta(judged(once)) == "-91% (counted once, no word)"
    repeated = row(Summary.of([5.5, 5.5], "per 1k req"), Summary.of([0.5, 0.5], "per 1k req"),
                   "gc_collections_per_kreq")  # fmt: skip
    assert judged(repeated).verdict == "better"


def test_a_paired_lower_better_metric_reads_by_its_direction_and_shows_the_paired_change():
    old = Summary.of([10.0 + i / 10 for i in range(10)], "us/req")
    new = Summary.of([8.0 + i / 10 for i in range(10)], "us/req")
    ratios = Summary.of([0.79, 0.8, 0.81, 0.8, 0.79, 0.8, 0.81, 0.8, 0.8, 0.8], "x")
    found = judged(row(old, new, "server_open_cpu_us_per_req"), ratios)
    assert found.verdict == "better" and round(found.delta_pct, 9) == -20.0  # ratios: -20%


def test_a_zero_among_the_trials_is_judged_by_the_difference_not_refused():
    old = Summary.of([0, 3, 4, 2, 3, 5, 4, 3, 2, 4], "count")
    many = Summary.of([800, 810, 790, 805, 795, 800, 802, 798, 801, 799], "count")
    found = judged(row(old, many, "gc_collections"))
    assert found.verdict == "worse" and "difference of the medians" in found.basis
    same = Summary.of([3, 0, 4, 2, 3, 4, 5, 3, 2, 4], "count")
    assert judged(row(old, same, "gc_collections")).verdict == "same"


def test_below_six_trials_there_is_no_interval_so_no_word():
    old, new = tps(100, 101, 102, 103, 104), tps(200, 201, 202, 203, 204)
    plain = row(old, new)
    assert plain.verdict == "better"  # the U test's word at n=5: p=0.008
    found = judged(plain)
    assert found.verdict == "same" and found.change_ci is None and "from n=5" in found.basis


def test_a_relative_row_keeps_its_bootstrap_interval_and_footnote():
    old = tps(*[1.0 + i / 100 for i in range(10)]).with_unit("x base")
    new = tps(*[1.2 + i / 100 for i in range(10)]).with_unit("x base")
    relative = dataclasses.replace(row(old, new), basis=BOOTSTRAP, change_ci=(1.15, 1.25))
    found = judged(relative)
    assert found.verdict == "better" and found.change_ci == (1.15, 1.25)
    assert BOOTSTRAP in found.warnings and "bootstrap of each run" in found.basis
    text = render([relative], "text", ("a", "b"))
    assert "(+15.0% to +25.0%, " in text and BOOTSTRAP in text


def test_rendering_leaves_the_rows_the_gate_reads_as_they_were():
    old = tps(100, 101, 102, 103, 104, 105, 106, 107, 108, 109)
    rows = [row(old, tps(110, 111, 112, 113, 114, 115, 116, 117, 118, 119))]
    ratios = Context(paired={"http_tps": Summary.of([0.9, 1.1] * 5, "x")})
    render(rows, "text", ("a", "b"), ratios)
    assert rows[0].verdict == "better" and rows[0].change_ci is None and rows[0].basis == ""


def test_the_table_shows_the_interval_the_word_comes_from():
    old = tps(100, 101, 102, 103, 104, 105, 106, 107, 108, 109)
    new = tps(150, 151, 152, 153, 154, 155, 156, 157, 158, 159)
    text = render([row(old, new)], "text", ("a", "b"))
    line = next(line for line in text.splitlines() if line.startswith("http_tps"))
    assert " to +" in line and "p=0.000 n=10) better" in line
    paired = Context(paired={"http_tps": Summary.of([0.9, 1.1] * 5, "x")})
    line = next(ln for ln in render([row(old, new)], "text", ("a", "b"), paired).splitlines()
                if ln.startswith("http_tps"))  # fmt: skip
    assert "~ (-10.0% to +10.0%, p=0.000 n=10)" in line  # the paired interval holds no change


def test_an_interval_of_changes_reads_apart():
    assert change_span(-81.94, -80.31) == "-81.9% to -80.3%"
    assert change_span(686.2, 749.4) == "+686% to +749%"
    assert change_span(-77.04, -77.01) == "-77.04% to -77.01%"
