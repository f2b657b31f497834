"""The one-write protocol answers byte for byte as uvicorn's httptools protocol does.

Each exchange drives a protocol directly, as uvicorn's server would: a fake transport
records every write, so the test sees both the bytes and how many writes carried them.
"""

import asyncio
import re

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from kvbench.runtime.onewrite import OneWriteProtocol
from kvbench.workers.inprocess import load_app

OPTIMIZED = "optimized.app:app"
DATE = re.compile(rb"date: [^\r]*\r\n")
PROTOCOLS = (HttpToolsProtocol, OneWriteProtocol)


class Transport(asyncio.Transport):
    """Records writes; closing stops the exchange."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self.protocol, self.writes, self.closed = protocol, [], False
        self.paused_reading = False

    def write(self, data) -> None:
        assert not self.closed, "a write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.protocol.connection_lost(None)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused_reading = True

    def resume_reading(self) -> None:
        self.paused_reading = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )


async def exchange(protocol_class, app, chunks: list[bytes], answers: int) -> list[bytes]:
    """Feed the request bytes, wait for `answers` complete answers (or a close); the writes."""
    config = Config(app=app, log_config=None, server_header=False, date_header=True)
    config.load()
    state = ServerState()
    protocol = protocol_class(config=config, server_state=state, app_state={})
    transport = Transport(protocol)
    protocol.connection_made(transport)
    for chunk in chunks:
        protocol.data_received(chunk)
        await asyncio.sleep(0)
    for _ in range(200):
        if transport.closed or state.total_requests >= answers:
            break
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)  # anything written late (a held head) lands now
    if not transport.closed:
        protocol.connection_lost(None)
    return transport.writes


def both(app, chunks: list[bytes], answers: int = 1) -> tuple[list[bytes], list[bytes]]:
    """uvicorn's writes and the one-write protocol's, for the same requests."""
    if isinstance(app, str):
        app = load_app(app)
    return tuple(asyncio.run(exchange(protocol, app, chunks, answers)) for protocol in PROTOCOLS)  # type: ignore[return-value]


def wire(writes: list[bytes]) -> bytes:
    return DATE.sub(b"", b"".join(writes))


def get(target: str, extra: bytes = b"", method: bytes = b"GET") -> bytes:
    return method + b" " + target.encode() + b" HTTP/1.1\r\nhost: t\r\n" + extra + b"\r\n"


def put(key: str, body: bytes, extra: bytes = b"") -> bytes:
    length = b"content-length: %d\r\n" % len(body)
    return get(f"/put?key={key}", length + extra, b"PUT") + body


SERVICE_REQUESTS = {
    "GET hit": [get("/get?key=key-0042")],
    "GET miss": [get("/get?key=nope")],
    "400 no key": [get("/get")],
    "404 path": [get("/nowhere")],
    "405 method": [get("/get?key=key-0042", method=b"POST")],
    "PUT 204": [put("new-key", b"v")],
    "413 too large": [put("big", b"x" * (64 * 1024 + 1))],
    "HEAD": [get("/get?key=key-0042", method=b"HEAD")],
    "Connection: close": [get("/get?key=key-0042", b"connection: close\r\n")],
    "HTTP/1.0": [b"GET /get?key=key-0042 HTTP/1.0\r\n\r\n"],
    "expect 100": [put("k100", b"v", b"expect: 100-continue\r\n")],
}


@pytest.mark.parametrize("name", list(SERVICE_REQUESTS))
def test_the_optimized_service_answers_byte_for_byte_as_uvicorn_does(name):
    theirs, ours = both(OPTIMIZED, SERVICE_REQUESTS[name])
    assert wire(ours) == wire(theirs)
    assert wire(ours).startswith((b"HTTP/1.1 100 Continue", b"HTTP/1.1 2", b"HTTP/1.1 4"))


@pytest.mark.parametrize("name", ["GET hit", "GET miss", "400 no key", "404 path", "PUT 204"])
def test_a_complete_answer_is_one_write_where_uvicorn_makes_two(name):
    theirs, ours = both(OPTIMIZED, SERVICE_REQUESTS[name])
    assert (len(theirs), len(ours)) == (2, 1)


def test_a_head_answer_is_one_write_of_the_head_alone():
    theirs, ours = both(OPTIMIZED, SERVICE_REQUESTS["HEAD"])
    assert len(ours) == 1 and wire(ours) == wire(theirs)
    assert wire(ours).endswith(b"\r\n\r\n") and b"content-length: 39" in wire(ours)


def test_pipelined_requests_are_answered_in_order_one_write_each():
    requests = [get("/get?key=key-0001") + get("/get?key=nope") + get("/get?key=key-0002")]
    theirs, ours = both(OPTIMIZED, requests, answers=3)
    assert wire(ours) == wire(theirs)
    assert wire(ours).count(b"HTTP/1.1 ") == 3 and len(ours) == 3
    assert (
        wire(ours).index(b"key-0001")
        < wire(ours).index(b"not found")
        < wire(ours).index(b"key-0002")
    )


async def streamed(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for part in (b"one", b"two", b""):
        await send({"type": "http.response.body", "body": part, "more_body": bool(part)})


async def waits_before_its_body(scope, receive, send) -> None:
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await asyncio.sleep(0.005)
    await send({"type": "http.response.body", "body": b"ok"})


async def with_length(scope, receive, send) -> None:
    headers = [(b"content-length", b"5"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hel", "more_body": True})
    await send({"type": "http.response.body", "body": b"lo"})


def test_a_streamed_body_is_uvicorns_bytes_its_first_chunk_beside_the_head():
    theirs, ours = both(streamed, [get("/")])
    assert wire(ours) == wire(theirs)
    assert wire(ours).endswith(b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")
    # uvicorn: head, one, two, end; here the head leaves with the first chunk
    assert ours == [theirs[0] + theirs[1], *theirs[2:]]


def test_a_head_is_not_held_past_the_turn_its_app_sent_it_in():
    theirs, ours = both(waits_before_its_body, [get("/")])
    assert ours == theirs and len(ours) == 2


def test_content_length_in_parts_and_connection_close_behave_as_uvicorn():
    theirs, ours = both(with_length, [get("/")])
    assert wire(ours) == wire(theirs) and ours == [theirs[0] + theirs[1], theirs[2]]
    assert wire(ours).endswith(b"connection: close\r\n\r\nhello")


def test_a_head_request_to_a_streamed_answer_has_no_body():
    theirs, ours = both(streamed, [get("/", method=b"HEAD")])
    assert wire(ours) == wire(theirs) and len(ours) == 1
    assert wire(ours) == b"HTTP/1.1 200 OK\r\n\r\n"  # uvicorn frames no body for HEAD


async def fails_after_its_head(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise RuntimeError("boom")


def test_an_app_failing_after_its_head_gets_the_head_written_then_the_close():
    theirs, ours = both(fails_after_its_head, [get("/")])
    assert ours == theirs and wire(ours).startswith(b"HTTP/1.1 200 OK\r\n")


def test_writes_wait_while_the_client_reads_slowly_and_resume_after():
    async def paused_exchange(protocol_class) -> tuple[list[bytes], list[bytes]]:
        config = Config(app=load_app(OPTIMIZED), log_config=None, date_header=False)
        config.load()
        state = ServerState()
        protocol = protocol_class(config=config, server_state=state, app_state={})
        transport = Transport(protocol)
        protocol.connection_made(transport)
        protocol.pause_writing()  # the transport's buffer is full: answers must wait
        protocol.data_received(get("/get?key=key-0042"))
        await asyncio.sleep(0.01)
        while_paused = list(transport.writes)
        protocol.resume_writing()
        await asyncio.sleep(0.01)
        return while_paused, transport.writes

    theirs, ours = (asyncio.run(paused_exchange(p)) for p in PROTOCOLS)
    assert theirs[0] == ours[0] == []
    assert wire(ours[1]) == wire(theirs[1]) and len(ours[1]) == 1
