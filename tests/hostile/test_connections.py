"""Connection floods and slow clients: what bounds a client that never finishes?

uvicorn alone bounds neither: a connection that sends part of a head, or nothing at all,
is held until the client leaves (its keep-alive timeout starts only after a response).
It still answers others, so these tests check that; the proxy in front closes them.
"""

import time

import pytest

from hostile.conftest import (
    DIRECT,
    PROXY_TIMEOUT_S,
    assert_alive,
    configs,
    probing,
)
from kvbench.measure import hostile

pytestmark = pytest.mark.slow

CONNECTIONS = 3000

# granian takes at most --backpressure connections at once (by default backlog / workers,
# 2,048 here); 3,000 clients that never finish a head take every one of them, and nothing
# else is served until its 30 s header timeout closes them.
GRANIAN_STALLS = pytest.mark.xfail(
    reason="granian: stalled clients fill its backpressure slots for 30 s", strict=True
)


@pytest.fixture
def targets(own_targets):
    # Each test its own servers: 3,000 held connections (and granian's 30 s stall after
    # them) would otherwise be left on the servers the later probes share.
    return own_targets


def direct_params() -> list:
    params = configs(*DIRECT)
    params[DIRECT.index("granian")] = pytest.param("granian", id="granian", marks=GRANIAN_STALLS)
    return params


@pytest.fixture(params=direct_params())
def direct(request, targets):
    return targets(request.param)


@pytest.fixture(params=configs("optimized+nginx"))  # the service behind does not matter
def proxied(request, targets):
    return targets(request.param)


HIT = {"total": 1, "gets": 1, "hits": 1}  # the GET of assert_alive
HOLD_GETS = {"total": 2, "gets": 2, "hits": 2}  # hostile.hold's warm-up and timed GETs


@pytest.mark.parametrize("first", [b"", hostile.SLOW_HEAD], ids=["flood", "slow-head"])
def test_held_connections_do_not_stop_a_normal_get(direct, first):
    with probing(direct, HIT), hostile.opened(*direct.address, CONNECTIONS, first) as socks:
        assert len(socks) == CONNECTIONS
        assert_alive(direct)  # while every one of them is still held


@pytest.mark.parametrize("name", DIRECT)
def test_slow_bodies_are_counted_once_their_clients_leave(targets, name):
    target, count = targets(name), 200
    cut = {"total": count + 1, "gets": 1, "hits": 1, "puts": count, "errors": count}
    errors = target.counters()["errors"]
    with probing(target, cut):
        with hostile.opened(*target.address, count, hostile.SLOW_BODY) as socks:
            assert len(socks) == count
            assert_alive(target)
        settle(target, "errors", errors + count)


def settle(target, counter: str, value: int, timeout: float = 5.0) -> None:
    """Wait until the server has seen every client leave (it counts each as it goes)."""
    deadline = time.monotonic() + timeout
    while target.counters()[counter] < value and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize(
    "first", [b"", hostile.SLOW_HEAD, hostile.SLOW_BODY], ids=["idle", "slow-head", "slow-body"]
)
def test_the_proxy_closes_slow_clients_after_its_timeout(proxied, first):
    with probing(proxied, HOLD_GETS):
        held = hostile.hold(*proxied.address, CONNECTIONS, PROXY_TIMEOUT_S + 1.0, first)
    assert held.opened == CONNECTIONS
    assert held.still_open == 0
    assert held.get_status == 200
