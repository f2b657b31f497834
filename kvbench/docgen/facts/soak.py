"""The committed soak's figures, checks, outages and plot."""

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.report.formatting import number
from kvbench.soak.checks import WARM_STEP_PCT
from kvbench.soak.series import read_csv


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
    return f"{found:,}" if isinstance(found, int) else number(found)


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
    found = _checks(sources)
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
    check = _checks(sources).get("no_acknowledged_write_lost", {})
    found = check.get("at_redis_restarts")
    if not found:
        raise KvbenchError("the soak's summary reads no restarted Redis (at_redis_restarts)")
    read = [r for r in found if not r.get("error")]  # one not read is not among the "of"
    if not read:
        raise KvbenchError("the soak read no restarted Redis: " + found[0]["error"])
    lost = sum(r["lost"] for r in read)
    before = max(r["acknowledged_before"] for r in read)
    said = "none" if not lost else f"{lost:,} keys"
    return (f"{said} lost at {len(read)} of {check.get('redis_kills', '?')} Redis restarts, "
            f"each against every PUT acknowledged before it ({before:,} by the last)")  # fmt: skip


def soak_plot(sources: Sources) -> str:
    """The committed soak's plot as an image for docs/, or where it will be."""
    sources.part_json("soak")  # NotMeasured when no soak is committed
    alt = ("The service's RSS, Redis's (its AOF rewrites dotted), file descriptors, p99 and "
           "errors per second over the soak, faults marked")  # fmt: skip
    return sources.image(sources.results / "soak" / "plots" / "soak.png", alt)


def _checks(sources: Sources) -> dict:
    return sources.part_json("soak").get("checks") or {}


def _series(sources: Sources) -> list[dict]:
    sources.part_json("soak")  # NotMeasured when no soak is committed
    path = sources.results / "soak" / "series.csv"
    if not path.is_file():
        raise KvbenchError(f"the soak's {sources.shown(path)} is missing")
    return read_csv(path)


# The soak's own process reads its processes once a second; later than this, its event loop
# (the load's sender) was held up.
HELD_S = 0.25


def soak_held(sources: Sources) -> str:
    """How often the soak's own process (its sender and sampler) was held up, and how long."""
    late = [(r["t_s"], r["sampled_s"] - r["t_s"]) for r in _series(sources)
            if r.get("sampled_s") is not None and r["sampled_s"] - r["t_s"] > HELD_S]  # fmt: skip
    if not late:
        return f"never held up over {HELD_S:g} s"
    when = ", ".join(f"{t:,.0f}" for t, _ in late)
    longest = max(d for _, d in late)
    times = f"{len(late)} time{'s' if len(late) != 1 else ''}"
    return f"{times} over {HELD_S:g} s, up to {number(longest, 2)} s (at {when} s)"


def soak_p99_calm(sources: Sources) -> str:
    """The calm half's per-minute p99 trend, as the check fitted it, with interval and bound."""
    trend = _checks(sources).get("p99_per_minute_not_rising")
    if not trend:
        raise KvbenchError("the soak's summary has no p99_per_minute_not_rising check")
    if "interval_ms_per_hour" not in trend:
        return f"not fitted ({trend.get('why')})"
    low, high = trend["interval_ms_per_hour"]
    bound = trend["median_p99_ms"] * trend["bound_pct_per_hour"] / 100
    return (f"{number(low, 2)} to {number(high, 2)} ms an hour over its {trend['minutes']} "
            f"minutes (bound {number(bound, 2)})")  # fmt: skip


def soak_warm(sources: Sources) -> str:
    """Where Redis's RSS fit began (its last life's first AOF rewrite) and what it forgave."""
    # What it forgave: what the rows before it, left out, had added (`warm_forgiven`).
    check = _checks(sources).get("redis_rss_mb_flat") or {}
    if "warm_from_s" not in check:
        raise KvbenchError("the soak's redis_rss_mb_flat check names no warm-up event")
    lives = len({r["redis_pid"] for r in _series(sources) if r.get("redis_pid") is not None})
    warm, forgiven = check["warm_from_s"], check.get("warm_forgiven") or {}
    said = f"{len(warm)} of {lives} Redis lives rewrote their AOF"
    if not warm:
        return said
    last = list(warm)[-1]
    said += f"; the last first at {float(warm[last]):,.0f} s"
    if last in forgiven:
        bound = check["level"] * WARM_STEP_PCT / 100  # the code that judged it: provenance
        said += f", the rows before it adding {number(forgiven[last], 2)} MB"
        said += f" (bound {number(bound, 2)})"
    return said
