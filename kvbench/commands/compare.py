"""`kvbench compare`: benchstat for this project (medians, 95% intervals, Mann-Whitney U).

Compare two services of one run (`--old unoptimized --new optimized [DIR]`), or the same
services across two runs (`BASE NEW`), where each side is a results folder, its
summary.json, or a pyperf JSON file. `--fail-on-regression PCT` turns it into a gate.
"""

import argparse
import sys
from pathlib import Path

from kvbench import KvbenchError
from kvbench.report.tables import FORMATS, HELP_EPILOG, Context, context_for, render
from kvbench.results.compare import Comparison, compare_sets, regressions, relative_rows
from kvbench.results.resultset import Metrics, ResultSet, read_results


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP_EPILOG
    parser.add_argument("paths", nargs="*", metavar="RESULTS", help="default: bench-results")
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
        help="exit 1 if a metric got significantly worse by more than PCT percent",
    )


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise KvbenchError(f"--alpha must be between 0 and 1, not {args.alpha}")
    rows, labels, context = collect(args)
    if not rows:
        raise KvbenchError("nothing to compare: the selection left no metrics")
    print(render(rows, args.format, labels, context), end="")
    if args.fail_on_regression is None:
        return 0
    return gate(rows, args.fail_on_regression)


def collect(args: argparse.Namespace) -> tuple[list[Comparison], tuple[str, str], Context]:
    paths = args.paths or ["bench-results"]
    if len(paths) > 2:
        raise KvbenchError(f"expected one or two result sets, got {len(paths)}")
    sets = [read_results(p) for p in paths]
    context = Context()
    if args.relative_to:
        return relative(args, sets), run_labels(paths), context
    if len(sets) == 1:
        if args.service:
            raise KvbenchError("--service needs two result sets; use --old/--new within one")
        old, new = args.old or "unoptimized", args.new or "optimized"
        pairs = [("", sets[0].service(old), sets[0].service(new))]
        labels = (old, new)
        if not args.metric:  # the whole comparison: pooled latency and paired ratios too
            context = context_for(sets[0], old, new)
    else:
        pairs = run_pairs(args, *sets)
        labels = run_labels(paths)
    rows = []
    for group, old_side, new_side in pairs:
        old_metrics, new_metrics = only(old_side, args.metric), only(new_side, args.metric)
        rows += compare_sets(old_metrics, new_metrics, args.alpha, group)
    return rows, labels, context


def relative(args: argparse.Namespace, sets: list[ResultSet]) -> list[Comparison]:
    if len(sets) != 2:
        raise KvbenchError("--relative-to needs two result sets")
    if args.old or args.new:
        raise KvbenchError("--relative-to compares services across runs; use --service")
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


def gate(rows: list[Comparison], pct: float) -> int:
    bad = regressions(rows, pct)
    for r in bad:
        where = f" [{r.group}]" if r.group else ""
        change = "from 0" if r.from_zero else f"{r.delta_pct:+.2f}%"
        print(
            f"regression: {r.metric}{where} {change} worse (p={r.p:.3f}), "
            f"over the {pct:g}% threshold",
            file=sys.stderr,
        )
    return 1 if bad else 0
