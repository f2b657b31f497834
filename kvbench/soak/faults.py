"""The faults a soak injects during its load, on a schedule, each logged with its window.

A fault's window runs from its first action to the moment it is over: the worker's
service answers again, Redis answers again, the slow clients are gone. Errors are allowed
inside a window plus RECOVERY_S; anywhere else an error fails the run.
"""

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

from kvbench import redis_server
from kvbench.soak.client import PUT_KEYS, put_key
from kvbench.soak.stack import HOST, DurableRedis, Keeper

KINDS = ("kill_worker", "kill_redis", "slow_clients", "pause_redis")
RECOVERY_S = 5.0  # after a fault's window, errors are still its own for this long
REDIS_DOWN_S = 1.0  # how long a killed Redis stays down before it is started again
PAUSE_S = 3.0  # Redis stopped (SIGSTOP) for three times the store's 1 s deadline
SLOW_CLIENTS = 100
SLOW_BYTE_S = 0.1  # one byte of the request every 0.1 s: a whole request takes ~5 s
SLOW_REQUEST = b"GET /get?key=key-0042 HTTP/1.1\r\nhost: slow\r\n\r\n"


@dataclass
class Fault:
    kind: str
    start: float  # seconds since the load started
    end: float = float("nan")
    detail: dict = field(default_factory=dict)

    def covers(self, t: float, allowance: float = RECOVERY_S) -> bool:
        return self.start <= t <= self.end + allowance

    def meets(self, start: float, end: float, allowance: float = RECOVERY_S) -> bool:
        """Whether [start, end] overlaps the window with its allowance."""
        return self.start <= end and start <= self.end + allowance


@dataclass
class Snapshot:
    """Every PUT key's value as a restarted Redis held it, read in one MGET sent at `start`
    and answered by `end` (monotonic seconds, as a PUT's sent and done), as the service began
    writing to it again; or, with `error`, why it could not be read."""

    at_s: float  # seconds since the load started
    start: float
    end: float
    reads: dict[str, list[str | None]]
    after_ping_s: float | None = None  # from the restarted Redis's PONG to the MGET's send
    error: str | None = None


def schedule(seconds: float, rounds: int, warmup: float, tail: float) -> list[tuple[float, str]]:
    """`rounds` of every kind, evenly spread over [warmup, seconds - tail]: (at, kind)."""
    count = rounds * len(KINDS)
    step = max(seconds - tail - warmup, 0.0) / count
    return [(warmup + step * (i + 0.5), KINDS[i % len(KINDS)]) for i in range(count)]


CALM_SHARE = 0.5  # a long run's last half has no fault: its growth is fitted there
LONG_S = 600.0  # from this long a run keeps its calm half


def calm_tail(seconds: float, warmup: float) -> float:
    """How long the run ends without a fault: half of a long run, so the processes live
    long enough after the last fault for a slope to mean growth (in the first 30-minute run
    a fault every 2.5 minutes restarted the service so often that warm-up and growth could
    not be told apart); else as long as the warm-up, at most 30 s."""
    return seconds * CALM_SHARE if seconds >= LONG_S else min(30.0, warmup)


def rounds_for(seconds: float) -> int:
    """One round in a short run; one per ten minutes in a long one (three in 30 minutes)."""
    return max(1, round(seconds / 600))


class Injector:
    """Runs faults against the soak's service and Redis, and keeps their log."""

    def __init__(self, keeper: Keeper, redis: DurableRedis, start: float) -> None:
        self.keeper, self.redis, self.start = keeper, redis, start
        self.log: list[Fault] = []
        self.snapshots: list[Snapshot] = []  # one per kill_redis: what the restart kept
        self.kills = 0

    def now(self) -> float:
        return time.monotonic() - self.start

    async def inject(self, kind: str) -> Fault:
        fault = Fault(kind, self.now())
        self.log.append(fault)
        actions: dict[str, Callable[[Fault], Awaitable[None]]] = {
            "kill_worker": self.kill_worker,
            "kill_redis": self.kill_redis,
            "slow_clients": self.slow_clients,
            "pause_redis": self.pause_redis,
        }
        await actions[kind](fault)
        fault.end = self.now()
        return fault

    async def kill_worker(self, fault: Fault) -> None:
        processes = self.keeper.processes()[1:]
        while not processes:  # the service is being restarted: wait until it answers
            await asyncio.wait_for(self.keeper.back.wait(), 60)
            processes = self.keeper.processes()[1:]
        worker = processes[self.kills % len(processes)]
        self.kills += 1
        self.keeper.back.clear()
        os.kill(worker.pid, signal.SIGKILL)
        fault.detail["pid"] = worker.pid
        await asyncio.wait_for(self.keeper.back.wait(), 60)
        exited, answering, code = self.keeper.restarts[-1]
        fault.detail["service_down_s"] = round(answering - exited, 3)
        fault.detail["service_exit_code"] = code

    async def kill_redis(self, fault: Fault) -> None:
        fault.detail["pid"] = self.redis.pid
        self.redis.kill()
        await asyncio.sleep(REDIS_DOWN_S)
        started = time.monotonic()
        await self.redis.start()
        fault.detail["redis_down_s"] = REDIS_DOWN_S
        fault.detail["redis_load_s"] = round(time.monotonic() - started, 3)
        # At once, from Redis itself: later PUTs overwrite most keys within seconds, so the
        # read-back at the end cannot see a write this kill lost.
        # The service writes to the restarted Redis from its first PONG on, so how long the
        # MGET came after it is recorded: writes in between may hide a lost one.
        keys = [put_key(i) for i in range(PUT_KEYS)]
        start = time.monotonic()
        # Unreachable, or a value that does not decode: the check fails on it, and says so.
        unread = (OSError, ValueError, KeyError, TypeError, redis_server.redis_py().RedisError)
        try:
            sent, values = await asyncio.to_thread(self.redis.values, keys)
        except unread as exc:
            error = fault.detail["snapshot_error"] = f"{type(exc).__name__}: {exc}"[:200]
            at = start - self.start
            self.snapshots.append(Snapshot(at, start, time.monotonic(), {}, error=error))
            return
        reads = {key: [value] for key, value in values.items()}
        after = sent - self.redis.answered_ping
        fault.detail["mget_after_ping_ms"] = round(after * 1000, 1)
        self.snapshots.append(Snapshot(sent - self.start, sent, time.monotonic(), reads, after))

    async def pause_redis(self, fault: Fault) -> None:
        pid = self.redis.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(PAUSE_S)
        finally:
            os.kill(pid, signal.SIGCONT)
        fault.detail["paused_s"] = PAUSE_S

    async def slow_clients(self, fault: Fault) -> None:
        answers = await asyncio.gather(*(self.slow_client() for _ in range(SLOW_CLIENTS)))
        fault.detail["clients"] = SLOW_CLIENTS
        fault.detail["answered"] = sum(1 for a in answers if a.startswith(b"HTTP/1.1 200"))

    async def slow_client(self) -> bytes:
        """One client that sends a GET byte by byte, then reads its answer; b"" if none."""
        with suppress(OSError, TimeoutError):
            reader, writer = await asyncio.open_connection(HOST, self.keeper.port)
            try:
                for byte in SLOW_REQUEST:
                    writer.write(bytes([byte]))
                    await asyncio.sleep(SLOW_BYTE_S)
                return await asyncio.wait_for(reader.read(4096), 10)
            finally:
                writer.close()
        return b""
