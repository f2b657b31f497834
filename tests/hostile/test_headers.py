"""Header blocks over 64 KiB: refused, or at worst answered correctly; never a 5xx."""

import pytest

from hostile.conftest import CONFIGS, assert_refused, configs, probing
from hostile.rawclient import Connection, request

pytestmark = pytest.mark.slow

HOT = b'{"key":"key-0042","value":"test-value"}'


def big_head(size: int) -> bytes:
    return request("GET", "/get?key=key-0042", "x-big: " + "a" * size)


def many_headers(count: int) -> bytes:
    return request("GET", "/get?key=key-0042", *(f"x-h{i}: v" for i in range(count)))


@pytest.mark.parametrize(
    "head", [big_head(70_000), many_headers(10_000)], ids=["one-70kb-header", "10k-headers"]
)
def test_header_block_just_over_64_kib_is_refused_or_answered(target, head):
    # Sent in one write, a block this size fits what h11, httptools and granian accept:
    # what matters is that none of them fails on it. nginx refuses it (8 KiB a line).
    hit = {"total": 1, "gets": 1, "hits": 1}
    with probing(target, hit), Connection(target.address) as conn:
        conn.send(head)
        answer = conn.answer()
    assert answer is not None
    if answer.status != 200:
        assert_refused(answer)
    else:
        assert answer.body == HOT


def header_bound_params() -> list:
    params = configs()
    # uvicorn's httptools protocol has no limit on a request head at all: a 200 MB header
    # was read whole (peak RSS 453 MB) and answered 200. Only the proxy in front bounds it.
    unbounded = pytest.mark.xfail(reason="uvicorn + httptools: no header size limit", strict=True)
    optimized = list(CONFIGS).index("optimized")
    params[optimized] = pytest.param("optimized", id="optimized", marks=unbounded)
    return params


@pytest.fixture(params=header_bound_params())
def bounded_target(request, targets):
    return targets(request.param)


def test_a_one_megabyte_header_is_refused(bounded_target):
    target = bounded_target
    with probing(target), Connection(target.address) as conn:
        conn.send(big_head(1 << 20))
        answer = conn.answer()
        assert answer is None or 400 <= answer.status < 500, answer.head
        assert conn.closed()
