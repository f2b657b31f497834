"""Render compare rows as benchstat-style text, markdown, CSV, JSON or the article's table."""

import csv
import io
import json
import math
from itertools import groupby

from kvbench.results.compare import ARTICLE_METRICS, Comparison, geomean
from kvbench.results.metrics import metric
from kvbench.results.summary import Summary

FORMATS = ("text", "md", "csv", "json", "article")
ARROWS = {"higher": "↑", "lower": "↓"}
MIXED_GEOMEAN = (
    "geomean over mixed units: higher-better medians count as their reciprocal, "
    "so a negative change means cheaper overall"
)
HELP_EPILOG = """\
Each row: median ± the 95% confidence interval of the median (as a percentage of it), the
change of the medians in percent, the two-sided Mann-Whitney U p-value and n. The change
reads `~` when p > alpha: no difference shown. `better`/`worse` follow each metric's
direction (↑ higher is better, ↓ lower is better). `geomean` closes the table.

--format article prints the article's table (Metric | old | new | Delta): for higher-better
metrics the delta is the ratio new/old (`5.46x` = 5.46 times the throughput; below 1x is
worse); for lower-better metrics it is the change in percent (`-97%`), plus `(33x less)`
when the new value is at most half the old. `~` marks a change that is not significant.

--fail-on-regression PCT exits 1 when any metric is significantly worse (p <= alpha) by
more than PCT percent (or at all, from a baseline of 0), naming each one on stderr. Pick
PCT above the machine's run-to-run noise: two runs on a shared machine differ by several
percent with nothing changed, and with 10 trials a side even that drift is "significant";
a gate tighter than the noise fails at random. `make bench-check` uses 10%.

--relative-to BASE (two runs) compares each service as a multiple of BASE in its own run:
by the median of per-round paired ratios (both measured back to back in each round) where
both runs recorded them, otherwise by a bootstrap of the ratio of medians, which carries
BASE's own uncertainty instead of dividing by its median as if it were exact.
"""


def render(
    rows: list[Comparison], fmt: str = "text", labels: tuple[str, str] = ("old", "new")
) -> str:
    """The rows as text (aligned), md, csv, json or article; ends with a newline."""
    renderers = {"text": _text, "md": _markdown, "csv": _csv, "json": _json, "article": _article}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    return renderers[fmt](rows, labels)


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
            return _num(summary.median)
        marks = "".join(f" {_mark(w, notes)}" for w in summary.warnings)
        return f"{_num(summary.median)} ± ∞{marks}"
    if summary.median == 0:
        return f"{_num(0)} ± {'0%' if summary.ci == (0, 0) else '∞'}"
    return f"{_num(summary.median)} ± {summary.spread_pct:.0f}%"


def _delta(r: Comparison, notes: list[str]) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note
    n = f"n={r.old.n}" if r.old.n == r.new.n else f"n={r.old.n}+{r.new.n}"
    marks = "".join(f" {_mark(w, notes)}" for w in (*r.warnings, r.basis) if w)
    test = f"(p={r.p:.3f} {n})"
    if r.verdict == "same":
        return f"~ {test}{marks}"
    change = "from 0" if r.from_zero else f"{r.delta_pct:+.2f}%"
    return f"{change} {test} {r.verdict}{marks}"


def _geomean_cells(rows: list[Comparison], summary: tuple[float, float, float], notes: list[str]):
    old, new, change = summary
    units = {r.unit for r in rows if r.old and r.new}
    if len(units) == 1:
        return ["geomean", "", _num(old), _num(new), f"{change:+.2f}%"]
    return ["geomean", "", "", "", f"{change:+.2f}% {_mark(MIXED_GEOMEAN, notes)}"]


def _mark(note: str, notes: list[str]) -> str:
    if note not in notes:
        notes.append(note)
    return "¹²³⁴⁵⁶⁷⁸⁹"[notes.index(note)]


def _num(value: float) -> str:
    """Four significant digits with a k/M/G suffix, as benchstat prints them."""
    size = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if size >= scale:
            divisor = 1e3 if suffix == "k" else scale
            return f"{value / divisor:#.4g}".rstrip(".") + suffix
    if value == int(value) and size >= 1000:
        return str(int(value))
    return f"{value:#.4g}".rstrip(".")


def _footer(notes: list[str]) -> str:
    return "".join(f"{'¹²³⁴⁵⁶⁷⁸⁹'[i]} {note}\n" for i, note in enumerate(notes))


def _text(rows: list[Comparison], labels: tuple[str, str]) -> str:
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


def _markdown(rows: list[Comparison], labels: tuple[str, str]) -> str:
    parts = []
    for group, members in _groups(rows):
        lines, notes = _cells(members, labels)
        lines[0][1] = "unit (↑ higher / ↓ lower is better)"
        table = [_md_line(lines[0]), _md_line(["---"] * len(lines[0]))]
        table += [_md_line(line) for line in lines[1:]]
        heading = f"**{group}**\n\n" if group else ""
        footer = "\n" + _footer(notes).replace("\n", "  \n") if notes else ""
        parts.append(heading + "\n".join(table) + "\n" + footer)
    return "\n".join(parts)


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


CSV_FIELDS = [
    "group", "metric", "unit", "better",
    "old_median", "old_ci_low", "old_ci_high", "old_n",
    "new_median", "new_ci_low", "new_ci_high", "new_n",
    "delta_pct", "p", "verdict", "note",
]  # fmt: skip


def _record(r: Comparison) -> dict:
    record: dict[str, object] = {"group": r.group, "metric": r.metric, "unit": r.unit}
    record["better"] = r.better
    for prefix, side in (("old", r.old), ("new", r.new)):
        ci: tuple[float | None, float | None] = side.ci if side and side.ci else (None, None)
        record[f"{prefix}_median"] = side.median if side else None
        record[f"{prefix}_ci_low"], record[f"{prefix}_ci_high"] = ci
        record[f"{prefix}_n"] = side.n if side else 0
    record.update(delta_pct=r.delta_pct, p=r.p, verdict=r.verdict, note=r.note)
    return record


def _csv(rows: list[Comparison], labels: tuple[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if v is None else v for k, v in _record(r).items()})
    return out.getvalue()


def _json(rows: list[Comparison], labels: tuple[str, str]) -> str:
    geomeans = []
    for group, members in _groups(rows):
        summary = geomean(members)
        if summary:
            old, new, change = summary
            geomeans.append({"group": group, "old": old, "new": new, "delta_pct": change})
    doc = {"old": labels[0], "new": labels[1], "rows": [_record(r) for r in rows]}
    doc["geomean"] = geomeans
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _article(rows: list[Comparison], labels: tuple[str, str]) -> str:
    parts = []
    for group, members in _groups(rows):
        chosen = {r.metric: r for r in members if r.metric in ARTICLE_METRICS}
        header = ["Metric", labels[0].capitalize(), labels[1].capitalize(), "Delta"]
        table = [_md_line(header), _md_line(["---", "---:", "---:", "---:"])]
        for name in ARTICLE_METRICS:
            if name in chosen:
                table.append(_md_line(_article_cells(chosen[name])))
        heading = f"**{group}**\n\n" if group else ""
        if not chosen:
            table = ["(none of the article's metrics are in these results)"]
        parts.append(heading + "\n".join(table) + "\n")
    return "\n".join(parts)


def _article_cells(r: Comparison) -> list[str]:
    title = metric(r.metric).title
    name = f"{title[:1].upper()}{title[1:]} ({r.unit})"
    old = _plain(r.old.median) if r.old else "—"
    new = _plain(r.new.median) if r.new else "—"
    return [name, old, new, _article_delta(r)]


def _article_delta(r: Comparison) -> str:
    if r.old is None or r.new is None or not r.verdict:
        return r.note or "n/a"
    if r.from_zero:
        text = f"from 0 (p={r.p:.2f})"
    elif r.better == "higher":
        text = f"{r.new.median / r.old.median:.2f}x" if r.old.median else "n/a"
    else:
        text = f"{r.delta_pct:+.0f}%" if r.delta_pct is not None else "n/a"
    if r.verdict == "same":
        return f"~ ({text}, p={r.p:.2f})"
    if r.better == "lower" and r.new.median > 0 and r.old.median / r.new.median >= 2:
        text += f" ({r.old.median / r.new.median:.1f}x less)"
    return text


def _plain(value: float) -> str:
    """Thousands separators above 100, three significant digits below."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:#.3g}".rstrip(".")
