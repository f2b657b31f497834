"""The big-body probe: four concurrent 256 MB chunked PUTs, memory bounded by the limit."""

import pytest

from hostile.conftest import probing
from kvbench.measure import hostile

pytestmark = pytest.mark.slow

CLIENTS, SIZE = 4, 256 << 20
PEAK_RSS_LIMIT = 150e6


def test_four_256_mb_chunked_puts_get_413_and_memory_stays_bounded(target):
    refused = {"total": CLIENTS, "puts": CLIENTS, "errors": CLIENTS}
    absent = tuple(f"big-body-{i}" for i in range(CLIENTS))
    with probing(target, refused, absent=absent):
        results = hostile.big_bodies(*target.address, CLIENTS, SIZE)
    assert [r.status for r in results] == [413] * CLIENTS
    assert all(r.sent_bytes < SIZE for r in results)
    peak = target.server.debug_vars()["peak_rss_bytes"]  # of the service, behind a proxy too
    assert peak < PEAK_RSS_LIMIT, f"{target.name}: peak RSS {peak / 1e6:.0f} MB"
