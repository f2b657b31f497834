"""Inline values in prose: `<!--v:SPEC-->text<!--/v-->`, where SPEC is words separated by spaces.

    run optimized http_tps                  the median, with its unit: `7,150 req/s`
    run optimized http_tps ci               the same with its 95% interval
    run optimized http_tps / unoptimized    the ratio of the medians: `10.7x`
    run optimized http_tps % unoptimized    the change of the medians: `+969%`
    run optimized http_tps time             one over the throughput: the time per request
                                            of a saturated server's core (with Redis beside
                                            it, for a stores variant), `41.5 µs`
    ladder async http_tps share             the rung's share of the whole saving per request
                                            (throughput: of the time per request, 1/x); a
                                            `~` step says so instead of a number
    ladder httptools..noserverheader http_tps share
                                            the rungs from one to another together: their
                                            shares add up
    ladder largest-step gc_collections      the rung that cut that cost most: `async`
    profile unoptimized component logging   a component's share of the CPU profile
    profile httptools frames h11            a target's share of the CPU samples (evidence.py)
    profile unoptimized allocations         memray's allocations per request
    profile unoptimized threads NAME        how many threads of that name the blocking view shows
    profile unoptimized idle                the share of the thread pool's samples spent waiting
    env run http.trials                     a setting the run recorded (dotted path)
    parts unproven                          the committed parts whose summary records no
                                            provenance (measured before it existed)
    schedule rate_2000 send_lag_ms p99      the schedule check's figure (`make bench-schedule`),
                                            a case, a measure and a statistic: `0.004 ms`
    estimate bench --trials 2               how long `kvbench bench --trials 2` says it takes

    stores redis-mget-1 redis_cmds_per_req  the shared-store comparison (`make bench-stores`)

    latency run unoptimized p99             a percentile of all open-loop requests, pooled
    latency run unoptimized p99 ci          the same with its 95% interval (order statistics)
    latency run unoptimized n               how many requests were pooled: `33,000`
    paired run optimized http_tps           the median of per-round ratios to its base: `10.4x`
    paired run optimized http_tps ci        the same with its 95% interval and n
    rounds run headroom [max]               the lowest (highest) generator ceiling / fastest
                                            service of any round: `2.31x`
    rounds run busy                         the least busy closed-loop window of any trial,
                                            as a share of one core: `97.1%`
    checks run warnings                     how many headroom and saturation checks failed
                                            (`checks run headroom`: rounds short of headroom;
                                            `checks run saturation`: trials not saturated;
                                            `checks run schedule`: open loops the generator
                                            shaped)
    ladder rungs                            how many rungs the ladder has (`ladder changes`:
                                            how many steps between them)

`run`, `ladder`, `peers` and `stores` name the result sets of `results.Sources`.
"""

import json

from kvbench import KvbenchError
from kvbench.commands import bench  # the command's own defaults make its estimate
from kvbench.docgen import evidence, profiles
from kvbench.docgen.rungs import Ladder
from kvbench.docgen.sources import NotMeasured, Sources, typed
from kvbench.measure.progress import minutes
from kvbench.report.formatting import change, interval, number, pct, percent, quantity, ratio
from kvbench.results.latency import PERCENTILES
from kvbench.results.resultset import ResultSet
from kvbench.services import LADDER

POOL = "AnyIO worker thread"


def value(spec: str, sources: Sources) -> str:
    """The text an inline value spec stands for; `not measured` when its results are absent."""
    words = spec.split()
    try:
        return _value(words, sources)
    except NotMeasured as missing:
        return f"(not measured: run `{missing.target}`)"


def _value(words: list[str], sources: Sources) -> str:
    if words[:1] == ["profile"] and len(words) >= 3:
        return _profile(words[1], words[2], " ".join(words[3:]), sources)
    if words[:2] == ["estimate", "bench"]:
        return estimate(words[2:])
    if words == ["parts", "unproven"]:
        return unproven(sources)
    if words[:1] == ["schedule"] and len(words) == 4:
        return schedule_figure(sources, *words[1:])
    if words[:1] == ["env"] and len(words) == 3:
        return setting(sources.environment(words[1]), words[2])
    if words[:2] == ["ladder", "largest-step"] and len(words) == 3:
        return f"`{Ladder(sources).largest_step(words[2])}`"
    if words in (["ladder", "rungs"], ["ladder", "changes"]):
        return str(len(LADDER) - (words[1] == "changes"))
    if words[:1] in (["latency"], ["paired"], ["rounds"], ["checks"]) and len(words) >= 3:
        return run_section(words[0], sources.results_set(words[1]), words[2:])
    if len(words) == 3:
        stat = sources.stat(*words)
        return quantity(stat.median, stat.unit)
    if len(words) == 4 and words[3] == "time":
        stat = sources.stat(*words[:3])
        if stat.unit != "req/s" or stat.median <= 0:
            raise KvbenchError(f"`time` is one over a positive throughput, not {words[2]}'s")
        return quantity(1e6 / stat.median, "us/req")
    if len(words) == 4 and words[3] == "ci":
        stat = sources.stat(*words[:3])
        return f"{quantity(stat.median, stat.unit)} ({interval(stat)})"
    if len(words) == 4 and words[3] == "share" and words[0] == "ladder" and ".." in words[1]:
        return pct(_span_share(Ladder(sources), words[1], words[2]))
    if len(words) == 4 and words[3] == "share" and words[0] == "ladder":
        return _rung_share(Ladder(sources), words[1], words[2])
    if len(words) == 5 and words[3] in ("/", "%"):
        new = sources.stat(*words[:3]).median
        old = sources.stat(words[0], words[4], words[2]).median
        return ratio(new / old) if words[3] == "/" else percent(change(new, old))
    raise KvbenchError(f"unknown value spec {' '.join(words)!r}")


def _profile(service: str, what: str, name: str, sources: Sources) -> str:
    if what == "component":
        by_component, _, total = profiles.cpu_shares(sources, service)
        return pct(by_component[name] / total * 100)
    if what == "frames":
        return evidence.share_of(sources, service, name)
    if what == "allocations":
        return number(sources.profile(service, "allocs.memray.json")["allocations_per_request"])
    found = profiles.threads(sources, service)
    if what == "threads":
        return f"{found.get(name, [0])[0]:.0f}"
    if what == "idle" and found.get(POOL):
        return pct(found[POOL][2] / found[POOL][1] * 100)
    raise KvbenchError(f"unknown profile value {what!r}")


def _rung_share(ladder: Ladder, rung: str, name: str) -> str:
    """One rung's share, or, as the ladder table says it, `~` where its step is noise."""
    found = ladder.share(rung, name)[0]
    if ladder.row(ladder.previous(rung), rung, name).verdict == "same":
        return "no share distinguishable from noise (`~`)"
    return pct(found)


def _span_share(ladder: Ladder, span: str, name: str) -> float:
    """`FIRST..LAST`: the shares of those rungs and every rung between them, added up."""
    first, _, last = span.partition("..")
    names = ladder.names()
    if first not in names[1:] or last not in names[1:] or names.index(last) < names.index(first):
        raise KvbenchError(f"{span!r} is not a run of rungs FIRST..LAST after the first rung")
    return sum(ladder.share(r, name)[0] for r in names[names.index(first) : names.index(last) + 1])


def run_section(kind: str, found: ResultSet, words: list[str]) -> str:
    """A value of summary.json beside its services: latency, paired, rounds or checks."""
    if kind == "latency" and len(words) in (2, 3) and words[2:] in ([], ["ci"]):
        return _latency(found, words[0], words[1], words[2:] == ["ci"])
    if kind == "paired" and len(words) in (2, 3) and words[2:] in ([], ["ci"]):
        return _paired(found, words[0], words[1], words[2:] == ["ci"])
    if kind == "rounds" and words in (["headroom"], ["headroom", "max"], ["busy"]):
        return _rounds(found, " ".join(words))
    if kind == "checks" and words in (["warnings"], ["headroom"], ["saturation"], ["schedule"]):
        return _checks(found, words[0])
    raise KvbenchError(f"unknown {kind} value {' '.join(words)!r}")


def _latency(found: ResultSet, service: str, name: str, ci: bool) -> str:
    """A pooled percentile in ms (with its interval), or `n`, the requests pooled."""
    entry = found.latency.get(service)
    if entry is None:
        raise KvbenchError(f"no pooled open-loop latency for {service!r}")
    if name == "n" and not ci:
        return f"{entry['n']:,}"
    if name not in PERCENTILES:
        raise KvbenchError(f"{name!r} is not one of {', '.join(PERCENTILES)} (or n)")
    if name not in entry:
        raise KvbenchError(f"{service}'s {name} does not qualify: {entry['n']:,} requests")
    found_ms = entry[name]
    text = f"{number(found_ms['ms'])} ms"
    if ci:
        low, high = found_ms.get("ci_low"), found_ms.get("ci_high")
        shown = [number(v) if v is not None else "∞" for v in (low, high)]
        text += f" (95% CI {'-∞' if low is None else shown[0]} to {shown[1]} ms)"
    return text


def _paired(found: ResultSet, service: str, name: str, ci: bool) -> str:
    """The median of a service's per-round ratios to its base (with interval and n)."""
    paired = typed(found).paired.get(service)
    if paired is None or name not in paired.metrics:
        raise KvbenchError(f"the run recorded no paired {name} for {service!r}")
    stat = paired.metrics[name].ratios
    text = ratio(stat.median)
    if ci:
        span = f"95% CI {number(stat.ci[0])} to {number(stat.ci[1])}x" if stat.ci else "no CI"
        text += f" ({span}, n={stat.n})"
    return text


def _checks(found: ResultSet, what: str) -> str:
    """How many checks failed: all of them, the rounds short of headroom, the idle trials."""
    checks = typed(found).checks
    if not checks:
        raise KvbenchError("the run recorded no headroom or saturation checks")
    if what == "headroom":
        failed = checks.get("headroom", {}).get("rounds_below") or []
    elif what == "saturation":
        failed = checks.get("saturation", {}).get("trials_below") or []
    elif what == "schedule":
        failed = checks.get("schedule", {}).get("trials_late") or []
    else:
        failed = checks.get("warnings") or []
    return f"{len(failed):,}"


def _rounds(found: ResultSet, what: str) -> str:
    """Over all rounds: the lowest (or highest) headroom, or the least busy server window.

    The busy share leaves out the services the saturation check exempts (the ceilings,
    which are there to find the load generator's limit, not to be saturated by it).
    """
    rounds = typed(found).rounds
    exempt = set(typed(found).checks.get("exempt") or [])
    if what.startswith("headroom"):
        values = [r["headroom"] for r in rounds if "headroom" in r]
    else:
        values = [
            busy
            for r in rounds
            for service, busy in (r.get("busy") or {}).items()
            if service not in exempt
        ]
    if not values:
        raise KvbenchError(f"the run's rounds recorded no {what}")
    if what == "busy":
        return f"{number(min(values) * 100)}%"
    return ratio(max(values) if what == "headroom max" else min(values))


def estimate(argv: list[str]) -> str:
    """The time estimate of `kvbench bench ARGV`, said as the command says it when it starts."""
    return minutes(bench.estimate(argv))


def unproven(sources: Sources) -> str:
    """The committed parts (main run included) whose summary.json has no provenance."""
    found = []
    for path in sorted(sources.results.glob("*/summary.json")) + [sources.results / "summary.json"]:
        if path.parent.name in ("runs", "tmp") or not path.is_file():
            continue
        if "provenance" not in json.loads(path.read_text(encoding="utf-8")):
            main = path.parent == sources.results
            found.append("the main run" if main else f"`{path.parent.name}/`")
    return ", ".join(found) or "none"


def schedule_figure(sources: Sources, case: str, measure: str, stat: str) -> str:
    """One figure of the schedule check: a case (`rate_2000`), a measure, a statistic (ms)."""
    cases = typed(sources.results_set("schedule")).extra.get("schedule") or {}
    try:
        found = cases[case][measure][stat]
    except (KeyError, TypeError):
        raise KvbenchError(f"the schedule check has no {case} {measure} {stat}") from None
    if measure.endswith("_ms") and isinstance(found, int | float):
        return f"{found:.3f} ms" if found < 10 else quantity(found, "ms")
    return f"{found:.1%}" if isinstance(found, float) and found <= 1 else str(found)


def setting(env: dict, path: str) -> str:
    """A recorded setting by dotted path (`http.trials`), numbers grouped, lists joined."""
    found = env
    for key in path.split("."):
        if not isinstance(found, dict) or key not in found:
            raise KvbenchError(f"the run's environment records no {path!r}")
        found = found[key]
    if isinstance(found, list):  # command-line words read as typed, anything else as a list
        words = all(isinstance(v, str) for v in found)
        return " ".join(found) if words else ", ".join(str(v) for v in found)
    if isinstance(found, float) and found.is_integer():
        found = int(found)
    if isinstance(found, float):
        return number(found) if abs(found) >= 100 else f"{found:g}"
    return f"{found:,}" if isinstance(found, int) and not isinstance(found, bool) else str(found)
