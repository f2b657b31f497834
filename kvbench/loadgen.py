"""The built-in HTTP load generator: raw asyncio protocols on uvloop, every answer checked.

Closed loop (each connection sends its next request when the last answer arrives)
measures throughput. Open loop sends at a fixed offered rate over a pool of connections
and times each request from its intended send time, so a server that stalls shows its
queueing delay instead of hiding it (coordinated omission, the reason wrk2 exists). Only
the generator's own lateness while a connection was free (timer resolution) is left out;
its worst case is reported as `send_lag_ms`.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kvbench import KvbenchError
from kvbench.http1 import ProtocolError, ResponseParser
from kvbench.server import is_loopback, pin, url_host

Mode = Literal["closed", "open"]
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p9999": 99.99}
MAX_SAMPLES = 5
RECONNECT_DELAY_S = 0.1
WATCHDOG_S = 0.05
FAR_FUTURE_NS = 2**62


class LoadError(KvbenchError):
    """A load run in which some request failed; the message names every reason."""


@dataclass(frozen=True)
class Probe:
    """One pre-encoded request and what its answer must be."""

    raw: bytes
    status: int
    body_length: int


def path_probe(host: str, port: int, path: str, status: int = 200, body_length: int = 39) -> Probe:
    raw = f"GET {path} HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\n\r\n".encode()
    return Probe(raw, status, body_length)


def key_workload(host: str, port: int, keys: int = 1000, value: str = "test-value") -> list[Probe]:
    """GET /get?key=key-NNNN over the preloaded keys; each answer is the compact JSON pair."""
    probes = []
    for i in range(keys):
        key = f"key-{i:04d}"
        body = json.dumps({"key": key, "value": value}, separators=(",", ":"))
        probes.append(path_probe(host, port, f"/get?key={key}", 200, len(body.encode())))
    return probes


@dataclass(frozen=True)
class LoadConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    connections: int = 64
    duration_s: float = 5.0
    warmup_s: float = 0.0
    max_requests: int | None = None
    mode: Mode = "closed"
    rate: float | None = None  # offered requests/s, open loop only
    timeout_s: float = 5.0  # a request unanswered this long fails

    def validate(self) -> None:
        if not is_loopback(self.host):
            raise KvbenchError(f"refusing to load {self.host}: only loopback targets are allowed")
        if self.connections < 1 or self.duration_s <= 0 or self.warmup_s < 0:
            raise KvbenchError("need connections >= 1, duration > 0 and warm-up >= 0")
        if self.max_requests is not None and self.max_requests < 1:
            raise KvbenchError("--max-requests must be at least 1")
        if self.mode == "open" and not (self.rate and self.rate > 0):
            raise KvbenchError("open loop needs an offered --rate > 0 (requests/s)")
        if self.mode == "closed" and self.rate is not None:
            raise KvbenchError("--rate applies to the open loop only (--mode open)")


@dataclass
class LoadResult:
    mode: Mode
    connections: int
    warmup_s: float
    duration_s: float  # the measured window, up to the last answer
    requests: int  # answers received for requests sent in the window
    errors: int  # every failure, warm-up included: statuses, bodies, connections, timeouts
    non_2xx: int
    bad_body: int
    failures: dict[str, int]  # reason -> count
    error_samples: list[str]
    latencies_ns: np.ndarray
    offered_rate: float | None = None
    send_lag_ms: float = 0.0  # our own worst lateness with a connection free: not counted

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def achieved_rate(self) -> float:
        return self.throughput

    def percentile_ms(self, p: float) -> float | None:
        if not self.latencies_ns.size:
            return None
        return float(np.percentile(self.latencies_ns, p, method="inverted_cdf")) / 1e6

    def to_dict(self) -> dict:
        """A JSON-able summary; the raw latencies go to `save_latencies` instead."""
        lat = self.latencies_ns
        summary = {
            "loadgen": "kvbench", "mode": self.mode, "connections": self.connections,
            "warmup_s": self.warmup_s, "duration_s": self.duration_s, "requests": self.requests,
            "errors": self.errors, "non_2xx": self.non_2xx, "bad_body": self.bad_body,
            "failures": dict(self.failures), "error_samples": list(self.error_samples),
            "throughput": self.throughput, "offered_rate": self.offered_rate,
            "achieved_rate": self.achieved_rate, "send_lag_ms": self.send_lag_ms,
            "raw_latencies": True,
        }  # fmt: skip
        names = [*(f"{name}_ms" for name in PERCENTILES), "mean_ms", "max_ms"]
        if not lat.size:
            return summary | dict.fromkeys(names)
        values = [*np.percentile(lat, list(PERCENTILES.values()), method="inverted_cdf")]
        values += [lat.mean(), lat.max()]
        return summary | {name: float(v) / 1e6 for name, v in zip(names, values, strict=True)}

    def save_latencies(self, path) -> None:
        np.save(path, self.latencies_ns)

    def check(self) -> None:
        check_summary(self.to_dict())


def check_summary(summary: dict) -> None:
    """Raise LoadError unless a run (ours or wrk's summary) answered everything it sent."""
    if summary["errors"]:
        counts = sorted(summary["failures"].items(), key=lambda item: -item[1])
        reasons = ", ".join(f"{reason} x{count:,}" for reason, count in counts)
        raise LoadError(
            f"{summary['errors']:,} requests failed ({summary['requests']:,} answered in the "
            f"measured window): {reasons}"
        )
    if not summary["requests"]:
        raise LoadError("no request was answered in the measured window")


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, run: "Run") -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.probe: Probe | None = None  # the request in flight
        self.timed_from_ns = 0  # its latency counts from here
        self.sent_ns = 0  # its timeout counts from here
        self.measured = False
        self.idle_ns = 0  # free since
        self.closed = run.loop.create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.run.ready(self)

    def send(self, probe: Probe, timed_from_ns: int, now: int, measured: bool) -> None:
        self.probe, self.timed_from_ns, self.sent_ns = probe, timed_from_ns, now
        self.measured = measured
        self.transport.write(probe.raw)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data, self.answered)
        except ProtocolError as exc:
            self.fail(str(exc), repr(data[:300]))

    def answered(self, status: int, length: int, head: bytes) -> None:
        now = time.perf_counter_ns()
        if self.probe is None:
            raise ProtocolError(f"an unrequested {status} response")
        self.run.answered(self, status, length, head, now)

    def fail(self, reason: str, sample: str | None = None) -> None:
        self.run.failed(self, reason, sample)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.probe is not None:
            self.run.failed(self, f"connection lost: {exc or 'closed by the server'}")
        self.run.lost(self)
        if not self.closed.done():
            self.closed.set_result(None)


class Tally:
    """Latencies in a preallocated int64 array (grown by doubling, rarely) and failures."""

    def __init__(self, capacity: int) -> None:
        self.latencies = np.empty(max(capacity, 1024), dtype=np.int64)
        self.count = 0
        self.failures: Counter[str] = Counter()
        self.samples: list[str] = []
        self.non_2xx = self.bad_body = 0

    def add(self, latency_ns: int) -> None:
        if self.count == self.latencies.size:
            self.latencies = np.concatenate([self.latencies, np.empty_like(self.latencies)])
        self.latencies[self.count] = latency_ns
        self.count += 1

    def fail(self, reason: str, sample: str | None = None) -> None:
        self.failures[reason] += 1
        if sample and len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"{reason}: {sample}")

    def wrong_answer(self, probe: Probe, status: int, length: int, head: bytes) -> None:
        line = head.partition(b"\r\n")[0].decode("latin-1")
        if not 200 <= status < 300:
            self.non_2xx += 1
            reason = line.partition(" ")[2] or str(status)
        elif status != probe.status:
            reason = f"{status} instead of {probe.status}"
        else:
            self.bad_body += 1
            reason = f"{status} with a {length}-byte body instead of {probe.body_length}"
        self.fail(reason, head[:300].decode("latin-1"))


class Run:
    """One load run: its connections, its schedule of sends and its tally."""

    def __init__(self, config: LoadConfig, probes: list[Probe], loop) -> None:
        self.config, self.probes, self.loop = config, probes, loop
        expected = config.max_requests or int(config.duration_s * 50_000)
        self.tally = Tally(min(expected, 4_000_000))
        self.connections: set[Connection] = set()
        self.idle: deque[Connection] = deque()
        self.tasks: set[asyncio.Task] = set()
        self.handles: list[asyncio.TimerHandle] = []
        self.timer: asyncio.TimerHandle | None = None  # the open loop's next send
        self.watchdog: asyncio.TimerHandle | None = None
        self.index = self.sent = self.in_flight = 0
        self.started = self.measuring = self.closing = False
        self.start_ns = self.next_due_ns = self.finished_ns = self.lag_ns = 0
        self.end_ns = FAR_FUTURE_NS
        self.interval_ns = round(1e9 / config.rate) if config.mode == "open" else 0
        self.finished = loop.create_future()

    async def open(self) -> None:
        """Connect every connection (failures are counted and retried), then start sending."""
        for _ in range(self.config.connections):
            self.spawn()
        await asyncio.wait(list(self.tasks), timeout=self.config.timeout_s + 1.0)
        self.watch()
        self.started = True
        self.next_due_ns = time.perf_counter_ns()
        self.dispatch(self.next_due_ns)

    def start_measuring(self) -> None:
        self.start_ns = time.perf_counter_ns()
        self.end_ns = self.start_ns + round(self.config.duration_s * 1e9)
        self.measuring = True
        self.handles.append(self.loop.call_later(self.config.duration_s, self.window_closed))

    def may_send(self, intended_ns: int) -> bool:
        limit = self.config.max_requests
        return self.started and intended_ns < self.end_ns and (limit is None or self.sent < limit)

    def dispatch(self, now: int) -> None:
        """Give due requests to idle connections; in the open loop, wake up for the next one."""
        open_loop = self.interval_ns > 0
        while self.idle:
            intended = self.next_due_ns if open_loop else now
            if intended > now or not self.may_send(intended):
                break
            conn = self.idle.popleft()
            if conn.transport is not None and not conn.transport.is_closing():
                self.send_next(conn, intended, now)
                self.next_due_ns += self.interval_ns
        if open_loop and self.timer is None and self.idle and self.may_send(self.next_due_ns):
            # At least a millisecond: the loop's timer resolution; less would only spin.
            delay = max((self.next_due_ns - now) / 1e9, 0.001)
            self.timer = self.loop.call_later(delay, self.tick)

    def send_next(self, conn: Connection, intended_ns: int, now: int) -> None:
        """Send the next probe; its latency counts from when it could first have been sent.

        That is the intended time, or later if every connection was busy then (the
        server's queue, which must count), minus our own lateness since a connection was
        free (the event loop's timers fire up to a millisecond late: not the server's).
        """
        measured = self.measuring and intended_ns >= self.start_ns
        self.sent += measured
        self.in_flight += measured
        could_send_ns = max(intended_ns, conn.idle_ns)
        if measured and now - could_send_ns > self.lag_ns:
            self.lag_ns = now - could_send_ns
        conn.send(self.probes[self.index], now - could_send_ns + intended_ns, now, measured)
        self.index += 1
        if self.index == len(self.probes):
            self.index = 0

    def tick(self) -> None:
        self.timer = None
        self.dispatch(time.perf_counter_ns())

    def ready(self, conn: Connection) -> None:
        if self.closing:
            conn.transport.abort()
            return
        self.connections.add(conn)
        self.idle.append(conn)
        conn.idle_ns = time.perf_counter_ns()
        self.dispatch(conn.idle_ns)

    def answered(self, conn: Connection, status: int, length: int, head: bytes, now: int) -> None:
        probe, conn.probe = conn.probe, None
        if conn.measured:
            self.in_flight -= 1
            self.tally.add(now - conn.timed_from_ns)
        if status != probe.status or length != probe.body_length:
            self.tally.wrong_answer(probe, status, length, head)
        conn.idle_ns = now
        if not self.interval_ns and self.may_send(now):
            self.send_next(conn, now, now)  # closed loop: straight back to work
        else:
            self.idle.append(conn)
            self.dispatch(now)
        if not self.in_flight:
            self.check_finished(now)

    def failed(self, conn: Connection, reason: str, sample: str | None = None) -> None:
        self.tally.fail(reason, sample)
        if conn.probe is not None:
            conn.probe = None
            self.in_flight -= conn.measured
        self.check_finished(time.perf_counter_ns())

    def lost(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if not self.closing:
            self.handles.append(self.loop.call_later(RECONNECT_DELAY_S, self.spawn))

    def spawn(self) -> None:
        if not self.closing:
            task = self.loop.create_task(self.connect())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def connect(self) -> None:
        host, port, timeout = self.config.host, self.config.port, self.config.timeout_s
        connecting = self.loop.create_connection(lambda: Connection(self), host, port)
        try:
            await asyncio.wait_for(connecting, timeout)
        except TimeoutError:
            self.tally.fail(f"connect: no answer in {timeout:g} s")
        except OSError as exc:
            self.tally.fail(f"connect: {exc.strerror or exc}")
        else:
            return
        if not self.closing:
            self.handles.append(self.loop.call_later(RECONNECT_DELAY_S, self.spawn))

    def watch(self) -> None:
        """Fail requests unanswered for longer than the timeout, so no run can hang."""
        now, limit = time.perf_counter_ns(), self.config.timeout_s * 1e9
        for conn in list(self.connections):
            if conn.probe is not None and now - conn.sent_ns > limit:
                conn.fail(f"timeout: no answer in {self.config.timeout_s:g} s")
        if not self.closing:
            self.watchdog = self.loop.call_later(WATCHDOG_S, self.watch)

    def window_closed(self) -> None:
        now = time.perf_counter_ns()
        if now < self.end_ns:  # the loop's clock may round to milliseconds: not quite yet
            delay = (self.end_ns - now) / 1e9 + 0.001
            self.handles.append(self.loop.call_later(delay, self.window_closed))
        self.check_finished(now)

    def check_finished(self, now: int) -> None:
        intended = self.next_due_ns if self.interval_ns else now
        done = self.finished.done() or self.in_flight or self.may_send(intended)
        if self.measuring and not done:
            self.finished_ns = now
            self.finished.set_result(None)

    async def close(self) -> None:
        self.closing = True
        for handle in [*self.handles, self.timer, self.watchdog]:
            if handle is not None:
                handle.cancel()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)
        connections = list(self.connections)
        for conn in connections:
            # A request sent before the window and unanswered when it ends was cut off, not
            # failed (the watchdog fails any that waits past the timeout): a fresh server's
            # accept backlog under a burst of 1,024 connections can hold one back a second.
            if conn.probe is not None and conn.measured:
                self.failed(conn, "no answer before the run's deadline")
            conn.probe = None
            if conn.transport is not None:
                conn.transport.abort()
        if connections:
            await asyncio.wait([conn.closed for conn in connections], timeout=1.0)

    def missed(self) -> int:
        """Open loop: requests due in the window that were never sent, the server being behind."""
        if not self.interval_ns or self.next_due_ns >= self.end_ns:
            return 0
        due = -(-(self.end_ns - self.next_due_ns) // self.interval_ns)
        limit = self.config.max_requests
        return due if limit is None else max(0, min(due, limit - self.sent))

    def result(self) -> LoadResult:
        c, tally = self.config, self.tally
        if missed := self.missed():
            tally.failures["not sent: the server fell behind the offered rate"] += missed
        end = self.finished_ns or time.perf_counter_ns()
        return LoadResult(
            c.mode, c.connections, c.warmup_s, (end - self.start_ns) / 1e9, tally.count,
            sum(tally.failures.values()), tally.non_2xx, tally.bad_body, dict(tally.failures),
            list(tally.samples), tally.latencies[: tally.count].copy(), c.rate, self.lag_ns / 1e6,
        )  # fmt: skip


async def generate(config: LoadConfig, probes: list[Probe]) -> LoadResult:
    """Warm up, then measure, in the running event loop; every wait has a deadline."""
    config.validate()
    if not probes:
        raise KvbenchError("the workload has no requests")
    run = Run(config, probes, asyncio.get_running_loop())
    try:
        await run.open()
        if config.warmup_s:
            await asyncio.sleep(config.warmup_s)
        run.start_measuring()
        await asyncio.wait([run.finished], timeout=config.duration_s + config.timeout_s + 1.0)
    finally:
        await run.close()
    return run.result()


def run_load(config: LoadConfig, probes: list[Probe] | None = None) -> LoadResult:
    """Run one load in a fresh event loop (uvloop where installed) and return its result."""
    config.validate()
    if probes is None:
        probes = key_workload(config.host, config.port)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(generate(config, probes))
    return uvloop.run(generate(config, probes))


def summary_text(summary: dict) -> str:
    """Two human lines for a `to_dict()` summary."""
    rate = f", offered {summary['offered_rate']:,.0f}/s" if summary["offered_rate"] else ""
    head = (
        f"{summary['mode']} loop, {summary['connections']} connections{rate}: "
        f"{summary['requests']:,} requests in {summary['duration_s']:.2f} s, "
        f"{summary['throughput']:,.0f} req/s, {summary['errors']:,} errors"
    )
    names = ["p50", "p90", "p99", "p999", "p9999", "max"]
    cells = [f"{n} {summary[f'{n}_ms']:.3f}" for n in names if summary.get(f"{n}_ms") is not None]
    return head + ("\nlatency ms: " + "  ".join(cells) if cells else "")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="target address (loopback only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds before")
    parser.add_argument("--max-requests", type=int, help="stop after this many measured ones")
    parser.add_argument("--mode", choices=["closed", "open"], default="closed")
    parser.add_argument("--rate", type=float, help="offered requests/s (open loop)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a request fails")
    parser.add_argument("--path", help="GET only this path instead of the preloaded keys")
    parser.add_argument("--status", type=int, default=200, help="expected status for --path")
    parser.add_argument("--body-length", type=int, default=39, help="expected body for --path")
    parser.add_argument("--keys", type=int, default=1000, help="cycle over key-0000 ... keys-1")
    parser.add_argument("--cpu", type=int, action="append", help="pin the load generator here")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--save-latencies", metavar="FILE.npy", help="save the raw latencies (ns)")


def run(args: argparse.Namespace) -> int:
    config = LoadConfig(
        args.host, args.port, args.connections, args.duration, args.warmup,
        args.max_requests, args.mode, args.rate, args.timeout,
    )  # fmt: skip
    config.validate()
    try:
        pin(os.getpid(), set(args.cpu or []))
    except OSError as exc:
        raise KvbenchError(f"cannot pin to CPUs {args.cpu}: {exc.strerror}") from None
    if args.path:
        probes = [path_probe(args.host, args.port, args.path, args.status, args.body_length)]
    else:
        probes = key_workload(args.host, args.port, args.keys)
    if sys.stderr.isatty():
        print(f"loading {args.host}:{args.port}: {args.warmup:g} s warm-up, "
              f"{args.duration:g} s measured", file=sys.stderr)  # fmt: skip
    result = run_load(config, probes)
    if args.save_latencies:
        result.save_latencies(args.save_latencies)
    summary = result.to_dict()
    print(json.dumps(summary) if args.json else summary_text(summary), flush=True)
    check_summary(summary)
    return 0
