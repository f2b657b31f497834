"""What stands beside a comparison table: the pooled latencies and the paired ratios.

Each is a list of lines of cells, which `tables.py` lays out as text or markdown.
"""

from kvbench.report.formatting import (
    benchstat_change,
    benchstat_number,
    change,
    correlation,
    number,
    spread,
)
from kvbench.results.latency import PERCENTILES, label, requests_needed
from kvbench.results.resultset import LatencyRatio, Metrics


def latency_lines(
    latency: tuple[dict, dict],
    labels: tuple[str, str],
    tails: dict[str, LatencyRatio] | None = None,
) -> list[list[str]]:
    """Percentiles of every open-loop request pooled over the trials, with their intervals;
    the change's interval where whole rounds could be resampled (`ResultSet.latency_ratios`)."""
    tails = tails or {}
    rate = latency[0].get("offered_rate")
    at = f", open loop at {number(rate)} req/s" if rate else ", open loop"
    lines = [[f"latency, all requests pooled{at}", labels[0], labels[1], "vs base"]]
    for name, percent in PERCENTILES.items():
        cells = [percentile_cell(side, name, percent) for side in latency]
        if name in latency[0] and name in latency[1]:
            a, b = latency[0][name]["ms"], latency[1][name]["ms"]
            cells.append(benchstat_change(change(b, a)) + change_ci(tails.get(name)) if a else "")
        else:
            cells.append("")
        lines.append([label(name), *cells])
    lines.append(["requests (n)", *(f"{side['n']:,}" for side in latency), ""])
    return lines


def change_ci(tail: LatencyRatio | None) -> str:
    """` (-95.39% to -24.74%, rounds resampled)`: a ratio's interval as a change."""
    if tail is None or tail[1] is None:
        return ""
    low, high = (benchstat_change((v - 1) * 100) for v in tail[1])
    return f" ({low} to {high}, rounds resampled)"


def percentile_cell(side: dict, name: str, percent: str) -> str:
    entry = side.get(name)
    if entry is None:
        return f"— (needs {requests_needed(percent):,} requests)"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    low_text = benchstat_number(low) if low is not None else "-∞"
    high_text = benchstat_number(high) if high is not None else "∞"
    return f"{benchstat_number(entry['ms'])} ms ({low_text} to {high_text})"


def paired_lines(
    paired: Metrics, labels: tuple[str, str], beside: dict[str, dict] | None = None
) -> list[list[str]]:
    """The median of per-round ratios new / old with its order-statistic interval; where the
    run stored them, the unpaired ratio of medians, the correlation r and the narrower one."""
    beside = beside or {}
    head = [f"paired, {labels[1]} / {labels[0]} per round", "median ratio", "95% CI", "n"]
    if beside:
        head += ["unpaired ratio", "95% CI", "r", "narrower"]
    lines = [head]
    for name, ratio in paired.items():
        line = [name, number(ratio.median), ratio_ci(ratio.ci, ratio.median), str(ratio.n)]
        if beside:
            line += beside_cells(beside.get(name) or {})
        lines.append(line)
    return lines


def ratio_ci(ci: tuple[float, float] | None, centre: float) -> str:
    if not ci:
        return "—"
    return f"{number(ci[0])} to {number(ci[1])} ({spread(centre, ci)})"


def beside_cells(entry: dict) -> list[str]:
    unpaired = entry.get("unpaired") or {}
    if not unpaired:
        return ["—", "—", "—", "—"]
    low, high = unpaired.get("ci_low"), unpaired.get("ci_high")
    ci = (low, high) if low is not None and high is not None else None
    r = entry.get("correlation")
    return [number(unpaired["ratio"]), ratio_ci(ci, unpaired["ratio"]),
            "—" if r is None else correlation(r), entry.get("narrower") or "—"]  # fmt: skip
