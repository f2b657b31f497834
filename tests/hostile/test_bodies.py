"""Request bodies: declared too large, chunked past the limit, badly chunked, cut short."""

import time

import pytest

from hostile.conftest import REFUSED_PUT, assert_refused, probing
from hostile.rawclient import Connection, request
from kvbench.measure import hostile
from kvbench.runtime.contract import MAX_VALUE_BYTES, VALUE_TOO_LARGE

pytestmark = pytest.mark.slow

TEN_GB = 10 * 1024**3


def chunked_put(key: str, *chunks: bytes) -> bytes:
    return request("PUT", f"/put?key={key}", "transfer-encoding: chunked") + b"".join(chunks)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def assert_too_large(answer) -> None:
    assert answer is not None, "no answer"
    assert (answer.status, answer.body) == (413, VALUE_TOO_LARGE.encode())
    assert answer.fields[b"connection"].lower() == b"close"


def test_a_declared_10_gb_is_refused_before_a_body_byte_is_sent(target):
    head = request("PUT", "/put?key=ten-gb", f"content-length: {TEN_GB}")
    with probing(target, REFUSED_PUT, absent=("ten-gb",)), Connection(target.address) as conn:
        conn.send(head)  # headers only: the answer must not wait for the body
        started = time.monotonic()
        assert_too_large(conn.answer())
        assert time.monotonic() - started < 1.0
        assert conn.closed()


def test_expect_100_continue_with_an_oversized_body_gets_413_and_no_100(target):
    head = request("PUT", "/put?key=expect", f"content-length: {TEN_GB}", "expect: 100-continue")
    with probing(target, REFUSED_PUT, absent=("expect",)), Connection(target.address) as conn:
        conn.send(head)
        assert_too_large(conn.answer())  # the first answer: a 100 would fail here
        assert conn.closed()


def test_expect_100_continue_within_the_limit_is_stored(target):
    head = request("PUT", "/put?key=expect-ok", "content-length: 2", "expect: 100-continue")
    with probing(target, {"total": 1, "puts": 1}), Connection(target.address) as conn:
        conn.send(head)
        assert conn.answer().status == 100
        conn.send(b"ok")
        assert conn.answer().status == 204


def test_a_chunked_body_is_cut_at_the_limit_not_read_to_the_end(target):
    size = 64 << 20
    with probing(target, REFUSED_PUT, absent=("big-body",)):
        result = hostile.big_body(*target.address, size)
    assert result.status == 413
    assert result.sent_bytes < size  # answered while most of the body was still unsent


def test_a_chunked_body_of_exactly_the_limit_is_stored(target):
    value = b"v" * MAX_VALUE_BYTES
    put = chunked_put("exact", chunk(value[:1000]), chunk(value[1000:]), b"0\r\n\r\n")
    with probing(target, {"total": 1, "puts": 1}), Connection(target.address) as conn:
        conn.send(put)
        assert conn.answer().status == 204


def test_one_byte_past_the_limit_in_small_chunks_is_413(target):
    chunks = [chunk(b"v" * 4096) for _ in range(16)] + [chunk(b"v"), b"0\r\n\r\n"]
    with probing(target, REFUSED_PUT, absent=("one-past",)), Connection(target.address) as conn:
        conn.send(chunked_put("one-past", *chunks))
        assert_too_large(conn.answer())
        assert conn.closed()


BAD_CHUNKS = {
    "not-hex": b"zz\r\nabc\r\n0\r\n\r\n",
    "negative": b"-5\r\nabc\r\n0\r\n\r\n",
    # h11 takes a 20-digit size as a huge chunk and reads on: past 64 KiB it is a 413.
    "overflowing": b"ffffffffffffffffffff\r\n" + b"x" * (70 * 1024),
    "no-crlf-after-data": b"3\r\nabcXY0\r\n\r\n",
}


@pytest.mark.parametrize("body", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_a_bad_chunk_size_is_refused(target, body):
    with (
        probing(target, REFUSED_PUT, absent=("bad-chunk",)),
        Connection(target.address) as conn,
    ):
        conn.send(chunked_put("bad-chunk", body))
        answer = conn.answer()
        assert answer is not None
        assert_refused(answer, 400, 413)
        assert conn.closed()


@pytest.mark.parametrize("cut", ["declared", "chunked"])
def test_a_client_that_hangs_up_mid_body_is_counted_and_stores_nothing(target, cut):
    if cut == "declared":
        data = request("PUT", "/put?key=cut", "content-length: 100", body=b"0123456789")
    else:
        data = chunked_put("cut", b"10\r\nabc")
    with (
        probing(target, REFUSED_PUT, absent=("cut",)),
        Connection(target.address, timeout=1.0) as conn,
    ):
        conn.send(data)
        conn.shut_write()  # no more bytes: HTTP leaves the server nothing to answer
        answer = conn.answer()
        assert answer is None or answer.status in (400, 408), answer.head
        assert conn.closed()
