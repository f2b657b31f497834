import gc

import pytest

from kvbench import KvbenchError
from kvbench.workers import gcwork

OK = '[[request]]\npath = "/"\n[request.expect]\nstatus = 200\nbody = "ok"\n'


@pytest.fixture
def measure(tmp_path):
    """gcwork.measure with a request file the test apps answer (200 "ok" to everything)."""
    path = tmp_path / "ok.toml"
    path.write_text(OK)
    return lambda target, requests: gcwork.measure(target, requests, str(path))


def test_a_request_that_leaves_a_cycle_is_counted_as_cyclic_garbage(measure):
    found = measure("tests.apps.garbage:cyclic", 1000)
    assert found["gc_cycles_per_op"] == pytest.approx(2.0, abs=0.05)
    assert found["gc_survivors_per_op"] == pytest.approx(2.0, abs=0.05)


def test_a_request_that_keeps_an_object_survives_without_being_garbage(measure):
    found = measure("tests.apps.garbage:hoarding", 1000)
    assert found["gc_survivors_per_op"] == pytest.approx(1.0, abs=0.05)
    assert found["gc_cycles_per_op"] == pytest.approx(0.0, abs=0.01)


def test_cyclic_garbage_makes_the_collector_run(measure):
    cyclic = measure("tests.apps.garbage:cyclic", 6400)["gc_collections_per_kreq"]
    hoarding = measure("tests.apps.garbage:hoarding", 6400)["gc_collections_per_kreq"]
    # 2 objects per request that only a collection frees: one gen-0 collection per
    # threshold / 2 requests: about 2.9 per 1,000 with 3.11 and 3.12's default threshold of
    # 700, about 1.0 with 3.13's 2,000.
    expected = 2 * 1000 / gc.get_threshold()[0]
    assert cyclic > 0.7 * expected and cyclic > hoarding


def test_a_wrong_answer_fails_the_count():
    # the test apps answer "ok" to GET /get?key=key-0042, not the contract's JSON pair
    with pytest.raises(KvbenchError, match=r"GET /get\?key=key-0042: body b'ok' expected"):
        gcwork.measure("tests.apps.garbage:cyclic", 100)
