"""One keep-alive client connection of the load generator, at most one request in flight.

The connection parses answers as they arrive and hands each to its run, which checks it and
decides what to send next; the run also hears of failures and of the connection's loss.
"""

import asyncio
import time
from typing import Protocol

from kvbench.load.http1 import Head, ProtocolError, ResponseParser
from kvbench.load.workload import Probe


class Owner(Protocol):
    """What a connection needs of its run (`engine.Run`): a loop, and four callbacks."""

    loop: asyncio.AbstractEventLoop
    known: dict[bytes, Probe]  # whole answers already found right, and the probe each answered

    def ready(self, conn: "Connection") -> None: ...

    def answered(
        self, conn: "Connection", probe: Probe, parsed: Head, head: bytes, body: bytes, now: int
    ) -> bool: ...

    def learn(self, answer: bytes, probe: Probe) -> None: ...

    def completed(self, conn: "Connection", now: int) -> None: ...

    def failed(self, conn: "Connection", reason: str, sample: str | None = None) -> None: ...

    def lost(self, conn: "Connection") -> None: ...


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, run: Owner) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.probe: Probe | None = None  # the request in flight
        self.intended_ns = 0  # its latency counts from here: when the schedule had it due
        self.sent_ns = 0  # its timeout counts from here
        self.record = -1  # its index in the tally's records; -1 when not measured
        self.read = b""  # the read being framed, when it began with a new answer
        self.closed = run.loop.create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.run.ready(self)

    @property
    def measured(self) -> bool:
        """Whether the request in flight is one of the open loop's measured ones."""
        return self.record >= 0

    def send(self, probe: Probe, intended_ns: int, sent_ns: int, record: int) -> None:
        self.probe, self.intended_ns, self.sent_ns = probe, intended_ns, sent_ns
        self.record = record
        assert self.transport is not None  # the run sends only on open connections
        self.transport.write(probe.raw)

    def data_received(self, data: bytes) -> None:
        # Most reads are one whole answer, byte for byte one already checked for the same
        # request: that comparison is the check, and there is nothing to frame.
        probe, parser = self.probe, self.parser
        idle = not parser.buffer and not parser.need
        if idle and probe is not None and self.run.known.get(data) is probe:
            self.run.completed(self, time.perf_counter_ns())
            return
        self.read = data if idle else b""
        try:
            self.parser.feed(data, self.answered)
        except ProtocolError as exc:
            self.fail(str(exc), repr(data[:300]))

    def answered(self, parsed: Head, head: bytes, body: bytes) -> None:
        now = time.perf_counter_ns()
        probe = self.probe
        if probe is None:
            raise ProtocolError(f"an unrequested {parsed[0]} response")
        read, self.read = self.read, b""
        right = self.run.answered(self, probe, parsed, head, body, now)
        if right and len(read) == len(head) + 4 + len(body):  # the read was this answer only
            self.run.learn(read, probe)

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
