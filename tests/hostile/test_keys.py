"""Null bytes and broken percent-encoding in keys, and 10,000 query parameters."""

import pytest

from hostile.conftest import REFUSED_GET, REFUSED_PUT, assert_refused, probing
from hostile.rawclient import ask, request
from kvbench.runtime.contract import BAD_KEY_ENCODING

pytestmark = pytest.mark.slow

BROKEN = ["%zz", "%4", "%", "%FF", "%C3%28", "a%2", "%ED%A0%80"]  # the last: a surrogate


@pytest.mark.parametrize("key", BROKEN)
def test_broken_percent_encoding_is_a_400_with_the_contract_message(target, key):
    with probing(target, REFUSED_GET):
        answer = ask(target.address, request("GET", f"/get?key={key}"))
    assert (answer.status, answer.body) == (400, BAD_KEY_ENCODING.encode())


@pytest.mark.parametrize("key", BROKEN)
def test_put_with_a_broken_key_stores_nothing(target, key):
    put = request("PUT", f"/put?key={key}", "content-length: 1", body=b"v")
    with probing(target, REFUSED_PUT):
        answer = ask(target.address, put)
    assert (answer.status, answer.body) == (400, BAD_KEY_ENCODING.encode())


def test_a_raw_null_byte_in_the_target_is_refused_by_the_server(target):
    with probing(target):
        assert_refused(
            ask(target.address, b"GET /get?key=nul\x00 HTTP/1.1\r\nhost: x\r\n\r\n"), 400
        )


def test_an_escaped_null_byte_is_a_key_like_any_other(target):
    # %00 is valid UTF-8 once decoded; the contract takes any text as a key. Not stored: 404.
    miss = {"total": 1, "gets": 1, "misses": 1}
    with probing(target, miss):
        assert ask(target.address, request("GET", "/get?key=nul%00")).status == 404


def test_ten_thousand_query_parameters(target):
    # h11 reads the 90 KB target and finds the key; httptools cannot parse a URL that long
    # (400), granian says 414 and nginx 414 (8 KiB a line). Either way, never a 5xx.
    query = "&".join(f"p{i}=v" for i in range(10_000)) + "&key=key-0042"
    hit = {"total": 1, "gets": 1, "hits": 1}
    with probing(target, hit):
        answer = ask(target.address, request("GET", f"/get?{query}"))
    assert answer is not None
    if answer.status != 200:
        assert_refused(answer, 400, 414)
