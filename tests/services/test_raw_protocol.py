"""The Python ceiling: same bytes as the optimized service, keep-alive and pipelining."""

import http.client
import socket

import pytest

from kvbench.processes import running_server
from kvbench.runtime.contract import MISSING_KEY, NOT_FOUND
from kvbench.services import Service
from peers import raw_protocol

SERVICE = Service("raw-protocol", "peers.raw_protocol:main", (), server="python")
HOT = b'{"key":"key-0042","value":"test-value"}'


class Transport:
    """Collects what the protocol writes; remembers whether it closed the connection."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def exchange(*requests: bytes) -> Transport:
    protocol, transport = raw_protocol.KeyValueProtocol(), Transport()
    protocol.connection_made(transport)
    for request in requests:
        protocol.data_received(request)
    return transport


def get(target: str, extra: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def test_preloaded_key_has_the_optimized_bytes():
    written = exchange(get("/get?key=key-0042")).written
    head, _, body = written.partition(b"\r\n\r\n")
    assert body == HOT
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\ncontent-length: 39\r\ncontent-type: application/json" in head


def test_unknown_key_is_404_and_missing_key_is_400():
    assert exchange(get("/get?key=nope")).written.endswith(b"\r\n\r\n" + NOT_FOUND.encode())
    assert exchange(get("/get?key=nope")).written.startswith(b"HTTP/1.1 404 ")
    missing = exchange(get("/get")).written
    assert missing.startswith(b"HTTP/1.1 400 ") and missing.endswith(MISSING_KEY.encode())


def test_pipelined_requests_are_answered_in_order_on_one_connection():
    transport = exchange(get("/get?key=key-0001") + get("/get?key=nope") + get("/get?key=key-0002"))
    answers = transport.written.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"404", b"200"]
    assert answers[2].endswith(b'{"key":"key-0002","value":"test-value"}')
    assert not transport.closed


def test_put_then_get_and_head_has_no_body():
    put = b"PUT /put?key=raw-a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    assert exchange(put).written.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert exchange(get("/get?key=raw-a")).written.endswith(b'{"key":"raw-a","value":"abc"}')
    head = exchange(b"HEAD /get?key=raw-a HTTP/1.1\r\nHost: x\r\n\r\n").written
    assert head.endswith(b"\r\n\r\n") and b"content-length: 29" in head


def test_wrong_method_unknown_path_and_close():
    assert exchange(b"POST /get HTTP/1.1\r\nHost: x\r\n\r\n").written.startswith(b"HTTP/1.1 405")
    closing = exchange(get("/elsewhere", "Connection: close\r\n"))
    assert closing.written.startswith(b"HTTP/1.1 404") and closing.closed


def test_garbage_is_400_and_closed():
    transport = exchange(b"NOT HTTP AT ALL\r\n\r\n")
    assert transport.written.startswith(b"HTTP/1.1 400") and transport.closed


def test_refuses_a_non_loopback_host(capsys):
    assert raw_protocol.main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback only" in capsys.readouterr().err


@pytest.mark.slow
def test_real_server_answers_and_counts(tmp_path):
    with running_server(SERVICE, log_path=tmp_path / "raw.log") as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        for _ in range(3):  # one keep-alive connection
            conn.request("GET", "/get?key=key-0042")
            answer = conn.getresponse()
            assert (answer.status, answer.read()) == (200, HOT)
        conn.request("GET", "/get?key=nope")
        assert conn.getresponse().status == 404
        conn.close()
        counters = server.debug_vars()["counters"]
    assert counters == {"total": 4, "gets": 4, "puts": 0, "hits": 3, "misses": 1, "errors": 0}


@pytest.mark.slow
def test_real_server_stops_on_sigterm(tmp_path):
    with running_server(SERVICE, log_path=tmp_path / "raw.log") as server:
        socket.create_connection((server.host, server.port), timeout=5).close()
    assert server.process.returncode == 0
