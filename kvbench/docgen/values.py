"""Inline values in prose: `<!--v:SPEC-->text<!--/v-->`, SPEC being words. SET is `run` or
a part of the results (`ladder`, `stores`, ... : `sources.RESULT_SETS`).

    SET SERVICE METRIC [time | / OTHER | % OTHER]
        the median with its unit; one over a throughput (time per request of a saturated
        core); the ratio, or the change in percent, of the medians of two services
    ladder RUNG METRIC share            the rung's share of the whole saving per request
    ladder FIRST..LAST METRIC share     the shares of a run of rungs, added up
    ladder largest-step METRIC | ladder rungs | ladder changes
    paired SET SERVICE METRIC [ci]      the median of per-round ratios to its base
    latency SET SERVICE n | pNN         requests pooled in the open loop; a percentile
    rounds SET headroom [max] | busy    the lowest (highest) generator ceiling over the
                                        fastest service of any round; the least busy window
    checks SET headroom | saturation | schedule    how many rounds or trials that check failed
    schedule CASE MEASURE STAT          a figure of the schedule check (`make bench-schedule`)
    profile SERVICE frames KEY | component NAME | allocations | threads NAME | idle
    env SET DOTTED.PATH                 a setting the run recorded
    parts unproven                      committed parts whose summary records no provenance
    estimate bench ARGS...              how long `kvbench bench ARGS` says it takes
"""

import inspect
import json
from collections.abc import Callable
from typing import Any

from kvbench import KvbenchError
from kvbench.catalog.ladder import RUNGS
from kvbench.docgen import ladder as rungs
from kvbench.docgen import profiles
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.measure import benchargs  # the command's own defaults make its estimate
from kvbench.measure.progress import minutes
from kvbench.profiling import samples
from kvbench.report import profiles as views
from kvbench.report.bench import recorded
from kvbench.report.formatting import change, number, pct, percent, quantity, ratio, setting
from kvbench.results.ladder import Ladder
from kvbench.results.latency import PERCENTILES
from kvbench.results.model import Run


def value(spec: str, sources: Sources) -> str:
    """The text an inline value spec stands for; `not measured` when its results are absent."""
    try:
        return _value(spec.split(), sources)
    except NotMeasured as missing:
        return f"(not measured: run `{missing.target}`)"


def _value(words: list[str], sources: Sources) -> str:
    if not words:
        raise KvbenchError("an empty value spec")
    head, rest = words[0], words[1:]
    if head in SPECIAL:
        return call(SPECIAL[head], f"value `{' '.join(words)}`", sources, *rest)
    if head in SECTIONS and rest:
        found = sources.typed(rest[0])
        return call(SECTIONS[head], f"value `{' '.join(words)}`", found, *rest[1:])
    if words in (["ladder", "rungs"], ["ladder", "changes"]):
        return str(len(RUNGS) - (rest[0] == "changes"))
    if words[:2] == ["ladder", "largest-step"] and len(words) == 3:
        return f"`{rungs.measured(sources).largest_step(words[2])}`"
    if len(words) == 3:
        stat = sources.stat(*words)
        return quantity(stat.median, stat.unit)
    if len(words) == 4 and words[3] == "time":
        stat = sources.stat(*words[:3])
        if stat.unit != "req/s" or stat.median <= 0:
            raise KvbenchError(f"`time` is one over a positive throughput, not {words[2]}'s")
        return quantity(1e6 / stat.median, "us/req")
    if len(words) == 4 and words[3] == "share" and head == "ladder":
        return _share(rungs.measured(sources), words[1], words[2])
    if len(words) == 5 and words[3] in ("/", "%"):
        new = sources.stat(*words[:3]).median
        old = sources.stat(head, words[4], words[2]).median
        return ratio(new / old) if words[3] == "/" else percent(change(new, old))
    raise KvbenchError(f"unknown value spec {' '.join(words)!r}")


def call(form: Callable[..., str], what: str, *args: Any) -> str:
    """`form(*args)`, when the words fit its signature; an error inside it is not masked."""
    try:
        inspect.signature(form).bind(*args)
    except TypeError:
        raise KvbenchError(f"wrong words for the {what}") from None
    return form(*args)


def _share(ladder: Ladder, rungs_named: str, name: str) -> str:
    """One rung's share (or `~` where its step is noise), or FIRST..LAST's added up."""
    first, _, last = rungs_named.partition("..")
    if not last:
        if ladder.noise(first, name):
            return "no share distinguishable from noise (`~`)"
        return pct(ladder.share(first, name)[0])
    names = ladder.names
    span = names[names.index(ladder.previous(first)) + 1 : names.index(ladder.check(last)) + 1]
    if not span or span[0] != first:
        raise KvbenchError(f"{rungs_named!r} is not a run of rungs FIRST..LAST")
    return pct(sum(ladder.share(r, name)[0] for r in span))


def _paired(found: Run, service: str, name: str, *ci: str) -> str:
    """The median of a service's per-round ratios to its base (with interval and n)."""
    paired = found.paired.get(service)
    if paired is None or name not in paired.metrics or ci not in ((), ("ci",)):
        raise KvbenchError(f"the run recorded no paired {name} for {service!r}")
    stat = paired.metrics[name].ratios
    if not ci:
        return ratio(stat.median)
    span = f"95% CI {number(stat.ci[0])} to {number(stat.ci[1])}x" if stat.ci else "no CI"
    return f"{ratio(stat.median)} ({span}, n={stat.n})"  # the interval said in prose


def _latency(found: Run, service: str, name: str) -> str:
    """The requests pooled in a service's open loop, or a pooled percentile in ms."""
    entry = found.latency.get(service)
    if entry is None or (name != "n" and name not in PERCENTILES):
        raise KvbenchError(
            f"no pooled open-loop {name} for {service!r} (n or one of {PERCENTILES})"
        )
    if name != "n" and name not in entry.percentiles:
        raise KvbenchError(f"{service}'s {name} does not qualify: {entry.n:,} requests")
    return f"{entry.n:,}" if name == "n" else quantity(entry.percentiles[name].ms, "ms")


def _rounds(found: Run, *what: str) -> str:
    """Over all rounds: the lowest (highest) headroom, or the least busy server window; the
    busy share leaves out the ceilings, which are there to find the generator's limit."""
    exempt = set(found.checks.get("exempt") or [])
    if what not in (("headroom",), ("headroom", "max"), ("busy",)):
        raise KvbenchError(f"unknown rounds value {' '.join(what)!r}")
    key = what[0]
    if key == "headroom":
        values = [r["headroom"] for r in found.rounds if "headroom" in r]
    else:
        values = [b for r in found.rounds if key == "busy"
                  for s, b in (r.get("busy") or {}).items() if s not in exempt]  # fmt: skip
    if not values:
        raise KvbenchError(f"the run's rounds recorded no {' '.join(what)}")
    if key == "busy":
        return f"{number(min(values) * 100)}%"
    return ratio(max(values) if what[1:] == ("max",) else min(values))


FAILED = {"headroom": "rounds_below", "saturation": "trials_below", "schedule": "trials_late"}


def _checks(found: Run, what: str) -> str:
    """How many rounds or trials a check failed."""
    if what not in FAILED or not found.checks:
        raise KvbenchError(f"the run recorded no {what} check")
    return f"{len(found.checks.get(what, {}).get(FAILED[what]) or []):,}"


def _env(found: Run, path: str) -> str:
    return setting(recorded(found.environment, path))


SECTIONS: dict[str, Callable[..., str]] = {
    "paired": _paired, "latency": _latency, "rounds": _rounds, "checks": _checks, "env": _env,
}  # fmt: skip


def _profile(sources: Sources, service: str, what: str, *name: str) -> str:
    said = " ".join(name)
    if what == "frames":
        return rungs.frame_share(sources, service, said)
    if what == "component":
        by_component, _, total = samples.self_time(rungs.cpu(sources, service))
        if said not in by_component or not total:
            raise KvbenchError(f"no component {said!r} in the CPU profile of {service}")
        return pct(by_component[said] / total * 100)
    if what == "allocations":
        return number(sources.profile(service, "allocs.memray.json")["allocations_per_request"])
    found = views.threads(profiles.blocking_svg(sources, service))
    if what == "threads" and said in found:
        return f"{found[said][0]:.0f}"
    if what == "idle" and found.get(views.POOL):
        return pct(found[views.POOL][2] / found[views.POOL][1] * 100)
    raise KvbenchError(f"no profile value {what} {said} for {service}".rstrip())


def _estimate(sources: Sources, command: str, *argv: str) -> str:
    """The time estimate of `kvbench bench ARGV`, said as the command says it when it starts."""
    if command != "bench":
        raise KvbenchError("estimate takes `bench` and its arguments")
    return minutes(benchargs.estimate(list(argv)))


def _parts(sources: Sources, which: str) -> str:
    """`parts unproven`: the committed parts (main run included) with no provenance."""
    found = []
    for path in [*sorted(sources.results.glob("*/summary.json")), sources.results / "summary.json"]:
        if which != "unproven" or path.parent.name in ("runs", "tmp") or not path.is_file():
            continue
        if "provenance" not in json.loads(path.read_text(encoding="utf-8")):
            main = path.parent == sources.results
            found.append("the main run" if main else f"`{path.parent.name}/`")
    return ", ".join(found) or "none"


def _schedule(sources: Sources, case: str, measure: str, stat: str) -> str:
    """One figure of the schedule check: a case (`rate_2000`), a measure, a statistic."""
    cases = sources.typed("schedule").extra.get("schedule") or {}
    try:
        found = cases[case][measure][stat]
    except (KeyError, TypeError):
        raise KvbenchError(f"the schedule check has no {case} {measure} {stat}") from None
    if measure.endswith("_ms") and isinstance(found, int | float):
        return f"{found:.3f} ms" if found < 10 else quantity(found, "ms")
    return f"{found:.1%}" if isinstance(found, float) and found <= 1 else str(found)


SPECIAL: dict[str, Callable[..., str]] = {
    "profile": _profile, "estimate": _estimate, "parts": _parts, "schedule": _schedule,
}  # fmt: skip
