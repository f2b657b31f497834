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
from collections.abc import Callable
from contextlib import asynccontextmanager

ADMIN_HOST_ENV = "KVBENCH_ADMIN_HOST"
ADMIN_PORT_ENV = "KVBENCH_ADMIN_PORT"
SETTINGS_ENV = "KVBENCH_SERVER_SETTINGS"
_STARTED = time.monotonic()


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
    }


async def _handle(counters: Callable[[], dict], reader, writer) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        method, _, rest = head.partition(b" ")
        path = rest.split(b" ", 1)[0]
        if path != b"/debug/vars":
            status, body = b"404 Not Found", b"not found"
        elif method != b"GET":
            status, body = b"405 Method Not Allowed", b"method not allowed"
        else:
            status, body = b"200 OK", json.dumps(debug_vars(counters())).encode()
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
    port = os.environ.get(ADMIN_PORT_ENV)
    if not port:
        yield
        return
    host = os.environ.get(ADMIN_HOST_ENV, "127.0.0.1")

    async def handle(reader, writer):
        await _handle(counters, reader, writer)

    # With `uvicorn --workers N` every worker runs the lifespan and binds this same port:
    # SO_REUSEPORT lets each of them listen, and the kernel spreads reads across them, so
    # one read shows one worker's counters (in-process state is per worker).
    reuse_port = sys.platform == "linux"
    server = await asyncio.start_server(
        handle, host, int(port), reuse_address=True, reuse_port=reuse_port
    )
    try:
        yield
    finally:
        server.close()
