"""A ratio of two services in one run: paired per round where recorded, else of the medians."""

from pathlib import Path

import pytest

from kvbench.results.ratios import ratio
from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary


def results(paired: dict | None = None) -> ResultSet:
    services = {
        "old": {"http_tps": Summary.of([100, 110, 90]), "gc_collections": Summary.of([0, 0])},
        "new": {"http_tps": Summary.of([300, 320, 310]), "gc_collections": Summary.of([2, 2])},
    }
    return ResultSet(Path("summary.json"), services, {"paired": paired} if paired else {})


def test_without_paired_ratios_it_is_the_ratio_of_the_medians():
    found = ratio(results(), "new", "old", "http_tps")
    assert found.value == pytest.approx(310 / 100)
    assert found.interval is None and not found.paired


def test_paired_ratios_win_when_the_run_recorded_them_for_this_base():
    per_round = [3.0, 3.1, 2.9, 3.2, 3.05, 2.95]
    paired = {"new": {"vs": "old", "metrics": {"http_tps": {"values": per_round}}}}
    found = ratio(results(paired), "new", "old", "http_tps")
    assert found.paired and found.value == pytest.approx(3.025)
    assert found.interval == Summary.of(per_round).ci
    assert not ratio(results(paired), "new", "old", "gc_collections")  # base median 0
    other_base = {"new": {"vs": "else", "metrics": {"http_tps": {"values": per_round}}}}
    assert not ratio(results(other_base), "new", "old", "http_tps").paired


def test_a_missing_metric_or_service_has_no_ratio():
    assert ratio(results(), "new", "old", "asgi_ns_per_op") is None
    assert ratio(results(), "nobody", "old", "http_tps") is None
