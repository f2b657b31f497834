"""The optimized service's shared store on Redis: the value IS the encoded GET answer body.

A GET is one round trip that returns the body bytes as stored, no encoding; concurrent
GETs of one event-loop turn share one MGET (`GetBatcher`). A PUT is one SET of the body
encoded at PUT time, acknowledged before the 204. Every call is bounded: no hidden
retries, short socket timeouts, a short wait for a pooled connection and one overall
deadline; any failure is a StoreUnavailable (503, one line of reason), never a hang.
"""

import asyncio
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.maint_notifications import MaintNotificationsConfig

from kvbench.runtime.contract import STORE_FULL, STORE_UNAVAILABLE, ContractError, preload_items
from optimized.store import encode

KEY_PREFIX = b"kvbench:"  # a namespace: a shared Redis may hold other keys too
KEY_COUNT = b"kvbench-meta:keys"  # how many keys the namespace holds (outside it: any key
# string is a valid contract key, "#keys" too)


# region bounded-put
# A PUT within the bound, in one atomic step: an update always fits, a new key only while
# the namespace holds fewer than the bound. Returns 1 when stored, 0 when full.
BOUNDED_PUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('SET', KEYS[1], ARGV[1])
    return 1
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return 1
"""
# endregion bounded-put

# region timeouts
# redis-py's defaults wait for a Redis that is down or hung: 5 s socket timeouts, up to 10
# retries with backoff, 20 s for a pooled connection. A request here waits at most:
CONNECT_TIMEOUT_S = 0.25  # a new connection (TCP and the handshake)
READ_TIMEOUT_S = 0.5  # one answer: a hung (SIGSTOPped) Redis trips this
POOL_TIMEOUT_S = 0.25  # a free pooled connection
DEADLINE_S = 1.0  # the whole call, whatever happens inside redis-py
POOL_SIZE = 64  # per worker: one per request in flight at the benchmark's 64 connections
MAX_BATCH = 256  # GETs in one MGET
# endregion timeouts


class StoreUnavailable(ContractError):
    """Redis refused, timed out or is unreachable: a 503 with the reason, counted as an error."""

    def __init__(self, exc: BaseException) -> None:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        if isinstance(exc, TimeoutError) and not reason:
            reason = f"no answer within {DEADLINE_S:g} s"
        super().__init__(503, f"{STORE_UNAVAILABLE}: {reason or type(exc).__name__}")


FAILURES = (RedisError, OSError, TimeoutError)


# region client
def client(url: str, pool_size: int = POOL_SIZE) -> aioredis.Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=POOL_TIMEOUT_S,  # then ConnectionError, not a wait of 20 s
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=READ_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),  # a retry would double the wait of a 503
        # Off, so the pool checks a connection as it hands it out (a socket read ahead of
        # any request, or at EOF, is reconnected first): redis-py skips that check while
        # maintenance notifications are on ("auto", the default), and after a Redis
        # restart every pooled connection the old Redis closed would fail one request.
        # Not a retry: the check runs before a command is sent, within the deadline.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    # from_pool: the client owns the pool, so aclose() closes its connections too
    # (Redis(connection_pool=pool) leaves them open: a ResourceWarning at exit).
    return aioredis.Redis.from_pool(pool)


# endregion client


# region batcher
class GetBatcher:
    """Concurrent GETs of one event-loop turn share one MGET: one round trip, one parse.

    Read-your-writes holds as with single GETs: an MGET is sent after every GET in it
    arrived, and a PUT answered 204 before a GET arrived was on Redis before the MGET.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.keys: list[bytes] = []
        self.waiters: list[asyncio.Future] = []
        self.batches = self.gets = 0  # how well it batches, for /debug/vars

    def get(self, key: bytes) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        if not self.keys:
            loop.call_soon(self.flush, loop)  # after the other requests of this turn
        waiter = loop.create_future()
        self.keys.append(key)
        self.waiters.append(waiter)
        return waiter

    def flush(self, loop: asyncio.AbstractEventLoop) -> None:
        while self.keys:
            keys, waiters = self.keys[:MAX_BATCH], self.waiters[:MAX_BATCH]
            del self.keys[:MAX_BATCH], self.waiters[:MAX_BATCH]
            self.batches += 1
            self.gets += len(keys)
            loop.create_task(self.mget(keys, waiters))

    async def mget(self, keys: list[bytes], waiters: list[asyncio.Future]) -> None:
        try:
            async with asyncio.timeout(DEADLINE_S):
                values = await self.redis.execute_command("MGET", *keys)
        except FAILURES as exc:
            error = StoreUnavailable(exc)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for waiter, value in zip(waiters, values, strict=True):
            if not waiter.done():  # a request whose client hung up was cancelled
                waiter.set_result(value)


# endregion batcher


class RedisStore:
    """Answers by key on Redis; `batch` puts the GETs of one event-loop turn in one MGET.

    With `max_keys` a PUT of a new key past that many keys is refused (507), as the memory
    store's check_room does; None leaves the store unbounded (Redis's maxmemory still is).
    """

    def __init__(self, url: str, batch: bool = True, max_keys: int | None = None) -> None:
        self.url = url
        self.redis = client(url)
        self.batcher = GetBatcher(self.redis) if batch else None
        self.max_keys = max_keys
        self.bounded_put = self.redis.register_script(BOUNDED_PUT)

    async def get(self, key: str) -> bytes | None:
        """The stored answer body, or None for a key never PUT; StoreUnavailable on failure."""
        name = KEY_PREFIX + key.encode()
        try:
            if self.batcher is not None:
                return await self.batcher.get(name)
            async with asyncio.timeout(DEADLINE_S):
                return await self.redis.execute_command("GET", name)
        except FAILURES as exc:
            raise StoreUnavailable(exc) from None

    async def put(self, key: str, value: str) -> None:
        """Store the encoded answer; returns once Redis acknowledged it: a 204 means stored."""
        name, body = KEY_PREFIX + key.encode(), encode(key, value)[1]
        try:
            async with asyncio.timeout(DEADLINE_S):
                if self.max_keys is None:
                    stored = await self.redis.execute_command("SET", name, body)
                else:
                    stored = await self.bounded_put([name, KEY_COUNT], [body, self.max_keys])
        except FAILURES as exc:
            raise StoreUnavailable(exc) from None
        if not stored:
            raise ContractError(507, STORE_FULL)

    async def preload(self) -> None:
        """The contract's keys, SET NX: fills an empty Redis, never overwrites a PUT."""
        try:
            async with asyncio.timeout(10 * DEADLINE_S):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key, value in preload_items():
                        pipe.set(KEY_PREFIX + key.encode(), encode(key, value)[1], nx=True)
                    added = sum(map(bool, await pipe.execute()))
                await self.redis.incrby(KEY_COUNT, added)  # each key counted by who set it
        except FAILURES as exc:
            raise StoreUnavailable(exc) from None

    def stats(self) -> dict:
        where = urlsplit(self.url)  # no password in /debug/vars
        found: dict = {"backend": "redis", "at": f"{where.hostname}:{where.port}{where.path}"}
        if self.batcher is not None:
            found |= {"mget_batches": self.batcher.batches, "mget_gets": self.batcher.gets}
        return found

    async def close(self) -> None:
        await self.redis.aclose()
