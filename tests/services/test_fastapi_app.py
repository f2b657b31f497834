"""The FastAPI peer keeps the contract's statuses, messages and bytes for GET and PUT."""

import asyncio

from kvbench.runtime.contract import KEY_TOO_LONG, MISSING_KEY, NOT_FOUND, VALUE_TOO_LARGE
from kvbench.workers.inprocess import call, http_scope
from peers import fastapi_app

TEXT = b"text/plain; charset=utf-8"


def ask(method: str, target: str, body: bytes = b""):
    path, _, query = target.partition("?")
    answer = asyncio.run(call(fastapi_app.app, http_scope(method, path, query.encode()), body))
    return answer.status, dict(answer.headers).get(b"content-type"), answer.body


def test_preloaded_key_has_the_exact_bytes():
    assert ask("GET", "/get?key=key-0042") == (
        200,
        b"application/json",
        b'{"key":"key-0042","value":"test-value"}',
    )


def test_unknown_key_is_404_and_missing_key_is_400():
    assert ask("GET", "/get?key=nope") == (404, TEXT, NOT_FOUND.encode())
    assert ask("GET", "/get") == (400, TEXT, MISSING_KEY.encode())
    assert ask("GET", "/get?key=") == (400, TEXT, MISSING_KEY.encode())
    assert ask("GET", "/get?key=" + "k" * 300) == (400, TEXT, KEY_TOO_LONG.encode())


def test_put_then_get_round_trips():
    assert ask("PUT", "/put?key=fa-%C3%A9", "välue ✓".encode())[0] == 204
    assert ask("GET", "/get?key=fa-%C3%A9")[2] == '{"key":"fa-é","value":"välue ✓"}'.encode()
    assert ask("PUT", "/put?key=fa-b", b"x" * 70_000) == (413, TEXT, VALUE_TOO_LARGE.encode())


def test_counts_hits_misses_and_errors():
    before = dict(fastapi_app.counters)
    ask("GET", "/get?key=key-0001")
    ask("GET", "/get?key=nope")
    ask("GET", "/get")
    ask("GET", "/elsewhere")
    after = fastapi_app.counters
    deltas = {name: after[name] - before[name] for name in after}
    assert deltas == {"total": 4, "gets": 3, "puts": 0, "hits": 1, "misses": 1, "errors": 2}
