"""`kvbench compare`: benchstat for this project (medians, 95% intervals, Mann-Whitney U; the
words from the change's interval, `kvbench.report.verdicts`).

With no RESULTS, your run (`--run`, default the latest in bench-results/runs/): its two
services compared, then the run beside the committed reference, ratio by ratio. With
RESULTS, the services of one run (each against its base in the run's own pairs, else
against the run's first service; or `--old A --new B DIR`), or the same services across two
runs (`BASE NEW`), where each side is a results folder, its summary.json, or a pyperf JSON
file. `--fail-on-regression PCT` turns it into a gate (`kvbench.results.gate`) with three
answers, each its own exit status and a one-line reason on stderr: 0 no regression, 1 a
regression, 3 inconclusive (with the trials that would decide it); 4 when it refuses the
inputs (a gated metric missing, an unknown schema, two different services not mapped on
purpose with --map, metrics measured under load at different rates or connections).
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.report import carryover
from kvbench.report.tables import (
    FORMATS,
    HELP_EPILOG,
    Context,
    context_for,
    render,
    words_context,
)
from kvbench.results import gate, runs
from kvbench.results.compare import Comparison, compare_sets, relative_rows
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
    parser.add_argument(
        "--map",
        metavar="OLD=NEW",
        help="with two runs: compare service OLD of the old run with service NEW of the new "
        "one, on purpose (the gate refuses two different names given by --old and --new)",
    )
    parser.add_argument("--service", action="append", help="with two runs: compare only this")
    parser.add_argument("--metric", action="append", help="compare only this metric (repeatable)")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="the regression gate's significance level (0.05); the table's "
                        "words always come from 95%% intervals")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="text", help="output (text)")
    parser.add_argument(
        "--relative-to",
        metavar="SERVICE",
        help="with two runs: compare each service relative to this one in its own run (the "
        "per-round paired ratios where both runs have them, else a bootstrap of the ratio "
        "of medians), so a machine that is slower today does not read as a regression",
    )
    gated = ", ".join(gate.DEFAULT_METRICS)
    parser.add_argument(
        "--fail-on-regression",
        type=float,
        metavar="PCT",
        help="gate the --metric metrics (default: " + gated + ") on a change worse than PCT "
        "percent: exit 1 a regression (the 95%% interval of new/old wholly past PCT and, for a "
        "timed metric, Holm-adjusted p <= alpha), 0 no regression (the interval excludes one), "
        "3 inconclusive (neither; the reason says how many trials would decide it), 4 refused "
        "(a gated metric missing, a value of 0, different services, rates or connections); "
        "exact counts by their medians, no test",
    )


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, not {args.alpha}")
    pct = args.fail_on_regression
    if pct is not None and not pct >= 0:
        raise UsageError(f"--fail-on-regression needs a percentage >= 0, not {pct}")
    if not args.paths:
        return your_run(args)
    if args.run:
        raise UsageError("give --run or RESULTS, not both")
    try:
        return compare(args)
    except UsageError:
        raise
    except (KvbenchError, ValueError) as exc:  # ValueError: values it cannot order (NaN)
        if pct is None:
            print(f"error: cannot compare these results: {exc}", file=sys.stderr)
            return 1
        print(f"gate refused: {exc}", file=sys.stderr)
        return gate.EXIT[gate.REFUSED]


def compare(args: argparse.Namespace) -> int:
    chosen = collect(args)
    if not chosen.rows:
        raise KvbenchError("nothing to compare: the selection left no metrics")
    print(render(chosen.rows, args.format, chosen.labels, chosen.context), end="")
    if args.fail_on_regression is None:
        return 0
    names = args.metric or list(gate.DEFAULT_METRICS)
    decision = gate.gate(chosen.rows, args.fail_on_regression, args.alpha, names)
    decision.refusals += gate.load_refusals(*chosen.sets, chosen.pairs, names)
    return report(decision, chosen.mapped)


def your_run(args: argparse.Namespace) -> int:
    """A run of yours: its two services side by side, then beside the committed reference."""
    needs = (args.format != "text", args.service, args.relative_to, args.map,
             args.fail_on_regression is not None)  # fmt: skip
    if any(needs):
        raise UsageError(
            "--format, --service, --relative-to, --map and --fail-on-regression need RESULTS: name "
            "the folders, e.g. kvbench compare bench-results bench-results/runs/latest"
        )
    folder = runs.find(args.run or runs.LATEST, args.reference)
    run, reference = read_results(folder), read_results(args.reference)
    old, new = (args.old, args.new) if args.old or args.new else base_pairs(run)[0]
    old, new = old or "unoptimized", new or "optimized"
    old_metrics, new_metrics = (only(run.service(s), args.metric) for s in (old, new))
    rows = compare_sets(old_metrics, new_metrics, args.alpha)
    print(f"your run: {runs.shown(folder)}\n\n{old} vs {new} in your run")
    print(render(rows, "text", (old, new), words_context(run, old, new)))
    print(f"your run against the committed reference ({runs.shown(args.reference)})")
    print(carryover.render(reference, run, old, new, args.metric), end="")
    return 0


@dataclass
class Selection:
    """What was compared: the rows, and for the gate the two sides and which services met."""

    rows: list[Comparison]
    labels: tuple[str, str]
    context: Context
    sets: tuple[ResultSet, ResultSet]  # the same set twice within one run
    pairs: list[gate.Pair]
    mapped: str = ""  # two different services across runs, mapped on purpose (--map)


def collect(args: argparse.Namespace) -> Selection:
    paths = args.paths
    if len(paths) > 2:
        raise UsageError(f"expected one or two result sets, got {len(paths)}")
    sets = [read_results(p) for p in paths]
    if len(sets) == 1:
        return within(args, sets[0])
    for warning in carryover.differences(sets[0], sets[1], run_labels(paths)):
        print(warning, file=sys.stderr)
    old, new = sets
    if args.relative_to:
        services = relative_services(args, old, new)
        rows = relative_rows(old, new, args.relative_to, services, args.alpha, args.metric)
        pairs = [(s, s, s) for s in services]
        return Selection(rows, run_labels(paths), Context(), (old, new), pairs)
    pairs = run_pairs(args, old, new)
    rows = rows_of(args, [(g, old.service(a), new.service(b)) for g, a, b in pairs])
    mapped = f"{pairs[0][1]} (old) against {pairs[0][2]} (new), mapped by --map" if args.map else ""
    return Selection(rows, run_labels(paths), Context(), (old, new), pairs, mapped)


def within(args: argparse.Namespace, results: ResultSet) -> Selection:
    """The services of one run, each against its base (or --old against --new)."""
    if args.service or args.map:
        raise UsageError("--service and --map need two result sets; use --old/--new within one")
    chosen = [(args.old or "unoptimized", args.new or "optimized")]
    chosen = chosen if args.old or args.new else base_pairs(results)
    pairs = [(f"{new} vs {old}" if len(chosen) > 1 else "", old, new) for old, new in chosen]
    labels = chosen[0] if len(chosen) == 1 else ("base", "service")
    context = Context()
    if len(chosen) == 1:  # paired words; the latency and paired tables for the whole of it
        context = (words_context if args.metric else context_for)(results, *chosen[0])
    rows = rows_of(args, [(g, results.service(a), results.service(b)) for g, a, b in pairs])
    return Selection(rows, labels, context, (results, results), pairs)


def rows_of(args: argparse.Namespace, sides: list[tuple[str, Metrics, Metrics]]) -> list:
    rows = []
    for group, old_side, new_side in sides:
        old_metrics, new_metrics = only(old_side, args.metric), only(new_side, args.metric)
        rows += compare_sets(old_metrics, new_metrics, args.alpha, group)
    return rows


def base_pairs(results: ResultSet) -> list[tuple[str, str]]:
    """(base, service) pairs of one run: its own pairs where it stored them, else each service
    against the run's first; unoptimized and optimized where the run has both."""
    names = list(results.services)
    if "unoptimized" in names and "optimized" in names:
        return [("unoptimized", "optimized")]
    paired = results.run.paired if results.run else {}
    own = [(entry.vs, service) for service, entry in paired.items()
           if entry.vs in names and service in names]  # fmt: skip
    if own:
        return own
    if len(names) < 2:
        raise KvbenchError(f"{results.path}: one service ({', '.join(names) or 'none'}): "
                           "nothing to compare within this run")  # fmt: skip
    return [(names[0], other) for other in names[1:]]


def relative_services(args: argparse.Namespace, old: ResultSet, new: ResultSet) -> list[str]:
    if args.old or args.new or args.map:
        raise UsageError("--relative-to compares services across runs; use --service")
    for results in (old, new):
        results.service(args.relative_to)  # a clear error when the base is missing
    return args.service or [s for s in old.services if s in new.services]


def run_pairs(args, old: ResultSet, new: ResultSet) -> list[gate.Pair]:
    """(group, old service, new service): the same service in both runs, unless mapped."""
    if args.map:
        if args.old or args.new or args.service:
            raise UsageError("--map OLD=NEW names both services; drop --old, --new, --service")
        a, sep, b = args.map.partition("=")
        if not sep or not a or not b:
            raise UsageError(f"--map takes OLD=NEW, two service names, not {args.map!r}")
        return [(f"{a} vs {b}" if a != b else a, a, b)]
    if args.old or args.new:
        a, b = args.old or "optimized", args.new or "optimized"
        if a != b and args.fail_on_regression is not None:
            raise KvbenchError(f"{a} (old) and {b} (new) are different services: the gate "
                               f"compares a service with itself; to gate one against the "
                               f"other on purpose, say --map {a}={b}")  # fmt: skip
        return [(f"{a} vs {b}" if a != b else a, a, b)]
    common = [s for s in old.services if s in new.services]
    chosen = args.service or common
    if not chosen:
        raise KvbenchError(
            f"no service in both runs ({', '.join(old.services)} vs {', '.join(new.services)}); "
            "--map OLD=NEW compares two different services on purpose"
        )
    return [(s, s, s) for s in chosen]


def run_labels(paths: list[str]) -> tuple[str, str]:
    old, new = (str(Path(p)) for p in paths)
    return (old, new) if old != new else (f"{old} (old)", f"{new} (new)")


def only(metrics: Metrics, names: list[str] | None) -> Metrics:
    return {k: v for k, v in metrics.items() if not names or k in names}


def report(decision: gate.Gate, mapped: str = "") -> int:
    """Each gated metric's answer, each refusal, then the gate's answer in one line (stderr)."""
    if mapped:
        print(f"note: two different services: {mapped}", file=sys.stderr)
    for line in decision.lines():
        print(line, file=sys.stderr)
    return decision.exit_code
