"""Result tables for the docs that are no report's section: the article's table, compare
output, the plots and scaling curves."""

from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen.snippets import fence
from kvbench.docgen.sources import Sources, missing
from kvbench.report.bench import cross_check_table
from kvbench.report.peers import CURVE_COLUMNS, CURVE_POINTS, curve_table
from kvbench.report.tables import context_for, render, words_context
from kvbench.results import gate as gates
from kvbench.results.compare import compare_sets

PLOTS = [("throughput", "Throughput per service"), ("latency", "Latency by percentile")]


def rows_for(sources: Sources, set_name: str, old: str, new: str, metrics: list[str] | None):
    services = sources.results_set(set_name).services
    for name in (old, new):
        if name not in services:
            raise missing(set_name, name)
    pick = (lambda s: {k: v for k, v in s.items() if k in metrics}) if metrics else dict
    return compare_sets(pick(services[old]), pick(services[new]))


def compare(sources: Sources, fmt: str, words: list[str]) -> str:
    """`compare text|md SET OLD NEW [METRIC,...]`: what `kvbench compare` prints; `compare
    article [SET OLD NEW]`: the article's delta table (default: run unoptimized optimized)."""
    if fmt == "article":
        if len(words) not in (0, 3):
            raise KvbenchError("compare article takes nothing or SET OLD NEW")
        words = words or ["run", "unoptimized", "optimized"]
    elif len(words) not in (3, 4):
        raise KvbenchError(f"compare {fmt} takes SET OLD NEW [METRIC,...]")
    set_name, old, new = words[:3]
    metrics = words[3].split(",") if len(words) == 4 else None
    context = (words_context if metrics else context_for)(sources.results_set(set_name), old, new)
    text = render(rows_for(sources, set_name, old, new, metrics), fmt, (old, new), context)
    return fence(text, "text") if fmt == "text" else text


def gate(sources: Sources, words: list[str]) -> str:
    """`gate SET OLD NEW PCT [METRIC,...]`: what `kvbench compare --fail-on-regression PCT`
    prints on stderr for two services of one committed set (default metrics: the gate's)."""
    if len(words) not in (4, 5):
        raise KvbenchError("gate takes: SET OLD NEW PCT [METRIC,...]")
    set_name, old, new, pct = words[:4]
    try:
        threshold = float(pct)
    except ValueError:
        raise KvbenchError(f"gate: the threshold is a percentage, not {pct!r}") from None
    names = words[4].split(",") if len(words) == 5 else list(gates.DEFAULT_METRICS)
    rows = rows_for(sources, set_name, old, new, names)
    decision = gates.gate(rows, threshold, names=names)
    results = sources.results_set(set_name)
    decision.refusals += gates.load_refusals(results, results, [("", old, new)], names)
    return fence("\n".join(decision.lines()), "text")


def cross_check(sources: Sources) -> str:
    """`cross-check`: the optimized/unoptimized ratio by wrk and by the built-in generator."""
    run = sources.typed("crosscheck")
    found = run.extra.get("cross_check") or {}
    if not found:
        raise KvbenchError("the crosscheck run recorded no cross_check (run with --loadgen both)")
    return cross_check_table(found, run.checks, pointer=False)  # it stands in appendix 96


def plots(sources: Sources, doc: Path) -> str:
    """`plots`: the report's figures, linked from the results folder."""
    report = sources.results / "REPORT.md"
    if not report.is_file():
        return "No plots in the committed results yet: `make report` draws them."
    shown = []
    for stem, title in PLOTS:
        png = sources.results / "plots" / f"{stem}.png"
        if png.is_file():
            svg = sources.link(png.with_suffix(".svg"), doc)
            shown.append(f"![{title}]({sources.link(png, doc)})\n\n[{title}, SVG]({svg})")
    index = sources.link(report, doc)
    return "\n\n".join([*shown, f"All tables and figures of the run: [{index}]({index})."])


def curve(sources: Sources, doc: Path, curve: str) -> str:
    """`curve NAME`: one of the peers run's scaling curves, as a table and its plot."""
    if curve not in CURVE_POINTS:
        raise KvbenchError(f"no curve {curve!r}; one of {', '.join(CURVE_POINTS)}")
    found = (sources.typed("peers").extra.get("curves") or {}).get(curve)
    if not found:
        return f"_The {curve} curve is not in the committed results; run `make bench-peers`._"
    table = curve_table(found, CURVE_POINTS[curve], CURVE_COLUMNS[curve])
    png = sources.results / "peers" / "plots" / f"scaling-{curve}.png"
    if not png.is_file():
        return table
    title = f"Scaling with {CURVE_POINTS[curve]}"
    return f"{table}\n![{title}]({sources.link(png, doc)})"
