"""The committed soak's figures, checks, outages and plot."""

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.report.formatting import number


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
    png = sources.results / "soak" / "plots" / "soak.png"
    sources.part_json("soak")  # NotMeasured when no soak is committed
    if not png.is_file():
        return f"`{sources.shown(png)}` (drawn by `kvbench promote`)"
    alt = "RSS, file descriptors, p99 and errors per second over the soak, faults marked"
    return f"![{alt}]({sources.link(png, sources.root / 'docs' / 'any.md')})"
