"""Values, ratios and verdicts of the committed parts, their settings, the CPU curve."""

import dataclasses
import json

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.measure import benchargs  # benchargs: the command's own estimate
from kvbench.measure.progress import minutes
from kvbench.report import cpu_curve
from kvbench.report import verdicts as rule
from kvbench.report.bench import recorded
from kvbench.report.formatting import change, number, percent, quantity, ratio, setting
from kvbench.results import metrics
from kvbench.results.compare import compare_samples
from kvbench.results.summary import Summary


def median(sources: Sources, part: str, service: str, metric: str) -> str:
    """The median of a metric with its unit."""
    stat = sources.stat(part, service, metric)
    return quantity(stat.median, stat.unit)


def time_per_request(sources: Sources, part: str, service: str) -> str:
    """One over the median throughput: the time per request of a saturated core."""
    stat = sources.stat(part, service, "http_tps")
    if stat.median <= 0:
        raise KvbenchError(f"{service}'s throughput is not positive")
    return quantity(1e6 / stat.median, "us/req")


def median_ratio(sources: Sources, part: str, new: str, old: str, metric: str) -> str:
    """The ratio of two services' medians, new over old."""
    return ratio(sources.stat(part, new, metric).median / sources.stat(part, old, metric).median)


def median_change(sources: Sources, part: str, new: str, old: str, metric: str) -> str:
    """The change of the median from old to new, in percent."""
    found = (sources.stat(part, s, metric).median for s in (new, old))
    return percent(change(*found))


def paired_ratio(sources: Sources, part: str, service: str, metric: str) -> str:
    """The median of a service's per-round ratios to its base."""
    return ratio(_paired(sources, part, service, metric).median)


def paired_ratio_ci(sources: Sources, part: str, service: str, metric: str) -> str:
    """The median of the per-round ratios with its 95% interval and n, said in prose."""
    stat = _paired(sources, part, service, metric)
    span = f"95% CI {number(stat.ci[0])} to {number(stat.ci[1])}x" if stat.ci else "no CI"
    return f"{ratio(stat.median)} ({span}, n={stat.n})"


def _paired(sources: Sources, part: str, service: str, metric: str) -> Summary:
    paired = sources.typed(part).paired.get(service)
    if paired is None or metric not in paired.metrics:
        raise KvbenchError(f"the run recorded no paired {metric} for {service!r}")
    return paired.metrics[metric].ratios


# The verdict rule of docs/05-compare.md#one-rule-for-the-words (kvbench/report/verdicts.py):
# the words come with the ratio and its interval that earn them, never alone.


def verdict(sources: Sources, part: str, new: str, old: str, metric: str) -> str:
    """The words for new against old with the ratio, its 95% interval and n (docs/05's rule)."""
    if metrics.metric(metric).exact:
        return rule.as_ratio(_exact(sources, part, new, old, metric))
    found = sources.typed(part).ratio(new, old, metric)
    if found is not None:
        judged = rule.paired(found.ratios, metric)
    else:
        top, bottom = (sources.stat(part, s, metric) for s in (new, old))
        judged = rule.unpaired(top, bottom, metric)
    medians = (sources.stat(part, s, metric).median for s in (new, old))  # read at a floor only
    floor = rule.floor_word(medians, _floor(sources, part), rule.PERCENTILE.get(metric))
    return rule.as_ratio(dataclasses.replace(judged, words=floor) if floor else judged)


def tail_verdict(sources: Sources, part: str, new: str, old: str, percentile: str) -> str:
    """The words for a pooled latency percentile (`p99`), whole rounds resampled."""
    found = sources.results_set(part)
    pair = found.latency_ratios(old, new, (percentile,)).get(percentile)
    if pair is None:
        raise KvbenchError(f"{part} holds no pooled {percentile} of both {new!r} and {old!r}")
    value, ci = pair
    n = len(found.trial_latencies(new) or [])
    pooled = (found.latency[s][percentile]["ms"] for s in (new, old))  # read at a floor only
    said = rule.floor_word(pooled, _floor(sources, part), percentile)
    said = said or rule.words("ms", value, ci, n, unit="ms")
    return rule.as_ratio(rule.Verdict(value, ci, "rounds resampled", n, said))


def _exact(sources: Sources, part: str, new: str, old: str, name: str) -> rule.Verdict:
    """An exact count, judged against its repeats (`kvbench compare`'s rule): no interval."""
    top, bottom = sources.stat(part, new, name), sources.stat(part, old, name)
    row = compare_samples(bottom, top, 0.05, "", name)
    better, worse = rule.WORDS.get(metrics.metric(name).unit, ("lower", "higher"))
    said = {"better": better, "worse": worse}.get(row.verdict, "no change beyond its repeats")
    if min(top.n, bottom.n) < 2:
        said = "counted once, no word"
    return rule.Verdict(top.median / bottom.median, None, "exact", min(top.n, bottom.n), said)


def _floor(sources: Sources, part: str) -> dict | None:
    return sources.typed(part).extra.get("floor")


def trial_spread(sources: Sources, part: str, service: str, metric: str) -> str:
    """The lowest to the highest trial's value of a metric, with its unit: the spread."""
    stat = sources.stat(part, service, metric)
    low, high = min(stat.values), max(stat.values)
    return f"{number(low)} to {quantity(high, stat.unit)}"


def floor_latency(sources: Sources, part: str, percentile: str) -> str:
    """The run's measured latency floor at a percentile, or that the run measured none."""
    return _floor_figure(sources, part, "round_trip_ms", percentile)


def floor_lateness(sources: Sources, part: str, percentile: str) -> str:
    """How late the run's floor measurement found its sender where requests arrive."""
    return _floor_figure(sources, part, "lateness_at_server_ms", percentile)


def _floor_figure(sources: Sources, part: str, figure: str, percentile: str) -> str:
    floor = sources.typed(part).extra.get("floor") or {}
    found = (floor.get(figure) or {}).get(percentile)
    return quantity(found, "ms") if found is not None else "not measured in this run"


def run_setting(sources: Sources, part: str, path: str) -> str:
    """A setting the run recorded, by dotted path (`http.trials`)."""
    return setting(recorded(sources.typed(part).environment, path))


def unproven_parts(sources: Sources) -> str:
    """The committed parts (main run included) whose summary records no provenance."""
    found = []
    for path in [*sorted(sources.results.glob("*/summary.json")), sources.results / "summary.json"]:
        if path.parent.name in ("runs", "tmp") or not path.is_file():
            continue
        if "provenance" not in json.loads(path.read_text(encoding="utf-8")):
            main = path.parent == sources.results
            found.append("the main run" if main else f"`{path.parent.name}/`")
    return ", ".join(found) or "none"


def bench_minutes(sources: Sources, *argv: str) -> str:
    """How long `kvbench bench ARGV` says it takes when it starts."""
    return minutes(benchargs.estimate(list(argv)))


# The optimized service's CPU per request at the committed rates (kvbench/report/cpu_curve.py).


def cpu_rate_span(sources: Sources) -> str:
    """The optimized service's CPU per request at the lowest and highest committed rates."""
    found = cpu_curve.points(sources.results)
    if not found:
        raise KvbenchError("no committed part measured the optimized service's CPU per request")
    low, high = found[0], found[-1]
    return f"{low.said()} ({low.label}) and {high.said()} ({high.label}), {len(found)} parts in all"


def cpu_curve_plot(sources: Sources) -> str:
    """The plot of CPU per request against the rate, as an image for docs/, or where it goes."""
    png = sources.results / f"{cpu_curve.STEM}.png"
    return sources.image(png, "Server CPU per request against the offered rate")
