"""The soak's per-second series: the load's answers and errors, the processes' resources.

One row a second: answers, errors by kind, latency from the intended send (p50, p99, max),
the generator's own lateness (sent - intended, p99); RSS, open fds and threads of the
service (supervisor and workers, summed, and each) and of Redis, what Redis's allocator
has handed out (`redis_used_mb`: INFO used_memory; RSS adds the allocator's own overhead
and the freed pages it has not returned) and the most it has since it started
(`redis_used_peak_mb`: INFO used_memory_peak, so a burst between two samples shows), its
connected clients (`redis_clients`: the service's pooled connections, which a pool opens as
requests in flight reach a new high and keeps, each with its buffers in Redis), the AOF
rewrites it has done since it started (`redis_aof_rewrites`: Redis forks and rewrites its
append-only file each time it doubles past 64 MB, and its first one pages in memory once),
and their fds net of established TCP connections (`_fds_net`: the load's and the Redis pool's
connections come and go with the load and the faults; a leaked socket, a half-closed one
in CLOSE_WAIT or a forgotten file stays); the service's GC collections from /debug/vars.
`pid` columns say which process a row measured: a restart starts a new segment of the
series, and the flatness checks compare within segments. `sampled_s` to `sampled_end_s` is
when the processes were read (Redis's memory with them, from the Redis whose pid the row
names): a row's answers and errors are those of the second before `t_s`, and its processes
are read just after, later under a fault (its errors are judged by its second, its process
columns by when they were read).
"""

import asyncio
import csv
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import numpy as np
import psutil

from kvbench.soak.client import KINDS, Second
from kvbench.soak.stack import DurableRedis, Keeper

COLUMNS = (
    "t_s", "sampled_s", "sampled_end_s", "ok", "errors", *(f"err_{kind}" for kind in KINDS),
    "p50_ms", "p99_ms", "max_ms", "lateness_p99_ms",
    "service_pid", "service_rss_mb", "service_fds", "service_fds_net", "service_threads",
    "worker0_rss_mb", "worker1_rss_mb", "worker0_fds", "worker1_fds",
    "redis_pid", "redis_rss_mb", "redis_fds", "redis_fds_net", "redis_threads",
    "redis_used_mb", "redis_used_peak_mb", "redis_clients", "redis_aof_rewrites",
    "gc_gen0", "gc_gen1", "gc_gen2",
)  # fmt: skip
MB = 1024 * 1024


def load_row(t: float, second: Second) -> dict:
    latency = np.frombuffer(second.latency, dtype=np.float64) * 1000
    lateness = np.frombuffer(second.lateness, dtype=np.float64) * 1000
    row: dict = {"t_s": round(t, 3), "ok": second.ok, "errors": sum(second.errors.values())}
    for kind in KINDS:
        row[f"err_{kind}"] = second.errors.get(kind, 0)
    for name, q in (("p50_ms", 50), ("p99_ms", 99), ("max_ms", 100)):
        row[name] = round(float(np.percentile(latency, q)), 3) if latency.size else None
    row["lateness_p99_ms"] = round(float(np.percentile(lateness, 99)), 3) if lateness.size else None
    return row


def usage(process: psutil.Process) -> tuple[float, int, int, int] | None:
    """RSS (MB), open fds, threads and established TCP connections of one process; None
    when it is gone."""
    with suppress(psutil.Error), process.oneshot():
        live = sum(1 for c in process.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED)
        return process.memory_info().rss / MB, process.num_fds(), process.num_threads(), live
    return None


def process_columns(keeper: Keeper, redis: DurableRedis) -> dict:
    row: dict = {}
    service = keeper.processes()
    measured = [(p, usage(p)) for p in service]
    alive = [(p, u) for p, u in measured if u is not None]
    if alive:
        row["service_pid"] = service[0].pid
        row["service_rss_mb"] = round(sum(u[0] for _, u in alive), 2)
        row["service_fds"] = sum(u[1] for _, u in alive)
        row["service_fds_net"] = row["service_fds"] - sum(u[3] for _, u in alive)
        row["service_threads"] = sum(u[2] for _, u in alive)
    for index, (_, worker) in enumerate(measured[1:3]):
        if worker is not None:
            row[f"worker{index}_rss_mb"], row[f"worker{index}_fds"] = round(worker[0], 2), worker[1]
    pid, used = redis.pid, None  # a Redis gone before it is read is not read
    with suppress(psutil.Error):
        used = usage(psutil.Process(pid)) if pid is not None else None
    if used is not None:
        row["redis_pid"] = pid
        row["redis_rss_mb"], row["redis_fds"], row["redis_threads"] = round(used[0], 2), *used[1:3]
        row["redis_fds_net"] = used[1] - used[3]
        row |= redis_memory(redis, pid)
    return row


def redis_memory(redis: DurableRedis, pid: int | None) -> dict:
    """Redis's own memory figures, read just after its process (`pid`): kept only when the
    Redis that answered is that one (a kill -9 and a restart in between would pair the old
    Redis's pid with the new one's memory)."""
    found = redis.memory()
    if found.get("pid") != pid:
        return {}
    return {"redis_used_mb": found["used_mb"], "redis_used_peak_mb": found["used_peak_mb"],
            "redis_clients": found["clients"],
            "redis_aof_rewrites": found.get("aof_rewrites")}  # fmt: skip


def gc_columns(debug_vars: dict | None) -> dict:
    if not debug_vars or "gc" not in debug_vars:
        return {}
    return {f"gc_gen{i}": n for i, n in enumerate(debug_vars["gc"]["collections"])}


async def sample(
    t: float, second: Second, keeper: Keeper, redis: DurableRedis, now: Callable[[], float]
) -> dict:
    """One row: the second's load, then the processes and Redis's memory read together in a
    thread (Redis's INFO waits up to PEEK_TIMEOUT_S for a paused Redis: not in the loop that
    sends the load), then the service's GC counts."""
    row = load_row(t, second) | {"sampled_s": round(now(), 3)}
    row |= await asyncio.to_thread(process_columns, keeper, redis)
    row["sampled_end_s"] = round(now(), 3)
    row |= gc_columns(await asyncio.to_thread(keeper.debug_vars))
    return row


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    """The rows as written: numbers as floats, an empty cell as None."""
    with open(path, newline="") as source:
        return [
            {k: (float(v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(source)
        ]


def column(rows: list[dict], name: str) -> list:
    return [row.get(name) for row in rows]
