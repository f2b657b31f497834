"""optimized/redis_store.py without a Redis: batching, and bounded failures that become 503s."""

import asyncio
import socket
import time

import pytest

from kvbench.runtime.contract import STORE_UNAVAILABLE, ContractError
from optimized.redis_store import (
    DEADLINE_S,
    KEY_PREFIX,
    GetBatcher,
    RedisStore,
    StoreUnavailable,
    client,
)


class FakeRedis:
    """Answers MGET from a dict, or fails every command with `error`."""

    def __init__(self, data: dict[bytes, bytes], error: Exception | None = None) -> None:
        self.data, self.error, self.commands = data, error, []

    async def execute_command(self, *words):
        self.commands.append(words)
        await asyncio.sleep(0)
        if self.error:
            raise self.error
        assert words[0] == "MGET"
        return [self.data.get(key) for key in words[1:]]


def test_the_gets_of_one_event_loop_turn_share_one_mget():
    redis = FakeRedis({b"a": b"1", b"b": b"2"})
    batcher = GetBatcher(redis)

    async def main():
        return await asyncio.gather(*(batcher.get(key) for key in (b"a", b"b", b"nope")))

    assert asyncio.run(main()) == [b"1", b"2", None]
    assert redis.commands == [("MGET", b"a", b"b", b"nope")]
    assert (batcher.batches, batcher.gets) == (1, 3)


def test_a_get_after_a_batch_went_out_goes_in_the_next_one():
    redis = FakeRedis({b"a": b"1"})
    batcher = GetBatcher(redis)

    async def main():
        first = await batcher.get(b"a")
        second = await batcher.get(b"a")
        return first, second

    assert asyncio.run(main()) == (b"1", b"1")
    assert len(redis.commands) == 2


def test_a_failed_mget_fails_every_get_in_it_as_a_503():
    batcher = GetBatcher(FakeRedis({}, error=ConnectionError("Connection refused.")))

    async def main():
        return await asyncio.gather(batcher.get(b"a"), batcher.get(b"b"), return_exceptions=True)

    errors = asyncio.run(main())
    assert all(isinstance(e, StoreUnavailable) for e in errors)
    assert errors[0].status == 503
    assert errors[0].message == f"{STORE_UNAVAILABLE}: Connection refused."


def test_the_pool_checks_a_connection_as_it_hands_it_out():
    # redis-py skips the check (a closed or dirty socket is reconnected before use) while
    # maintenance notifications are on; tests/services/test_shared_store.py restarts Redis.
    pool = client("redis://127.0.0.1:1/0").connection_pool
    assert not pool.maint_notifications_enabled()


def test_store_unavailable_is_a_contract_error_with_one_line_of_reason():
    assert isinstance(StoreUnavailable(OSError("a\nb")), ContractError)
    assert StoreUnavailable(OSError("a\nb")).message == f"{STORE_UNAVAILABLE}: a"
    assert StoreUnavailable(TimeoutError()).message == (
        f"{STORE_UNAVAILABLE}: no answer within {DEADLINE_S:g} s"
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("batch", [True, False], ids=["mget", "get"])
def test_a_redis_that_is_down_is_a_503_at_once(batch):
    async def main():
        store = RedisStore(f"redis://127.0.0.1:{closed_port()}/0", batch=batch)
        try:
            for call in (store.get("k"), store.put("k", "v")):
                with pytest.raises(StoreUnavailable, match="Connection refused|Error 111"):
                    await call
        finally:
            await store.close()

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < DEADLINE_S


@pytest.mark.timing
@pytest.mark.parametrize("batch", [True, False], ids=["mget", "get"])
def test_a_redis_that_never_answers_is_a_503_within_the_deadline(batch):
    async def main():
        held = []  # the connections it accepted and never answers
        silent = await asyncio.start_server(lambda r, w: held.append(w), "127.0.0.1", 0)
        port = silent.sockets[0].getsockname()[1]
        store = RedisStore(f"redis://127.0.0.1:{port}/0", batch=batch)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.get("k")
            return time.monotonic() - started
        finally:
            await store.close()
            for writer in held:
                writer.close()
            silent.close()
            await silent.wait_closed()

    assert asyncio.run(main()) <= DEADLINE_S + 0.5


def test_keys_live_under_the_prefix():
    assert KEY_PREFIX == b"kvbench:"
