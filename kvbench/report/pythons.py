"""The pythons part's REPORT.md, its plot, and the table docs/07 quotes (`table`)."""

from collections.abc import Callable
from pathlib import Path

from kvbench.report import fields, formatting, plots
from kvbench.results.model import Run
from kvbench.results.summary import Summary


def _exact(stat: Summary) -> str:
    return formatting.exact(stat.median)


def _median(stat: Summary) -> str:
    return formatting.number(stat.median)


def _time(stat: Summary) -> str:
    """The median with its 95% interval; under the values an interval needs, n and the range
    of the values (the interpreters' in-process runs are three)."""
    timed = Summary(stat.values, "ns/op", stat.method)
    factor = formatting.spoken(timed.median, timed.unit)[0]
    text = formatting.quantity(timed.median, timed.unit)
    if timed.ci is not None:
        low, high = (formatting.number(v * factor) for v in timed.ci)
        return f"{text} ({low} to {high}, n={timed.n})"
    ends = (min(timed.values) * factor, max(timed.values) * factor)
    low, high = (formatting.number(v) for v in ends)
    if low == high:  # a range that reads as one value: one digit more
        low, high = (formatting.number(v, 4) for v in ends)
    return f"{text} (n={timed.n}, range {low} to {high})"


# The counts are exact (one value per interpreter: no interval to give); a timed figure
# carries its 95% interval, or n and its range, so a difference between two columns can be
# read against it.
ROWS: tuple[tuple[str, str, Callable[[Summary], str]], ...] = (
    ("asgi_instructions_per_op", "instructions / request (exact)", _exact),
    ("asgi_allocs_per_op", "allocations / request (exact)", _exact),
    ("asgi_ns_per_op", "in-process time / request (95% CI, or the range)", _time),
    ("http_tps", "HTTP requests/s (median)", _median),
)


def minors(run: Run) -> list[str]:
    return list(fields.pythons(run.environment))


def bases(run: Run) -> list[str]:
    return list(dict.fromkeys(name.partition("@")[0] for name in run.services))


def cell(run: Run, service: str, metric: str, said: Callable[[Summary], str]) -> str:
    found = run.services.get(service, {}).get(metric)
    return said(found) if found else "-"


def paired_tps(run: Run, service: str) -> Summary | None:
    """The per-round throughput ratios to the same service under the base Python."""
    paired = run.paired.get(service)
    found = paired.metrics.get("http_tps") if paired else None
    return found.ratios if found else None


def ratio(run: Run, service: str) -> str:
    """The per-round throughput ratio to the same service under the base Python."""
    paired = paired_tps(run, service)
    if paired is None:
        return "1 (base)" if service in run.services else "-"
    text = formatting.ratio(paired.median)
    if paired.ci is None:
        return f"{text} (n={paired.n})"
    low, high = (formatting.number(v) for v in paired.ci)
    return f"{text} ({low} to {high}, n={paired.n})"


def p99(run: Run, service: str) -> str:
    """The pooled open-loop p99 of the service's requests."""
    latency = run.latency.get(service)
    found = latency.percentiles.get("p99") if latency else None
    if found is None:
        return "-"
    if found.ci_low is None or found.ci_high is None:
        return formatting.quantity(found.ms, "ms")
    bounds = f"{formatting.number(found.ci_low)} to {formatting.number(found.ci_high)}"
    return f"{formatting.quantity(found.ms, 'ms')} ({bounds})"


def table(summary: dict | Run) -> str:
    """One Markdown table: a row per measure and service, a column per interpreter."""
    run = summary if isinstance(summary, Run) else Run.from_json(summary)
    versions = minors(run)
    lines = ["| service | measure | " + " | ".join(versions) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in versions) + " |"]  # fmt: skip
    for base in bases(run):
        named = [f"{base}@{v}" for v in versions]
        rows = [(title, [cell(run, n, metric, said) for n in named])
                for metric, title, said in ROWS]  # fmt: skip
        rows.append(
            ("HTTP paired ratio to the base Python (95% CI)", [ratio(run, n) for n in named])
        )
        rows.append(("open-loop p99 latency (95% CI)", [p99(run, n) for n in named]))
        for title, cells in rows:
            lines.append(f"| {base} | {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def builds(run: Run) -> str:
    lines = []
    for minor, said in fields.pythons(run.environment).items():
        build = " ".join(said["build"])
        gil = "free-threaded" if said["gil_disabled"] else "with the GIL"
        shared = ", libpython shared" if said.get("shared_libpython") else ""
        lines.append(f"- {minor}: CPython {said['version'].split()[0]} ({build}), {gil}{shared}")
    return "\n".join(lines)


def plot(ratios: dict[str, Summary], stem: Path) -> list[Path]:
    """Each service's paired throughput ratio to the base Python, with its 95% interval."""
    fig = plots._figure()
    ax = fig.add_subplot()
    names = list(ratios)
    medians = [ratios[n].median for n in names]
    cis = [ratios[n].ci or (m, m) for n, m in zip(names, medians, strict=True)]
    low = [m - (ci[0] or m) for m, ci in zip(medians, cis, strict=True)]
    high = [(ci[1] or m) - m for m, ci in zip(medians, cis, strict=True)]
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
    run = Run.from_json(summary, str(folder / "summary.json"))
    env = run.environment
    trials, connections, window = (fields.recorded_number(env, f"http.{key}")
                                   for key in ("trials", "concurrency", "duration_s"))  # fmt: skip
    stem = folder / "plots" / "pythons"
    stem.parent.mkdir(exist_ok=True)
    ratios = {name: found for name in run.paired if (found := paired_tps(run, name))}
    pictures = plot(ratios, stem) if ratios else []
    text = [
        "# The services under each Python",
        "",
        f"Interpreters (base: {fields.base_python(env)}):",
        builds(run),
        "",
        f"HTTP: {trials} interleaved trials per service, {connections} "
        f"connections, {formatting.plain(window)} s closed-loop windows, paired ratios per round "
        "against the same service under the base Python; in-process counts from each "
        "interpreter's own venv.",
        "",
        table(run),
        "",
    ]
    if pictures:
        text += [f"![paired throughput ratio](plots/{pictures[0].name})", ""]
    (folder / "REPORT.md").write_text("\n".join(text), encoding="utf-8")
    return folder / "REPORT.md"
