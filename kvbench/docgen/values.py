"""Inline values in prose: `<!--v:SPEC-->text<!--/v-->`, where SPEC is words separated by spaces.

    run optimized http_tps                  the median, with its unit: `7,150 req/s`
    run optimized http_tps ci               the same with its 95% interval
    run optimized http_tps / unoptimized    the ratio of the medians: `10.7x`
    run optimized http_tps % unoptimized    the change of the medians: `+969%`
    ladder async http_tps share             the rung's share of the whole saving per request
                                            (throughput: of the time per request, 1/x)
    ladder largest-step gc_collections      the rung that cut that cost most: `async`
    profile unoptimized component logging   a component's share of the CPU profile
    profile httptools frames h11            a target's share of the CPU samples (evidence.py)
    profile unoptimized allocations         memray's allocations per request
    profile unoptimized threads NAME        how many threads of that name the blocking view shows
    profile unoptimized idle                the share of the thread pool's samples spent waiting
    env run http.trials                     a setting the run recorded (dotted path)
    estimate bench --trials 2               how long `kvbench bench --trials 2` says it takes

    stores redis-mget-1 redis_cmds_per_req  the shared-store comparison (`make bench-stores`)

`run`, `ladder`, `peers` and `stores` name the result sets of `results.Sources`.
"""

from kvbench import KvbenchError
from kvbench.commands import bench  # the command's own defaults make its estimate
from kvbench.docgen import evidence, profiles
from kvbench.docgen.formatting import change, interval, number, percent, quantity, ratio
from kvbench.docgen.rungs import Ladder
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.measure.progress import minutes

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
    if words[:1] == ["env"] and len(words) == 3:
        return setting(sources.environment(words[1]), words[2])
    if words[:2] == ["ladder", "largest-step"] and len(words) == 3:
        return f"`{Ladder(sources).largest_step(words[2])}`"
    if len(words) == 3:
        stat = sources.stat(*words)
        return quantity(stat.median, stat.unit)
    if len(words) == 4 and words[3] == "ci":
        stat = sources.stat(*words[:3])
        return f"{quantity(stat.median, stat.unit)} ({interval(stat)})"
    if len(words) == 4 and words[3] == "share" and words[0] == "ladder":
        return f"{number(Ladder(sources).share(words[1], words[2])[0], 2)}%"
    if len(words) == 5 and words[3] in ("/", "%"):
        new = sources.stat(*words[:3]).median
        old = sources.stat(words[0], words[4], words[2]).median
        return ratio(new / old) if words[3] == "/" else percent(change(new, old))
    raise KvbenchError(f"unknown value spec {' '.join(words)!r}")


def _profile(service: str, what: str, name: str, sources: Sources) -> str:
    if what == "component":
        by_component, _, total = profiles.cpu_shares(sources, service)
        return f"{number(by_component[name] / total * 100, 2)}%"
    if what == "frames":
        return evidence.share_of(sources, service, name)
    if what == "allocations":
        return number(sources.profile(service, "allocs.memray.json")["allocations_per_request"])
    found = profiles.threads(sources, service)
    if what == "threads":
        return f"{found.get(name, [0])[0]:.0f}"
    if what == "idle" and found.get(POOL):
        return f"{number(found[POOL][2] / found[POOL][1] * 100, 2)}%"
    raise KvbenchError(f"unknown profile value {what!r}")


def estimate(argv: list[str]) -> str:
    """The time estimate of `kvbench bench ARGV`, said as the command says it when it starts."""
    return minutes(bench.estimate(argv))


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
