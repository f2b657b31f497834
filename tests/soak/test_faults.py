"""kvbench/soak/faults.py: the read of a restarted Redis, with a stand-in Redis."""

import asyncio
import json
import time

from kvbench.soak import faults


class Redis:
    """A stand-in DurableRedis: kill and start do nothing; `values` answers `read()`."""

    def __init__(self, read) -> None:
        self.pid, self.read, self.answered_ping = 1234, read, float("nan")

    def kill(self) -> None:
        pass

    async def start(self) -> None:
        self.answered_ping = time.monotonic()

    def values(self, keys: list[str]):
        return self.read(keys)


def killed(read, monkeypatch) -> tuple[faults.Injector, faults.Fault]:
    monkeypatch.setattr(faults, "REDIS_DOWN_S", 0.0)
    injector = faults.Injector(None, Redis(read), time.monotonic())
    fault = faults.Fault("kill_redis", 0.0)
    asyncio.run(injector.kill_redis(fault))
    return injector, fault


def test_a_value_that_does_not_decode_fails_the_restarts_read_not_the_run(monkeypatch):
    def garbled(keys):
        return time.monotonic(), {"soak-0001": json.loads(b'{"no value": 1}')["value"]}

    injector, fault = killed(garbled, monkeypatch)
    (snapshot,) = injector.snapshots
    assert snapshot.error == "KeyError: 'value'" and snapshot.reads == {}
    assert fault.detail["snapshot_error"] == snapshot.error


def test_the_read_says_how_long_after_the_restarted_redis_answered_ping_it_was_sent(monkeypatch):
    def later(keys):
        time.sleep(0.03)
        return time.monotonic(), dict.fromkeys(keys)

    injector, fault = killed(later, monkeypatch)
    (snapshot,) = injector.snapshots
    assert snapshot.error is None and len(snapshot.reads) == 2_000
    assert snapshot.after_ping_s is not None and snapshot.after_ping_s >= 0.03
    assert fault.detail["mget_after_ping_ms"] == round(snapshot.after_ping_s * 1000, 1)
    assert snapshot.start == injector.start + snapshot.at_s  # the MGET's own send
