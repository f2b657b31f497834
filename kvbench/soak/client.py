"""The soak's own load: a pool of keep-alive connections, every answer checked, errors kept.

kvbench/load's engine fails a run on its first error; a soak must go on through its
faults and count what they cost. So this client counts each failed request by kind,
reconnects, and goes on. Open loop: request i is due at start + i / rate, and its latency
counts from then (a request waiting for a free connection is late, and that shows).
Closed loop (the capacity window): each connection sends its next request on an answer.

GETs read the preloaded keys and must get the contract's exact body; PUTs write keys of
their own (`soak-NNNN`) with unique values and must get 204. Each PUT's outcome is kept:
acknowledged (204), or unknown (any other ending: Redis may or may not have applied it).
The outcomes are kept in columns (`Puts`), not as an object each: the cyclic GC's full
collections walk every tracked object, and 2.4 million of them (a 30-minute soak) made each
one stall this process for about a second, its sender and its sampler with it.
"""

import asyncio
import random
import re
import time
from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from kvbench.load.http1 import Head, ProtocolError, ResponseParser
from kvbench.runtime.contract import PRELOAD_VALUE, STORE_UNAVAILABLE, answer_body

PRELOADED = 1_000  # key-0000 ... key-0999
PUT_KEYS = 2_000  # soak-0000 ... soak-1999: more than the preload, under the store's bound
PUT_SHARE = 0.1
CONNECTIONS = 64
TIMEOUT_S = 5.0  # waiting to be sent, or waiting for the answer: then an error (timeout)
RECONNECT_S = 0.05
EXPIRE_EVERY_S = 0.05  # how often requests are checked against TIMEOUT_S
TICK_S = 0.1  # the resolution of the ok/error timeline the recovery times are read from
KINDS = (
    "store_unavailable", "stale_connection", "connect_refused", "connection_lost", "timeout",
    "wrong_answer",
)  # fmt: skip
# A 503 from a pooled Redis connection that a Redis restart closed: the store finds out only
# when it next uses that connection, which may be long after Redis is back.
# A pooled Redis connection that a restart closed fails when next used, as one of these
# (redis-py's words for a read, or a write, on a socket the old Redis closed).
STALE = re.compile(rb"closed by server|Broken pipe|reset by peer|Connection lost")
GET_BODY = {f"key-{i:04d}": answer_body(f"key-{i:04d}", PRELOAD_VALUE) for i in range(PRELOADED)}


@dataclass
class Request:
    key: str
    value: str | None  # None for a GET
    intended: float  # monotonic seconds
    raw: bytes = b""
    sent: float = 0.0


class PutColumns(NamedTuple):
    """PUT outcomes as numpy columns, one entry per PUT (monotonic seconds for the times)."""

    key: np.ndarray  # the index of the key: soak-0042 is 42
    sequence: np.ndarray  # the value written: v123 is 123
    sent: np.ndarray
    done: np.ndarray  # when the outcome was known
    acknowledged: np.ndarray  # bool: a 204; else unknown

    def where(self, mask: np.ndarray) -> "PutColumns":
        return PutColumns(*(column[mask] for column in self))

    def by_key(self) -> list[tuple[str, "PutColumns"]]:
        """Each key written (sorted by name) with its PUTs, in the order they were kept."""
        order = np.argsort(self.key, kind="stable")
        ordered = PutColumns(*(column[order] for column in self))
        keys, starts = np.unique(ordered.key, return_index=True)
        ends = [*starts[1:], len(order)] if len(order) else []
        return [
            (put_key(int(k)), PutColumns(*(c[a:b] for c in ordered)))
            for k, a, b in zip(keys, starts, ends, strict=True)
        ]


class Puts:
    """Every PUT's outcome, in compact columns: no object per PUT for the GC to walk."""

    def __init__(self) -> None:
        self.key, self.sequence = array("H"), array("Q")
        self.sent, self.done, self.acknowledged = array("d"), array("d"), array("B")

    def add(self, key: str, value: str, sent: float, done: float, acknowledged: bool) -> None:
        """One PUT of `key` (soak-NNNN) with `value` (vN), sent and known done at these
        monotonic seconds; acknowledged (204) or unknown."""
        self.key.append(int(key.removeprefix("soak-")))
        self.sequence.append(int(value.removeprefix("v")))
        self.sent.append(sent)
        self.done.append(done)
        self.acknowledged.append(acknowledged)

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> PutColumns:
        """The columns as numpy arrays (views of the kept ones, not copies)."""
        return PutColumns(
            np.frombuffer(self.key, dtype=np.uint16), np.frombuffer(self.sequence, dtype=np.uint64),
            np.frombuffer(self.sent, dtype=np.float64), np.frombuffer(self.done, dtype=np.float64),
            np.frombuffer(self.acknowledged, dtype=np.uint8).astype(bool),
        )  # fmt: skip

    def keys(self) -> list[str]:
        """The keys written, sorted."""
        return [put_key(int(k)) for k in np.unique(self.columns().key)]

    def acknowledged_before(self, before: float = float("inf")) -> int:
        """How many PUTs were acknowledged before `before` (the default: in all)."""
        found = self.columns()
        return int((found.acknowledged & (found.done < before)).sum())


@dataclass
class Second:
    """What one second of the run answered: counts, latencies and the generator's lateness."""

    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    latency: array = field(default_factory=lambda: array("d"))
    lateness: array = field(default_factory=lambda: array("d"))


def put_key(index: int) -> str:
    return f"soak-{index:04d}"


def put_value(sequence: int) -> str:
    return f"v{sequence}"


def raw_request(key: str, value: str | None) -> bytes:
    if value is None:
        return f"GET /get?key={key} HTTP/1.1\r\nhost: soak\r\n\r\n".encode()
    body = value.encode()
    head = f"PUT /put?key={key} HTTP/1.1\r\nhost: soak\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def classify(request: Request, status: int, body: bytes) -> str | None:
    """None for a right answer, else the kind of error."""
    if request.value is None and status == 200 and body == GET_BODY.get(request.key):
        return None
    if request.value is not None and status == 204:
        return None
    if status == 503 and body.startswith(STORE_UNAVAILABLE.encode()):
        return "store_unavailable"
    return "wrong_answer"


class Conn(asyncio.Protocol):
    def __init__(self, client: "Client") -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.request: Request | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, request: Request) -> None:
        assert self.transport is not None
        self.request, request.sent = request, time.monotonic()
        self.transport.write(request.raw)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data, self.answered)
        except ProtocolError:
            self.drop("wrong_answer")

    def answered(self, parsed: Head, head: bytes, body: bytes) -> None:
        request, self.request = self.request, None
        if request is not None:
            kind = classify(request, parsed[0], body)
            if kind == "store_unavailable" and STALE.search(body):
                kind = "stale_connection"
            if kind is not None:
                self.client.reasons[body[:120].decode(errors="replace")] += 1
            self.client.finish(request, kind)
        self.client.idle(self)

    def drop(self, kind: str) -> None:
        """End the request in flight as an error, and the connection with it."""
        request, self.request = self.request, None
        if request is not None:
            self.client.finish(request, kind)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.drop("connection_lost")
        self.client.lost(self)


class Client:
    """The load of one run; `seconds` and `puts` are what the soak reads from it."""

    def __init__(self, host: str, port: int, connections: int = CONNECTIONS, seed: int = 1):
        self.host, self.port, self.connections = host, port, connections
        self.rng = random.Random(seed)
        self.sequence = 0
        self.free: deque[Conn] = deque()
        self.waiting: deque[Request] = deque()
        self.busy: set[Conn] = set()
        self.live = 0
        self.closed_loop = False
        self.running = True
        self.second = Second()
        self.answered = 0  # right answers over the whole run
        self.puts = Puts()
        self.reasons: Counter = Counter()  # the body of each wrong or 503 answer, counted
        self.ticks: dict[int, list[int]] = {}  # tick -> [ok, errors]
        self.start = time.monotonic()

    def next_request(self, intended: float) -> Request:
        self.sequence += 1
        if self.rng.random() < PUT_SHARE:
            key, value = put_key(self.rng.randrange(PUT_KEYS)), put_value(self.sequence)
        else:
            key, value = f"key-{self.rng.randrange(PRELOADED):04d}", None
        return Request(key, value, intended, raw_request(key, value))

    async def connect_all(self) -> None:
        await asyncio.gather(*(self.connect() for _ in range(self.connections)))

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        while self.running:
            try:
                _, conn = await loop.create_connection(lambda: Conn(self), self.host, self.port)
            except OSError:
                # The service is down: requests waiting for a connection fail as a client
                # whose connect is refused would see them fail.
                while self.waiting:
                    self.finish(self.waiting.popleft(), "connect_refused")
                await asyncio.sleep(RECONNECT_S)
                continue
            self.live += 1
            self.idle(conn)
            return

    def submit(self, request: Request) -> None:
        if self.free:
            self.dispatch(self.free.popleft(), request)
        else:
            self.waiting.append(request)

    def dispatch(self, conn: Conn, request: Request) -> None:
        self.busy.add(conn)
        conn.send(request)
        self.second.lateness.append(request.sent - request.intended)

    def idle(self, conn: Conn) -> None:
        self.busy.discard(conn)
        if self.closed_loop and self.running:
            self.dispatch(conn, self.next_request(time.monotonic()))
        elif self.waiting:
            self.dispatch(conn, self.waiting.popleft())
        else:
            self.free.append(conn)

    def lost(self, conn: Conn) -> None:
        self.busy.discard(conn)
        if conn in self.free:
            self.free.remove(conn)
        self.live -= 1
        if self.running:
            asyncio.get_running_loop().create_task(self.connect())

    def finish(self, request: Request, error: str | None) -> None:
        now = time.monotonic()
        tick = self.ticks.setdefault(int((now - self.start) / TICK_S), [0, 0, 0])
        if error is None:
            self.second.ok += 1
            self.answered += 1
            self.second.latency.append(now - request.intended)
            tick[0] += 1
        else:
            self.second.errors[error] += 1
            tick[1 if error != "stale_connection" else 2] += 1
        if request.value is not None:
            self.puts.add(request.key, request.value, request.sent, now, error is None)

    def take_second(self) -> Second:
        second, self.second = self.second, Second()
        return second

    def expire(self) -> None:
        """Timeouts: a request still waiting TIMEOUT_S after it was due is never sent; one
        in flight gets TIMEOUT_S from its send (dropping a connection whose request is on
        its way to an answer would waste the server's work, and an overload would feed
        on itself)."""
        limit = time.monotonic() - TIMEOUT_S
        while self.waiting and self.waiting[0].intended < limit:
            self.finish(self.waiting.popleft(), "timeout")
        for conn in [c for c in self.busy if c.request and c.request.sent < limit]:
            conn.drop("timeout")

    async def open_loop(self, rate: float, seconds: float) -> None:
        """Send at `rate` per second for `seconds`, each request at its due time."""
        start, sent, expired = time.monotonic(), 0, 0.0
        while (now := time.monotonic()) < start + seconds:
            due = int((now - start) * rate)
            while sent < due:
                self.submit(self.next_request(start + sent / rate))
                sent += 1
            if now - expired > EXPIRE_EVERY_S:
                self.expire()
                expired = now
            await asyncio.sleep(0.001)

    async def closed_loop_for(self, seconds: float) -> int:
        """Each connection sends again on each answer for `seconds`; the answers counted."""
        self.closed_loop, before = True, self.answered
        for conn in list(self.free):
            self.free.remove(conn)
            self.idle(conn)
        await asyncio.sleep(seconds)
        self.closed_loop = False
        return self.answered - before

    async def drain(self, timeout: float = TIMEOUT_S + 1) -> None:
        """Until nothing is waiting or in flight (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while (self.waiting or self.busy) and time.monotonic() < deadline:
            self.expire()
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.running = False
        for conn in [*self.free, *self.busy]:
            if conn.transport is not None:
                conn.transport.abort()
