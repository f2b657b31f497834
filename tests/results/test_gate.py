"""The compare gate: regression, no regression or inconclusive, each with its exit status; or
a refusal of what it cannot judge."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from kvbench import KvbenchError
from kvbench.cli import main as cli
from kvbench.results import gate
from kvbench.results.compare import BOOTSTRAP, Comparison, compare_sets
from kvbench.results.metrics import metric
from kvbench.results.resample import unpaired_ratio
from kvbench.results.resultset import read_results
from kvbench.results.summary import Summary
from tests.results.test_compare import FIXTURE, planted

ROOT = Path(__file__).resolve().parents[2]
NS = "asgi_ns_per_op"


def values(center: float, spread: float, n: int = 10, seed: int = 0) -> list[float]:
    """n values around `center`, each off by up to `spread` (a fraction) at random."""
    rng = np.random.default_rng(seed)
    return list(center * (1 + rng.uniform(-spread, spread, n)))


def decide(old: list[float], new: list[float], pct: float, name: str = NS) -> gate.Gate:
    rows = compare_sets({name: Summary.of(old)}, {name: Summary.of(new)})
    return gate.gate(rows, pct, names=[name])


def main(argv: list[str]) -> int:
    return cli(["compare", *argv])


def test_a_change_wholly_past_the_threshold_is_a_regression():
    decision = decide(values(100, 0.02), values(120, 0.02, seed=1), 5)
    assert decision.answer == gate.REGRESSION and decision.exit_code == 1
    (judged,) = decision.judged
    assert "wholly past the 5% threshold" in judged.reason


def test_an_interval_inside_the_threshold_is_no_regression():
    decision = decide(values(100, 0.02), values(101, 0.02, seed=1), 5)
    assert decision.answer == gate.NO_REGRESSION and decision.exit_code == 0
    (judged,) = decision.judged
    assert judged.reason.endswith("excludes a regression beyond 5%")
    # the interval printed is the project's own, of new / old
    estimate, (low, high) = unpaired_ratio(*(r.values for r in (judged.row.new, judged.row.old)))
    assert f"95% interval {(low - 1) * 100:+.2f}% to {(high - 1) * 100:+.2f}%" in judged.reason


def test_noise_wider_than_the_threshold_is_inconclusive_and_says_how_many_trials():
    decision = decide(values(100, 0.3), values(110, 0.3, seed=1), 5)
    assert decision.answer == gate.INCONCLUSIVE and decision.exit_code == 3
    (judged,) = decision.judged
    assert "straddles the 5% threshold" in judged.reason
    assert "trials a side would decide it at this spread (has 10)" in judged.reason


def test_trials_needed_shrink_the_interval_as_one_over_root_n():
    # the side facing the bound: half-width log(1.25) now, distance log(1.1): n (h / d)^2
    expected = math.ceil(10 * (math.log(1.25) / math.log(1.1)) ** 2)
    said = gate.trials_needed(1.0, (0.9, 1.25), 1.1, 10)
    assert said == f"about {expected} trials a side would decide it at this spread (has 10)"
    below = math.ceil(10 * (math.log(1 / 0.9) / math.log(1 / 0.95)) ** 2)
    assert f"about {below} trials" in gate.trials_needed(1.0, (0.9, 1.25), 0.95, 10)
    assert "no number of trials" in gate.trials_needed(1.1, (0.9, 1.3), 1.1, 10)
    assert "more than 1,000" in gate.trials_needed(1.0, (0.5, 2.0), 1.01, 10)


def test_too_few_values_for_an_interval_are_inconclusive_not_a_pass():
    decision = decide([1000, 1010, 990], [800, 808, 792], 5, "http_tps")  # 20% slower
    assert decision.answer == gate.INCONCLUSIVE
    assert "3 and 3 values: an interval needs >= 6 a side" in decision.judged[0].reason


def test_past_the_threshold_but_not_significant_after_holm_is_inconclusive():
    # Each of 30 metrics 20% worse on 6 values a side: every interval lies past 5%, but the
    # smallest p of the U test at 6 and 6, 2 / C(12, 6) = 0.0022, times 30 is over 0.05.
    names = [f"m{i}_ns_per_op" for i in range(30)]
    old = {n: Summary.of(values(100, 0.01, 6, seed=i)) for i, n in enumerate(names)}
    new = {n: Summary.of(values(120, 0.01, 6, seed=20 + i)) for i, n in enumerate(names)}
    decision = gate.gate(compare_sets(old, new), 5, names=names)
    assert decision.answer == gate.INCONCLUSIVE
    assert "Holm-adjusted over 30 timed metrics" in decision.judged[0].reason
    alone = gate.gate(compare_sets({names[0]: old[names[0]]}, {names[0]: new[names[0]]}), 5,
                      names=names[:1])  # fmt: skip
    assert alone.answer == gate.REGRESSION


def test_exact_counts_are_compared_by_their_medians_without_a_test():
    name = "asgi_allocs_per_op"
    more = decide([100.0] * 3, [103.0] * 3, 2, name)
    assert more.answer == gate.REGRESSION
    assert more.judged[0].reason == "+3.00% (exact count, no test), threshold 2%"
    assert decide([100.0] * 3, [103.0] * 3, 5, name).answer == gate.NO_REGRESSION
    assert decide([0.0], [0.02], 5, "gc_cycles_per_op").answer == gate.REGRESSION
    assert decide([0.0], [0.0], 5, "gc_cycles_per_op").answer == gate.NO_REGRESSION


def test_only_the_named_metrics_are_gated():
    rows = compare_sets(
        {NS: Summary.of(values(100, 0.02)), "http_tps": Summary.of(values(100, 0.02))},
        {NS: Summary.of(values(150, 0.02)), "http_tps": Summary.of(values(100, 0.02, seed=3))},
    )
    decision = gate.gate(rows, 5, names=["http_tps"])
    assert [j.row.metric for j in decision.judged] == ["http_tps"]
    assert decision.answer == gate.NO_REGRESSION


def test_a_named_metric_missing_on_either_side_or_both_refuses():
    rows = compare_sets({NS: Summary.of(values(100, 0.02))}, {"http_tps": Summary.of([1.0] * 6)})
    decision = gate.gate(rows, 5, names=[NS, "http_tps", "asgi_allocs_per_op"])
    assert decision.answer == gate.REFUSED and decision.exit_code == 4
    assert decision.refusals == [
        f"{NS}: only in old",
        "http_tps: only in new",
        "asgi_allocs_per_op: in neither result set",
    ]
    assert decision.judged == []  # nothing is judged when something is refused


def test_a_zero_in_a_timed_metric_refuses():
    decision = decide([0.0, 1.2, 1.1, 1.3, 1.0, 1.2], [1.0] * 6, 5, "gc_pause_max_ms")
    assert decision.refusals == ["gc_pause_max_ms: a value of 0 or less; a ratio of it is not "
                                 "defined"]  # fmt: skip


def test_the_default_metrics_are_known_judged_metrics_covering_speed_latency_cpu_and_counts():
    found = [metric(name) for name in gate.DEFAULT_METRICS]
    assert not any(m.diagnostic for m in found)  # a diagnostic is never gated
    assert {m.unit for m in found} >= {"req/s", "ms", "us/req", "instr/op", "allocs/op"}
    assert sum(m.exact for m in found) == 2  # the two counts, judged without a test


def test_the_gate_false_alarms_at_most_alpha_on_two_runs_of_the_same_code():
    # 13 timed metrics, 10 trials a side, nothing changed, a threshold of 0: without the
    # Holm-adjusted test some interval lies past 0 in more than alpha of the pairs of runs
    # (about a tenth with the bootstrap's intervals, resample.py).
    rng = np.random.default_rng(23)
    names = [f"m{i}_ns_per_op" for i in range(13)]
    alarms = raw = 0
    runs = 60
    for _ in range(runs):
        old, new = ({n: Summary.of(rng.normal(100, 5, 10)) for n in names} for _ in range(2))
        decision = gate.gate(compare_sets(old, new), 0.0, names=names)
        alarms += decision.answer == gate.REGRESSION
        raw += any("wholly past" in j.reason for j in decision.judged)
    assert raw / runs > 0.05
    assert alarms / runs <= 0.05


# From the command line, on copies of the fixture run and the committed one.

GATED = ["--service", "optimized", "--metric", "http_tps", "--metric", "http_trial_p99_ms"]


def test_the_command_exits_with_each_answer(tmp_path, capsys):
    for factor, code, answer in ((1.0, 3, "inconclusive"), (0.3, 1, "regression")):
        run = str(planted(tmp_path, factor))
        assert main(["--fail-on-regression", "10", *GATED, str(FIXTURE), run]) == code
        last = capsys.readouterr().err.splitlines()[-1]
        assert last.startswith(f"gate: {answer} (exit {code}): ")
    # No regression needs an interval inside the threshold: a wide threshold gives one
    assert main(["--fail-on-regression", "200", *GATED, str(FIXTURE), str(FIXTURE)]) == 0
    assert "gate: no regression (exit 0): each of 2 gated metrics excludes" in (
        capsys.readouterr().err
    )


def test_a_real_ten_percent_drop_at_the_committed_spread_never_passes(tmp_path):
    old = tmp_path / "old.json"
    shutil.copy(ROOT / "bench-results" / "summary.json", old)
    data = json.loads(old.read_text())
    tps = data["services"]["optimized"]["http_tps"]
    data["services"]["optimized"]["http_tps"] = Summary.of([v * 0.9 for v in tps["values"]])\
        .to_json()  # fmt: skip
    new = tmp_path / "new.json"
    new.write_text(json.dumps(data))
    argv = ["--fail-on-regression", "5", "--service", "optimized", "--metric", "http_tps"]
    assert main([*argv, str(old), str(new)]) in (1, 3)


def test_the_makefile_gate_still_reads_its_metrics(tmp_path, capsys):
    """`make bench-check`'s call: GATE_METRICS, relative to unoptimized, on a 6-trial run."""
    makefile = (ROOT / "Makefile").read_text()
    block = makefile.split("GATE_METRICS ?=")[1].split("\n# endregion")[0]
    names = block.replace("\\", " ").split()
    argv = ["--service", "optimized", "--relative-to", "unoptimized", "--fail-on-regression",
            "10", *(a for n in names for a in ("--metric", n))]  # fmt: skip
    code = main([*argv, str(ROOT / "bench-results"), str(ROOT / "bench-results")])
    err = capsys.readouterr().err
    assert code in (0, 3), err  # the same run twice: never a regression nor a refusal
    assert f"each of {len(names)}" in err or f"of {len(names)} gated metrics" in err


def test_a_run_read_through_read_results_keeps_its_rate():
    run = read_results(FIXTURE)
    assert gate.offered_rate(run, "optimized") == 1000.0 and gate.connections(run) == 64.0


@pytest.mark.parametrize("field", ["offered_rate", "concurrency"])
def test_different_load_refuses_the_metrics_that_depend_on_it(tmp_path, capsys, field):
    other = tmp_path / "other"
    shutil.copytree(FIXTURE, other)
    data = json.loads((other / "summary.json").read_text())
    data["environment"]["http"][field] *= 2
    for entry in data["latency"].values():
        entry["offered_rate"] = data["environment"]["http"]["offered_rate"]
    (other / "summary.json").write_text(json.dumps(data))
    argv = ["--fail-on-regression", "10", *GATED, "--metric", NS, str(FIXTURE), str(other)]
    assert main(argv) == 4
    refused = [line for line in capsys.readouterr().err.splitlines() if "refused:" in line]
    if field == "offered_rate":  # throughput is closed-loop: the rate does not move it
        assert refused == [
            "gate refused: http_trial_p99_ms [optimized]: measured at offered rate (req/s) 1000 "
            "(old) and 2000 (new); it depends on it, so the two do not compare"
        ]
    else:
        assert {line.split(":")[1].strip() for line in refused} == {
            "http_tps [optimized]",
            "http_trial_p99_ms [optimized]",
        }


def test_the_docs_block_prints_what_the_command_prints(capsys):
    """`<!-- begin: gate SET OLD NEW PCT -->` in docs/05 and docs/11: the command's stderr."""
    from kvbench.docgen.sources import Sources
    from kvbench.docgen.tables import gate as block

    sources = Sources(ROOT / "bench-results", ROOT)
    argv = ["--old", "optimized", "--new", "unoptimized", "--fail-on-regression", "5"]
    assert main([*argv, str(ROOT / "bench-results")]) == 1
    printed = capsys.readouterr().err.strip()
    assert block(sources, ["run", "optimized", "unoptimized", "5"]) == f"```text\n{printed}\n```"
    with pytest.raises(KvbenchError, match="the threshold is a percentage"):
        block(sources, ["run", "optimized", "unoptimized", "five"])


def test_a_relative_row_without_its_own_interval_is_inconclusive_never_no_regression():
    # Too few base trials for the bootstrap: the values divided by an uncertain base median
    # must not be read as if that median were exact.
    old, new = Summary.of([1.0] * 8), Summary.of([1.0 + i / 1e4 for i in range(8)])
    row = Comparison("optimized", "http_tps", "x", "higher", old, new, basis=BOOTSTRAP)
    judged = gate.judge_timed(row, 50.0, 0.05, 1)
    assert judged.answer == gate.INCONCLUSIVE


def test_the_trials_needed_are_never_fewer_than_were_run():
    # The side facing the threshold is narrow: the square law alone would ask for 3.
    said = gate.trials_needed(0.99, (0.97, 1.50), 0.95, units=10)
    assert said == "about 11 trials a side would decide it at this spread (has 10)"


def test_an_exact_count_within_the_tables_floor_or_its_repeats_spread_is_no_regression():
    name = "asgi_instructions_per_op"
    # 0.3% more instructions at a 0.1% threshold: the memory layout alone moves that much.
    assert decide([100_000.0] * 3, [100_300.0] * 3, 0.1, name).answer == gate.NO_REGRESSION
    assert decide([100_000.0] * 3, [100_600.0] * 3, 0.1, name).answer == gate.REGRESSION
    # repeats that spread 2% cannot fail a 1.5% change
    assert decide([99_000.0, 100_000.0, 101_000.0], [101_500.0] * 3, 1, name).answer == (
        gate.NO_REGRESSION
    )
