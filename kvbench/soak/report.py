"""A soak's files: summary.json, series.csv, faults and recovery, plots and REPORT.md."""

import json
import math
from dataclasses import asdict
from pathlib import Path

from matplotlib.patches import Patch

from kvbench.report.plots import _figure, color, save
from kvbench.results import files, provenance
from kvbench.soak import checks, faults, verdict
from kvbench.soak.checks import recovery
from kvbench.soak.client import CONNECTIONS, PUT_KEYS, PUT_SHARE, TICK_S
from kvbench.soak.run import Outcome
from kvbench.soak.series import column, read_csv, write_csv

SETUP = (
    "optimized, 2 workers (kvbench.runtime.supervisor), on a redis-server of the soak's own "
    "with appendonly yes and appendfsync always (a write is acknowledged once on disk). "
    "The supervisor is fail-fast: a killed worker stops the service, and the soak, acting "
    "as the process manager a deployment has (systemd Restart=always, a Kubernetes "
    "restart), starts the whole service again at once on the same ports."
)


def recoveries(outcome: Outcome) -> list[dict]:
    log = outcome.faults
    nexts = [f.start for f in log[1:]] + [math.inf]
    return [
        recovery(f, outcome.ticks, TICK_S, until) | {"detail": f.detail}
        for f, until in zip(log, nexts, strict=True)
    ]


def summary(outcome: Outcome, found: dict) -> dict:
    acked = outcome.puts.acknowledged_before()
    return provenance.header() | {
        "soak": {
            "setup": SETUP,
            "settings": asdict(outcome.settings),
            "load": {
                "mix": f"{100 - PUT_SHARE * 100:g}% GET of key-0000..key-0999, "
                f"{PUT_SHARE * 100:g}% PUT of soak-0000..soak-{PUT_KEYS - 1:04d}",
                "connections": outcome.settings.connections or CONNECTIONS,
                "capacity_rps": round(outcome.capacity_rps, 1),
                "offered_rps": round(outcome.rate, 1),
                "load_s": len(outcome.rows),
                "answered_ok": sum(r["ok"] for r in outcome.rows),
                "errors": sum(r["errors"] for r in outcome.rows),
                "puts_acknowledged": acked,
                "puts_unknown": len(outcome.puts) - acked,
                "keys_read_back": len(outcome.reads),
            },
            "faults": [asdict(f) for f in outcome.faults],
            "recovery": recoveries(outcome),
            "service_restarts": [
                {"exited_s": round(a, 2), "answering_s": round(b, 2), "exit_code": c}
                for a, b, c in outcome.restarts
            ],
            "p99_per_minute_ms": outcome.minutes,
            "error_answers": dict(outcome.reasons.most_common(20)),
            "redis": outcome.store,
            "last_processes": outcome.last,
            "elapsed_s": round(outcome.elapsed_s, 1),
            "generator_cpu_s": round(outcome.generator_cpu_s, 1),
            "generator_gc": outcome.generator_gc,
        },
        "checks": found,
    }


def mark_faults(ax, log: list[dict]) -> None:
    kinds = list(faults.KINDS)
    for fault in log:
        shade = color(kinds.index(fault["kind"]) + 3)
        ax.axvspan(fault["start"], fault["end"], color=shade, alpha=0.3, lw=0)


def plot(rows: list[dict], log: list[dict], stem: Path) -> list[Path]:
    """Five panels over time, faults shaded: the service's RSS, Redis's memory (its AOF
    rewrites dotted), fds, p99 and errors per second."""
    fig = _figure(8.0, 11.0)
    axes = fig.subplots(5, 1, sharex=True)
    t = column(rows, "t_s")
    panels = [
        (["service_rss_mb"], "service RSS (MB)"),
        (["redis_rss_mb"], "Redis RSS (MB)"),
        (
            ["service_fds", "service_fds_net", "redis_fds", "redis_fds_net", "redis_clients"],
            "fds; clients",
        ),
        (["p99_ms"], "p99 (ms)"),
        (["errors"], "errors/s"),
    ]
    for ax, (names, label) in zip(axes, panels, strict=True):
        for index, name in enumerate(names):
            values = [v if v is not None else float("nan") for v in column(rows, name)]
            ax.plot(t, values, color=color(index), lw=1, label=name)
        mark_faults(ax, log)
        ax.set_ylabel(label)
        if len(names) > 1:
            ax.legend(loc="upper left", fontsize=7)
    # Redis's allocator, two orders below its RSS, on an axis of its own.
    used = axes[1].twinx()
    for index, name in enumerate(["redis_used_mb", "redis_used_peak_mb"], start=1):
        values = [v if v is not None else float("nan") for v in column(rows, name)]
        used.plot(t, values, color=color(index), lw=1, label=name)
    used.set_ylabel("allocated (MB)")
    used.legend(loc="upper right", fontsize=7)
    for at in rewrites(rows):
        axes[1].axvline(at, color="0.5", lw=0.6, ls=":")
    if any(v for v in column(rows, "p99_ms")):  # a log scale needs something above zero
        axes[3].set_yscale("log")
    patches = [
        Patch(color=color(i + 3), alpha=0.3, label=kind) for i, kind in enumerate(faults.KINDS)
    ]
    axes[-1].legend(handles=patches, loc="upper right", fontsize=7, title="fault windows")
    axes[-1].set_xlabel("seconds of load")
    fig.suptitle("kvbench soak: optimized, 2 workers, durable Redis", fontsize=10)
    return save(fig, stem)


def rewrites(rows: list[dict]) -> list[float]:
    """When Redis's AOF rewrite count went up within one Redis's life (its rows' t_s)."""
    seen: dict = {}
    found = []
    for row in rows:
        pid, count = row.get("redis_pid"), row.get("redis_aof_rewrites")
        if pid is None or count is None:
            continue
        if count > seen.get(pid, 0):  # a count on a process's first row: done before it
            found.append(row["t_s"])
        seen[pid] = count
    return found


def markdown(data: dict) -> str:
    soak, found = data["soak"], data["checks"]
    load = soak["load"]
    lines = [
        "# Soak", "", soak["setup"], "",
        f"Load: {load['mix']}, open loop at {load['offered_rps']:,.0f} requests/s "
        f"({soak['settings']['fraction']:g} of the {load['capacity_rps']:,.0f}/s measured "
        f"closed-loop first) over {load['connections']} connections for {load['load_s']} s; "
        f"{load['answered_ok']:,} right answers, {load['errors']:,} errors, "
        f"{load['puts_acknowledged']:,} PUTs acknowledged, {load['puts_unknown']:,} unknown."
        + generator_said(soak.get("generator_gc")),
        "", f"Verdict: **{'pass' if found['ok'] else 'FAIL'}**", "", "![soak](plots/soak.png)",
        "", "## Faults and recovery", "", recovery_table(data), "", "## Checks", "",
        checks_table(data),
    ]  # fmt: skip
    return "\n".join(lines)


def generator_said(found: dict | None) -> str:
    """The soak's own full collections: its sender and sampler stop for each."""
    if not found:
        return ""
    full, longest = found["collections"][2], found["max_ms"][2]
    return (f" The soak's own process ran {full} full GC collections, the longest {longest:g} "
            "ms (its sender and sampler stop for each).")  # fmt: skip


def recovery_table(data: dict) -> str:
    """Each fault: when, how long, its errors and when answers were right again."""
    head = "| fault | at (s) | window (s) | errors | first error (s) | last error (s) "
    lines = [head + "| right again (s) | stale 503s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in data["soak"]["recovery"]:
        cells = [r["kind"], r["at_s"], r["window_s"], r["errors"], r["first_error_s"]]
        cells += [r["last_error_s"], r.get("answering_s"), r.get("stale_errors")]
        lines.append("| " + " | ".join("-" if c is None else str(c) for c in cells) + " |")
    lines += ["", "Times from the fault's start; errors allowed until a fault's window ends "
              f"plus {faults.RECOVERY_S:g} s. Stale 503s: answers from a pooled Redis connection "
              "that a Redis restart closed, found only when next used (counted apart, in the "
              "window and its allowance)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def checks_table(data: dict) -> str:
    """How each check reads, then each one's verdict and the numbers it decided on."""
    lines = [HOW, "", "| check | verdict | on what |", "|---|---|---|"]
    for name, check in data["checks"].items():
        if isinstance(check, dict):
            said = VERDICT[check.get("status") or verdict.status(check)]
            lines.append(f"| {name} | {said} | {explain(check)} |")
    return "\n".join(lines) + "\n"


HOW = (
    "Every acknowledged PUT (204) must read back, over fresh connections until every worker "
    "has answered, with its value or that of a PUT acknowledged or unknown (503, timeout, "
    "lost connection) that may have landed after it; and at once after each Redis kill, "
    "every PUT acknowledged before it must be in the restarted Redis, read in one MGET "
    "(later PUTs overwrite most keys within seconds, so the end alone cannot see a write a "
    "kill lost; the service writes to the restarted Redis from its first PONG on, and how "
    "long after that PONG each MGET was sent is given with its restart). Flatness of RSS "
    "and of open fds net of "
    "established connections (the load's and the Redis pool's come and go; a leaked socket "
    "or file stays): a least-squares slope per hour with its 95% interval, fitted in the "
    "calm end of the run (a long run's faults all come in its first half; the fit starts a "
    "minute after the last fault's recovery), each process life with its own intercept, "
    "after each process's warm-up (where a check names a `held` column, with it as a "
    "covariate: Redis's connected clients, each pooled connection the service opens and "
    "keeps costing Redis its buffers, one cost per client fitted over the run; their count "
    "must stay within the pools' bound; where it names a `warm_after` column, a process is "
    "warm from the first row that counts that event: Redis from its first AOF rewrite, whose "
    "fork and rewrite page in memory once); the upper end must be under 1% of the level per "
    "hour "
    f"(for fds at least {checks.FD_LEAST_PER_HOUR:g} per hour), "
    "enforced from 30 minutes of load (a shorter run reports it). A level that steps up "
    "from one stretch between faults to the next fails too (the stretch levels). p99 per "
    "minute, outside the minutes of faults, must not climb by more than 10% of its median "
    "per hour. redis_used_mb (INFO used_memory: what Redis's allocator has handed out; RSS "
    "adds the freed pages it keeps) is fitted the same way and shown, not judged: it tells "
    "Redis's data from its allocator's pages."
)
# The check's status (kvbench/soak/verdict.py); "undecided" says why in its own words (the
# run too short to enforce, or an interval that straddles the bound), not one reason for all.
VERDICT = {"ok": "pass", "failed": "**FAIL**", "undecided": "undecided",
           "diagnostic": "shown, not judged"}  # fmt: skip


def explain(check: dict) -> str:
    """One line of the numbers a check decided on."""
    if "slope_per_hour" in check:
        text = f"slope {check['slope_per_hour']:+.3g}/h"
        if "interval_per_hour" in check:
            low, high = check["interval_per_hour"]
            text += f", 95% interval [{low:+.3g}, {high:+.3g}]"
        text += (f", bound {check['bound_per_hour']:.3g}/h (level {check['level']:.4g}); "
                 f"{check['samples']} samples from {check.get('fitted_from_s', 0):g} s; stretch "
                 f"levels {check.get('stretch_levels')}")  # fmt: skip
        if "stretch_slope_per_hour" in check:
            slope, low, high = check["stretch_slope_per_hour"]
            text += f", their slope {slope:+.3g}/h [{low:+.3g}, {high:+.3g}]"
        if check.get("held_range"):
            least, most = check["held_range"]
            text += f"; with {check['held']} ({least:g} to {most:g}) as a covariate"
            if "held_cost_per_unit" in check:
                cost, low, high = check["held_cost_per_unit"]
                text += f", {cost:+.3g} each [{low:+.3g}, {high:+.3g}]"
            elif "held_dropped" in check:
                text += f", dropped: {check['held_dropped']}"
        if "warm_after" in check:
            warm = check["warm_from_s"]
            none = ": none came" if check.get("warm_recorded", True) else ": not recorded"
            text += f"; warm from its first {check['warm_after']}" + (
                f" (at {', '.join(f'{t:g}' for t in warm.values())} s)" if warm else none
            )
            if check.get("warm_forgiven"):
                text += (
                    f", forgiven {', '.join(f'{v:+.3g}' for v in check['warm_forgiven'].values())}"
                )
        return text + (f"; {check['why']}" if "why" in check else "")
    if "slope_ms_per_hour" in check:
        low, high = check["interval_ms_per_hour"]
        slope = check["slope_ms_per_hour"]
        trend = (f"median p99 {check['median_p99_ms']:.3g} ms, slope {slope:+.3g} ms/h, "
                 f"95% interval [{low:+.3g}, {high:+.3g}], {check['minutes']} minutes")  # fmt: skip
        return trend + (f"; {check['why']}" if "why" in check else "")
    if "at_redis_restarts" in check:
        said = [restart_said(r) for r in check["at_redis_restarts"]]
        check = check | {"at_redis_restarts": said}
    hidden = ("ok", "status", "lost", "stray_ticks", "ticks")
    shown = {k: v for k, v in check.items() if k not in hidden}
    return ", ".join(f"{k}: {v}" for k, v in shown.items())


def restart_said(restart: dict) -> str:
    """One restarted Redis's read: what it lost, or why it was not read."""
    if restart.get("error"):
        return f"not read at {restart['at_s']:g} s: {restart['error']}"
    said = f"{restart['lost']} lost at {restart['at_s']:g} s"
    if restart.get("after_ping_ms") is not None:
        said += f" (read {restart['after_ping_ms']:g} ms after its first PONG)"
    return said


def write(outcome: Outcome, found: dict, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    data = summary(outcome, found)
    write_csv(outcome.rows, folder / "series.csv")
    files.write_json(folder / "summary.json", data)
    rewrite(folder)
    return data


def rewrite(folder: Path) -> Path:
    """REPORT.md and the plots from a soak's summary.json and series.csv alone."""
    data = json.loads((folder / "summary.json").read_text())
    plot(read_csv(folder / "series.csv"), data["soak"]["faults"], folder / "plots" / "soak")
    (folder / "REPORT.md").write_text(markdown(data))
    return folder / "REPORT.md"
