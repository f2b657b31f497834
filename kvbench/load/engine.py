"""The built-in HTTP load generator: raw asyncio protocols on uvloop, every answer checked.

Every answer is compared byte for byte with the one expected for the key asked: status,
content-type and body. A wrong answer is a failure that names the request and the bytes.
A read that is one whole answer equal, byte for byte, to one already found right for the
same request is right without being framed again (`Run.known`): servers repeat their
answers, and the comparison of the whole bytes is the check.

Closed loop (each connection sends its next request when the last answer arrives)
measures throughput: the answers that arrive in the window [start, end), divided by
end - start, as wrk counts (requests still in flight at the end are cut off, not waited
for). Open loop sends on a constant-rate schedule (wrk2's: request k is due at
t0 + k / rate) over a pool of connections, and times each request from its intended send
time, always: a server that stalls shows its queueing delay instead of hiding it
(coordinated omission, the reason wrk2 exists), and the generator's own lateness (its
timer, its stalls) counts too. To keep that lateness small the pacer sleeps on a timer
until shortly before a request is due, then spins through the event loop (each turn
polls the sockets without blocking) until it is; the generator has a core of its own.
Every request due in the window is waited for, so the slowest are never dropped. Each
measured request leaves a raw record (intended, sent, answered), see `tally.Tally`.
`on_window("start")` and `on_window("end")` are called at the window's two instants, for
whoever reads the server's CPU over exactly that window.
"""

import asyncio
import gc
import itertools
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from kvbench import KvbenchError
from kvbench.load.config import LoadConfig
from kvbench.load.connection import Connection
from kvbench.load.http1 import Head
from kvbench.load.summary import LoadResult
from kvbench.load.tally import UNANSWERED, Tally
from kvbench.load.workload import Probe, key_workload
from kvbench.runtime.net import new_loop

RECONNECT_DELAY_S = 0.1
WATCHDOG_S = 0.05
FAR_FUTURE_NS = 2**62
# Timers of the event loop fire to the millisecond at best (uvloop rounds delays to whole
# milliseconds, and its clock advances once per loop turn): sleep until this long before
# a send is due, and spin the loop for the rest.
SPIN_NS = 2_000_000
# A right answer's whole bytes are remembered (per run, up to KNOWN_PER_PROBE per probe on
# average and MAX_KNOWN in all, then forgotten at once) so that the same bytes again need no
# framing or check. A Date header makes a new answer each second: a spread workload of
# 100,000 keys then rarely meets the same bytes twice, and the bound keeps that cheap.
MAX_KNOWN_BYTES = 64 * 1024
KNOWN_PER_PROBE = 4
MAX_KNOWN = 65_536
WindowHook = Callable[[str], None]  # called with "start" and "end"


class Run:
    """One load run: its connections, its schedule of sends and its tally."""

    def __init__(
        self, config: LoadConfig, probes: list[Probe], loop, on_window: WindowHook | None = None
    ) -> None:
        self.config, self.probes, self.loop, self.on_window = config, probes, loop, on_window
        expected = config.duration_s * (config.rate or 20_000) * 1.1  # grows if need be
        capacity = min(config.max_requests or int(expected), 1_000_000)
        self.tally = Tally(capacity, closed=config.mode == "closed")
        self.known: dict[bytes, Probe] = {}  # a right answer's bytes -> the probe it answered
        self.known_limit = min(KNOWN_PER_PROBE * len(probes) + 64, MAX_KNOWN)
        self.connections: set[Connection] = set()
        self.idle: deque[Connection] = deque()
        self.tasks: set[asyncio.Task] = set()
        self.handles: list[asyncio.TimerHandle] = []
        self.timer: asyncio.Handle | None = None  # the open loop's wake-up for its next send
        self.watchdog: asyncio.TimerHandle | None = None
        self.next_probe = itertools.cycle(probes).__next__
        self.sent = self.in_flight = 0
        self.started = self.measuring = self.closing = self.window_over = False
        self.next_due_ns = 0
        self.start_ns = self.end_ns = FAR_FUTURE_NS  # the window [start, end) once measuring
        self.interval_ns = round(1e9 / config.rate) if config.rate and config.mode == "open" else 0
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
        if self.on_window:
            self.on_window("start")
        self.tally.measuring = True
        self.start_ns = time.perf_counter_ns()
        self.end_ns = self.start_ns + round(self.config.duration_s * 1e9)
        self.measuring = True
        self.handles.append(self.loop.call_later(self.config.duration_s, self.window_closed))

    def may_send(self, intended_ns: int) -> bool:
        if not self.started or intended_ns >= self.end_ns:
            return False
        limit = self.config.max_requests  # the open loop's measured sends; closed: answers
        return limit is None or not self.interval_ns or self.sent < limit

    def dispatch(self, now: int) -> None:
        """Give due requests to idle connections; in the open loop, wake up for the next one.

        A due request with no idle connection waits for the next answer; it is still timed
        from when it was due (the server's queue, which must count).
        """
        open_loop = self.interval_ns > 0
        while self.idle:
            intended = self.next_due_ns if open_loop else now
            if intended > now or not self.may_send(intended):
                break
            conn = self.idle.popleft()
            if conn.transport is not None and not conn.transport.is_closing():
                self.send_next(conn, intended)
                self.next_due_ns += self.interval_ns
            now = time.perf_counter_ns()
        if open_loop and self.timer is None and self.idle and self.may_send(self.next_due_ns):
            self.wake_for(self.next_due_ns, now)

    def wake_for(self, due_ns: int, now: int) -> None:
        """Sleep on a timer until SPIN_NS before `due_ns`, then come back every loop turn."""
        if due_ns - now > SPIN_NS:
            self.timer = self.loop.call_later((due_ns - now - SPIN_NS) / 1e9, self.tick)
        else:
            self.timer = self.loop.call_soon(self.tick)

    def send_next(self, conn: Connection, intended_ns: int) -> None:
        """Send the next probe, timed from `intended_ns`; measured ones get a record."""
        record = UNANSWERED
        sent_ns = time.perf_counter_ns()
        if not self.interval_ns:
            intended_ns = sent_ns  # closed loop: a request is due when it is sent
        elif intended_ns >= self.start_ns:  # the open loop's window
            record = self.tally.record(intended_ns, sent_ns)
            self.sent += 1
            self.in_flight += 1
        conn.send(self.next_probe(), intended_ns, sent_ns, record)

    def tick(self) -> None:
        self.timer = None
        self.dispatch(time.perf_counter_ns())

    def ready(self, conn: Connection) -> None:
        if self.closing:
            if conn.transport is not None:
                conn.transport.abort()
            return
        self.connections.add(conn)
        self.idle.append(conn)
        self.dispatch(time.perf_counter_ns())

    def answered(
        self, conn: Connection, probe: Probe, parsed: Head, head: bytes, body: bytes, now: int
    ) -> bool:
        """Check a framed answer, then carry on; whether it was the right one."""
        problem = None
        if parsed != probe.head or body != probe.body:
            problem = probe.mismatch(parsed, head, body)
            if problem:
                self.wrong_answer(probe, parsed, head, body, problem)
        self.completed(conn, now)
        return not problem

    def learn(self, answer: bytes, probe: Probe) -> None:
        """Remember the whole bytes of a right answer to `probe`: the same bytes again are right."""
        if len(answer) <= MAX_KNOWN_BYTES:
            if len(self.known) >= self.known_limit:
                self.known.clear()
            self.known[answer] = probe

    def completed(self, conn: Connection, now: int) -> None:
        """An answer to `conn`'s request is in (and checked): record it, send what is next."""
        conn.probe = None
        if not self.interval_ns:  # closed loop: recorded if it arrived in the window
            in_window = self.start_ns <= now < self.end_ns
            if in_window and self.tally.closed(conn.sent_ns, now) == self.config.max_requests:
                self.end_ns = now  # the window ends with this answer: nothing more is sent
                self.close_window(now)
            if now < self.end_ns:  # straight back to work, due when sent
                sent_ns = time.perf_counter_ns()
                conn.send(self.next_probe(), sent_ns, sent_ns, UNANSWERED)
            else:
                self.idle.append(conn)
            return
        if conn.record >= 0:  # open loop: due in the window, timed from when it was due
            self.in_flight -= 1
            self.tally.answer(conn.record, now)
            conn.record = UNANSWERED
        self.idle.append(conn)
        self.dispatch(now)
        if not self.in_flight:
            self.check_finished(now)

    def wrong_answer(self, probe: Probe, parsed: Head, head: bytes, body: bytes, problem: str):
        if probe.spec is None:
            self.tally.wrong_answer(probe, parsed, head, body)
            return
        # a request file's answer: counted as the contract's are, named by its own check
        status, counted = parsed[0], self.tally.measuring
        if 200 <= status < 300:
            self.tally.bad_body += counted
        else:
            self.tally.non_2xx += counted
        self.tally.fail(f"{probe.spec.name}: not the answer expected", problem)

    def failed(self, conn: Connection, reason: str, sample: str | None = None) -> None:
        self.tally.fail(reason, sample)
        if conn.probe is not None:
            conn.probe = None
            self.in_flight -= conn.measured
            conn.record = UNANSWERED  # its record stays unanswered
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
            return
        self.close_window(now)

    def close_window(self, now: int) -> None:
        self.window_ends()
        self.check_finished(now)

    def window_ends(self) -> None:
        if not self.window_over:
            self.window_over = True
            if self.on_window:
                self.on_window("end")

    def check_finished(self, now: int) -> None:
        """Closed loop: done when the window closes. Open: when every due request is answered."""
        if not self.measuring or self.finished.done():
            return
        if self.interval_ns:
            if self.in_flight or self.may_send(self.next_due_ns):
                return
            self.window_ends()  # sends ran out early (max_requests): the window ends here
        elif not self.window_over:
            return
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
        if not self.interval_ns or not self.measuring or self.next_due_ns >= self.end_ns:
            return 0
        due = -(-(self.end_ns - self.next_due_ns) // self.interval_ns)
        limit = self.config.max_requests
        return due if limit is None else max(0, min(due, limit - self.sent))

    def result(self) -> LoadResult:
        config, tally = self.config, self.tally
        if missed := self.missed():
            tally.failures["not sent: the server fell behind the offered rate"] += missed
        end = min(self.end_ns, time.perf_counter_ns())
        intended, sent, answered = tally.records()
        in_window = None
        if self.interval_ns and self.measuring:
            in_window = int(np.count_nonzero((answered >= self.start_ns) & (answered < end)))
        return LoadResult(
            mode=config.mode,
            connections=config.connections,
            warmup_s=config.warmup_s,
            duration_s=max(end - self.start_ns, 0) / 1e9 if self.measuring else 0.0,
            requests=tally.answers,
            errors=sum(tally.failures.values()),
            non_2xx=tally.non_2xx,
            bad_body=tally.bad_body,
            failures=dict(tally.failures),
            error_samples=list(tally.samples),
            intended_ns=intended,
            sent_ns=sent,
            answered_ns=answered,
            offered_rate=config.rate,
            answered_in_window=in_window,
            warmup_failures=dict(tally.warmup_failures),
        )


async def generate(
    config: LoadConfig, probes: list[Probe], on_window: WindowHook | None = None
) -> LoadResult:
    """Warm up, then measure, in the running event loop; every wait has a deadline."""
    config.validate()
    if not probes:
        raise KvbenchError("the workload has no requests")
    run = Run(config, probes, asyncio.get_running_loop(), on_window)
    # What exists now (the probes: up to 100,000 objects) lives for the whole run: frozen,
    # the collector no longer walks it, and its full collections stop costing milliseconds
    # in the middle of the window (a late send, counted in the latency). Unfrozen after the
    # run, any garbage among it is collected as usual.
    gc.freeze()
    try:
        await run.open()
        if config.warmup_s:
            await asyncio.sleep(config.warmup_s)
        run.start_measuring()
        await asyncio.wait([run.finished], timeout=config.duration_s + config.timeout_s + 1.0)
    finally:
        await run.close()
        gc.unfreeze()
    return run.result()


def run_load(
    config: LoadConfig, probes: list[Probe] | None = None, on_window: WindowHook | None = None
) -> LoadResult:
    """Run one load in a fresh event loop (uvloop where installed) and return its result."""
    config.validate()
    if probes is None:
        probes = key_workload(config.host, config.port)
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(generate(config, probes, on_window))
