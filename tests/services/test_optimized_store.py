"""The optimized store: the contract's bytes, encoded once, at their exact size."""

import json
import tracemalloc

import pytest

from optimized.store import Counters, encode, preloaded


@pytest.mark.parametrize(
    ("key", "value"),
    [("key-0042", "test-value"), ("ключ", "välue ✓"), ('a"b\\c', ""), ("k", "\x01\u2028")],
)
def test_encode_gives_the_contracts_bytes_and_length(key, value):
    headers, body = encode(key, value)
    expected = json.dumps({"key": key, "value": value}, ensure_ascii=False, separators=(",", ":"))
    assert body == expected.encode()
    assert dict(headers) == {
        b"content-length": str(len(body)).encode(),
        b"content-type": b"application/json",
    }


def test_a_stored_body_holds_no_spare_buffer():
    # Each body lives as long as its key: it must not keep orjson's ~4 KiB write buffer.
    tracemalloc.start()
    try:
        bodies = [encode(f"key-{i:04d}", "test-value")[1] for i in range(200)]
        per_body = tracemalloc.get_traced_memory()[0] / len(bodies)
    finally:
        tracemalloc.stop()
    assert per_body < 512


def test_preloaded_is_the_contracts_store():
    store = preloaded()
    assert set(store) == {f"key-{i:04d}" for i in range(1000)}
    assert store["key-0042"][1] == b'{"key":"key-0042","value":"test-value"}'


def test_counters_snapshot_is_a_copy():
    counters = Counters()
    counters.gets += 2
    snapshot = counters.snapshot()
    counters.gets += 1
    assert snapshot == {"total": 0, "gets": 2, "puts": 0, "hits": 0, "misses": 0, "errors": 0}


def test_reading_the_counters_keeps_them_plain_slots():
    counters = Counters()
    counters.hits += 1
    assert counters.snapshot()["hits"] == 1
    assert not hasattr(counters, "__dict__")  # no dict to materialize, whatever reads them
