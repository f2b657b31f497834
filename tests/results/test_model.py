import json
from pathlib import Path

import pytest

from kvbench.results.model import Run, SchemaError
from kvbench.results.resultset import read_results

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted(
    p for p in (ROOT / "bench-results").rglob("summary.json") if "runs" not in p.parts
)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_run_round_trips_through_the_model(path):
    data = json.loads(path.read_text())
    if "services" not in data:
        pytest.skip("not a run summary (the hostile clients' report)")
    assert Run.from_json(data, str(path)).to_json() == data


def test_the_model_types_latency_paired_and_files():
    run = Run.from_json(
        {
            "schema": 3,
            "services": {"a": {"http_tps": {"values": [1.0, 2.0, 3.0]}}},
            "latency": {"a": {"n": 2000, "offered_rate": 100.0,
                              "p99": {"ms": 1.5, "ci_low": 1.2, "ci_high": 1.9, "beyond": 20}}},
            "paired": {"a": {"vs": "b", "metrics": {"http_tps": {"values": [2.0, 2.2],
                                                                 "correlation": -0.3}}}},
            "files": {"asgi": "asgi.json", "latency": {"a": "requests-a.npz"}},
        }
    )  # fmt: skip
    assert run.services["a"]["http_tps"].median == 2.0
    assert run.latency["a"].percentiles["p99"].ci_high == 1.9
    assert run.ratio("a", "b", "http_tps").other == {"correlation": -0.3}
    assert run.ratio("a", "c", "http_tps") is None
    assert run.file("latency", "a") == "requests-a.npz"
    assert run.file("asgi") == "asgi.json"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"environment": {}}, "no 'services'"),
        ({"services": []}, "services is not a mapping"),
        ({"services": {"a": {"x": {"values": [1, float("nan")]}}}}, "metric 'x' has NaN"),
        ({"services": {"a": {"x": {"values": ["fast"]}}}}, "metric 'x' has non-numeric"),
        ({"services": {}, "paired": {"a": {"metrics": {}}}}, "paired.a.vs"),
        ({"services": {}, "latency": {"a": {"p99": {"ms": None}}}}, "latency.a.p99.ms"),
        ({"services": {}, "provenance": {"sources": {"a.py": 1}}}, "sources maps paths"),
    ],
)
def test_a_malformed_summary_names_the_field(data, message):
    with pytest.raises(SchemaError, match=message):
        Run.from_json(data, "x.json")


def test_read_results_goes_through_the_model(tmp_path):
    (tmp_path / "summary.json").write_text(
        json.dumps({"services": {"a": {"http_tps": {"values": [5.0]}}}, "rounds": [{}]})
    )
    results = read_results(tmp_path)
    assert results.run is not None and results.run.rounds == [{}]
    assert results.services["a"]["http_tps"].unit == "req/s"


def test_the_schema_is_validated_on_read():
    services = {"a": {"http_tps": {"values": [1.0]}}}
    assert Run.from_json({"services": services}).schema == 1  # before the number was written
    assert Run.from_json({"schema": 3, "services": services}).schema == 3
    for schema in (99, 4, "2", True, 0):
        with pytest.raises(SchemaError, match=f"x.json: schema {schema!r} is not one this"):
            Run.from_json({"schema": schema, "services": services}, "x.json")
