import pytest

from kvbench.measure import floor


def test_a_percentile_within_twice_the_round_trip_is_at_the_floor():
    found = {"round_trip_ms": {"p99": 0.8}, "at_floor_factor": 2.0}
    assert floor.at_floor(1.6, found, "p99") and not floor.at_floor(1.61, found, "p99")
    assert not floor.at_floor(0.1, None, "p99")  # no floor measured: nothing is at it
    assert not floor.at_floor(0.1, {"round_trip_ms": {"p99": None}}, "p99")


@pytest.mark.slow
def test_the_floor_is_measured_at_the_given_rate_and_connections():
    found = floor.measure(rate=500, connections=4, seconds=1.0)
    assert (found["rate"], found["connections"]) == (500, 4)
    assert found["requests"] >= 400
    trip, late = found["round_trip_ms"], found["lateness_at_server_ms"]
    assert trip["p50"] > 0 and trip["p99"] is None or trip["p99"] >= trip["p50"]
    assert trip["p999"] is None  # 500 requests: not 10 beyond the p99.9
    assert late["p50"] is not None
