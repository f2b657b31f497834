"""Named facts: the figures prose quotes inline, each a public function of the committed
results (`sources`, then the marker's arguments). A marker is a call of string literals:

    serves <!--v:median_ratio("run", "optimized", "unoptimized", "http_tps")-->11.3x<!--/v-->

`part` is `run` (the main run) or a part of the results with a summary (`RESULT_SETS`).
"""

import inspect
import json
from collections.abc import Callable

from kvbench import KvbenchError
from kvbench.catalog.ladder import RUNGS
from kvbench.docgen import ladder as rungs
from kvbench.docgen import profiles, verdicts
from kvbench.docgen.sources import RESULT_SETS, NotMeasured, Sources
from kvbench.measure import benchargs, checks  # benchargs: the command's own estimate
from kvbench.measure.progress import minutes
from kvbench.profiling import samples
from kvbench.report import cpu_curve
from kvbench.report import profiles as views
from kvbench.report.bench import recorded
from kvbench.report.formatting import change, number, pct, percent, plain, quantity, ratio, setting
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


def rung_share(sources: Sources, rung: str, metric: str) -> str:
    """A rung's share of the ladder's whole saving per request, or `~` where it is noise."""
    ladder = rungs.measured(sources)
    if rungs.unresolved(ladder, rung, metric):
        return "no share distinguishable from noise (`~`)"
    return pct(ladder.share(rung, metric)[0])


def step_verdict(sources: Sources, rung: str) -> str:
    """A rung's throughput against the rung before, as one of the ladder's steps."""
    found = rungs.step(rungs.measured(sources), rung)
    if found is None:
        raise KvbenchError(f"the ladder run recorded no paired throughput for {rung!r}")
    return verdicts.as_change(found)


def rungs_share(sources: Sources, first: str, last: str, metric: str) -> str:
    """The shares of the rungs from first to last, added up."""
    ladder = rungs.measured(sources)
    names = ladder.names
    span = names[names.index(ladder.previous(first)) + 1 : names.index(ladder.check(last)) + 1]
    if not span or span[0] != first:
        raise KvbenchError(f"{first!r} to {last!r} is not a run of rungs")
    return pct(sum(ladder.share(r, metric)[0] for r in span))


def largest_step(sources: Sources, metric: str) -> str:
    """The rung whose step changed the metric most."""
    return f"`{rungs.measured(sources).largest_step(metric)}`"


def rung_count(sources: Sources) -> str:
    """How many rungs the ladder has."""
    return str(len(RUNGS))


def step_count(sources: Sources) -> str:
    """How many changes the ladder makes, one per rung after the first."""
    return str(len(RUNGS) - 1)


def changes_to_optimized(sources: Sources) -> str:
    """How many rungs change the naive service into the optimized one (later rungs swap it)."""
    return str([rung.name for rung in RUNGS].index("optimized"))


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


# The verdict rule of docs/05-compare.md#one-rule-for-the-words (kvbench/docgen/verdicts.py):
# the words come with the ratio and its interval that earn them, never alone.


def verdict(sources: Sources, part: str, new: str, old: str, metric: str) -> str:
    """The words for new against old with the ratio, its 95% interval and n (docs/05's rule)."""
    return verdicts.as_ratio(verdicts.ratio_of(sources, part, new, old, metric))


def tail_verdict(sources: Sources, part: str, new: str, old: str, percentile: str) -> str:
    """The words for a pooled latency percentile (`p99`), whole rounds resampled."""
    return verdicts.as_ratio(verdicts.tail_of(sources, part, new, old, percentile))


def trial_spread(sources: Sources, part: str, service: str, metric: str) -> str:
    """The lowest to the highest trial's value of a metric, with its unit: the spread."""
    stat = sources.stat(part, service, metric)
    low, high = min(stat.values), max(stat.values)
    return f"{number(low)} to {quantity(high, stat.unit)}"


def floor_latency(sources: Sources, part: str, percentile: str) -> str:
    """The run's measured latency floor at a percentile, or that the run measured none."""
    floor = sources.typed(part).extra.get("floor") or {}
    found = (floor.get("round_trip_ms") or {}).get(percentile)
    return quantity(found, "ms") if found is not None else "not measured in this run"


def against_prediction(sources: Sources, rung: str) -> str:
    """A rung's paired change of time per request (a ladder step) against its prediction."""
    ladder = rungs.measured(sources)
    found, step = rungs.time_change(ladder, rung), rungs.step(ladder, rung)
    if found is None or step is None:
        raise KvbenchError(f"the ladder run recorded no paired throughput for {rung!r}")
    change, ci = found
    span = f"{step.level * 100:.3g}% CI {_span(ci)}, " if ci else ""
    said = f"time per request {percent(change)} ({span}paired"  # the level says the family
    if rungs.unresolved(ladder, rung):
        said += f"): can't tell at n={step.n}"
    else:
        said += f", n={step.n}): {'faster' if change < 0 else 'slower'}"
    try:
        predicted, trimmed = rungs.predicted_share(sources, ladder, rung)
    except NotMeasured:  # no committed profile of the rung before: no prediction to meet
        predicted, trimmed = None, False
    if predicted is None or ci is None:
        return said
    if trimmed:  # the frames remain after the rung: their share predicts nothing
        held = pct(predicted)
        return f"{said}; its frames held {held} and remain after it (trimmed, not removed)"
    if -ci[1] > predicted:
        return f"{said}, more than the predicted {pct(predicted)}"
    if -ci[0] < predicted:
        return f"{said}, short of the predicted {pct(predicted)}"
    return f"{said}, its interval holds the predicted {pct(predicted)}"


def _span(ci: tuple[float, float] | None) -> str:
    return f"{percent(ci[0])} to {percent(ci[1])}" if ci else ""


def share_order(sources: Sources, metric: str, *names: str) -> str:
    """Rungs' shares of the time saved, with their steps' intervals, ranked where they separate."""
    ladder = rungs.measured(sources)
    shares = (rungs.step_share(ladder, r) if metric == "http_tps" else ladder.share(r, metric)
              for r in names)  # fmt: skip
    found = sorted(zip(shares, names, strict=True), key=lambda f: -f[0][0])
    said = ", ".join(f"`{r}` {pct(*share)}" for share, r in found)
    order = [
        f"`{a}` above `{b}`"
        for (sa, a), (sb, b) in zip(found, found[1:], strict=False)
        if sa[1] and sb[1] and sa[1][0] > sb[1][1]
    ]
    if not order:
        return f"{said}; their intervals overlap, so this run does not rank them"
    return f"{said}; the intervals separate only {', '.join(order)}"


def lowest_headroom(sources: Sources, part: str) -> str:
    """The lowest generator ceiling over the fastest service of any round."""
    return ratio(min(_headrooms(sources, part)))


def highest_headroom(sources: Sources, part: str) -> str:
    """The highest generator ceiling over the fastest service of any round."""
    return ratio(max(_headrooms(sources, part)))


def _headrooms(sources: Sources, part: str) -> list[float]:
    found = [r["headroom"] for r in sources.typed(part).rounds if "headroom" in r]
    if not found:
        raise KvbenchError("the run's rounds recorded no headroom")
    return found


def least_busy(sources: Sources, part: str) -> str:
    """The least busy server window of any round; the ceilings, exempt, are left out."""
    found = sources.typed(part)
    exempt = set(found.checks.get("exempt") or [])
    busy = [b for r in found.rounds for s, b in (r.get("busy") or {}).items() if s not in exempt]
    if not busy:
        raise KvbenchError("the run's rounds recorded no busy")
    return f"{number(min(busy) * 100)}%"


def busiest_generator(sources: Sources, part: str) -> str:
    """The highest share of its core the load generator used in any checked trial."""
    found = sources.typed(part)
    exempt = set(found.checks.get("exempt") or [])
    shares = [v for name, metrics in found.services.items()
              if name not in exempt and "loadgen_cpu_share" in metrics
              for v in metrics["loadgen_cpu_share"].values]  # fmt: skip
    if not shares:
        raise KvbenchError("the run's trials recorded no loadgen_cpu_share")
    return f"{number(max(shares) * 100)}%"


def check_bound(sources: Sources, name: str) -> str:
    """A bound the run's checks apply (`kvbench/measure/checks.py`), as a percentage."""
    bounds = {"min_busy": checks.MIN_BUSY, "max_loadgen_share": checks.MAX_LOADGEN_SHARE,
              "max_schedule_excess": checks.MAX_SCHEDULE_EXCESS}  # fmt: skip
    if name not in bounds:
        raise KvbenchError(f"no check bound {name!r}; one of {', '.join(bounds)}")
    return f"{plain(bounds[name] * 100)}%"


# Each check's list of the rounds or trials it failed (generator: trials the load generator
# held back).
FAILED = {"headroom": "rounds_below", "saturation": "trials_below", "schedule": "trials_late",
          "generator": "trials_above"}  # fmt: skip


def failed_count(sources: Sources, part: str, check: str) -> str:
    """How many rounds (headroom) or trials (saturation, schedule, generator) a check failed."""
    found = (sources.typed(part).checks or {}).get(check)
    if check not in FAILED or not isinstance(found, dict):
        raise KvbenchError(f"the run recorded no {check} check")
    return f"{len(found.get(FAILED[check]) or []):,}"


def sensitivity_ratio(sources: Sources, part: str) -> str:
    """The sensitivity check's throughput with the generator slowed over without, and its noise."""
    found = _sensitivity(sources, part)
    return f"{ratio(found['ratio'])} when slowed (noise {pct(found['noise'] * 100)})"


def sensitivity_share(sources: Sources, part: str) -> str:
    """The load generator's share of its core in the sensitivity check, normal then slowed."""
    found = _sensitivity(sources, part)
    normal, slowed = (max(found[f"{k}_loadgen_share"]) for k in ("normal", "slowed"))
    return f"at most {pct(normal * 100)} normally and {pct(slowed * 100)} slowed"


def _sensitivity(sources: Sources, part: str) -> dict:
    found = (sources.typed(part).checks or {}).get("sensitivity")
    if not isinstance(found, dict) or "ratio" not in found:
        raise KvbenchError(f"{part} recorded no sensitivity check")
    return found


def _checks_ran(checks: dict | None) -> dict[str, dict]:
    """The checks a summary's "checks" holds (each with a status), without its ok and lists."""
    return {c: v for c, v in (checks or {}).items() if isinstance(v, dict) and "status" in v}


def _failures(ran: dict[str, dict]) -> list[tuple[str, int]]:
    """Each failed check with how many trials (or rounds) it failed in; 0 for a run-wide one."""
    return [(c, len(v.get(FAILED.get(c, ""), []) or [])) for c, v in ran.items()
            if v["status"] != "ok"]  # fmt: skip


def checks_of(sources: Sources, part: str) -> str:
    """One part's evidence checks: those that passed, and each failure with its trials."""
    ran = _checks_ran(sources.typed(part).checks)
    if not ran:
        raise KvbenchError(f"{part} recorded no checks")
    passed = [c for c, v in ran.items() if v["status"] == "ok"]
    failed = [f"{c} failed in {n} trial{'s' if n != 1 else ''}" if n else f"{c} failed"
              for c, n in _failures(ran)]  # fmt: skip
    said = f"{', '.join(passed)} passed" if passed else "none passed"
    return said + (f"; {'; '.join(failed)}" if failed else "")


def checks_by_part(sources: Sources) -> str:
    """The committed parts with evidence checks: which passed all, and what failed in the rest."""
    passed: list[str] = []
    failed: list[str] = []
    for name in ("run", *RESULT_SETS):
        try:
            ran = _checks_ran(sources.typed(name).checks)
        except KvbenchError:  # not committed (NotMeasured), or a part without a summary
            continue
        if not ran or "headroom" in ran:  # measured before the evidence checks
            continue
        label = "main" if name == "run" else name
        bad = [f"{c} ({n or 'once'})" for c, n in _failures(ran)]
        (failed if bad else passed).append(f"{label}: {', '.join(bad)}" if bad else label)
    if not passed and not failed:
        raise KvbenchError("no committed part ran the evidence checks")
    said = f"{len(passed)} of {len(passed) + len(failed)} parts passed every check"
    said += f" ({', '.join(passed)})" if passed else ""
    return said + (f"; failed: {'; '.join(failed)}" if failed else "")


def run_setting(sources: Sources, part: str, path: str) -> str:
    """A setting the run recorded, by dotted path (`http.trials`)."""
    return setting(recorded(sources.typed(part).environment, path))


def frame_share(sources: Sources, service: str, frames: str) -> str:
    """The share of a service's GIL-held samples with a target's frames on them."""
    return rungs.frame_share(sources, service, frames)


def component_share(sources: Sources, service: str, component: str) -> str:
    """A component's share of a service's self time in the CPU profile."""
    by_component, _, total = samples.self_time(rungs.cpu(sources, service))
    if component not in by_component or not total:
        raise KvbenchError(f"no component {component!r} in the CPU profile of {service}")
    return pct(by_component[component] / total * 100)


def allocations_per_request(sources: Sources, service: str) -> str:
    """Allocations per request in a service's memray profile."""
    return number(sources.profile(service, "allocs.memray.json")["allocations_per_request"])


def thread_count(sources: Sources, service: str, thread: str) -> str:
    """How many threads of a name the blocking profile of a service saw."""
    found = views.threads(profiles.blocking_svg(sources, service))
    if thread not in found:
        raise KvbenchError(f"no thread {thread!r} in the blocking profile of {service}")
    return f"{found[thread][0]:.0f}"


def pool_idle_share(sources: Sources, service: str) -> str:
    """The share of the thread pool's samples spent waiting for work."""
    found = views.threads(profiles.blocking_svg(sources, service)).get(views.POOL)
    if not found:
        raise KvbenchError(f"no thread pool in the blocking profile of {service}")
    return pct(found[2] / found[1] * 100)


def schedule_figure(sources: Sources, case: str, measure: str, stat: str) -> str:
    """One figure of the schedule check: a case (`rate_2000`), a measure, a statistic."""
    cases = sources.typed("schedule").extra.get("schedule") or {}
    try:
        found = cases[case][measure][stat]
    except (KeyError, TypeError):
        raise KvbenchError(f"the schedule check has no {case} {measure} {stat}") from None
    if measure.endswith("_ms") and isinstance(found, int | float):
        return f"{found:.3f} ms" if found < 10 else quantity(found, "ms")
    return f"{found:.1%}" if isinstance(found, float) and found <= 1 else str(found)


def soak_figure(sources: Sources, path: str) -> str:
    """A figure of the committed soak, by dotted path in its summary (`soak.load.load_s`)."""
    found: object = sources.part_json("soak")
    for key in path.split("."):
        if isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]  # a list's item: `interval_per_hour.1`
        elif isinstance(found, dict) and key in found:
            found = found[key]
        else:
            raise KvbenchError(f"the soak's summary has no {path}")
    if isinstance(found, bool) or not isinstance(found, int | float):
        raise KvbenchError(f"the soak's {path} is not a number: {found!r}")
    return number(found)


def soak_outage(sources: Sources, kind: str) -> str:
    """The longest run of errors (first to last) of a fault kind in the committed soak."""
    recovery = (sources.part_json("soak").get("soak") or {}).get("recovery") or []
    found = [r["outage_s"] for r in recovery if r.get("kind") == kind]
    if not found:
        raise KvbenchError(f"the soak injected no {kind!r}")
    if not max(found):
        return f"no errors (in {len(found)})"
    return f"at most {number(max(found))} s (of {len(found)})"


def soak_checks(sources: Sources) -> str:
    """The committed soak's verdict and its checks: passed, failed, undecided."""
    found = sources.part_json("soak").get("checks") or {}
    judged = {n: c for n, c in found.items() if isinstance(c, dict) and not c.get("diagnostic")}
    ran = {name: check.get("ok") for name, check in judged.items()}
    if not ran:
        raise KvbenchError("the soak's summary has no checks")
    said = [
        f"{word} {', '.join(f'`{n}`' for n, ok in ran.items() if ok is value)}"
        for word, value in (("failed", False), ("undecided", None))
        if value in ran.values()
    ]
    passed = sum(1 for ok in ran.values() if ok is True)
    head = "passed" if found.get("ok") else "failed"
    return f"{head}: {passed} of {len(ran)} checks passed" + "".join(f"; {s}" for s in said)


def soak_restarts(sources: Sources) -> str:
    """What each restarted Redis held: acknowledged PUTs lost, read from Redis at once."""
    check = (sources.part_json("soak").get("checks") or {}).get("no_acknowledged_write_lost", {})
    found = check.get("at_redis_restarts")
    if not found:
        raise KvbenchError("the soak's summary reads no restarted Redis (at_redis_restarts)")
    lost = sum(r["lost"] for r in found)
    before = max(r["acknowledged_before"] for r in found)
    said = "none" if not lost else f"{lost:,} keys"
    return (f"{said} lost at {len(found)} of {check.get('redis_kills', '?')} Redis restarts, "
            f"each against every PUT acknowledged before it ({before:,} by the last)")  # fmt: skip


def soak_plot(sources: Sources) -> str:
    """The committed soak's plot as an image for docs/, or where it will be."""
    png = sources.results / "soak" / "plots" / "soak.png"
    sources.part_json("soak")  # NotMeasured when no soak is committed
    if not png.is_file():
        return f"`{sources.shown(png)}` (drawn by `kvbench promote`)"
    alt = "RSS, file descriptors, p99 and errors per second over the soak, faults marked"
    return f"![{alt}]({sources.link(png, sources.root / 'docs' / 'any.md')})"


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
    if not png.is_file():
        return f"`{sources.shown(png)}` (drawn by `kvbench promote`)"
    link = sources.link(png, sources.root / "docs" / "any.md")
    return f"![Server CPU per request against the offered rate]({link})"


# Every public function above is a fact a marker may name.
FACTS: dict[str, Callable[..., str]] = {
    name: f
    for name, f in list(globals().items())
    if inspect.isfunction(f) and f.__module__ == __name__ and not name.startswith("_")
}
