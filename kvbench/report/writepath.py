"""The writepath part's table, as docs/07 quotes it: writes per answer and the paired ratios."""

from kvbench.report import formatting
from kvbench.report.checks import flag_notes, flagged
from kvbench.results.model import Run
from kvbench.results.summary import Summary

BEFORE, AFTER, SERVER = "gcfreeze", "optimized", "granian"


def ratio(run: Run, service: str) -> Summary | None:
    """The service's per-round throughput ratios to the rung before, the interval made from
    them (as this table has always shown it, whatever interval the run stored)."""
    paired = run.paired.get(service)
    found = paired.metrics.get("http_tps") if paired else None
    return Summary.of(found.ratios.values) if found else None


def said(found: Summary | None) -> str:
    if found is None:
        return "1 (base)"
    return f"{formatting.ratio(found.median, found.ci)}, n={len(found.values)}"


def gap_closed(run: Run) -> str:
    """How much of the way from the rung before to granian the one-write rung went: only
    where both paired intervals exclude no change (docs/05's verdict rule)."""
    rung, server = ratio(run, AFTER), ratio(run, SERVER)
    if rung is None or server is None:
        return "Without both paired ratios there is no gap to speak of."
    low = server.ci[0] if server.ci else server.median
    if low <= 1:
        return (f"granian's interval against {BEFORE} includes no change: this run shows no "
                "gap between them, so none to close.")  # fmt: skip
    if not rung.ci or rung.ci[0] <= 1:
        return (f"The one-write rung's own interval against {BEFORE} does not exclude no "
                "change: how much of the gap to granian it closes, this run cannot "
                "tell.")  # fmt: skip
    share = (rung.median - 1) / (server.median - 1)
    closed = formatting.pct(share * 100)
    return f"The one-write rung closes {closed} of the gap to granian (paired medians)."


def table(summary: dict | Run, syscalls: dict | None) -> str:
    """The table from the part's summary and its strace counts (`syscalls.json`)."""
    run = summary if isinstance(summary, Run) else Run.from_json(summary)
    counted = (syscalls or {}).get("services", {})
    head = (f"| service | write calls per answer | on the socket (strace) "
            f"| requests/s, paired ratio to {BEFORE} |")  # fmt: skip
    lines = [head, "| --- | ---: | ---: | ---: |"]
    checks = run.checks
    _, slowed = flagged(checks)
    for name in (BEFORE, AFTER, SERVER):
        found = counted.get(name, {})
        shown = [found.get(k) for k in ("writes_per_answer", "socket_writes_per_answer")]
        cells = " | ".join(formatting.number(v) if v is not None else "-" for v in shown)
        mark = " ‡" if name in slowed else ""
        lines.append(f"| {name} | {cells} | {said(ratio(run, name))}{mark} |")
    notes = flag_notes(checks, tails=False).strip()  # the table shows no tail: no †
    return "\n".join(lines) + "\n\n" + gap_closed(run) + (f" {notes}" if notes else "")
