"""What the soak reads from a restarted Redis (`DurableRedis.values`), on a real redis-server:
a write Redis acknowledged survives kill -9 of a durable one, and a non-durable one loses it,
so the soak's check at each restart can fail."""

import asyncio

import pytest

from kvbench import redis_server
from kvbench.runtime.contract import answer_body
from kvbench.soak import stack

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("redis_checked")]


def killed_and_restarted(tmp_path, monkeypatch, durable: bool) -> dict:
    real = redis_server.launch
    monkeypatch.setattr(
        redis_server, "launch", lambda port, datadir, **_: real(port, datadir, durable=durable)
    )
    redis = stack.DurableRedis(tmp_path)
    try:
        asyncio.run(redis.start())
        with redis_server.client(redis.url) as client:  # as the service stores a PUT
            client.set(redis_server.KEY_PREFIX + b"soak-0001", answer_body("soak-0001", "v7"))
        redis.kill()
        asyncio.run(redis.start())
        memory = redis.memory()  # the restarted Redis's own figures
        assert memory["pid"] == redis.pid and 0 < memory["used_mb"] <= memory["used_peak_mb"]
        assert memory["clients"] >= 1  # the connection that asked counts itself
        sent, found = redis.values(["soak-0001", "soak-0002"])
        assert redis.answered_ping < sent  # the read came after the restarted Redis's PONG
        return found
    finally:
        redis.stop()


def test_a_durable_redis_keeps_an_acknowledged_write_through_kill_9(tmp_path, monkeypatch):
    found = killed_and_restarted(tmp_path, monkeypatch, durable=True)
    assert found == {"soak-0001": "v7", "soak-0002": None}


def test_a_redis_without_its_append_only_file_loses_it(tmp_path, monkeypatch):
    found = killed_and_restarted(tmp_path, monkeypatch, durable=False)
    assert found == {"soak-0001": None, "soak-0002": None}
