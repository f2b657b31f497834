"""The framework floor keeps the contract and answers with the optimized service's bytes."""

import asyncio

import pytest

from kvbench.runtime.contract import MAX_VALUE_BYTES, MISSING_KEY, NOT_FOUND, VALUE_TOO_LARGE
from kvbench.workers.inprocess import call, http_scope
from optimized.app import app as optimized_app
from peers import bare_asgi

TEXT = b"text/plain; charset=utf-8"


def ask(app, method: str, target: str, body: bytes = b""):
    path, _, query = target.partition("?")
    answer = asyncio.run(call(app, http_scope(method, path, query.encode()), body))
    return answer.status, dict(answer.headers).get(b"content-type"), answer.body


def test_preloaded_key_has_the_exact_bytes():
    assert ask(bare_asgi.app, "GET", "/get?key=key-0042") == (
        200,
        b"application/json",
        b'{"key":"key-0042","value":"test-value"}',
    )


def test_unknown_key_is_404_and_missing_key_is_400():
    assert ask(bare_asgi.app, "GET", "/get?key=nope") == (404, TEXT, NOT_FOUND.encode())
    assert ask(bare_asgi.app, "GET", "/get") == (400, TEXT, MISSING_KEY.encode())
    assert ask(bare_asgi.app, "GET", "/get?key=") == (400, TEXT, MISSING_KEY.encode())


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        ("GET", "/get?key=key-0000", b""),
        ("GET", "/get?key=key-0999&key=x", b""),
        ("GET", "/get?key=%zz", b""),
        ("GET", "/get?key=" + "k" * 300, b""),
        ("HEAD", "/get?key=key-0001", b""),
        ("PUT", "/put?key=floor-a", "välue ✓".encode()),
        ("GET", "/get?key=floor-a", b""),
        ("PUT", "/put?key=floor-b", b"\xff"),
        ("PUT", "/put?key=floor-b", b"x" * (MAX_VALUE_BYTES + 1)),
        ("GET", "/get?key=floor-b", b""),
        ("GET", "/nope", b""),
    ],
)
def test_answers_like_the_optimized_service(method, target, body):
    assert ask(bare_asgi.app, method, target, body) == ask(optimized_app, method, target, body)


def test_put_then_get_round_trips_and_counts():
    before = bare_asgi.counters.snapshot()
    assert ask(bare_asgi.app, "PUT", "/put?key=floor-c", b"v")[0] == 204
    assert ask(bare_asgi.app, "GET", "/get?key=floor-c")[2] == b'{"key":"floor-c","value":"v"}'
    after = bare_asgi.counters.snapshot()
    assert (after["puts"] - before["puts"], after["hits"] - before["hits"]) == (1, 1)
    assert after["total"] - before["total"] == 2


def test_value_over_the_limit_is_413():
    big = b"x" * (MAX_VALUE_BYTES + 1)
    assert ask(bare_asgi.app, "PUT", "/put?key=floor-d", big) == (
        413,
        TEXT,
        VALUE_TOO_LARGE.encode(),
    )


def test_wrong_method_is_405():
    assert ask(bare_asgi.app, "POST", "/get?key=key-0001")[:2] == (405, TEXT)
    assert ask(bare_asgi.app, "GET", "/put?key=key-0001")[:2] == (405, TEXT)


def test_lifespan_starts_and_stops(monkeypatch):
    monkeypatch.setattr(bare_asgi.gc, "freeze", lambda: None)  # not in the test process
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(bare_asgi.app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
