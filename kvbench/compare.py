"""`python -m kvbench compare`: benchstat for this project (medians, 95% intervals, Mann-Whitney U).

Compare two services of one run (`--old unoptimized --new optimized [DIR]`), or the same
services across two runs (`BASE NEW`), where each side is a results folder, its
summary.json, or a pyperf JSON file. `--fail-on-regression PCT` turns it into a gate.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kvbench import KvbenchError
from kvbench.metrics import METRICS, metric
from kvbench.stats import mann_whitney, median, median_ci

# The article's own table: throughput, in-process cost, allocations, tail latency, GC.
ARTICLE_METRICS = (
    "http_tps",
    "asgi_ns_per_op",
    "asgi_allocs_per_op",
    "asgi_bytes_per_op",
    "http_p99_ms",
    "gc_pause_max_ms",
)
# pyperf stores times in seconds and sizes in bytes; (pyperf unit, our unit) -> factor.
FROM_PYPERF = {
    ("second", "ns/op"): 1e9,
    ("second", "us/req"): 1e6,
    ("second", "ms"): 1e3,
    ("byte", "MB"): 1e-6,
}


@dataclass
class Sample:
    """One metric's raw values on one side, in `unit`."""

    metric: str
    unit: str
    values: list[float]


@dataclass
class Side:
    """The benchstat summary of one side of a row."""

    median: float
    ci: tuple[float, float] | None
    n: int


@dataclass
class Row:
    """One metric compared: both sides, the change in percent, the p-value and a verdict."""

    group: str
    metric: str
    unit: str
    better: str
    old: Side | None = None
    new: Side | None = None
    delta_pct: float | None = None
    p: float | None = None
    verdict: str = ""  # better, worse, same (p > alpha), untested (too few values), or ""
    note: str = ""


@dataclass
class ResultSet:
    """A run's results: service -> metric -> Sample, plus what summary.json says around them."""

    path: Path
    services: dict[str, dict[str, Sample]]
    summary: dict = field(default_factory=dict)


def load(path: str | Path) -> ResultSet:
    """A results folder, a summary.json, or a pyperf JSON file; KvbenchError when unreadable."""
    path = Path(path)
    file = path / "summary.json" if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise KvbenchError(f"{path}: no summary.json in this folder (has `make bench` run?)")
    if not file.is_file():
        raise KvbenchError(f"{file}: no such file (expected a results folder or a JSON file)")
    try:
        data = _read_json(file)
    except (OSError, ValueError, EOFError) as exc:
        raise KvbenchError(f"{file}: not readable JSON ({exc})") from None
    if isinstance(data, dict) and "services" in data:
        return ResultSet(file, _summary_services(file, data), data)
    if isinstance(data, dict) and "benchmarks" in data:
        return ResultSet(file, _pyperf_services(file))
    raise KvbenchError(f"{file}: neither a summary.json nor a pyperf suite")


def _read_json(file: Path):
    if file.suffix == ".gz":
        import gzip

        with gzip.open(file, "rt", encoding="utf-8") as stream:
            return json.load(stream)
    return json.loads(file.read_text(encoding="utf-8"))


def _summary_services(file: Path, data: dict) -> dict[str, dict[str, Sample]]:
    services = data["services"]
    if not isinstance(services, dict):
        raise KvbenchError(f"{file}: 'services' is not a mapping")
    result = {}
    for service, metrics in services.items():
        if not isinstance(metrics, dict):
            raise KvbenchError(f"{file}: service {service!r} is not a mapping of metrics")
        result[service] = {name: _summary_sample(file, name, m) for name, m in metrics.items()}
    return result


def _summary_sample(file: Path, name: str, entry) -> Sample:
    values = entry.get("values") if isinstance(entry, dict) else None
    try:
        values = [float(v) for v in values or []]
    except (TypeError, ValueError):
        raise KvbenchError(f"{file}: metric {name!r} has non-numeric values") from None
    if not all(math.isfinite(v) for v in values):
        raise KvbenchError(f"{file}: metric {name!r} has NaN or infinite values")
    return Sample(name, metric(name).unit, values)


def _pyperf_services(file: Path) -> dict[str, dict[str, Sample]]:
    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.load(str(file))
        benchmarks = [(b.get_name(), b.get_unit(), list(b.get_values())) for b in suite]
    except Exception as exc:  # pyperf raises anything from KeyError to TypeError on bad files
        raise KvbenchError(f"{file}: not a valid pyperf suite ({type(exc).__name__})") from None
    result: dict[str, dict[str, Sample]] = {}
    for name, unit, values in benchmarks:
        family, _, rest = name.partition("[")
        service = rest.rstrip("]") or _service_from_file(file)
        sample = _pyperf_sample(family, unit, values)
        result.setdefault(service, {})[sample.metric] = sample
    return result


def _service_from_file(file: Path) -> str:
    """`http-optimized.json` holds plain metric names; the service is in the file name."""
    stem = file.name.removesuffix(".gz").removesuffix(".json")
    return stem.removeprefix("http-") if stem.startswith("http-") else "default"


def _pyperf_sample(family: str, unit: str, values: list[float]) -> Sample:
    """Seconds and bytes become the metric's unit (ns/op for unknown timings)."""
    if family in METRICS:
        target = metric(family).unit
        scale = FROM_PYPERF.get((unit, target), 1.0)
        return Sample(family, target, [v * scale for v in values])
    if unit == "second":
        return Sample(f"{family}_ns_per_op", "ns/op", [v * 1e9 for v in values])
    return Sample(family, {"byte": "B"}.get(unit, unit), values)


def compare_sets(
    old: dict[str, Sample], new: dict[str, Sample], alpha: float = 0.05, group: str = ""
) -> list[Row]:
    """One row per metric found on either side, in the order of `kvbench.metrics`."""
    names = sorted(set(old) | set(new), key=_metric_order)
    return [compare_samples(old.get(n), new.get(n), alpha, group, n) for n in names]


def _metric_order(name: str) -> tuple[int, str]:
    order = list(METRICS)
    return (order.index(name), "") if name in METRICS else (len(order), name)


def compare_samples(
    old: Sample | None, new: Sample | None, alpha: float, group: str, name: str
) -> Row:
    """Compare one metric; missing sides, empty samples and unit clashes become a note."""
    m = metric(name)
    unit = (old or new).unit if (old or new) else m.unit
    row = Row(group, name, unit, m.better)
    row.old, row.new = _side(old), _side(new)
    if old is None or new is None:
        row.note = "only in old" if new is None else "only in new"
    elif old.unit != new.unit:
        row.old = row.new = None
        row.note = f"units differ ({old.unit} vs {new.unit}); not compared"
    elif not old.values or not new.values:
        row.note = "no values on the " + ("old" if not old.values else "new") + " side"
    else:
        _judge(row, old.values, new.values, alpha)
    return row


def _side(sample: Sample | None) -> Side | None:
    if sample is None or not sample.values:
        return None
    return Side(median(sample.values), median_ci(sample.values), len(sample.values))


def _judge(row: Row, old: list[float], new: list[float], alpha: float) -> None:
    if row.old.median != 0:
        row.delta_pct = (row.new.median - row.old.median) / abs(row.old.median) * 100
    row.p = mann_whitney(old, new)
    if row.p is None:
        row.verdict = "untested"
    elif row.p > alpha or not row.delta_pct:
        row.verdict = "same"
    else:
        improved = (row.delta_pct > 0) == (row.better == "higher")
        row.verdict = "better" if improved else "worse"


def regressions(rows: list[Row], pct: float) -> list[Row]:
    """Rows significantly worse by more than `pct` percent."""
    return [r for r in rows if r.verdict == "worse" and abs(r.delta_pct or 0) > pct]


def geomean(rows: list[Row]) -> tuple[float, float, float] | None:
    """Geomean of the medians per side and its change in percent, over rows both sides have.

    When the rows mix directions, higher-better medians enter as their reciprocal
    (req/s -> s/req) so every factor is a cost and a negative change means cheaper;
    benchstat needs no such rule because it makes one table per unit.
    """
    usable = [r for r in rows if r.old and r.new and r.old.median > 0 and r.new.median > 0]
    if not usable:
        return None
    invert = len({r.better for r in usable}) > 1
    old = _geo(
        [1 / r.old.median if invert and r.better == "higher" else r.old.median for r in usable]
    )
    new = _geo(
        [1 / r.new.median if invert and r.better == "higher" else r.new.median for r in usable]
    )
    return old, new, (new - old) / old * 100


def _geo(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def configure(parser: argparse.ArgumentParser) -> None:
    from kvbench.tables import FORMATS, HELP_EPILOG

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
        help="with two runs: divide each service's values by this service's median in the "
        "same run, so a machine that is slower today does not read as a regression",
    )
    parser.add_argument(
        "--fail-on-regression",
        type=float,
        metavar="PCT",
        help="exit 1 if a metric got significantly worse by more than PCT percent",
    )


def run(args: argparse.Namespace) -> int:
    from kvbench.tables import render

    if not 0 < args.alpha < 1:
        raise KvbenchError(f"--alpha must be between 0 and 1, not {args.alpha}")
    rows, labels = _collect(args)
    if not rows:
        raise KvbenchError("nothing to compare: the selection left no metrics")
    print(render(rows, args.format, labels), end="")
    if args.fail_on_regression is None:
        return 0
    return _gate(rows, args.fail_on_regression)


def _collect(args: argparse.Namespace) -> tuple[list[Row], tuple[str, str]]:
    paths = args.paths or ["bench-results"]
    if len(paths) > 2:
        raise KvbenchError(f"expected one or two result sets, got {len(paths)}")
    sets = [load(p) for p in paths]
    if args.relative_to:
        if len(sets) != 2:
            raise KvbenchError("--relative-to needs two result sets")
        sets = [relative(results, args.relative_to) for results in sets]
    if len(sets) == 1:
        if args.service:
            raise KvbenchError("--service needs two result sets; use --old/--new within one")
        old, new = args.old or "unoptimized", args.new or "optimized"
        pairs = [("", _service(sets[0], old), _service(sets[0], new))]
        labels = (old, new)
    else:
        pairs = _run_pairs(args, *sets)
        labels = _run_labels(paths)
    rows = []
    for group, old, new in pairs:
        rows += compare_sets(_only(old, args.metric), _only(new, args.metric), args.alpha, group)
    return rows, labels


def relative(results: ResultSet, base: str) -> ResultSet:
    """Every metric as a multiple of `base`'s median in the same run (the base itself: 1x).

    Both services of a run alternate trial by trial, so a slow hour slows both alike; the
    ratio survives it where the absolute figure does not.
    """
    reference = _service(results, base)
    services = {}
    for name, samples in results.services.items():
        services[name] = {
            metric: Sample(
                metric, f"x {base}", [v / median(reference[metric].values) for v in s.values]
            )
            for metric, s in samples.items()
            if metric in reference and median(reference[metric].values) > 0
        }
    return ResultSet(results.path, services, results.summary)


def _run_pairs(args, old: ResultSet, new: ResultSet) -> list[tuple[str, dict, dict]]:
    if args.old or args.new:
        a, b = args.old or "optimized", args.new or "optimized"
        return [(f"{a} vs {b}" if a != b else a, _service(old, a), _service(new, b))]
    common = [s for s in old.services if s in new.services]
    chosen = args.service or common
    if not chosen:
        raise KvbenchError(
            f"no service in both runs ({', '.join(old.services)} vs {', '.join(new.services)})"
        )
    return [(s, _service(old, s), _service(new, s)) for s in chosen]


def _run_labels(paths: list[str]) -> tuple[str, str]:
    old, new = (str(Path(p)) for p in paths)
    return (old, new) if old != new else (f"{old} (old)", f"{new} (new)")


def _service(results: ResultSet, name: str) -> dict[str, Sample]:
    if name not in results.services:
        known = ", ".join(results.services) or "none"
        raise KvbenchError(f"{results.path}: no service {name!r} (has: {known})")
    return results.services[name]


def _only(samples: dict[str, Sample], names: list[str] | None) -> dict[str, Sample]:
    return {k: v for k, v in samples.items() if not names or k in names}


def _gate(rows: list[Row], pct: float) -> int:
    bad = regressions(rows, pct)
    for r in bad:
        where = f" [{r.group}]" if r.group else ""
        print(
            f"regression: {r.metric}{where} {r.delta_pct:+.2f}% worse (p={r.p:.3f}), "
            f"over the {pct:g}% threshold",
            file=sys.stderr,
        )
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """The `scripts/compare.py` entry: same options, same one-line errors as the CLI."""
    parser = argparse.ArgumentParser(prog="scripts/compare.py", description=__doc__)
    configure(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KvbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
