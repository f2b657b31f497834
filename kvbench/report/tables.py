"""Render compare rows as benchstat-style text, markdown, CSV, JSON or the article's table."""

import csv
import io
import json
from dataclasses import dataclass, field
from itertools import groupby

from kvbench.report import fields
from kvbench.report.article import article_cells, article_latency
from kvbench.report.beside import latency_lines, paired_lines
from kvbench.report.formatting import (
    benchstat_change,
    benchstat_number,
    benchstat_spread,
    change_span,
)
from kvbench.report.verdicts import COUNTED_ONCE, judged
from kvbench.results.compare import ARTICLE_METRICS, Comparison, geomean
from kvbench.results.latency import PERCENTILES
from kvbench.results.metrics import metric
from kvbench.results.resultset import LatencyRatio, Metrics, ResultSet
from kvbench.results.summary import Summary

FORMATS = ("text", "md", "csv", "json", "article")
ARROWS = {"higher": "↑", "lower": "↓"}
MIXED_GEOMEAN = (
    "geomean over mixed units: higher-better medians count as their reciprocal, "
    "so a negative change means cheaper overall"
)
HELP_EPILOG = """\
Each row: median ± the 95% confidence interval of the median (as a percentage of it), the
change in percent (of the medians; where paired, the median per-round change), its 95%
interval, the two-sided Mann-Whitney U p-value and n. The word follows the interval
(docs/05's one rule): `better` or `worse` (by each metric's direction: ↑ higher is better,
↓ lower is better) only when the interval excludes no change, else `~`; the interval is
the per-round paired ratios' where one run paired the two services, else each side's
trials resampled on its own. The
p-value is shown, not deciding; --alpha sets the gate's test, not the words (always 95%).
Where a value is 0 (no ratio), the interval is of the difference of the medians. A p50 or
p99 row within 2x of the run's measured floor reads `~`: the machine, not the service, may
set it.
`geomean` closes the table. A diagnostic (how the run went, or a figure that follows from
another: the server's busy share, the generator's CPU, the closed-loop p99, the answered
rate) shows its change with no verdict and stays out of the geomean and the gate.

--format article prints the article's table (Metric | old | new | Delta): for higher-better
metrics the delta is the ratio new/old (`5.46x` = 5.46 times the throughput; below 1x is
worse); for lower-better metrics it is the change in percent (`-97%`), plus `33.0x less`
when the new value is at most half the old, and for a timed metric without per-round
pairs its unpaired 95% interval and n. `~` marks a change whose interval holds no change.

--fail-on-regression PCT gates the --metric metrics (by default throughput, the open-loop
p50 and p99, server CPU per request, instructions and allocations) and gives one of three
answers, each with its exit status and a one-line reason: 1 regression (the 95% interval
of new/old lies wholly past PCT and, for a timed metric, the Mann-Whitney p, Holm-adjusted
over the timed metrics gated together, is at most alpha), 0 no regression (every interval
excludes a regression beyond PCT), 3 inconclusive (neither: the reason says how many
trials a side would decide it at the spread measured). Exact counts (instructions,
allocations) compare by their medians, with no test. It refuses, exit 4, what it cannot
judge: a gated metric missing on a side, a schema it does not know, a value of 0, two
different services across runs (unless --map OLD=NEW says so on purpose), metrics
measured under load at different offered rates or connections. `make bench-check` uses
10%.

--relative-to BASE (two runs) compares each service as a multiple of BASE in its own run:
by the median of per-round paired ratios (both measured back to back in each round) where
both runs recorded them, otherwise by a bootstrap of the ratio of medians, which carries
BASE's own uncertainty instead of dividing by its median as if it were exact.
"""


@dataclass(frozen=True)
class Context:
    """What a run holds for two of its services beyond their per-trial samples (schema 2)."""

    latency: tuple[dict, dict] | None = None  # each side's pooled open-loop percentiles
    paired: Metrics = field(default_factory=dict)  # new / old, the per-round ratios
    # metric -> what the run stored beside them: "unpaired", "correlation", "narrower"
    beside: dict[str, dict] = field(default_factory=dict)
    # "p99" -> new's pooled percentile over old's, its interval from resampling whole rounds
    latency_ratios: dict[str, LatencyRatio] = field(default_factory=dict)
    floor: dict | None = None  # the run's measured floor (kvbench/measure/floor.py), if any
    family: int = 1  # comparisons read together (the ladder's steps): each interval widened
    extras: bool = True  # print the latency and paired tables after the rows (text, md)

    def __bool__(self) -> bool:
        return bool(self.latency or self.paired)


def words_context(run: ResultSet, old: str, new: str) -> Context:
    """What the words of new against old need from their run, and no more: the per-round
    paired ratios and the floor (no pooled latencies, no resampled tails), no extra tables."""
    floor = fields.floor(run.run) if run.run else None
    return Context(paired=run.paired_ratios(new, old), floor=floor, extras=False)


def context_for(run: ResultSet, old: str, new: str) -> Context:
    """The pooled latencies of both services and new's paired ratios to old, where recorded."""
    latency = run.latency
    both = (latency[old], latency[new]) if old in latency and new in latency else None
    paired = run.run.paired.get(new) if run.run else None
    stored = paired.metrics if paired is not None and paired.vs == old else {}
    beside = {name: m.other for name, m in stored.items() if "unpaired" in m.other}
    ratios = run.latency_ratios(old, new, tuple(PERCENTILES)) if both else {}
    floor = fields.floor(run.run) if run.run else None
    return Context(both, run.paired_ratios(new, old), beside, ratios, floor)


def render(
    rows: list[Comparison],
    fmt: str = "text",
    labels: tuple[str, str] = ("old", "new"),
    context: Context | None = None,
) -> str:
    """The rows as text (aligned), md, csv, json or article; ends with a newline.

    Every row's word is the one rule's (`kvbench.report.verdicts`): paired where the
    `context` holds the run's per-round ratios, else unpaired. With a `context` (two services
    of one run), text and md add the pooled latency and the paired ratios after the rows,
    json adds them as keys, and the article shows the pooled percentiles and the paired
    throughput ratio.
    """
    renderers = {"text": _text, "md": _markdown, "csv": _csv, "json": _json, "article": _article}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    context = context or Context()
    rows = [judged(r, context.paired.get(r.metric), context.floor, context.family) for r in rows]
    text = renderers[fmt](rows, labels, context)
    if context and context.extras and fmt in ("text", "md"):
        text += "".join("\n" + _table(lines, fmt) for lines in _extras(context, labels))
    return text


def _groups(rows: list[Comparison]) -> list[tuple[str, list[Comparison]]]:
    return [(g, list(rs)) for g, rs in groupby(rows, key=lambda r: r.group)]


def _cells(rows: list[Comparison], labels: tuple[str, str]) -> tuple[list[list[str]], list[str]]:
    """Header plus one line of cells per row and the geomean, and the footnotes they cite."""
    notes: list[str] = []
    lines = [["metric", "unit", labels[0], labels[1], "vs base"]]
    for r in rows:
        unit = f"{r.unit} {ARROWS.get(r.better, '')}".strip()
        lines.append([r.metric, unit, centre(r.old, notes), centre(r.new, notes), _delta(r, notes)])
    summary = geomean(rows)
    if summary and sum(1 for r in rows if r.old and r.new) > 1:
        lines.append(_geomean_cells(rows, summary, notes))
    return lines, notes


def centre(summary: Summary | None, notes: list[str] | None = None) -> str:
    """`24.12k ± 5%`: the median and the wider side of its 95% interval, as benchstat prints.

    Below 6 values there is no interval: with `notes` (a table that has footnotes) the
    cell reads `± ∞` and cites the summary's warning; without, it is the bare median and
    the table says n once.
    """
    if summary is None:
        return "—"
    if summary.ci is None:
        if notes is None:
            return benchstat_number(summary.median)
        marks = "".join(f" {_mark(w, notes)}" for w in summary.warnings)
        return f"{benchstat_number(summary.median)} {benchstat_spread(None)}{marks}"
    if summary.ci == (0, 0):  # all 0: spread_pct, relative to the median, has no value
        return f"{benchstat_number(0)} ± 0%"
    return f"{benchstat_number(summary.median)} {benchstat_spread(summary.spread_pct)}"


def _delta(r: Comparison, notes: list[str]) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note
    n = f"n={r.old.n}" if r.old.n == r.new.n else f"n={r.old.n}+{r.new.n}"
    marks = "".join(f" {_mark(w, notes)}" for w in (*r.warnings, r.basis) if w)
    if metric(r.metric).diagnostic:  # how the run went, not a result: no verdict, no test
        return f"{benchstat_change(r.delta_pct or 0.0)} (diagnostic {n}){marks}"
    if r.verdict == COUNTED_ONCE:  # an exact count without repeats: its change, no word
        moved = "from 0" if r.from_zero else benchstat_change(r.delta_pct or 0.0)
        return f"{moved} (exact {n}){marks}"
    test = f"({_span(r)}{r.evidence} {n})"
    if r.verdict == "same":
        return f"~ {test}{marks}"
    moved = "from 0" if r.from_zero else benchstat_change(r.delta_pct or 0.0)
    return f"{moved} {test} {r.verdict}{marks}"


def _span(r: Comparison) -> str:
    """`-81.9% to -80.3%, `: the interval of the change the row's word comes from, if any."""
    if r.exact or r.change_ci is None:
        return ""
    low, high = ((end - 1) * 100 for end in r.change_ci)
    return f"{change_span(low, high)}, "


def _geomean_cells(rows: list[Comparison], summary: tuple[float, float, float], notes: list[str]):
    old, new, moved = summary
    said = benchstat_change(moved)
    if len({r.unit for r in rows if r.old and r.new}) == 1:
        return ["geomean", "", benchstat_number(old), benchstat_number(new), said]
    return ["geomean", "", "", "", f"{said} {_mark(MIXED_GEOMEAN, notes)}"]


def _mark(note: str, notes: list[str]) -> str:
    if note not in notes:
        notes.append(note)
    return "¹²³⁴⁵⁶⁷⁸⁹"[notes.index(note)]


def _footer(notes: list[str]) -> str:
    return "".join(f"{'¹²³⁴⁵⁶⁷⁸⁹'[i]} {note}\n" for i, note in enumerate(notes))


def _text(rows: list[Comparison], labels: tuple[str, str], context: Context) -> str:
    parts = []
    for group, members in _groups(rows):
        lines, notes = _cells(members, labels)
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        body = "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        heading = f"{group}\n" if group else ""
        parts.append(f"{heading}{body}\n{_footer(notes)}")
    return "\n".join(parts)


def _markdown(rows: list[Comparison], labels: tuple[str, str], context: Context) -> str:
    parts = []
    for group, members in _groups(rows):
        lines, notes = _cells(members, labels)
        lines[0][1] = "unit (↑ higher / ↓ lower is better)"
        table = [md_row(lines[0]), md_row(["---"] * len(lines[0]))]
        table += [md_row(line) for line in lines[1:]]
        heading = f"**{group}**\n\n" if group else ""
        footer = "\n" + _footer(notes).replace("\n", "  \n") if notes else ""
        parts.append(heading + "\n".join(table) + "\n" + footer)
    return "\n".join(parts)


def md_row(cells: list[str]) -> str:
    """A markdown table row; a `|` inside a cell is escaped."""
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


CSV_FIELDS = [
    "group", "metric", "unit", "better",
    "old_median", "old_ci_low", "old_ci_high", "old_n",
    "new_median", "new_ci_low", "new_ci_high", "new_n",
    "delta_pct", "delta_low_pct", "delta_high_pct", "p", "verdict", "note",
]  # fmt: skip


def _record(r: Comparison) -> dict:
    record: dict[str, object] = {"group": r.group, "metric": r.metric, "unit": r.unit}
    record["better"] = r.better
    for prefix, side in (("old", r.old), ("new", r.new)):
        ci: tuple[float | None, float | None] = side.ci if side and side.ci else (None, None)
        record[f"{prefix}_median"] = side.median if side else None
        record[f"{prefix}_ci_low"], record[f"{prefix}_ci_high"] = ci
        record[f"{prefix}_n"] = side.n if side else 0
    verdict = "diagnostic" if metric(r.metric).diagnostic and r.verdict else r.verdict
    low, high = ((end - 1) * 100 for end in r.change_ci) if r.change_ci else (None, None)
    record.update(delta_pct=r.delta_pct, delta_low_pct=low, delta_high_pct=high, p=r.p,
                  verdict=verdict, note=r.note)  # fmt: skip
    return record


def _csv(rows: list[Comparison], labels: tuple[str, str], context: Context) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in _record(r).items()})
    return out.getvalue()


def _json(rows: list[Comparison], labels: tuple[str, str], context: Context) -> str:
    geomeans = []
    for group, members in _groups(rows):
        summary = geomean(members)
        if summary:
            old, new, moved = summary
            geomeans.append({"group": group, "old": old, "new": new, "delta_pct": moved})
    doc: dict = {"old": labels[0], "new": labels[1], "rows": [_record(r) for r in rows]}
    doc["geomean"] = geomeans
    if context.latency:
        doc["latency"] = dict(zip(labels, context.latency, strict=True))
    if context.latency_ratios:  # new / old by percentile, whole rounds resampled
        doc["latency_ratios"] = {name: {"ratio": value, "ci_low": ci[0] if ci else None,
                                     "ci_high": ci[1] if ci else None}
                              for name, (value, ci) in context.latency_ratios.items()}  # fmt: skip
    if context.paired:
        doc["paired"] = {name: s.to_json() | _stored(context.beside.get(name))
                         for name, s in context.paired.items()}  # fmt: skip
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _stored(entry: dict | None) -> dict:
    keys = ("unpaired", "correlation", "narrower")
    return {k: entry[k] for k in keys if k in entry} if entry else {}


def _article(rows: list[Comparison], labels: tuple[str, str], context: Context) -> str:
    parts = []
    for group, members in _groups(rows):
        chosen = {r.metric: r for r in members if r.metric in ARTICLE_METRICS}
        header = ["Metric", labels[0].capitalize(), labels[1].capitalize(), "Delta"]
        table = [md_row(header), md_row(["---", "---:", "---:", "---:"])]
        for name in ARTICLE_METRICS:
            if name == "http_p99_ms" and context.latency:
                tails = article_latency(context.latency, context.latency_ratios, context.floor)
                table += [md_row(cells) for cells in tails]
            elif name in chosen:
                table.append(md_row(article_cells(chosen[name], context.paired)))
        heading = f"**{group}**\n\n" if group else ""
        if not chosen:
            table = ["(none of the article's metrics are in these results)"]
        parts.append(heading + "\n".join(table) + "\n")
    return "\n".join(parts)


def _extras(context: Context, labels: tuple[str, str]) -> list[list[list[str]]]:
    """The pooled latency table and the paired-ratio table, as lines of cells."""
    tables = []
    if context.latency:
        tables.append(latency_lines(context.latency, labels, context.latency_ratios))
    if context.paired:
        tables.append(paired_lines(context.paired, labels, context.beside))
    return tables


def _table(lines: list[list[str]], fmt: str) -> str:
    if fmt == "md":
        rule = ["---"] + ["---:"] * (len(lines[0]) - 1)
        return "\n".join(md_row(line) for line in [lines[0], rule, *lines[1:]]) + "\n"
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return (
        "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        + "\n"
    )
