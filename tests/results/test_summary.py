import math

import pytest

from kvbench.results.summary import NO_CI, Summary, summaries


def test_summary_stores_median_interval_n_and_values():
    summary = Summary.of([3, 1, 2, 5, 4, 6], "ms")
    assert summary.to_json() == {
        "median": 3.5,
        "ci_low": 1.0,
        "ci_high": 6.0,
        "n": 6,
        "values": [3.0, 1.0, 2.0, 5.0, 4.0, 6.0],
    }
    assert summary.unit == "ms" and summary.warnings == ()


def test_small_sample_has_no_interval_and_says_why():
    summary = Summary.of([1.5, 2.5])
    assert summary.ci is None and summary.spread_pct is None
    assert summary.warnings == (NO_CI,)
    assert math.isclose(summary.median, 2.0)


def test_spread_is_the_wider_side_of_the_interval():
    # n=6: the interval is the 1st and 6th values, 1 and 10 around a median of 4.
    summary = Summary.of([1, 3, 4, 4, 5, 10])
    assert summary.ci == (1.0, 10.0)
    assert summary.spread_pct == pytest.approx(150.0)


def test_round_trip_through_summary_json():
    stored = Summary.of([2.0, 4.0, 3.0, 5.0, 1.0, 6.0, 7.0]).to_json()
    assert Summary.from_json(stored, "req/s") == Summary.of(stored["values"], "req/s")


def test_an_empty_sample_is_refused():
    with pytest.raises(ValueError):
        Summary.of([])


def test_summaries_skip_empty_samples():
    assert set(summaries({"a": [1.0], "b": []})) == {"a"}
