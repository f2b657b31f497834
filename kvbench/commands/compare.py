"""`kvbench compare`: benchstat for this project (medians, 95% intervals, Mann-Whitney U).

With no RESULTS, your run (`--run`, default the latest in bench-results/runs/): its two
services compared, then the run beside the committed reference, ratio by ratio. With
RESULTS, the services of one run (each against its base in the run's own pairs, else
against the run's first service; or `--old A --new B DIR`), or the same services across two
runs (`BASE NEW`), where each side is a results folder, its summary.json, or a pyperf JSON
file. `--fail-on-regression PCT` turns it into a gate that fails closed: exit 1 on a
regression and also when the data cannot show one (too few values for the test, a zero or
non-finite value), with the reason on stderr.
"""

import argparse
import sys
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.report import carryover
from kvbench.report.tables import FORMATS, HELP_EPILOG, Context, context_for, render
from kvbench.results import runs
from kvbench.results.compare import Comparison, Gate, compare_sets, gate, relative_rows
from kvbench.results.resultset import Metrics, ResultSet, read_results


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP_EPILOG
    parser.add_argument("paths", nargs="*", metavar="RESULTS", help="default: your run, see --run")
    parser.add_argument(
        "--run",
        metavar="RUN",
        help="with no RESULTS: which run of yours (latest, the default, or a run's name): its "
        "services compared, then the run against the reference",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        default=runs.REFERENCE,
        help="the committed reference run (default bench-results/)",
    )
    parser.add_argument("--old", metavar="SERVICE", help="base service (default unoptimized)")
    parser.add_argument("--new", metavar="SERVICE", help="new service (default optimized)")
    parser.add_argument("--service", action="append", help="with two runs: compare only this")
    parser.add_argument("--metric", action="append", help="compare only this metric (repeatable)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output (text)")
    parser.add_argument(
        "--relative-to",
        metavar="SERVICE",
        help="with two runs: compare each service relative to this one in its own run (the "
        "per-round paired ratios where both runs have them, else a bootstrap of the ratio "
        "of medians), so a machine that is slower today does not read as a regression",
    )
    parser.add_argument(
        "--fail-on-regression",
        type=float,
        metavar="PCT",
        help="exit 1 if a metric got worse by more than PCT percent: exact counts "
        "(instructions, allocations) by their medians, timed metrics when significant after "
        "Holm's correction over all of them; also exit 1, with the reason, when the data "
        "cannot show such a change (too few values, a zero or non-finite value)",
    )


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, not {args.alpha}")
    pct = args.fail_on_regression
    if pct is not None and not pct >= 0:
        raise UsageError(f"--fail-on-regression needs a percentage >= 0, not {pct}")
    try:
        if not args.paths:
            return your_run(args)
        if args.run:
            raise UsageError("give --run or RESULTS, not both")
        rows, labels, context = collect(args)
        if not rows:
            raise KvbenchError("nothing to compare: the selection left no metrics")
        print(render(rows, args.format, labels, context), end="")
        if args.fail_on_regression is None:
            return 0
        return report(gate(rows, args.fail_on_regression, args.alpha, args.metric))
    except ValueError as exc:  # a statistic of values it cannot order (NaN, infinity)
        print(f"error: cannot compare these results: {exc}", file=sys.stderr)
        return 1


def your_run(args: argparse.Namespace) -> int:
    """A run of yours: its two services side by side, then beside the committed reference."""
    if args.format != "text" or args.service or args.relative_to or args.fail_on_regression:
        raise UsageError(
            "--format, --service, --relative-to and --fail-on-regression need RESULTS: name "
            "the folders, e.g. kvbench compare bench-results bench-results/runs/latest"
        )
    folder = runs.find(args.run or runs.LATEST, args.reference)
    run, reference = read_results(folder), read_results(args.reference)
    old, new = (args.old, args.new) if args.old or args.new else base_pairs(run)[0]
    old, new = old or "unoptimized", new or "optimized"
    old_metrics, new_metrics = (only(run.service(s), args.metric) for s in (old, new))
    rows = compare_sets(old_metrics, new_metrics, args.alpha)
    print(f"your run: {runs.shown(folder)}\n\n{old} vs {new} in your run")
    print(render(rows, "text", (old, new)))
    print(f"your run against the committed reference ({runs.shown(args.reference)})")
    print(carryover.render(reference, run, old, new, args.metric), end="")
    return 0


def collect(args: argparse.Namespace) -> tuple[list[Comparison], tuple[str, str], Context]:
    paths = args.paths
    if len(paths) > 2:
        raise UsageError(f"expected one or two result sets, got {len(paths)}")
    sets = [read_results(p) for p in paths]
    if len(sets) == 2:
        for warning in carryover.differences(sets[0], sets[1], run_labels(paths)):
            print(warning, file=sys.stderr)
    context = Context()
    if args.relative_to:
        return relative(args, sets), run_labels(paths), context
    if len(sets) == 1:
        if args.service:
            raise UsageError("--service needs two result sets; use --old/--new within one")
        chosen = [(args.old or "unoptimized", args.new or "optimized")]
        chosen = chosen if args.old or args.new else base_pairs(sets[0])
        pairs = [(f"{new} vs {old}" if len(chosen) > 1 else "", sets[0].service(old),
                  sets[0].service(new)) for old, new in chosen]  # fmt: skip
        labels = chosen[0] if len(chosen) == 1 else ("base", "service")
        if not args.metric and len(chosen) == 1:  # the whole comparison: latency, paired too
            context = context_for(sets[0], *chosen[0])
    else:
        pairs = run_pairs(args, *sets)
        labels = run_labels(paths)
    rows = []
    for group, old_side, new_side in pairs:
        old_metrics, new_metrics = only(old_side, args.metric), only(new_side, args.metric)
        rows += compare_sets(old_metrics, new_metrics, args.alpha, group)
    return rows, labels, context


def base_pairs(results: ResultSet) -> list[tuple[str, str]]:
    """(base, service) pairs of one run: its own pairs where it stored them, else each service
    against the run's first; unoptimized and optimized where the run has both."""
    names = list(results.services)
    if "unoptimized" in names and "optimized" in names:
        return [("unoptimized", "optimized")]
    paired = results.summary.get("paired") or {}
    own = [
        (entry["vs"], service)
        for service, entry in paired.items()
        if isinstance(entry, dict) and entry.get("vs") in names and service in names
    ]
    if own:
        return own
    if len(names) < 2:
        raise KvbenchError(f"{results.path}: one service ({', '.join(names) or 'none'}): "
                           "nothing to compare within this run")  # fmt: skip
    return [(names[0], other) for other in names[1:]]


def relative(args: argparse.Namespace, sets: list[ResultSet]) -> list[Comparison]:
    if len(sets) != 2:
        raise UsageError("--relative-to needs two result sets")
    if args.old or args.new:
        raise UsageError("--relative-to compares services across runs; use --service")
    old, new = sets
    for results in sets:
        results.service(args.relative_to)  # a clear error when the base is missing
    services = args.service or [s for s in old.services if s in new.services]
    return relative_rows(old, new, args.relative_to, services, args.alpha, args.metric)


def run_pairs(args, old: ResultSet, new: ResultSet) -> list[tuple[str, Metrics, Metrics]]:
    if args.old or args.new:
        a, b = args.old or "optimized", args.new or "optimized"
        return [(f"{a} vs {b}" if a != b else a, old.service(a), new.service(b))]
    common = [s for s in old.services if s in new.services]
    chosen = args.service or common
    if not chosen:
        raise KvbenchError(
            f"no service in both runs ({', '.join(old.services)} vs {', '.join(new.services)})"
        )
    return [(s, old.service(s), new.service(s)) for s in chosen]


def run_labels(paths: list[str]) -> tuple[str, str]:
    old, new = (str(Path(p)) for p in paths)
    return (old, new) if old != new else (f"{old} (old)", f"{new} (new)")


def only(metrics: Metrics, names: list[str] | None) -> Metrics:
    return {k: v for k, v in metrics.items() if not names or k in names}


def report(decision: Gate) -> int:
    """The gate's verdict on stderr, one line per regression or refusal; 1 when it failed."""
    timed, exact = len(decision.timed), len(decision.gated) - len(decision.timed)
    for reason in decision.refusals:
        print(f"gate refused: {reason}", file=sys.stderr)
    for r in decision.regressions:
        print(f"regression: {_line(r)}, over the {decision.pct:g}% threshold", file=sys.stderr)
    basis = (f"{timed} timed (U test, Holm-adjusted over {timed}), {exact} exact counts "
             f"(no test: any change over {decision.pct:g}% counts)")  # fmt: skip
    if decision.refusals:
        verdict = f"refused: the data cannot show a {decision.pct:g}% regression"
    elif decision.regressions:
        verdict = f"failed: {len(decision.regressions)} regression(s)"
    else:
        verdict = f"passed: no metric worse by more than {decision.pct:g}%"
    print(f"gate {verdict}; {len(decision.gated)} metrics gated: {basis}", file=sys.stderr)
    return 1 if decision.failed else 0


def _line(r: Comparison) -> str:
    where = f" [{r.group}]" if r.group else ""
    change = "from 0" if r.from_zero else f"{r.delta_pct:+.2f}%"
    tested = f"p={r.p:.3f}, Holm-adjusted p={r.p_adjusted:.3f}" if r.p_adjusted is not None else ""
    evidence = "exact count, no test" if r.exact else tested
    return f"{r.metric}{where} {change} worse ({evidence})"
