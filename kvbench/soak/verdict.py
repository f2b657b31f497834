"""A soak's verdicts: each check of kvbench/soak/checks.py applied to what the run recorded."""

from kvbench.soak import checks, faults
from kvbench.soak.client import KINDS, TICK_S
from kvbench.soak.run import READBACK_CONNECTIONS, Outcome
from kvbench.soak.stack import WORKERS

# fds net of established connections: a pool that holds one more connection after a burst
# is a step, not a leak, and one step of one fd is already over 1% of the level per hour.
# Redis's RSS is fitted with its connected clients as a covariate, for the same reason: each
# pooled connection costs Redis 8 to 22 KB of RSS, and in an uncommitted 1-hour run the pools
# grew from 32 to 42 connections in the calm half: Redis's RSS slope, +0.34 to +0.65 MB/h,
# was -0.24 to +0.24 with them as a covariate. A Redis is warm once it has rewritten its AOF:
# its first fork and rewrite paged in 0.14 MB, at a constant client count, and six more
# added nothing (measured here; the committed 90-minute run's one step, +0.17 MB about 690 s
# after its last restart, failed the check's 0.13 MB/h bound). Each entry: the column, the
# pid that segments it, the least bound per hour, the covariate, the warm-up's event.
FLAT_COLUMNS = [
    ("service_rss_mb", "service_pid", 0.0, None, None),
    ("service_fds_net", "service_pid", checks.FD_LEAST_PER_HOUR, None, None),
    ("redis_rss_mb", "redis_pid", 0.0, "redis_clients", "redis_aof_rewrites"),
    ("redis_fds_net", "redis_pid", checks.FD_LEAST_PER_HOUR, None, None),
]
# Shown, not judged: what Redis's allocator has handed out (INFO used_memory), to tell its
# data from the freed pages its allocator keeps.
DIAGNOSTIC_COLUMNS = [("redis_used_mb", "redis_pid", 0.0, "redis_aof_rewrites")]
STATUS = {True: "ok", False: "failed", None: "undecided"}
# The most clients Redis may see: every worker's pool full (optimized/redis_store.py's
# POOL_SIZE, which the harness does not import: tests/soak/test_checks.py checks they
# agree), and the soak's own two (the per-second INFO, and a restarted Redis's read).
POOL_SIZE = 64
CLIENTS_BOUND = WORKERS * POOL_SIZE + 2
SETTLE_S = 60.0  # after the last fault's recovery, before the flatness fit begins


def verdicts(outcome: Outcome) -> dict:
    """Every check of the run; the run passes when none is False."""
    enforce = outcome.settings.duration >= checks.ENFORCE_FLAT_S
    warmup = min(300.0, max(20.0, outcome.settings.duration * 0.1))
    lost = checks.lost_writes(outcome.puts, outcome.reads)
    restarts = [restart_check(outcome, snapshot) for snapshot in outcome.snapshots]
    kills = sum(1 for f in outcome.faults if f.kind == "kill_redis")
    per_worker = outcome.last.get("readback_gets_per_worker")
    calm = [
        r | {"stretch": sum(1 for f in outcome.faults if f.start <= r["t_s"])}
        for r in outcome.rows
        if not any(f.meets(*sampling_window(r)) for f in outcome.faults)
    ]
    # Growth is fitted in the calm end of the run, where the processes live longest (the
    # faults come in its first part, `faults.calm_tail`); steps from fault to fault are
    # judged over the whole run (the ratchet in `checks.flat`).
    last = max((f.end for f in outcome.faults), default=0.0)
    fit_from = last + faults.RECOVERY_S + SETTLE_S
    stray = checks.stray_errors(outcome.ticks, TICK_S, outcome.faults)
    wrong = sum(r["err_wrong_answer"] for r in outcome.rows)
    excluded = {
        m for f in outcome.faults
        for m in range(int(f.start // 60), int((f.end + faults.RECOVERY_S) // 60) + 1)
    }  # fmt: skip
    found: dict = {
        "no_acknowledged_write_lost": {
            "ok": not lost and per_worker is not None and all(per_worker)
            and len(restarts) == kills and not any(r["lost"] or r.get("error") for r in restarts),
            "lost": lost[:20], "count": len(lost), "keys": len(outcome.reads),
            "connections": READBACK_CONNECTIONS, "gets_per_worker": per_worker,
            "at_redis_restarts": restarts, "redis_kills": kills,
        } | unread(restarts, kills),
        "no_error_outside_faults": {
            "ok": not stray, "allowance_s": faults.RECOVERY_S, "count": sum(n for _, n in stray),
            "by_kind": stray_kinds(outcome), "stray_ticks": stray[:50],
        },
        "no_wrong_answer": {"ok": wrong == 0, "count": wrong},
        "stale_store_connections": _stale(outcome),
        **{
            f"{column}_flat": checks.flat(
                calm, column, pid, warmup, enforce, fit_from, least, held=held, warm_after=event
            )
            for column, pid, least, held, event in FLAT_COLUMNS
        },
        **{
            f"{column}_flat": checks.flat(
                calm, column, pid, warmup, enforce, fit_from, least, diagnostic=True,
                warm_after=event,
            )
            for column, pid, least, event in DIAGNOSTIC_COLUMNS
        },
        "redis_clients_bounded": checks.clients_bounded(
            outcome.rows, "redis_clients", CLIENTS_BOUND
        ),
        "p99_per_minute_not_rising": checks.p99_trend(
            calm_minutes(outcome.minutes, fit_from), excluded
        ),
        "every_fault_injected": _every_fault(outcome.faults),
    }  # fmt: skip
    # A status per check, in a benchmark's words (kvbench/measure/checks.py); ok when none failed.
    for check in found.values():
        check["status"] = status(check)
    found["ok"] = all(c["ok"] is not False for c in found.values())
    return found


def status(check: dict) -> str:
    return "diagnostic" if check.get("diagnostic") else STATUS[check["ok"]]


def calm_minutes(minutes: list[tuple[int, float]], fit_from: float) -> list[tuple[int, float]]:
    """The per-minute p99s of the calm half, where RSS and fds are fitted too: minute 0,
    before any fault, is the warm-up, and its weight alone once made a rise in the calm half
    read as flat (the committed run: 0.64 to 6.3 ms/h from the calm half, -0.45 to 2.98 with
    minute 0)."""
    return [(minute, p99) for minute, p99 in minutes if minute * 60 >= fit_from]


def load_window(row: dict) -> tuple[float, float]:
    """When a row's answers and errors happened: its second, [t_s - 1, t_s)."""
    return row["t_s"] - 1, row["t_s"]


def sampling_window(row: dict) -> tuple[float, float]:
    """When a row's process columns were read: from `sampled_s` (just after t_s; later when
    a fault holds the sampler up) to `sampled_end_s` (rows without them: at t_s)."""
    start = row.get("sampled_s") or row["t_s"]
    return start, max(start, row.get("sampled_end_s") or start)


def restart_check(outcome: Outcome, snapshot: faults.Snapshot) -> dict:
    """What a restarted Redis held, against every PUT acknowledged before it was read, and
    how long after its first PONG it was read (the service writes to it meanwhile)."""
    if snapshot.error is not None:
        return {"at_s": round(snapshot.at_s, 1), "lost": 0, "error": snapshot.error}
    lost = checks.lost_writes(outcome.puts, snapshot.reads, snapshot.start, snapshot.end)
    acked = outcome.puts.acknowledged_before(snapshot.start)
    after = snapshot.after_ping_s
    return {"at_s": round(snapshot.at_s, 1), "keys": len(snapshot.reads),
            "acknowledged_before": acked, "lost": len(lost), "examples": lost[:5],
            "after_ping_ms": round(after * 1000, 1) if after is not None else None}  # fmt: skip


def unread(restarts: list[dict], kills: int) -> dict:
    """Why the check cannot say nothing was lost at a restart: which was not read, and why."""
    said = [f"the restart read at {r['at_s']:g} s failed ({r['error']})" for r in restarts
            if r.get("error")]  # fmt: skip
    if len(restarts) < kills:
        said.append(f"{kills - len(restarts)} of {kills} Redis kills have no read of the restart")
    return {"why": "; ".join(said)} if said else {}


def _every_fault(log: list[faults.Fault]) -> dict:
    counts = {kind: sum(1 for f in log if f.kind == kind) for kind in faults.KINDS}
    return {"ok": all(counts.values()), "counts": counts}


def stray_kinds(outcome: Outcome) -> dict:
    """Errors by kind in the seconds no fault's window covers (timeouts there: the service,
    or the machine it shares, gave less than the offered rate)."""
    outside = [r for r in outcome.rows if not any(f.meets(*load_window(r)) for f in outcome.faults)]
    return {
        kind: n
        for kind in KINDS
        if kind != "stale_connection" and (n := sum(r[f"err_{kind}"] for r in outside))
    }


def _stale(outcome: Outcome) -> dict:
    """503s outside every fault's window from pooled Redis connections a Redis restart
    closed. optimized/redis_store.py's pool checks a connection as it hands it out, so a
    restart should cost nothing past its fault's window; each one here fails the run
    (before that check, a committed run had 27, from 13 s to 224 s after a restart)."""
    stray = checks.stray_errors(outcome.ticks, TICK_S, outcome.faults, kind=2)
    return {"ok": not stray, "count": sum(n for _, n in stray), "ticks": stray[:50]}
