"""The debug listener both services run on a second port: `GET /debug/vars`, like expvar.

It is the analog of the Go article's pprof port, with one difference on purpose: it
binds 127.0.0.1 unless the serve command was given an explicit `--admin-host`.
"""

import asyncio
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress

ADMIN_HOST_ENV = "KVBENCH_ADMIN_HOST"
ADMIN_PORT_ENV = "KVBENCH_ADMIN_PORT"
# A worker of `kvbench.runtime.supervisor` answers on this Unix socket instead of the TCP
# port: the supervisor owns the port and sums what its workers answer.
ADMIN_UNIX_ENV = "KVBENCH_ADMIN_UNIX"
SETTINGS_ENV = "KVBENCH_SERVER_SETTINGS"
_STARTED = time.monotonic()
# Figures that a process's server (not its app) adds to /debug/vars, name -> source; see
# kvbench.runtime.worker.
EXTRAS: dict[str, Callable[[], object]] = {}


class GcMonitor:
    """Counts collections and measures their pauses through `gc.callbacks`."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pause_total_s = 0.0
        self.pause_max_s = 0.0
        # Since the previous read of /debug/vars: how a benchmark window sees its own pauses.
        self.window_collections = 0
        self.window_pause_max_s = 0.0
        self._began = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        pause = time.perf_counter() - self._began
        self.collections[info["generation"]] += 1
        self.pause_total_s += pause
        self.pause_max_s = max(self.pause_max_s, pause)
        self.window_collections += 1
        self.window_pause_max_s = max(self.window_pause_max_s, pause)

    def snapshot(self) -> dict:
        """The counters; reading them starts a new window."""
        window = {
            "collections": self.window_collections,
            "pause_max_ms": self.window_pause_max_s * 1e3,
        }
        self.window_collections, self.window_pause_max_s = 0, 0.0
        return {
            "collections": list(self.collections),
            "pause_total_ms": self.pause_total_s * 1e3,
            "pause_max_ms": self.pause_max_s * 1e3,
            "since_last_read": window,
            "thresholds": list(gc.get_threshold()),
            "enabled": gc.isenabled(),
            "frozen_objects": gc.get_freeze_count(),
        }


GC_MONITOR = GcMonitor()


def rss_bytes() -> int:
    """The resident set size now, from /proc where there is one, else the peak."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss_bytes() -> int:
    """VmHWM, the peak of this process alone (ru_maxrss would carry the parent's over exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def debug_vars(counters: dict) -> dict:
    """Everything /debug/vars reports, around the service's own exact counters."""
    return {
        "counters": counters,
        "gc": GC_MONITOR.snapshot(),
        "rss_bytes": rss_bytes(),
        "peak_rss_bytes": peak_rss_bytes(),
        "pid": os.getpid(),
        "uptime_s": time.monotonic() - _STARTED,
        "settings": json.loads(os.environ.get(SETTINGS_ENV, "{}")),
        **{name: source() for name, source in EXTRAS.items()},
    }


# region combined
def combined(workers: list[dict]) -> dict:
    """One /debug/vars for several worker processes: the sums, and every worker's own answer.

    `counters`, RSS and GC counts are summed and the worst GC pause kept, so whoever reads
    one process's /debug/vars reads the whole service the same way; `workers` lists each
    worker's answer (pid, counters, connections) in worker order; `complete` is false when
    a worker did not answer (its entry then holds an `error`). What a worker's server or
    store adds (connections, the store's batching) is summed too.
    """
    answered = [w for w in workers if "counters" in w]
    gcs = [w["gc"] for w in answered]
    windows = [g["since_last_read"] for g in gcs]
    found = {
        "counters": summed([w["counters"] for w in answered]),
        "workers": workers,
        "complete": len(answered) == len(workers),
        "gc": {
            "collections": [sum(g["collections"][i] for g in gcs) for i in range(3)],
            "pause_total_ms": sum(g["pause_total_ms"] for g in gcs),
            "pause_max_ms": max((g["pause_max_ms"] for g in gcs), default=0.0),
            "since_last_read": {
                "collections": sum(w["collections"] for w in windows),
                "pause_max_ms": max((w["pause_max_ms"] for w in windows), default=0.0),
            },
        },
        "rss_bytes": sum(w["rss_bytes"] for w in answered),
        "peak_rss_bytes": sum(w["peak_rss_bytes"] for w in answered),
        "pid": os.getpid(),
        "uptime_s": time.monotonic() - _STARTED,
        "settings": json.loads(os.environ.get(SETTINGS_ENV, "{}")),
    }
    for name in dict.fromkeys(key for w in answered for key in w):
        if name not in found and all(isinstance(w.get(name, {}), dict) for w in answered):
            found[name] = summed([w[name] for w in answered if name in w])
    return found


def summed(dicts: list[dict]) -> dict:
    """Numbers added up key by key, nested dicts too; other values kept when all agree."""
    found: dict = {}
    for name in dict.fromkeys(key for d in dicts for key in d):
        values = [d[name] for d in dicts if name in d]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            found[name] = sum(values)
        elif all(isinstance(v, dict) for v in values):
            found[name] = summed(values)
        elif all(v == values[0] for v in values):
            found[name] = values[0]  # a store's address or kind: the same in every worker
    return found


# endregion combined


async def _handle(answer: Callable[[], Awaitable[dict]], reader, writer) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        method, _, rest = head.partition(b" ")
        path = rest.split(b" ", 1)[0]
        if path != b"/debug/vars":
            status, body = b"404 Not Found", b"not found"
        elif method != b"GET":
            status, body = b"405 Method Not Allowed", b"method not allowed"
        else:
            status, body = b"200 OK", json.dumps(await answer()).encode()
        kind = b"application/json" if status.startswith(b"200") else b"text/plain"
        writer.write(
            b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % (status, kind, len(body))
            + body
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        pass  # A client that hangs up or sends garbage gets nothing; the listener goes on.
    finally:
        writer.close()


@asynccontextmanager
async def admin_listener(counters: Callable[[], dict]):
    """Serve /debug/vars while the app runs, when the serve command asked for it."""
    GC_MONITOR.install()

    async def answer() -> dict:
        return debug_vars(counters())

    path = os.environ.get(ADMIN_UNIX_ENV)
    port = os.environ.get(ADMIN_PORT_ENV)
    if path:
        server = await listen_unix(answer, path)
    elif port:
        server = await listen_tcp(answer, os.environ.get(ADMIN_HOST_ENV, "127.0.0.1"), int(port))
    else:
        yield
        return
    try:
        yield
    finally:
        server.close()
        if path:
            with suppress(FileNotFoundError):
                os.unlink(path)


async def listen_tcp(answer: Callable[[], Awaitable[dict]], host: str, port: int):
    """The debug listener on a TCP port: what the harness and a reader's browser ask."""

    async def handle(reader, writer):
        await _handle(answer, reader, writer)

    # With `uvicorn --workers N` every worker runs the lifespan and binds this same port:
    # SO_REUSEPORT lets each of them listen, and the kernel spreads reads across them, so
    # one read shows one worker's counters (in-process state is per worker).
    reuse_port = sys.platform == "linux"
    return await asyncio.start_server(handle, host, port, reuse_address=True, reuse_port=reuse_port)


async def listen_unix(answer: Callable[[], Awaitable[dict]], path: str):
    """The debug listener on a Unix socket: how a supervised worker answers its supervisor."""

    async def handle(reader, writer):
        await _handle(answer, reader, writer)

    with suppress(FileNotFoundError):
        os.unlink(path)
    return await asyncio.start_unix_server(handle, path)
