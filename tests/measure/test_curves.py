"""The scaling curves' settings and workload, and the preload size they rely on."""

import json

import pytest

from kvbench import KvbenchError
from kvbench.measure import curves as scaling
from kvbench.measure.campaign import Campaign, CampaignResult
from kvbench.measure.trials import TrialPlan, TrialResult
from kvbench.runtime.contract import PRELOAD_KEYS_ENV, preload_count, preload_items
from kvbench.services import SERVICES


def test_curves_from_the_command_line():
    curves = scaling.curves_from("keys,workers", None, "1000,5000", "1,2")
    assert curves.names == ("keys", "workers")
    assert curves.keys == (1000, 5000) and curves.worker_counts == (1, 2)
    assert curves.levels == scaling.LEVELS
    assert scaling.curves_from("", None, None, None).names == ()


@pytest.mark.parametrize(
    ("names", "levels", "keys"), [("speed", None, None), ("keys", "1,x", None), ("keys", None, "0")]
)
def test_bad_curves_are_clear_errors(names, levels, keys):
    with pytest.raises(KvbenchError):
        scaling.curves_from(names, levels, keys, None)


def test_default_workers_go_from_one_to_the_cpu_count():
    curves = scaling.Curves(cpus=frozenset({0, 1, 2}))
    assert curves.worker_counts == (1, 2, 3)


def test_points_count_services_times_points():
    curves = scaling.Curves(levels=(1, 8), keys=(1000,), workers=(1, 2, 3))
    assert scaling.points(curves) == 2 * (2 + 1 + 3)
    assert scaling.points(scaling.Curves(names=("keys",), keys=(1000,))) == 2


def test_spread_workload_covers_the_key_range_with_each_keys_own_body():
    probes = scaling.spread_workload("127.0.0.1", 9, 1_000_000)
    assert len(probes) == scaling.KEY_PROBES
    assert probes[0].raw.startswith(b"GET /get?key=key-0000 ")
    assert probes[-1].raw.startswith(b"GET /get?key=key-999990 ")
    body = json.dumps({"key": "key-999990", "value": "test-value"}, separators=(",", ":"))
    assert probes[-1].body == body.encode() and probes[-1].status == 200
    assert len(scaling.spread_workload("127.0.0.1", 9, 1000)) == 1000


def test_preload_keys_env_sets_the_store_size(monkeypatch):
    assert preload_count() == 1000
    monkeypatch.setenv(PRELOAD_KEYS_ENV, "12345")
    items = preload_items()
    assert len(items) == 12345 and items[-1] == ("key-12344", "test-value")
    monkeypatch.setenv(PRELOAD_KEYS_ENV, "lots")
    with pytest.raises(ValueError, match=PRELOAD_KEYS_ENV):
        preload_count()


def test_each_point_keeps_the_curve_metrics_per_service():
    services = [SERVICES[name] for name in scaling.CURVE_SERVICES]
    rounds = [
        {s.name: TrialResult({"http_tps": v, "other": 1.0}) for s in services}
        for v in (1.0, 3.0, 2.0)
    ]
    result = CampaignResult(Campaign(services, TrialPlan(), 3), TrialPlan(), rounds, "none")
    found = scaling._by_service({64: result}, ("http_tps",))
    assert list(found) == list(scaling.CURVE_SERVICES)
    assert list(found["optimized"]["64"]) == ["http_tps"]
    assert found["optimized"]["64"]["http_tps"]["median"] == 2.0
