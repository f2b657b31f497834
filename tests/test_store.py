"""The peers' store: the same answers, byte for byte, as the optimized service keeps."""

import pytest

from optimized import app as optimized
from peers.store import Counters, encode, preloaded


@pytest.mark.parametrize(
    ("key", "value"),
    [("key-0042", "test-value"), ("ключ", "välue ✓"), ('a"b\\c', ""), ("k", "\x01")],
)
def test_encode_matches_the_optimized_service(key, value):
    assert encode(key, value) == optimized.encode(key, value)


def test_preloaded_is_the_contracts_store():
    store = preloaded()
    assert len(store) == 1000
    assert store["key-0042"] == optimized.encode("key-0042", "test-value")
    assert set(store) == {f"key-{i:04d}" for i in range(1000)}


def test_counters_snapshot_is_a_copy():
    counters = Counters()
    counters.gets += 2
    snapshot = counters.snapshot()
    counters.gets += 1
    assert snapshot == {"total": 0, "gets": 2, "puts": 0, "hits": 0, "misses": 0, "errors": 0}
