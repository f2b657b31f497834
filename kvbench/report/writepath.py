"""The writepath part's table, as docs/07 quotes it: writes per answer and the paired ratios."""

from kvbench.report import formatting
from kvbench.report.checks import flag_notes, flagged
from kvbench.results.summary import Summary

BEFORE, AFTER, SERVER = "gcfreeze", "optimized", "granian"


def ratio(summary: dict, service: str) -> Summary | None:
    found = summary.get("paired", {}).get(service, {}).get("metrics", {}).get("http_tps")
    return Summary.of(found["values"]) if found else None


def said(found: Summary | None) -> str:
    if found is None:
        return "1 (base)"
    return f"{formatting.ratio(found.median, found.ci)}, n={len(found.values)}"


def gap_closed(summary: dict) -> str:
    """How much of the way from the rung before to granian the one-write rung went: only
    where both paired intervals exclude no change (docs/05's verdict rule)."""
    rung, server = ratio(summary, AFTER), ratio(summary, SERVER)
    if rung is None or server is None:
        return "Without both paired ratios there is no gap to speak of."
    low = server.ci[0] if server.ci else server.median
    if low <= 1:
        return (f"granian's interval against {BEFORE} includes no change: this run shows no "
                "gap between them, so none to close.")  # fmt: skip
    if rung.ci and rung.ci[0] <= 1 <= rung.ci[1]:
        return (f"The one-write rung's own interval against {BEFORE} includes no change: how "
                "much of the gap to granian it closes, this run cannot tell.")  # fmt: skip
    share = (rung.median - 1) / (server.median - 1)
    closed = formatting.pct(share * 100)
    return f"The one-write rung closes {closed} of the gap to granian (paired medians)."


def table(summary: dict, syscalls: dict | None) -> str:
    counted = (syscalls or {}).get("services", {})
    head = (f"| service | write calls per answer | on the socket (strace) "
            f"| requests/s, paired ratio to {BEFORE} |")  # fmt: skip
    lines = [head, "| --- | ---: | ---: | ---: |"]
    checks = summary.get("checks") or {}
    late, slowed = flagged(checks)
    for name in (BEFORE, AFTER, SERVER):
        found = counted.get(name, {})
        shown = [found.get(k) for k in ("writes_per_answer", "socket_writes_per_answer")]
        cells = " | ".join(formatting.number(v) if v is not None else "-" for v in shown)
        mark = " ‡" if name in slowed else ""
        lines.append(f"| {name} | {cells} | {said(ratio(summary, name))}{mark} |")
    notes = flag_notes(checks, {}, slowed).strip()  # the table shows no tail: no †
    return "\n".join(lines) + "\n\n" + gap_closed(summary) + (f" {notes}" if notes else "")
