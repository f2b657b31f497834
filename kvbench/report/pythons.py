"""The pythons part's REPORT.md, its plot, and the table docs/07 quotes (`table`)."""

from collections.abc import Callable
from functools import partial
from pathlib import Path

from kvbench.report import formatting, plots

ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("asgi_instructions_per_op", "instructions / request (exact)", formatting.exact),
    ("asgi_allocs_per_op", "allocations / request (exact)", formatting.exact),
    ("asgi_ns_per_op", "in-process time / request", partial(formatting.quantity, unit="ns/op")),
    ("http_tps", "HTTP requests/s (median)", formatting.number),
)


def minors(summary: dict) -> list[str]:
    return list(summary["environment"]["pythons"])


def bases(summary: dict) -> list[str]:
    return list(dict.fromkeys(name.partition("@")[0] for name in summary["services"]))


def cell(summary: dict, service: str, metric: str, said: Callable[[float], str]) -> str:
    found = summary["services"].get(service, {}).get(metric)
    return said(found["median"]) if found else "-"


def ratio(summary: dict, service: str) -> str:
    """The per-round throughput ratio to the same service under the base Python."""
    paired = summary.get("paired", {}).get(service, {}).get("metrics", {}).get("http_tps")
    if not paired:
        return "1 (base)" if service in summary["services"] else "-"
    low, high = paired.get("ci_low"), paired.get("ci_high")
    return formatting.ratio(paired["median"], (low, high) if low is not None else None)


def p99(summary: dict, service: str) -> str:
    """The pooled open-loop p99 (summary.json's latency section: `{"ms": ..., ...}`)."""
    found = summary.get("latency", {}).get(service, {}).get("p99")
    return formatting.quantity(found["ms"], "ms") if found else "-"


def table(summary: dict) -> str:
    """One Markdown table: a row per measure and service, a column per interpreter."""
    versions = minors(summary)
    lines = ["| service | measure | " + " | ".join(versions) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in versions) + " |"]  # fmt: skip
    for base in bases(summary):
        named = [f"{base}@{v}" for v in versions]
        rows = [(title, [cell(summary, n, metric, said) for n in named])
                for metric, title, said in ROWS]  # fmt: skip
        rows.append(("HTTP paired ratio to the base Python", [ratio(summary, n) for n in named]))
        rows.append(("open-loop p99 latency", [p99(summary, n) for n in named]))
        for title, cells in rows:
            lines.append(f"| {base} | {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def builds(summary: dict) -> str:
    lines = []
    for minor, said in summary["environment"]["pythons"].items():
        build = " ".join(said["build"])
        gil = "free-threaded" if said["gil_disabled"] else "with the GIL"
        shared = ", libpython shared" if said.get("shared_libpython") else ""
        lines.append(f"- {minor}: CPython {said['version'].split()[0]} ({build}), {gil}{shared}")
    return "\n".join(lines)


def plot(ratios: dict[str, dict], stem: Path) -> list[Path]:
    """Each service's paired throughput ratio to the base Python, with its 95% interval."""
    fig = plots._figure()
    ax = fig.add_subplot()
    names = list(ratios)
    medians = [ratios[n]["median"] for n in names]
    low = [m - (ratios[n].get("ci_low") or m) for n, m in zip(names, medians, strict=True)]
    high = [(ratios[n].get("ci_high") or m) - m for n, m in zip(names, medians, strict=True)]
    ax.bar(names, medians, color=[plots.color(i) for i in range(len(names))])
    ax.errorbar(names, medians, yerr=[low, high], fmt="none", ecolor="black", capsize=6)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_title("HTTP throughput against the same service on the base Python")
    ax.set_ylabel("paired ratio per round (median, 95% CI)")
    ax.tick_params(axis="x", labelrotation=20)
    ax.grid(axis="y", alpha=0.3)
    return plots.save(fig, stem)


def write_report(folder: Path, summary: dict) -> Path:
    """REPORT.md and plots/pythons.png from the part's summary."""
    http = summary["environment"]["http"]
    window = formatting.plain(http["duration_s"])
    stem = folder / "plots" / "pythons"
    stem.parent.mkdir(exist_ok=True)
    ratios = {name: summary["paired"][name]["metrics"]["http_tps"]
              for name in summary.get("paired", {})
              if "http_tps" in summary["paired"][name]["metrics"]}  # fmt: skip
    pictures = plot(ratios, stem) if ratios else []
    text = [
        "# The services under each Python",
        "",
        f"Interpreters (base: {summary['environment']['base_python']}):",
        builds(summary),
        "",
        f"HTTP: {http['trials']} interleaved trials per service, {http['concurrency']} "
        f"connections, {window} s closed-loop windows, paired ratios per round "
        "against the same service under the base Python; in-process counts from each "
        "interpreter's own venv.",
        "",
        table(summary),
        "",
    ]
    if pictures:
        text += [f"![paired throughput ratio](plots/{pictures[0].name})", ""]
    (folder / "REPORT.md").write_text("\n".join(text), encoding="utf-8")
    return folder / "REPORT.md"
