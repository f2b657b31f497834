"""One soak, start to end: Redis and the service up, capacity, the load with its faults,
the read-back, the checks; everything started is stopped on the way out, Ctrl-C too."""

import asyncio
import gc
import json
import shutil
import tempfile
import time
from array import array
from asyncio import FIRST_COMPLETED
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kvbench import KvbenchError, redis_server
from kvbench.load.http1 import ResponseParser
from kvbench.measure import progress
from kvbench.soak import faults
from kvbench.soak.client import Client, Puts, Second
from kvbench.soak.faults import Snapshot
from kvbench.soak.series import sample
from kvbench.soak.stack import HOST, DurableRedis, Keeper, soak_service

READBACK_CONNECTIONS = 4  # fresh connections, each read of every written key
READBACK_TRIES = 5
READBACK_MOST = 32  # connections at most, while a worker has not answered
CAPACITY_WARMUP_S = 3.0
PROGRESS_S = 10.0


@dataclass
class Settings:
    duration: float = 600.0
    fraction: float = 0.8
    capacity_window: float = 10.0
    rounds: int = 0  # of every fault kind; 0: faults.rounds_for(duration)
    connections: int = 64


@dataclass
class Outcome:
    """What a run recorded; report.py writes it out."""

    settings: Settings
    capacity_rps: float
    rate: float
    rows: list[dict]
    minutes: list[tuple[int, float]]
    faults: list[faults.Fault]
    ticks: dict[int, list[int]]
    puts: Puts  # every PUT's outcome, in columns
    reads: dict[str, list[str | None]]
    restarts: list[tuple[float, float, int | None]]
    store: str
    elapsed_s: float
    generator_cpu_s: float  # the soak process's own CPU during the load: it shares the cores
    reasons: Counter  # the body of each wrong or 503 answer, counted
    last: dict  # the service's and Redis's last processes, and Redis's data directory
    snapshots: list[Snapshot]  # what each restarted Redis held, read at once
    generator_gc: dict  # the soak process's own GC collections during the load, timed


@contextmanager
def gc_timed() -> Iterator[dict]:
    """The collections of this process's cyclic GC while in the block, per generation, and
    how long the longest stopped it: the sender and the sampler stop with it (a full
    collection over millions of tracked objects stalled both for about a second)."""
    found: dict = {"collections": [0, 0, 0], "total_ms": 0.0, "max_ms": [0.0, 0.0, 0.0]}
    began = [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
            return
        ms, generation = (time.perf_counter() - began[0]) * 1000, info["generation"]
        found["collections"][generation] += 1
        found["total_ms"] += ms
        found["max_ms"][generation] = max(found["max_ms"][generation], ms)

    gc.callbacks.append(timed)
    try:
        yield found
    finally:
        gc.callbacks.remove(timed)
        found["total_ms"] = round(found["total_ms"], 1)
        found["max_ms"] = [round(ms, 1) for ms in found["max_ms"]]


@contextmanager
def frozen_gc() -> Iterator[None]:
    """What exists when the load starts (the modules, the preloaded answers, the
    connections) is moved out of the GC's sight until the block ends: a full collection
    then walks only what the load made (with ~84,000 objects of the soak's imports in
    sight, each took 17-32 ms at rest, 85 ms in a short soak; frozen, under 0.1 ms)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def estimate_s(settings: Settings) -> float:
    return 15 + CAPACITY_WARMUP_S + settings.capacity_window + settings.duration + 20


async def measure_capacity(client: Client, settings: Settings) -> float:
    await client.closed_loop_for(CAPACITY_WARMUP_S)
    answered = await client.closed_loop_for(settings.capacity_window)
    await client.drain()
    client.take_second()
    return answered / settings.capacity_window


async def read_back(
    port: int, keys: list[str], every_worker: Callable[[], Awaitable[bool]]
) -> dict[str, list[str | None]]:
    """Every key's value, read over at least READBACK_CONNECTIONS fresh connections (None:
    absent), and over more, up to READBACK_MOST, until every worker has answered: the kernel
    picks a worker per connection, so four alone miss one of two workers one time in eight."""
    reads: dict[str, list[str | None]] = {key: [] for key in keys}
    passes = 0
    while passes < READBACK_CONNECTIONS or (passes < READBACK_MOST and not await every_worker()):
        passes += 1
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for key in keys:
                reads[key].append(await _read(reader, writer, key))
        finally:
            writer.close()
            await writer.wait_closed()
    return reads


def gets_per_worker(before: dict | None, after: dict | None) -> list[int] | None:
    """GETs each worker answered between two /debug/vars: did the read-back reach both?"""
    if not before or not after:
        return None
    counts = [
        [w.get("counters", {}).get("gets", 0) for w in found["workers"]]
        for found in (before, after)
    ]
    return [b - a for a, b in zip(*counts, strict=True)]


async def _read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: str) -> str | None:
    """One key's value; a 503 (a pooled Redis connection that a restart closed answers one
    request so) is asked again, up to READBACK_TRIES times in all."""
    for tries_left in reversed(range(READBACK_TRIES)):
        writer.write(f"GET /get?key={key} HTTP/1.1\r\nhost: soak\r\n\r\n".encode())
        try:
            return await _value(reader)
        except StoreBusy:
            if not tries_left:
                raise
        await asyncio.sleep(0.1)
    raise AssertionError("unreachable")


class StoreBusy(KvbenchError):
    pass


async def _value(reader: asyncio.StreamReader) -> str | None:
    parser, answers = ResponseParser(), list[tuple[int, bytes]]()
    while not answers:
        data = await asyncio.wait_for(reader.read(65536), 5)
        if not data:
            raise KvbenchError("the service closed a read-back connection")
        parser.feed(data, lambda parsed, head, body: answers.append((parsed[0], body)))
    status, body = answers[0]
    if status == 404:
        return None
    if status == 503:
        raise StoreBusy(f"read-back: 503 {body[:80]!r}")
    if status != 200:
        raise KvbenchError(f"read-back: {status} {body[:80]!r}")
    return json.loads(body)["value"]


def say(text: str) -> None:
    if not progress.QUIET:
        print(text, flush=True)


class Soak:
    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings, self.folder = settings, folder
        self.rows: list[dict] = []
        self.minutes: list[tuple[int, float]] = []
        self.minute = array("d")

    async def run(self) -> Outcome:
        datadir = Path(tempfile.mkdtemp(prefix="kvbench-soak-redis-"))
        redis = DurableRedis(datadir)
        keeper: Keeper | None = None
        started = time.monotonic()
        try:
            await redis.start()
            await asyncio.to_thread(redis_server.preload, redis.url)
            keeper = Keeper(soak_service(redis.url), self.folder / "service.log")
            await keeper.start()
            return await self.load(keeper, redis, started)
        finally:
            if keeper is not None:
                keeper.stop()
            redis.stop()
            shutil.rmtree(datadir, ignore_errors=True)

    async def load(self, keeper: Keeper, redis: DurableRedis, started: float) -> Outcome:
        settings = self.settings
        client = Client(HOST, keeper.port, settings.connections)
        watcher = asyncio.create_task(keeper.watch())
        try:
            await client.connect_all()
            capacity = await measure_capacity(client, settings)
            rate = capacity * settings.fraction
            say(f"capacity {capacity:,.0f} requests/s (closed loop, {settings.capacity_window:g} s)"
                f"; open loop at {rate:,.0f}/s for {settings.duration:g} s")  # fmt: skip
            cpu = time.process_time()
            with frozen_gc(), gc_timed() as generator_gc:
                injector = await self.open_loop(client, keeper, redis, rate, watcher)
            cpu = time.process_time() - cpu
            await client.drain()
            keys = client.puts.keys()
            before = await asyncio.to_thread(keeper.debug_vars)

            async def every_worker() -> bool:
                now = gets_per_worker(before, await asyncio.to_thread(keeper.debug_vars))
                return now is None or all(now)

            reads = await read_back(keeper.port, keys, every_worker)
            after = await asyncio.to_thread(keeper.debug_vars)
            last: dict = {"readback_gets_per_worker": gets_per_worker(before, after)}
            last |= {"service_pids": [p.pid for p in keeper.processes()], "redis_pid": redis.pid}
        finally:
            client.close()
            watcher.cancel()
        restarts = [(a - injector.start, b - injector.start, c) for a, b, c in keeper.restarts]
        return Outcome(
            settings, capacity, rate, self.rows, self.minutes, injector.log,
            client.ticks, client.puts, reads, restarts, redis.url, time.monotonic() - started, cpu,
            client.reasons, last | {"redis_datadir": str(redis.datadir)}, injector.snapshots,
            generator_gc,
        )  # fmt: skip

    async def open_loop(
        self, client: Client, keeper, redis, rate: float, watcher: asyncio.Task
    ) -> faults.Injector:
        settings = self.settings
        client.start = time.monotonic()
        client.ticks.clear()
        injector = faults.Injector(keeper, redis, client.start)
        rounds = settings.rounds or faults.rounds_for(settings.duration)
        warmup = min(60.0, settings.duration * 0.15)
        plan = faults.schedule(
            settings.duration, rounds, warmup, tail=faults.calm_tail(settings.duration, warmup)
        )
        tasks = [
            asyncio.create_task(client.open_loop(rate, settings.duration)),
            asyncio.create_task(self.conduct(injector, plan)),
            asyncio.create_task(self.record(client, keeper, redis, injector)),
        ]
        main: asyncio.Future = asyncio.gather(*tasks[:2])
        main.add_done_callback(lambda f: f.cancelled() or f.exception())  # read on Ctrl-C too
        guarded: list[asyncio.Future] = [main, tasks[2], watcher]
        try:
            # Whichever ends first: the load and its faults, or a failure of the sampler or
            # of the process manager (a service that no longer starts), which ends the run.
            await asyncio.wait(guarded, return_when=FIRST_COMPLETED)
            if not main.done():
                for task in (tasks[2], watcher):
                    if task.done():
                        task.result()
            await main
        finally:
            for task in tasks:
                task.cancel()
        self.close_minute(int(injector.now() // 60))
        return injector

    async def conduct(self, injector: faults.Injector, plan: list[tuple[float, str]]) -> None:
        for at, kind in plan:
            await asyncio.sleep(max(0.0, at - injector.now()))
            say(f"{injector.now():7.1f} s  fault: {kind}")
            fault = await injector.inject(kind)
            say(f"{injector.now():7.1f} s  fault over: {kind} {fault.detail}")

    async def record(self, client: Client, keeper, redis, injector: faults.Injector) -> None:
        second = 1
        while True:
            await asyncio.sleep(max(0.0, second - injector.now()))
            taken = client.take_second()
            self.keep_latency(second - 1, taken)
            self.rows.append(await sample(second, taken, keeper, redis, injector.now))
            if second % PROGRESS_S == 0:
                self.progress(second)
            second += 1

    def keep_latency(self, t: int, second: Second) -> None:
        if t and t % 60 == 0:
            self.close_minute(t // 60 - 1)
        self.minute.extend(second.latency)

    def close_minute(self, minute: int) -> None:
        if len(self.minute):
            p99 = float(np.percentile(np.frombuffer(self.minute, dtype=np.float64), 99)) * 1000
            self.minutes.append((minute, round(p99, 3)))
        self.minute = array("d")

    def progress(self, second: int) -> None:
        recent = self.rows[-int(PROGRESS_S) :]
        ok = sum(r["ok"] for r in recent)
        errors = sum(r["errors"] for r in recent)
        p99 = max((r["p99_ms"] or 0.0) for r in recent)
        rss = recent[-1].get("service_rss_mb")
        say(f"{second:5d}/{self.settings.duration:g} s  {ok / PROGRESS_S:,.0f} ok/s, "
            f"{errors} errors, p99 {p99:.1f} ms (worst second), service RSS {rss} MB")  # fmt: skip
