"""The HTTP contract, checked on both services, in-process and over a real server."""

import asyncio
import json
import re
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kvbench.runtime.contract import (
    BAD_KEY_ENCODING,
    BAD_VALUE_ENCODING,
    BODY_INCOMPLETE,
    KEY_TOO_LONG,
    MAX_KEY_BYTES,
    MAX_KEYS,
    MAX_KEYS_ENV,
    MAX_VALUE_BYTES,
    MISSING_KEY,
    NOT_FOUND,
    PRELOAD_KEYS_ENV,
    STORE_FULL,
    VALUE_TOO_LARGE,
    ContractError,
    check_room,
    max_keys,
    read_value,
)
from kvbench.services import SERVICES
from kvbench.workers.inprocess import call, http_scope

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
SERVICE_NAMES = tuple(SERVICES)


def body_for(key: str, value: str) -> bytes:
    return json.dumps(
        {"key": key, "value": value}, ensure_ascii=False, separators=(",", ":")
    ).encode()


def get_target(key: str) -> str:
    return "/get?key=" + quote(key, safe="")


def put_target(key: str) -> str:
    return "/put?key=" + quote(key, safe="")


def assert_still_serving(client) -> None:
    assert client.request("GET", "/get?key=key-0042") == (
        200,
        JSON,
        body_for("key-0042", "test-value"),
    )


def assert_error(reply, status: int, message: str | None = None) -> None:
    assert reply[:2] == (status, TEXT)
    if message is not None:
        assert reply[2] == message.encode()


@pytest.mark.parametrize("key", ["key-0000", "key-0001", "key-0500", "key-0999"])
def test_preloaded_keys_answer_json(client, key):
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, "test-value"))


@pytest.mark.parametrize("key", ["key-1000", "key-", "key-42", "nope", "KEY-0001"])
def test_unknown_key_is_404(client, key):
    assert_error(client.request("GET", get_target(key)), 404, NOT_FOUND)


@pytest.mark.parametrize(
    "query", ["", "?", "?key=", "?key", "?other=1", "?xkey=a", "?keys=a", "?key=&key=key-0001"]
)
def test_missing_or_empty_key_is_400(client, query):
    assert_error(client.request("GET", "/get" + query), 400, MISSING_KEY)
    assert_error(client.request("PUT", "/put" + query, b"v"), 400, MISSING_KEY)
    assert_still_serving(client)


def test_put_then_get_round_trips(client, unique_key):
    key, value = unique_key(), "hello wörld ✓ 鍵 😀"
    assert client.request("PUT", put_target(key), value.encode()) == (204, None, b"")
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, value))


def test_put_overwrites(client, unique_key):
    key = unique_key()
    for value in ["first", "second", ""]:
        assert client.request("PUT", put_target(key), value.encode())[0] == 204
        assert client.request("GET", get_target(key))[2] == body_for(key, value)


@pytest.mark.parametrize("filler", ["a", "é", "鍵", "😀"])
def test_key_of_exactly_256_bytes_is_accepted(client, unique_key, filler):
    prefix = unique_key()
    width = len(filler.encode())
    room = MAX_KEY_BYTES - len(prefix)
    key = prefix + "a" * (room % width) + filler * (room // width)
    assert len(key.encode()) == MAX_KEY_BYTES
    assert client.request("PUT", put_target(key), b"v")[0] == 204
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, "v"))


@pytest.mark.parametrize("key", ["a" * 257, "é" * 129, "😀" * 64 + "a", "a" * 10_000])
def test_key_over_256_bytes_is_400(client, key):
    assert_error(client.request("GET", get_target(key)), 400, KEY_TOO_LONG)
    assert_error(client.request("PUT", put_target(key), b"v"), 400, KEY_TOO_LONG)
    assert_still_serving(client)


@pytest.mark.parametrize("value", ["x" * MAX_VALUE_BYTES, "é" * (MAX_VALUE_BYTES // 2)])
def test_value_of_exactly_64_kib_is_accepted(client, unique_key, value):
    key = unique_key()
    assert client.request("PUT", put_target(key), value.encode())[0] == 204
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, value))


@pytest.mark.parametrize("size", [MAX_VALUE_BYTES + 1, 4 * MAX_VALUE_BYTES])
def test_value_over_64_kib_is_413_and_not_stored(client, unique_key, size):
    key = unique_key()
    assert_error(client.request("PUT", put_target(key), b"x" * size), 413, VALUE_TOO_LARGE)
    assert_error(client.request("GET", get_target(key)), 404, NOT_FOUND)
    assert_still_serving(client)


@pytest.mark.parametrize("value", [b"\xff", b"abc\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x9f"])
def test_value_not_utf8_is_400_and_not_stored(client, unique_key, value):
    key = unique_key()
    assert_error(client.request("PUT", put_target(key), value), 400, BAD_VALUE_ENCODING)
    assert_error(client.request("GET", get_target(key)), 404, NOT_FOUND)
    assert_still_serving(client)


@pytest.mark.parametrize("bad", [b"\xff", b"x" * (MAX_VALUE_BYTES + 1)])
def test_rejected_put_keeps_the_previous_value(client, unique_key, bad):
    key = unique_key()
    client.request("PUT", put_target(key), b"old")
    assert client.request("PUT", put_target(key), bad)[0] in (400, 413)
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, "old"))


def test_repeated_key_first_wins(client, unique_key):
    first, second = unique_key(), unique_key()
    target = f"/put?key={first}&key={second}"
    assert client.request("PUT", target, b"v")[0] == 204
    assert client.request("GET", get_target(first)) == (200, JSON, body_for(first, "v"))
    assert_error(client.request("GET", get_target(second)), 404, NOT_FOUND)
    assert client.request("GET", "/get?key=key-0001&key=key-0002")[2] == body_for(
        "key-0001", "test-value"
    )
    assert_error(client.request("GET", f"/get?key={second}&key=key-0001"), 404, NOT_FOUND)
    assert client.request("GET", "/get?a=1&key=key-0003&b=2")[0] == 200


@pytest.mark.parametrize(
    "suffix", ["a b", "a+b", "100%", "a&b=c", "ключ", "鍵", "😀", "a/b?c#d", "t\tn\nl", "\x00"]
)
def test_percent_encoded_keys_round_trip(client, unique_key, suffix):
    key = unique_key() + suffix
    assert client.request("PUT", put_target(key), b"v")[0] == 204
    assert client.request("GET", get_target(key)) == (200, JSON, body_for(key, "v"))
    assert client.request("GET", "/get?key=" + quote_plus(key))[2] == body_for(key, "v")
    lower = re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), quote(key, safe=""))
    assert client.request("GET", "/get?key=" + lower)[0] == 200


def test_plus_is_a_space(client, unique_key):
    prefix = unique_key()
    assert client.request("PUT", f"/put?key={prefix}+x", b"v")[0] == 204
    assert client.request("GET", f"/get?key={prefix}%20x") == (
        200,
        JSON,
        body_for(prefix + " x", "v"),
    )
    assert_error(client.request("GET", f"/get?key={prefix}%2Bx"), 404, NOT_FOUND)


@pytest.mark.parametrize(
    "raw",
    ["%zz", "%", "%F", "%FF", "abc%", "abc%4", "%%41", "%G0", "%C3%28", "%ED%A0%80", "a%E2%82"],
)
def test_malformed_percent_encoding_is_400(client, raw):
    assert_error(client.request("GET", "/get?key=" + raw), 400, BAD_KEY_ENCODING)
    assert_error(client.request("PUT", "/put?key=" + raw, b"v"), 400, BAD_KEY_ENCODING)
    assert_still_serving(client)


def test_10kb_query_string_gets_a_clear_answer(client):
    assert_error(client.request("GET", "/get?key=" + "a" * 10_240), 400, KEY_TOO_LONG)
    padded = "/get?" + "pad=1&" * 1_700 + "key=key-0007"
    assert len(padded) > 10_000
    assert client.request("GET", padded) == (200, JSON, body_for("key-0007", "test-value"))
    assert_still_serving(client)


@pytest.mark.parametrize("path", ["/", "/nope", "/get/x", "/GET", "/debug/vars", "//get"])
def test_unknown_path_is_404(client, path):
    assert_error(client.request("GET", path + "?key=key-0001"), 404)
    assert_error(client.request("PUT", path + "?key=key-0001", b"v"), 404)
    assert_still_serving(client)


@pytest.mark.parametrize("path", ["/get/", "/put/"])
def test_trailing_slash_is_404(client, path):
    assert_error(client.request("GET", path + "?key=key-0001"), 404)
    assert_error(client.request("PUT", path + "?key=key-0001", b"v"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/get"),
        ("PUT", "/get"),
        ("DELETE", "/get"),
        ("OPTIONS", "/get"),
        ("PATCH", "/get"),
        ("GET", "/put"),
        ("HEAD", "/put"),
        ("POST", "/put"),
        ("DELETE", "/put"),
        ("OPTIONS", "/put"),
    ],
)
def test_wrong_method_is_405(client, method, path):
    status, content_type, body = client.request(method, path + "?key=key-0001")
    assert (status, content_type) == (405, TEXT)
    assert body == (b"" if method == "HEAD" and client.mode == "http" else b"Method Not Allowed")
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("query", "status", "content_type"),
    [("?key=key-0001", 200, JSON), ("?key=nope", 404, TEXT), ("", 400, TEXT)],
)
def test_head_get_is_get_without_a_body(client, query, status, content_type):
    head = client.request("HEAD", "/get" + query)
    get = client.request("GET", "/get" + query)
    assert head[:2] == get[:2] == (status, content_type)
    # In-process there is no server to drop the body; over HTTP, uvicorn must drop it.
    assert head[2] == (b"" if client.mode == "http" else get[2])


def cross_check_requests(key: str) -> list[tuple[str, str, bytes]]:
    return [
        ("GET", "/get?key=key-0000", b""),
        ("GET", "/get?key=key-0999&key=x", b""),
        ("GET", "/get", b""),
        ("GET", "/get?key=", b""),
        ("GET", "/get?key=absent", b""),
        ("GET", "/get?key=%zz", b""),
        ("GET", "/get?key=%FF", b""),
        ("GET", "/get?key=" + "k" * 300, b""),
        ("GET", get_target(key), b""),
        ("PUT", put_target(key), 'välue ✓ "quoted" \\ \t\x01'.encode()),
        ("GET", get_target(key), b""),
        ("PUT", put_target(key), b"\xff"),
        ("PUT", put_target(key), b"x" * (MAX_VALUE_BYTES + 1)),
        ("GET", get_target(key), b""),
        ("PUT", put_target(key) + "+plus", b""),
        ("GET", get_target(key + " plus"), b""),
        ("HEAD", "/get?key=key-0001", b""),
        ("OPTIONS", "/get?key=key-0001", b""),
        ("DELETE", "/put?key=key-0001", b""),
        ("GET", "/nope", b""),
        ("GET", "/get?key=a?b", b""),
    ]


@pytest.mark.parametrize("mode", ["asgi", pytest.param("http", marks=pytest.mark.slow)])
def test_services_answer_byte_identically(make_client, unique_key, mode):
    key = unique_key("cross") + "-ключ"
    replies = {}
    for name in SERVICE_NAMES:
        client = make_client(name, mode)
        replies[name] = [client.request(*request) for request in cross_check_requests(key)]
    assert replies["unoptimized"] == replies["optimized"]
    assert {reply[0] for reply in replies["optimized"]} == {200, 204, 400, 404, 405, 413}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_raw_utf8_query_bytes_in_process(make_client, unique_key, name):
    client = make_client(name, "asgi")
    key = unique_key() + "-ключ"
    put = http_scope("PUT", "/put", b"key=" + key.encode())
    assert client.loop.run_until_complete(call(client.app, put, b"v")).status == 204
    assert client.request("GET", get_target(key))[2] == body_for(key, "v")
    bad = http_scope("GET", "/get", b"key=\xff")
    answer = client.loop.run_until_complete(call(client.app, bad))
    assert (answer.status, answer.body) == (400, BAD_KEY_ENCODING.encode())


KEYS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64)
VALUES = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)


@pytest.mark.parametrize("name", SERVICE_NAMES)
@settings(max_examples=50, deadline=None, database=None)
@given(key=KEYS, value=VALUES, plus=st.booleans())
def test_any_text_round_trips_in_process(make_client, name, key, value, plus):
    assume(not key.startswith("key-"))  # Keep the preloaded keys intact for other tests.
    client = make_client(name, "asgi")
    encoded = quote_plus(key, safe="") if plus else quote(key, safe="")
    assert client.request("PUT", "/put?key=" + encoded, value.encode()) == (204, None, b"")
    assert client.request("GET", "/get?key=" + encoded) == (200, JSON, body_for(key, value))


def reader(*messages: dict):
    """A receive() that hands out these messages and counts how many were asked for."""
    given = list(messages)
    asked = []

    async def receive() -> dict:
        asked.append(given[len(asked)])
        return asked[-1]

    return receive, asked


def body(chunk: bytes, more: bool = False) -> dict:
    return {"type": "http.request", "body": chunk, "more_body": more}


def scope_with(*headers: tuple[bytes, bytes]) -> dict:
    return {"headers": [(b"host", b"x"), *headers]}


def read(scope: dict, receive) -> str:
    return asyncio.run(read_value(scope, receive))


def test_read_value_joins_the_chunks():
    receive, _ = reader(body(b"ab", more=True), body(b"", more=True), body("cé".encode()))
    assert read(scope_with(), receive) == "abcé"


def test_a_declared_length_over_the_limit_is_refused_without_reading():
    receive, asked = reader(body(b"x"))
    scope = scope_with((b"content-length", str(MAX_VALUE_BYTES + 1).encode()))
    with pytest.raises(ContractError) as refused:
        read(scope, receive)
    assert (refused.value.status, refused.value.message) == (413, VALUE_TOO_LARGE)
    assert refused.value.headers == {"connection": "close"}
    assert asked == []  # receive() never called: no body byte read, no 100 Continue sent


def test_reading_stops_at_the_first_chunk_past_the_limit():
    chunk = b"x" * 1024
    receive, asked = reader(*[body(chunk, more=True) for _ in range(1000)])
    with pytest.raises(ContractError, match=VALUE_TOO_LARGE):
        read(scope_with(), receive)
    assert len(asked) == MAX_VALUE_BYTES // len(chunk) + 1


def test_exactly_the_limit_is_read_whole():
    receive, _ = reader(body(b"x" * MAX_VALUE_BYTES))
    assert len(read(scope_with((b"content-length", b"65536")), receive)) == MAX_VALUE_BYTES


def test_a_disconnect_mid_body_is_a_400_that_closes():
    receive, _ = reader(body(b"ab", more=True), {"type": "http.disconnect"})
    with pytest.raises(ContractError) as refused:
        read(scope_with(), receive)
    assert (refused.value.status, refused.value.message) == (400, BODY_INCOMPLETE)
    assert refused.value.close


def test_check_room_refuses_only_new_keys_once_full():
    store = {"a": 1, "b": 2}
    check_room(store, "c", 3)
    check_room(store, "a", 2)  # an update always fits
    with pytest.raises(ContractError) as refused:
        check_room(store, "c", 2)
    assert (refused.value.status, refused.value.message) == (507, STORE_FULL)


def test_max_keys_defaults_reads_the_env_and_never_refuses_the_preload(monkeypatch):
    monkeypatch.delenv(MAX_KEYS_ENV, raising=False)
    monkeypatch.delenv(PRELOAD_KEYS_ENV, raising=False)
    assert max_keys() == MAX_KEYS == 10_000
    monkeypatch.setenv(MAX_KEYS_ENV, "1500")
    assert max_keys() == 1500
    monkeypatch.setenv(PRELOAD_KEYS_ENV, "100000")
    assert max_keys() == 100_000  # a bigger preload raises the bound: the store starts full
    monkeypatch.setenv(MAX_KEYS_ENV, "0")
    with pytest.raises(ValueError, match=MAX_KEYS_ENV):
        max_keys()
