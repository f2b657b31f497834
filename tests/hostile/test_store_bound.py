"""Creating keys forever: past the store's bound a new key is a 507, updates still work."""

import asyncio
import dataclasses

import pytest

from hostile.conftest import Target, probing
from hostile.rawclient import ask, request
from kvbench.catalog import ladder, peers
from kvbench.processes import running_server
from kvbench.runtime.contract import MAX_KEYS_ENV, MAX_VALUE_BYTES, PRELOAD_COUNT, STORE_FULL
from kvbench.services import LADDER, SERVICES
from kvbench.workers.inprocess import call, http_scope, load_app
from peers import raw_protocol

TEXT = b"text/plain; charset=utf-8"

# Where each app that accepts PUT keeps its bound (module, attribute), read at every PUT.
BOUNDS = {e.app: e.store_bound for e in (*ladder.RUNGS, *peers.ALL) if e.store_bound}
assert {service.app for service, _ in LADDER} <= set(BOUNDS)


def put(app, key: str, value: bytes):
    answer = asyncio.run(call(app, http_scope("PUT", "/put", b"key=" + key.encode()), value))
    return answer.status, dict(answer.headers).get(b"content-type"), answer.body


@pytest.mark.parametrize("target", BOUNDS)
def test_a_full_store_refuses_new_keys_and_takes_updates(monkeypatch, target):
    module, attribute = BOUNDS[target]
    app = load_app(target)
    monkeypatch.setattr(f"{module}.{attribute}", 0)  # every store is full at 0
    assert put(app, "brand-new", b"v") == (507, TEXT, STORE_FULL.encode())
    assert put(app, "key-0999", b"test-value")[0] == 204  # an update always fits


def test_the_raw_protocol_peer_keeps_the_bound_too(monkeypatch):
    monkeypatch.setattr(raw_protocol, "key_bound", 0)
    assert (
        raw_protocol.put(b"key=brand-new", [b"v"])
        .split(b"\r\n")[0]
        .endswith(b"507 Insufficient Storage")
    )
    assert raw_protocol.put(b"key=key-0999", [b"test-value"]).startswith(b"HTTP/1.1 204")


ROOM = 40  # new keys the bounded servers below accept


@pytest.fixture(scope="module", params=["unoptimized", "optimized"])
def bounded(request, tmp_path_factory):
    env = ((MAX_KEYS_ENV, str(PRELOAD_COUNT + ROOM)),)
    service = dataclasses.replace(SERVICES[request.param], env=env)
    log = tmp_path_factory.mktemp("bounded") / f"{request.param}.log"
    with running_server(service, log_path=log) as server:
        yield Target(request.param, server)


def put_value(target: Target, key: str, value: bytes):
    return ask(
        target.address,
        request("PUT", f"/put?key={key}", f"content-length: {len(value)}", body=value),
    )


@pytest.mark.slow
def test_past_the_bound_new_keys_are_507_and_memory_stops_growing(bounded):
    value = b"v" * MAX_VALUE_BYTES
    for i in range(ROOM):
        assert put_value(bounded, f"fill-{i}", value).status == 204
    rss_full = bounded.server.debug_vars()["rss_bytes"]
    refused = 200  # 12.5 MiB of values, had they been stored
    with probing(bounded, {"total": refused, "puts": refused, "errors": refused}):
        for i in range(refused):
            answer = put_value(bounded, f"over-{i}", value)
            assert (answer.status, answer.body) == (507, STORE_FULL.encode())
    grown = bounded.server.debug_vars()["rss_bytes"] - rss_full
    assert grown < 4 << 20, f"RSS grew {grown / 2**20:.1f} MiB past the bound"
    with probing(bounded, {"total": 2, "puts": 1, "gets": 1, "hits": 1}):
        assert put_value(bounded, "fill-0", b"updated").status == 204
        answer = ask(bounded.address, request("GET", "/get?key=fill-0"))
        assert answer.body == b'{"key":"fill-0","value":"updated"}'
