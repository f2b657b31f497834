"""Malformed request lines, HTTP/1.0 and pipelining, against every served configuration."""

import pytest

from hostile.conftest import assert_refused, probing
from hostile.rawclient import Connection, ask, request

pytestmark = pytest.mark.slow

MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "no-target": b"GET HTTP/1.1\r\nhost: x\r\n\r\n",
    "space-in-target": b"GET /get?key=a b HTTP/1.1\r\nhost: x\r\n\r\n",
    "raw-null-byte": b"GET /get?key=a\x00b HTTP/1.1\r\nhost: x\r\n\r\n",
    "control-in-method": b"G\x01T /get?key=key-0042 HTTP/1.1\r\nhost: x\r\n\r\n",
    "binary": bytes(range(256)) + b"\r\n\r\n",
}


@pytest.mark.parametrize("line", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_line_is_a_400_and_closes(target, line):
    with probing(target), Connection(target.address) as conn:
        conn.send(line)
        answer = conn.answer()
        assert_refused(answer, 400)
        assert conn.closed()


def test_http_1_0_get_is_answered_and_closed(target):
    with (
        probing(target, {"total": 1, "gets": 1, "hits": 1}),
        Connection(target.address) as conn,
    ):
        conn.send(request("GET", "/get?key=key-0042", version="1.0"))
        answer = conn.answer()
        assert (answer.status, answer.body) == (200, b'{"key":"key-0042","value":"test-value"}')
        assert conn.closed()  # HTTP/1.0 without keep-alive: one request per connection


def test_http_1_0_put_over_the_limit_is_413(target):
    big = b"x" * (64 * 1024 + 1)
    put = request("PUT", "/put?key=h10-big", f"content-length: {len(big)}", version="1.0")
    with probing(target, {"total": 1, "puts": 1, "errors": 1}, absent=("h10-big",)):
        assert_refused(ask(target.address, put + big), 413)


def test_pipelined_requests_are_answered_in_order(target):
    keys = ["key-0001", "nope", "key-0003"]
    gets = b"".join(request("GET", f"/get?key={key}") for key in keys)
    with (
        probing(target, {"total": 3, "gets": 3, "hits": 2, "misses": 1}),
        Connection(target.address) as conn,
    ):
        conn.send(gets)
        answers = [conn.answer() for _ in keys]
    assert [a.status for a in answers] == [200, 404, 200]
    assert answers[2].body == b'{"key":"key-0003","value":"test-value"}'


def test_pipelined_put_then_get_sees_the_put(target):
    data = request("PUT", "/put?key=pipe-ok", "content-length: 2", body=b"ok")
    data += request("GET", "/get?key=pipe-ok")
    with (
        probing(target, {"total": 2, "puts": 1, "gets": 1, "hits": 1}),
        Connection(target.address) as conn,
    ):
        conn.send(data)
        assert conn.answer().status == 204
        assert conn.answer().body == b'{"key":"pipe-ok","value":"ok"}'
