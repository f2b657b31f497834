"""What a run says about its own instrument: its checks, the generator's ceiling, the floor.

Runs measured before the evidence checks (`measure/checks.py`) hold a "headroom" check
(the generator's ceiling over the fastest service); they render as they always did.
"""

from kvbench.measure.floor import PERCENTILES
from kvbench.report.formatting import number, pct, plain, ratio
from kvbench.results.model import Run

# The sentence each passed check adds, from its own record.
PASSED = {
    "headroom": lambda c: (
        f"the load generator's ceiling was at least {plain(c['min'])}x the fastest service"
    ),
    "saturation": lambda c: (
        "every pinned server was busy at least "
        f"{plain(c['min_busy'] * 100)}% of its closed-loop window"
    ),
    "generator": lambda c: (
        f"the load generator used at most {plain(round(c['highest'] * 100))}% "
        f"of its core (the bound is {plain(c['max_share'] * 100)}%)"
    ),
    "schedule": lambda c: (
        "every open-loop p99 from the intended send was within "
        f"{plain(c['max_excess'] * 100)}% of the p99 from the actual send, or within the "
        "generator's own lateness at the floor"
    ),
    "sensitivity": lambda c: (
        f"with the load generator slowed (its CPU per answer {c['slowdown']:.2f}x), "
        f"{c['service']}'s throughput moved to {c['ratio']:.3f}x, within "
        f"the noise ({plain(round(c['tolerance'] * 100, 1))}%)"
    ),
}
UNDECIDED = "neither passed nor failed"


def ceiling_text(run: Run, ceiling: dict) -> list[str]:
    """How far the load generator alone outruns the fastest service (a diagnostic)."""
    if not ceiling.get("tps"):
        return []
    tps = [m["http_tps"].median for m in run.services.values() if "http_tps" in m]
    bound = "at least " if ceiling.get("lower_bound") else ""
    text = f"The load generator alone reached {bound}{number(ceiling['tps'])} requests/s "
    text += "against a canned server"
    headroom = [r["headroom"] for r in run.rounds if "headroom" in r]
    if headroom:  # measured after every round, next to that round's fastest service
        text += (
            f" ({ceiling.get('workload', 'the same workload')}), measured after every round: "
            f"from {ratio(min(headroom))} to {ratio(max(headroom))} that round's fastest service"
        )
        if "min_headroom" in ceiling:  # runs that judged by the ratio
            text += f" (the check asks for {plain(ceiling['min_headroom'])}x)"
    elif tps and max(tps) > 0:
        text += f", {ratio(ceiling['tps'] / max(tps))} the fastest service here"
    if "canned_busy_max" in ceiling:
        text += f"; the canned server was busy at most {ratio(ceiling['canned_busy_max'])}"
    return [text + "."]


def checks_section(run: Run) -> str:
    """Was the server, not the load generator, the limit? Said per round and per trial."""
    checks = run.checks
    if not checks:
        return ""  # schema 1 runs did not check
    warnings = checks.get("warnings") or []
    undecided = [f"- {name}: undecided ({UNDECIDED}): {checks[name].get('reading', '')}."
                 for name in checks.get("undecided") or []]  # fmt: skip
    if not warnings:
        said = [PASSED[name](c) for name in PASSED if _passed(c := checks.get(name))]
        if not undecided:
            return f"## Checks\n\nEvery check passed: {'; '.join(said)}{_exempt(checks)}.\n"
        head = f"No check failed; the others passed: {'; '.join(said) or 'none'}{_exempt(checks)}."
        return "## Checks\n\n" + "\n".join(undecided) + "\n\n" + head + "\n"
    lines = [f"- Warning: {w}." for w in warnings] + undecided
    head = (f"{len(warnings)} warning(s): the figures of these rounds may be bounded by the load "
            "generator, not the server (`kvbench bench --strict` fails such a run).")  # fmt: skip
    return "## Checks\n\n" + head + _exempt(checks) + "\n\n" + "\n".join(lines) + "\n"


def _passed(check) -> bool:
    # Without warnings nothing failed; an undecided check is said apart, not as passed.
    return isinstance(check, dict) and check.get("status") != "undecided"


def _exempt(checks: dict) -> str:
    rows = checks.get("exempt") or []
    if not rows:
        return ""
    names = ", ".join(f"`{name}`" for name in rows)
    return f" (not checked: {names}, ceilings that may outrun the load generator by design)"


def floor_section(floor: dict | None) -> str:
    """This machine's latency floor, measured in the run, beside its latency tables."""
    if not floor:
        return ""
    labels = [p.replace("p999", "p99.9") for p in PERCENTILES]
    head = "| | " + " | ".join(labels) + " |\n| --- |" + " --- |" * len(labels)
    rows = [
        f"| {label} | " + " | ".join(_ms(floor[key].get(p)) for p in PERCENTILES) + " |"
        for label, key in (("round trip to a server that answers at once", "round_trip_ms"),
                           ("the sender's lateness, seen where requests arrive",
                            "lateness_at_server_ms"))
    ]  # fmt: skip
    return (
        "## The floor\n\n"
        f"Measured in this run at {number(floor['rate'])} requests/s over "
        f"{floor['connections']} connections ({number(floor['requests'])} requests): the "
        "lowest latency this machine and this load generator can show. A service's "
        f"percentile within {plain(floor['at_floor_factor'])}x of the round trip's is at the "
        "floor: it measures the machine, and no comparison calls it better or worse.\n\n"
        + head
        + "\n"
        + "\n".join(rows)
        + "\n"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{number(value)} ms"


def flagged(checks: dict) -> tuple[dict[str, list], set[str]]:
    """The rows a run's own checks flagged, for a table to mark: the trials whose tail the
    sender's lateness shaped (schedule: †), and the row whose throughput moved when the
    generator was slowed (sensitivity failed or undecided: ‡)."""
    late: dict[str, list] = {}
    for trial in (checks.get("schedule") or {}).get("trials_late") or []:
        late.setdefault(trial["service"], []).append(trial["round"])
    sensitivity = checks.get("sensitivity") or {}
    moved = sensitivity.get("status") in ("failed", "undecided")  # the note says which
    return late, {sensitivity["service"]} if moved else set()


def flag_notes(checks: dict, tails: bool = True, pointer: bool = True) -> str:
    """The footnotes of `flagged`'s marks, each from its check's own record (the † ones only
    for a table that shows a tail; the pointer to appendix 96 only outside it)."""
    late, slowed = flagged(checks)
    said = ""
    if late and tails:
        rows = ", ".join(f"`{name}` (round {', '.join(map(str, rounds))})"
                         for name, rounds in late.items())  # fmt: skip
        excess = plain((checks.get("schedule") or {}).get("max_excess", 0.05) * 100)
        said += (f" †: the schedule check failed in a trial of {rows}: the sender's lateness "
                 f"lifted its p99 from the intended send over {excess}% above the p99 from the "
                 "actual send, so that tail is partly the sender's.")  # fmt: skip
    if slowed:
        see = " (appendix 96)" if pointer else ""
        said += " ‡: " + _sensitivity_note(next(iter(slowed)), checks["sensitivity"], see)
    return said


def _sensitivity_note(name: str, found: dict, see: str) -> str:
    """What a failed or undecided sensitivity check says of its row, in the check's terms:
    the noise it judged against (its tolerance), a fall only where there was one; `see`
    points at where the check is told, or is empty there."""
    noise = found.get("tolerance", found.get("noise", 0.0))
    moved = (f"with the generator slowed, its throughput moved to {found['ratio']:.3f}x, "
             f"beyond the noise ({pct(noise * 100)})")  # fmt: skip
    if found["status"] == "undecided":
        return (f"the sensitivity check on `{name}` was undecided: {moved}, while the server "
                "stayed saturated: the arrival pattern, not only its capacity, may have set "
                f"that row{see}.")  # fmt: skip
    if found["ratio"] < 1 - noise:
        return (f"the sensitivity check failed on `{name}`: {moved}, so the generator may "
                f"have set part of that row's pace{see}.")  # fmt: skip
    return (f"the sensitivity check on `{name}` could not test the generator (the run's "
            f"warnings say why), so nothing shows the server set that row's "
            f"pace{see}.")  # fmt: skip
