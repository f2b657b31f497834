import pytest

from kvbench.load.canned import RESPONSES
from kvbench.load.http1 import CHUNKED, ProtocolError, ResponseParser, head_fields, parse_head

OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 39"
RESPONSE = RESPONSES[b"/get?key=key-0007"]
BODY = b'{"key":"key-0007","value":"test-value"}'
JSON = b"application/json"


def test_parse_head_reads_status_content_length_and_content_type():
    assert parse_head(OK_HEAD) == (200, 39, JSON)
    assert parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 13\r\nX: y") == (404, 13, b"")
    assert parse_head(b"HTTP/1.0 204 No Content\r\nserver: x") == (204, 0, b"")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: Text/Plain; charset=utf-8\r\ncontent-length: 2"
    assert parse_head(head) == (200, 2, b"text/plain; charset=utf-8")


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked",
        b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nTransfer-Encoding: chunked",
        b"HTTP/1.1 200 OK\r\ncontent-length: twelve",
        b"SSH-2.0-OpenSSH\r\ncontent-length: 1",
    ],
)
def test_parse_head_rejects_unframed_answers(head):
    with pytest.raises(ProtocolError):
        parse_head(head)


def feed_all(chunks: list[bytes]) -> list[tuple[int, bytes]]:
    parser, answers = ResponseParser(), []
    for chunk in chunks:
        parser.feed(chunk, lambda parsed, head, body: answers.append((parsed[0], body)))
    return answers


def test_parser_joins_a_response_split_at_every_byte():
    stream = RESPONSE * 2
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == [(200, BODY)] * 2


def test_parser_splits_several_responses_in_one_read():
    other = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n\r\noops!"
    assert feed_all([RESPONSE + other + RESPONSE]) == [(200, BODY), (500, b"oops!"), (200, BODY)]


def test_parser_keeps_a_body_longer_than_the_reads():
    body = bytes(range(256)) * 40
    stream = b"HTTP/1.1 200 OK\r\ncontent-length: 10240\r\n\r\n" + body + RESPONSE
    chunks = [stream[i : i + 1000] for i in range(0, len(stream), 1000)]
    assert feed_all(chunks) == [(200, body), (200, BODY)]


CHUNKED_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
)


def test_parse_head_marks_a_chunked_answer():
    head = CHUNKED_ANSWER.partition(b"\r\n\r\n")[0]
    assert parse_head(head) == (200, CHUNKED, b"text/plain")
    assert head_fields(head)[1] == (b"transfer-encoding", b"chunked")


def test_parser_joins_chunks_split_at_every_byte():
    stream = CHUNKED_ANSWER + RESPONSE + CHUNKED_ANSWER
    answers = feed_all([stream[i : i + 1] for i in range(len(stream))])
    assert answers == [(200, b"hello, world"), (200, BODY), (200, b"hello, world")]


def test_parser_skips_trailers():
    stream = CHUNKED_ANSWER[:-2] + b"x-trailer: 1\r\n\r\n" + RESPONSE
    assert feed_all([stream]) == [(200, b"hello, world"), (200, BODY)]


def test_a_bad_chunk_size_is_a_protocol_error():
    head = CHUNKED_ANSWER.partition(b"\r\n\r\n")[0]
    with pytest.raises(ProtocolError, match="bad chunk size"):
        feed_all([head + b"\r\n\r\nzz\r\nhello\r\n"])
