"""Inline values: the time estimate, the ladder's size, a run's sections beside its services."""

import json
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.docgen.values import value
from kvbench.measure import benchargs as bench
from kvbench.measure.progress import minutes
from kvbench.report.formatting import number, ratio
from kvbench.results.summary import Summary
from kvbench.services import LADDER

NOWHERE = Sources(Path("no-results"), Path("."))  # an estimate reads no results


def test_the_estimate_is_what_the_command_says_at_its_start():
    seconds = bench.estimate(["--trials", "2"])
    assert minutes(seconds) == value("estimate bench --trials 2", NOWHERE)


def test_the_estimate_follows_the_settings():
    short, full = (bench.estimate(argv) for argv in (["--trials", "2"], []))
    assert short < full
    assert bench.estimate(["--layers", "http"]) < full
    assert value("estimate bench --quick --layers http --trials 1", NOWHERE) == "1 min"


def test_an_estimate_of_options_the_command_refuses_is_an_error():
    with pytest.raises(KvbenchError, match="does not take '--trails 2'"):
        bench.estimate(["--trails", "2"])
    with pytest.raises(KvbenchError, match="--trials and --connections"):
        value("estimate bench --concurrency 0", NOWHERE)


# The committed-looking run of tests/fixtures/run: what summary.json holds beside the services.
FIXTURE_RUN = Sources(Path(__file__).resolve().parents[1] / "fixtures" / "run", Path("."))


def fixture_summary() -> dict:
    return json.loads((FIXTURE_RUN.results / "summary.json").read_text(encoding="utf-8"))


def test_pooled_latency_values_read_the_latency_section():
    assert value("latency run unoptimized p99", FIXTURE_RUN) == "7.88 ms"
    assert value("latency run optimized n", FIXTURE_RUN) == "12,000"


def test_a_percentile_that_does_not_qualify_is_an_error_not_a_number():
    with pytest.raises(KvbenchError, match="p9999 does not qualify: 12,000 requests"):
        value("latency run optimized p9999", FIXTURE_RUN)
    with pytest.raises(KvbenchError, match="n or one of"):
        value("latency run optimized p95", FIXTURE_RUN)


def test_paired_values_are_the_median_of_per_round_ratios():
    stored = fixture_summary()["paired"]["optimized"]["metrics"]["http_tps"]
    ratios = Summary.of(stored["values"])
    assert value("paired run optimized http_tps", FIXTURE_RUN) == ratio(ratios.median)
    low, high = ratios.ci or (0, 0)
    said = f"{ratio(ratios.median)} (95% CI {number(low)} to {number(high)}x, n={ratios.n})"
    assert value("paired run optimized http_tps ci", FIXTURE_RUN) == said
    with pytest.raises(KvbenchError, match="no paired http_tps for 'unoptimized'"):
        value("paired run unoptimized http_tps", FIXTURE_RUN)


def test_round_values_take_the_worst_round():
    rounds = fixture_summary()["rounds"]
    assert value("rounds run headroom", FIXTURE_RUN) == ratio(min(r["headroom"] for r in rounds))
    least = min(b for r in rounds for b in r["busy"].values())
    assert value("rounds run busy", FIXTURE_RUN) == f"{number(least * 100)}%"
    with pytest.raises(KvbenchError, match="no warnings check"):
        value("checks run warnings", FIXTURE_RUN)


def test_the_ladder_counts_its_rungs_and_the_changes_between_them():
    assert value("ladder rungs", NOWHERE) == str(len(LADDER))
    assert value("ladder changes", NOWHERE) == str(len(LADDER) - 1)


def test_an_unknown_section_value_is_an_error():
    with pytest.raises(KvbenchError, match="unknown rounds value 'fastest'"):
        value("rounds run fastest", FIXTURE_RUN)


def test_check_counts_name_the_failed_rounds_and_trials():
    checks = fixture_summary()["checks"]
    below = checks["headroom"]["rounds_below"], checks["saturation"]["trials_below"]
    assert value("checks run headroom", FIXTURE_RUN) == str(len(below[0]))
    assert value("checks run saturation", FIXTURE_RUN) == str(len(below[1]))
    highest = max(r["headroom"] for r in fixture_summary()["rounds"])
    assert value("rounds run headroom max", FIXTURE_RUN) == ratio(highest)


def test_time_is_one_over_a_throughput():
    tps = Summary.of(fixture_summary()["services"]["optimized"]["http_tps"]["values"]).median
    assert value("run optimized http_tps time", FIXTURE_RUN) == f"{number(1e6 / tps)} µs"
    with pytest.raises(KvbenchError, match="one over a positive throughput"):
        value("run optimized server_busy time", FIXTURE_RUN)


def test_the_least_busy_window_leaves_out_the_exempt_ceilings(tmp_path):
    summary = fixture_summary()
    summary["checks"]["exempt"] = ["optimized"]  # as the peers run exempts its ceilings
    summary["rounds"][0]["busy"]["optimized"] = 0.80  # a ceiling held back by the generator
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    least = min(r["busy"]["unoptimized"] for r in summary["rounds"])
    assert value("rounds run busy", Sources(tmp_path, Path("."))) == f"{number(least * 100)}%"


def test_a_schedule_figure_reads_the_schedule_part(tmp_path):
    (tmp_path / "schedule").mkdir()
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}}))
    case = {"send_lag_ms": {"p50": 0.001, "p99": 0.0042}, "latency_ms": {"p99": 91.1}}
    summary = {"schema": 3, "services": {}, "schedule": {"rate_2000": case}}
    (tmp_path / "schedule" / "summary.json").write_text(json.dumps(summary))
    sources = Sources(tmp_path, Path("."))
    assert value("schedule rate_2000 send_lag_ms p99", sources) == "0.004 ms"
    assert value("schedule rate_2000 latency_ms p99", sources) == "91.1 ms"
    with pytest.raises(KvbenchError, match="no rate_4000 send_lag_ms p99"):
        value("schedule rate_4000 send_lag_ms p99", sources)
    absent = Sources(tmp_path / "schedule", Path("."))  # no schedule part beside it
    assert "run `make bench-schedule`" in value("schedule rate_2000 send_lag_ms p99", absent)


def test_parts_without_provenance_are_named(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}, "provenance": {}}))
    for part, summary in (("ladder", {"services": {}}), ("peers", {"provenance": {}})):
        (tmp_path / part).mkdir()
        (tmp_path / part / "summary.json").write_text(json.dumps(summary))
    sources = Sources(tmp_path, Path("."))
    assert value("parts unproven", sources) == "`ladder/`"
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}}))
    assert value("parts unproven", sources) == "`ladder/`, the main run"
