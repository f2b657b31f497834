"""Every rung of the docs/04 ladder is a real service: it keeps the contract and counts."""

import asyncio
import json
import uuid
from urllib.parse import quote

import pytest

from kvbench.processes import free_port
from kvbench.runtime.contract import MISSING_KEY, NOT_FOUND
from kvbench.runtime.debugvars import ADMIN_PORT_ENV
from kvbench.runtime.onewrite import PROTOCOL
from kvbench.services import (
    LADDER,
    LIFESPAN_ONLY,
    NAIVE_UVICORN,
    ONE_WRITE,
    PEERS,
    TUNED_UVICORN,
    Service,
)
from kvbench.workers.inprocess import call, get_scope, http_scope, load_app

RUNGS = [service for service, _ in LADDER]


def body_for(key: str, value: str) -> bytes:
    compact = json.dumps({"key": key, "value": value}, ensure_ascii=False, separators=(",", ":"))
    return compact.encode()


def request(service: Service, method: str, target: str, body: bytes = b"") -> tuple:
    """One in-process request: status, content type and body."""
    path, _, query = target.partition("?")
    answer = asyncio.run(
        call(load_app(service.app), http_scope(method, path, query.encode()), body)
    )
    return answer.status, dict(answer.headers).get(b"content-type"), answer.body


@pytest.fixture(params=RUNGS, ids=[service.name for service in RUNGS])
def rung(request) -> Service:
    return request.param


def uvicorn_settings(words: tuple[str, ...]) -> dict[str, str]:
    """uvicorn's command-line flags as settings, uvicorn's defaults for those not given."""
    settings = {"loop": "auto", "http": "auto", "access-log": "on", "proxy-headers": "on",
                "server-header": "on", "date-header": "on"}  # fmt: skip
    words = list(words)
    while words:
        word = words.pop(0)
        if word in ("--loop", "--http"):
            settings[word[2:]] = words.pop(0)
        else:
            name = word.removeprefix("--no-").removeprefix("--")
            assert name in settings, f"a flag this test does not know: {word}"
            settings[name] = "off" if word.startswith("--no-") else "on"
    return settings


def changed(before: Service, after: Service) -> list[str]:
    """What differs between two neighbours: the server, the app, or uvicorn settings."""
    if before.server != after.server:
        return ["server"] + (["app"] if before.app != after.app else [])
    if before.app != after.app:
        return ["app"] + (["flags"] if before.server_args != after.server_args else [])
    old, new = uvicorn_settings(before.server_args), uvicorn_settings(after.server_args)
    return [name for name in old if old[name] != new[name]]


def test_ladder_runs_from_unoptimized_to_granian_one_change_at_a_time():
    assert [RUNGS[0].name, RUNGS[-2].name, RUNGS[-1].name] == [
        "unoptimized", "optimized", "granian",
    ]  # fmt: skip
    assert len({service.name for service in RUNGS}) == len(RUNGS)
    for before, after in zip(RUNGS, RUNGS[1:], strict=False):
        assert len(changed(before, after)) == 1, (before.name, after.name, changed(before, after))


def test_the_server_rungs_change_one_uvicorn_setting_each_from_naive_to_tuned():
    server = [s for s in RUNGS if s.app == "unoptimized.app:app"]
    assert [s.server_args for s in (server[0], server[-1])] == [NAIVE_UVICORN, TUNED_UVICORN]
    steps = [changed(a, b) for a, b in zip(server, server[1:], strict=False)]
    assert sorted(name for [name] in steps) == [
        "access-log", "http", "loop", "proxy-headers", "server-header",
    ]  # fmt: skip


def test_the_optimized_service_is_the_gc_freeze_rung_answering_in_one_write():
    before, after = RUNGS[-3], RUNGS[-2]
    assert (before.name, after.name) == ("gcfreeze", "optimized")
    assert changed(before, after) == ["http"]
    assert uvicorn_settings(after.server_args)["http"] == ONE_WRITE.http == PROTOCOL
    assert uvicorn_settings(before.server_args)["http"] == "httptools"


def test_the_last_rung_serves_the_optimized_app_on_granian():
    assert RUNGS[-1].server == "granian" and RUNGS[-1].app == RUNGS[-2].app == "optimized.app:app"
    assert RUNGS[-1] in [peer.service for peer in PEERS]  # the peers run measures the same


def test_apps_said_to_differ_only_in_their_lifespan_do():
    for app, twin in LIFESPAN_ONLY.items():
        one, other = load_app(app), load_app(twin)
        assert type(one) is type(other) and one is not other
        inner, twin_inner = one.app, other.app  # HotPath around Starlette
        routes = [(r.path, r.endpoint, r.methods) for r in inner.router.routes]
        assert routes == [(r.path, r.endpoint, r.methods) for r in twin_inner.router.routes]
        assert inner.exception_handlers == twin_inner.exception_handlers
        assert inner.user_middleware == twin_inner.user_middleware
        assert inner.router.redirect_slashes == twin_inner.router.redirect_slashes
        assert inner.router.lifespan_context != twin_inner.router.lifespan_context


def test_rung_answers_a_preloaded_key_exactly(rung):
    status, kind, body = request(rung, "GET", "/get?key=key-0042")
    assert (status, kind, body) == (200, b"application/json", body_for("key-0042", "test-value"))


def test_rung_answers_unknown_key_404(rung):
    assert request(rung, "GET", "/get?key=no-such-key")[::2] == (404, NOT_FOUND.encode())


def test_rung_answers_missing_key_400(rung):
    assert request(rung, "GET", "/get?key=")[::2] == (400, MISSING_KEY.encode())
    assert request(rung, "GET", "/get?key=%zz")[0] == 400


def test_rung_put_then_get_round_trips(rung):
    key = f"ladder-{rung.name}-{uuid.uuid4().hex[:8]}"
    assert request(rung, "PUT", f"/put?key={quote(key)}", "välue".encode())[0] == 204
    assert request(rung, "GET", f"/get?key={quote(key)}")[::2] == (200, body_for(key, "välue"))


async def read_counters(port: int) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /debug/vars HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    raw = await reader.read()
    writer.close()
    return json.loads(raw.partition(b"\r\n\r\n")[2])["counters"]


async def counted(app, port: int, targets: list[tuple[str, str]]) -> tuple[dict, dict]:
    """Counters before and after `targets`, read from the rung's own /debug/vars listener."""
    events: asyncio.Queue = asyncio.Queue()
    await events.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def send(message):
        if message["type"] == "lifespan.startup.complete":
            started.set()

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"},
                                        "state": {}}, events.get, send))  # fmt: skip
    await asyncio.wait_for(started.wait(), 10)
    before = await read_counters(port)
    for method, target in targets:
        path, _, query = target.partition("?")
        await call(app, http_scope(method, path, query.encode()), b"v")
    after = await read_counters(port)
    await events.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan, 10)
    return before, after


def test_rung_counts_every_request_exactly(rung, monkeypatch):
    port = free_port()
    monkeypatch.setenv(ADMIN_PORT_ENV, str(port))
    key = f"count-{uuid.uuid4().hex[:8]}"
    targets = [("GET", "/get?key=key-0001"), ("GET", "/get?key=nope"), ("GET", "/get?key="),
               ("PUT", f"/put?key={key}"), ("GET", "/other")]  # fmt: skip
    before, after = asyncio.run(counted(load_app(rung.app), port, targets))
    change = {name: after[name] - before[name] for name in after}
    assert change == {"total": 5, "gets": 3, "puts": 1, "hits": 1, "misses": 1, "errors": 2}


def test_get_scope_is_what_the_benchmarks_send(rung):
    answer = asyncio.run(call(load_app(rung.app), get_scope()))
    assert (answer.status, answer.body) == (200, body_for("key-0042", "test-value"))
