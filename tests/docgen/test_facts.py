"""Named facts: how a marker is parsed, the time estimate, the ladder's size, a run's sections."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from kvbench import KvbenchError
from kvbench.catalog.ladder import NAMES
from kvbench.docgen.facts import FACTS
from kvbench.docgen.facts.soak import soak_restarts
from kvbench.docgen.generate import value
from kvbench.docgen.sources import Sources
from kvbench.measure import benchargs as bench
from kvbench.measure.progress import minutes
from kvbench.report.formatting import number, ratio
from kvbench.results.summary import Summary
from kvbench.services import LADDER

NOWHERE = Sources(Path("no-results"), Path("."))  # an estimate reads no results


def test_the_estimate_is_what_the_command_says_at_its_start():
    seconds = bench.estimate(["--trials", "2"])
    assert minutes(seconds) == value('bench_minutes("--trials", "2")', NOWHERE)


def test_the_estimate_follows_the_settings():
    short, full = (bench.estimate(argv) for argv in (["--trials", "2"], []))
    assert short < full
    assert bench.estimate(["--layers", "http"]) < full
    assert (
        value('bench_minutes("--quick", "--layers", "http", "--trials", "1")', NOWHERE) == "1 min"
    )


def test_an_estimate_of_options_the_command_refuses_is_an_error():
    with pytest.raises(KvbenchError, match="does not take '--trails 2'"):
        bench.estimate(["--trails", "2"])
    with pytest.raises(KvbenchError, match="--trials and --connections"):
        value('bench_minutes("--concurrency", "0")', NOWHERE)


# The committed-looking run of tests/fixtures/run: what summary.json holds beside the services.
FIXTURE_RUN = Sources(Path(__file__).resolve().parents[1] / "fixtures" / "run", Path("."))


def fixture_summary() -> dict:
    return json.loads((FIXTURE_RUN.results / "summary.json").read_text(encoding="utf-8"))


def test_paired_values_are_the_median_of_per_round_ratios():
    stored = fixture_summary()["paired"]["optimized"]["metrics"]["http_tps"]
    ratios = Summary.of(stored["values"])
    assert value('paired_ratio("run", "optimized", "http_tps")', FIXTURE_RUN) == ratio(
        ratios.median
    )
    low, high = ratios.ci or (0, 0)
    said = f"{ratio(ratios.median)} (95% CI {number(low)} to {number(high)}x, n={ratios.n})"
    assert value('paired_ratio_ci("run", "optimized", "http_tps")', FIXTURE_RUN) == said
    with pytest.raises(KvbenchError, match="no paired http_tps for 'unoptimized'"):
        value('paired_ratio("run", "unoptimized", "http_tps")', FIXTURE_RUN)


def test_round_values_take_the_worst_round():
    rounds = fixture_summary()["rounds"]
    assert value('lowest_headroom("run")', FIXTURE_RUN) == ratio(min(r["headroom"] for r in rounds))
    least = min(b for r in rounds for b in r["busy"].values())
    assert value('least_busy("run")', FIXTURE_RUN) == f"{number(least * 100)}%"
    with pytest.raises(KvbenchError, match="no warnings check"):
        value('failed_count("run", "warnings")', FIXTURE_RUN)


def test_the_ladder_counts_its_rungs_and_the_changes_between_them():
    assert value("rung_count()", NOWHERE) == str(len(LADDER))
    assert value("step_count()", NOWHERE) == str(len(LADDER) - 1)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ('fastest_round("run")', "unknown fact 'fastest_round'"),
        ('median("run", SERVICE, "http_tps")', "arguments are string literals"),
        ('median("run", "optimized", 3)', "arguments are string literals"),
        ('median("run", "optimized", metric="http_tps")', "positional arguments"),
        ("run optimized http_tps", "not a call such as median"),
        ('__import__("os").getcwd()', "not a call of a fact"),
        ('median("run", "optimized")', "wrong arguments for the fact"),
    ],
)
def test_a_marker_calls_a_known_fact_with_literal_arguments_or_is_an_error(spec, error):
    with pytest.raises(KvbenchError, match=error):
        value(spec, FIXTURE_RUN)


def test_every_fact_says_what_it_returns_in_one_line():
    assert {"median", "rung_share", "bench_minutes"} <= FACTS.keys()
    assert "rungs" not in FACTS and "_paired" not in FACTS  # imports and helpers are no facts
    for name, function in FACTS.items():
        assert function.__doc__ and "\n" not in function.__doc__.strip(), name


def test_check_counts_name_the_failed_rounds_and_trials():
    checks = fixture_summary()["checks"]
    above, below = checks["generator"]["trials_above"], checks["saturation"]["trials_below"]
    assert value('failed_count("run", "generator")', FIXTURE_RUN) == str(len(above)) != "0"
    assert value('failed_count("run", "saturation")', FIXTURE_RUN) == str(len(below))
    with pytest.raises(KvbenchError, match="no headroom check"):
        value('failed_count("run", "headroom")', FIXTURE_RUN)  # judged by evidence now
    highest = max(r["headroom"] for r in fixture_summary()["rounds"])
    assert value('highest_headroom("run")', FIXTURE_RUN) == ratio(highest)


def test_time_is_one_over_a_throughput():
    tps = Summary.of(fixture_summary()["services"]["optimized"]["http_tps"]["values"]).median
    assert value('time_per_request("run", "optimized")', FIXTURE_RUN) == f"{number(1e6 / tps)} µs"


def test_the_least_busy_window_leaves_out_the_exempt_ceilings(tmp_path):
    summary = fixture_summary()
    summary["checks"]["exempt"] = ["optimized"]  # as the peers run exempts its ceilings
    summary["rounds"][0]["busy"]["optimized"] = 0.80  # a ceiling held back by the generator
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    least = min(r["busy"]["unoptimized"] for r in summary["rounds"])
    assert value('least_busy("run")', Sources(tmp_path, Path("."))) == f"{number(least * 100)}%"


def test_a_schedule_figure_reads_the_schedule_part(tmp_path):
    (tmp_path / "schedule").mkdir()
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}}))
    case = {"send_lag_ms": {"p50": 0.001, "p99": 0.0042}, "latency_ms": {"p99": 91.1}}
    summary = {"schema": 3, "services": {}, "schedule": {"rate_2000": case}}
    (tmp_path / "schedule" / "summary.json").write_text(json.dumps(summary))
    sources = Sources(tmp_path, Path("."))
    assert value('schedule_figure("rate_2000", "send_lag_ms", "p99")', sources) == "0.004 ms"
    assert value('schedule_figure("rate_2000", "latency_ms", "p99")', sources) == "91.1 ms"
    with pytest.raises(KvbenchError, match="no rate_4000 send_lag_ms p99"):
        value('schedule_figure("rate_4000", "send_lag_ms", "p99")', sources)
    absent = Sources(tmp_path / "schedule", Path("."))  # no schedule part beside it
    assert "run `make bench-schedule`" in value(
        'schedule_figure("rate_2000", "send_lag_ms", "p99")', absent
    )


def test_parts_without_provenance_are_named(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}, "provenance": {}}))
    for part, summary in (("ladder", {"services": {}}), ("peers", {"provenance": {}})):
        (tmp_path / part).mkdir()
        (tmp_path / part / "summary.json").write_text(json.dumps(summary))
    sources = Sources(tmp_path, Path("."))
    assert value("unproven_parts()", sources) == "`ladder/`"
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}}))
    assert value("unproven_parts()", sources) == "`ladder/`, the main run"


def test_the_generators_busiest_trial_and_the_check_bounds_are_facts():
    services = fixture_summary()["services"]
    shares = [v for metrics in services.values() for v in metrics["loadgen_cpu_share"]["values"]]
    assert value('busiest_generator("run")', FIXTURE_RUN) == f"{number(max(shares) * 100)}%"
    assert value('check_bound("max_loadgen_share")', FIXTURE_RUN) == "90%"
    with pytest.raises(KvbenchError, match="no check bound 'min_headroom'"):
        value('check_bound("min_headroom")', FIXTURE_RUN)


# The verdict rule (docs/05-compare.md#one-rule-for-the-words), on the fixture run.
def rewritten(tmp_path: Path, change) -> Sources:
    """The fixture run with its summary changed by `change`, in a folder of its own."""
    summary = fixture_summary()
    change(summary)
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return Sources(tmp_path, Path("."))


def test_a_ratio_whose_interval_excludes_1_names_the_change():
    stored = fixture_summary()["paired"]["optimized"]["metrics"]["http_tps"]
    assert stored["ci_low"] > 1
    said = value('verdict("run", "optimized", "unoptimized", "http_tps")', FIXTURE_RUN)
    low, high = number(stored["ci_low"]), number(stored["ci_high"])
    assert (
        said == f"faster: {ratio(Summary.of(stored['values']).median)} (95% CI {low} to "
        f"{high}x, paired, n={stored['n']})"
    )
    cpu = value('verdict("run", "optimized", "unoptimized", "server_open_cpu_us_per_req")',
                FIXTURE_RUN)  # fmt: skip
    assert cpu.startswith("cheaper: ")


def test_a_ratio_whose_interval_includes_1_cannot_tell(tmp_path):
    def straddle(summary):
        entry = summary["paired"]["optimized"]["metrics"]["http_tps"]
        entry["values"] = [0.9, 1.1] * 5
        entry["ci_low"], entry["ci_high"] = 0.9, 1.1

    said = value('verdict("run", "optimized", "unoptimized", "http_tps")',
                 rewritten(tmp_path, straddle))  # fmt: skip
    assert said == "can't tell at n=10: 1.00x (95% CI 0.900 to 1.10x, paired)"


def test_a_percentile_within_twice_the_floor_gets_no_verdict(tmp_path):
    name = "http_trial_p99_ms"
    optimized = Summary.of(fixture_summary()["services"]["optimized"][name]["values"]).median
    before = value(f'verdict("run", "optimized", "unoptimized", "{name}")', FIXTURE_RUN)
    assert before.startswith("lower: ")  # the fixture has no floor: no floor claim

    def floored(summary):
        summary["floor"] = {"round_trip_ms": {"p50": 0.05, "p99": optimized, "p999": None},
                            "at_floor_factor": 2.0}  # fmt: skip

    sources = rewritten(tmp_path, floored)
    said = value(f'verdict("run", "optimized", "unoptimized", "{name}")', sources)
    assert said.startswith(f"can't tell: within 2x of the run's floor (p99 "
                           f"{number(optimized)} ms): ")  # fmt: skip
    assert value('floor_latency("run", "p99")', sources) == f"{number(optimized)} ms"
    assert value('floor_latency("run", "p99")', FIXTURE_RUN) == "not measured in this run"


def test_shares_of_the_time_saved_are_ranked_only_where_their_intervals_separate(
    tmp_path, write_ladder
):
    write_ladder(tmp_path)  # async 35%, httptools 20%, noaccesslog 10%, uvloop 5% of the saving
    sources = Sources(tmp_path, Path("."))
    said = value('share_order("http_tps", "httptools", "async", "noaccesslog")', sources)
    assert said.startswith("`async` 35.0% (34.") and said.endswith(
        "the intervals rank `async` above `httptools` above `noaccesslog`"
    )
    summary = json.loads((tmp_path / "ladder" / "summary.json").read_text(encoding="utf-8"))
    # async's rounds disagree (1.2x to 2.4x): its step's interval, read as a share, is wide
    wide_step = Summary.of([1.2, 2.4] * 5).to_json()
    summary["paired"]["async"]["metrics"]["http_tps"] = wide_step
    (tmp_path / "ladder" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    wide = value('share_order("http_tps", "httptools", "async")', Sources(tmp_path, Path(".")))
    assert wide.endswith("their intervals overlap, so this run does not rank them")
    # async's wide interval spans httptools' but lies above noaccesslog's: two ranks
    three = value('share_order("http_tps", "httptools", "async", "noaccesslog")',
                  Sources(tmp_path, Path(".")))  # fmt: skip
    assert three.endswith(
        "rank `async` and `httptools` above `noaccesslog`, not `async` against `httptools`"
    )


def test_a_rung_is_named_faster_only_where_its_paired_interval_excludes_no_change(
    tmp_path, write_ladder
):
    path = write_ladder(tmp_path)
    summary = json.loads(path.read_text(encoding="utf-8"))
    resolved, straddling = [1.5, 1.6] * 5, [0.9, 1.1] * 5
    after = NAMES[NAMES.index("async") + 1]  # the rung after async
    previous = {"async": NAMES[NAMES.index("async") - 1], after: "async"}
    summary["paired"] = {
        rung: {"vs": previous[rung], "metrics": {"http_tps": Summary.of(values).to_json()}}
        for rung, values in (("async", resolved), (after, straddling))
    }
    path.write_text(json.dumps(summary), encoding="utf-8")
    sources = Sources(tmp_path, Path("."))
    said = value('against_prediction("async")', sources)  # no profiles: no prediction
    steps = len(json.loads(path.read_text())["services"]) - 1
    level = f"{(1 - 0.05 / steps) * 100:.3g}% CI"  # one of the ladder's steps: Bonferroni
    assert said.startswith(f"time per request -35% ({level} ") and said.endswith("n=10): faster")
    assert value(f'against_prediction("{after}")', sources).endswith("can't tell at n=10")


def test_a_step_clear_alone_is_not_named_when_the_ladder_family_cannot_tell(tmp_path, write_ladder):
    # Nine rounds agree and one does not: the 95% interval of the median (2nd to 9th value)
    # excludes no change, the family's (lowest to highest, at 1 - 0.05/steps) does not.
    path = write_ladder(tmp_path)
    summary = json.loads(path.read_text(encoding="utf-8"))
    values = [0.99] + [1.05] * 9
    entry = Summary.of(values).to_json()
    assert entry["ci_low"] > 1  # alone, this step would be named
    before = NAMES[NAMES.index("orjson") - 1]
    summary["paired"]["orjson"] = {"vs": before, "metrics": {"http_tps": entry}}
    path.write_text(json.dumps(summary), encoding="utf-8")
    sources = Sources(tmp_path, Path("."))
    assert value('step_verdict("orjson")', sources).startswith("can't tell at n=10: +5.0% (")
    assert value(f'verdict("ladder", "orjson", "{before}", "http_tps")', sources).startswith(
        "faster"
    )


def test_cpu_per_request_is_read_at_each_parts_rate_and_the_plot_where_it_will_be(tmp_path):
    from kvbench.services import SERVICES

    command = SERVICES["optimized"].command("127.0.0.1", 0)[1:]
    for folder, rate, cpu in ((tmp_path, 1700.0, 100.0), (tmp_path / "peers", 1200.0, 120.0)):
        folder.mkdir(exist_ok=True)
        http = {"offered_rate": rate, "commands": {"optimized": command}}
        services = {"optimized": {"server_open_cpu_us_per_req": {"values": [cpu] * 6}}}
        summary = {"schema": 3, "environment": {"http": http}, "services": services}
        (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    sources = Sources(tmp_path, tmp_path)
    assert value("cpu_rate_span()", sources) == (
        "120 µs (120 to 120) at 1,200 req/s (peers) and "
        "100 µs (100 to 100) at 1,700 req/s (main), 2 parts in all"
    )
    assert (
        value("cpu_curve_plot()", sources) == "`cpu-per-request.png` (drawn by `kvbench promote`)"
    )
    (tmp_path / "cpu-per-request.png").write_bytes(b"")
    assert value("cpu_curve_plot()", sources).endswith("(../cpu-per-request.png)")


def test_checks_by_part_names_the_parts_that_passed_and_what_failed_elsewhere(tmp_path):
    base = fixture_summary()
    ok = {"status": "ok"}
    passing = {"saturation": ok, "generator": ok, "sensitivity": ok, "ok": True}
    failing = passing | {"schedule": {"status": "failed", "trials_late": [{}, {}]}, "ok": False}
    old = {"headroom": {"status": "failed", "rounds_below": [{}]}, "ok": False}
    for where, checks in (("", passing), ("ladder", failing), ("peers", old)):
        (tmp_path / where).mkdir(exist_ok=True)
        summary = base | {"checks": checks}
        (tmp_path / where / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    said = value("checks_by_part()", Sources(tmp_path, Path(".")))
    # peers was judged by the old ceiling rule: it is left out, not counted as a failure
    assert said == "1 of 2 parts passed every check (main); failed: ladder: schedule (2)"


def test_checks_of_a_part_say_what_passed_and_each_failure_with_its_trials(tmp_path):
    checks = {"saturation": {"status": "ok"}, "sensitivity": {"status": "ok"},
              "schedule": {"status": "failed", "trials_late": [{}]}, "ok": False}  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(fixture_summary() | {"checks": checks}))
    said = value('checks_of("run")', Sources(tmp_path, Path(".")))
    assert said == "saturation, sensitivity passed; schedule failed in 1 trial"


def test_an_undecided_check_is_neither_passed_nor_failed_in_the_facts(tmp_path):
    ok, undecided = {"status": "ok"}, {"status": "undecided"}
    checks = {"saturation": ok, "sensitivity": undecided, "undecided": ["sensitivity"], "ok": True}
    failing = checks | {"schedule": {"status": "failed", "trials_late": [{}]}, "ok": False}
    for where, found in (("", checks), ("ladder", failing)):
        (tmp_path / where).mkdir(exist_ok=True)
        summary = fixture_summary() | {"checks": found}
        (tmp_path / where / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    sources = Sources(tmp_path, Path("."))
    assert value('checks_of("run")', sources) == (
        "saturation passed; sensitivity undecided (neither passed nor failed)"
    )
    assert value("checks_by_part()", sources) == (
        "0 of 2 parts passed every check; undecided (neither passed nor failed): main: "
        "sensitivity undecided; failed: ladder: schedule (1), sensitivity undecided"
    )


def test_a_restart_the_soak_could_not_read_is_not_counted_as_one_that_lost_nothing():
    restarts = [{"at_s": 50.0, "lost": 0, "acknowledged_before": 900, "after_ping_ms": 27.0},
                {"at_s": 90.0, "lost": 0, "error": "KeyError: 'value'"}]  # fmt: skip
    check = {"at_redis_restarts": restarts, "redis_kills": 2}
    data = {"checks": {"no_acknowledged_write_lost": check}}
    said = soak_restarts(SimpleNamespace(part_json=lambda part: data))
    assert said.startswith("none lost at 1 of 2 Redis restarts")
