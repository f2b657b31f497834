"""A ratio of two services in one run: paired per round where recorded, else of the medians."""

from pathlib import Path

import pytest

from kvbench.results.ratios import paired_entry, ratio
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


def test_a_paired_entry_stores_both_ratios_their_correlation_and_which_is_narrower():
    base = [100.0, 140.0, 90.0, 120.0, 80.0, 110.0, 130.0, 95.0]  # the machine drifts
    shared = [(2 * b * (1 + 0.01 * (-1) ** i), b) for i, b in enumerate(base)]
    entry = paired_entry(shared)
    assert entry["median"] == pytest.approx(2.0, rel=0.02) and entry["n"] == 8
    unpaired = entry["unpaired"]
    assert set(unpaired) == {"ratio", "ci_low", "ci_high", "n", "method"}
    assert unpaired["ratio"] == pytest.approx(2.0, rel=0.02) and unpaired["n"] == 8
    assert entry["correlation"] > 0.99 and entry["narrower"] == "paired"
    # The same values with the service's rounds shuffled against the base's: the drift no
    # longer cancels, and the correlation says why.
    order = [3, 0, 6, 7, 1, 5, 2, 4]
    crossed = paired_entry([(shared[j][0], shared[i][1]) for i, j in enumerate(order)])
    assert crossed["correlation"] < 0.3 and crossed["narrower"] == "unpaired"
    assert crossed["unpaired"]["ratio"] == unpaired["ratio"]


def test_a_paired_entry_without_positive_values_has_no_unpaired_ratio():
    entry = paired_entry([(0.0, 1.0)] + [(1.0, 1.0)] * 6)
    assert entry["unpaired"] is None and entry["correlation"] is None
    assert entry["narrower"] is None
