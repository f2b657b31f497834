"""The run-against-reference table: its rows, a ratio that cannot be taken, version warnings."""

from pathlib import Path

from kvbench.report.carryover import differences, names, render
from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary


def results(gc_old: float, packages: dict) -> ResultSet:
    services = {
        "unoptimized": {"http_tps": Summary.of([100]), "gc_collections": Summary.of([gc_old])},
        "optimized": {"http_tps": Summary.of([900]), "gc_collections": Summary.of([3])},
    }
    env = {"environment": {"packages": packages, "cpu_model": "CPU", "cores": 2}}
    return ResultSet(Path("x/summary.json"), services, env)


def test_rows_are_the_metrics_both_sides_have_in_metric_order():
    reference, run = results(40, {}), results(0, {})
    del run.services["optimized"]["gc_collections"]
    assert names(reference, run, "unoptimized", "optimized") == ["http_tps"]
    assert names(reference, reference, "unoptimized", "optimized") == ["http_tps", "gc_collections"]


def test_a_zero_base_has_no_ratio_and_nothing_to_move():
    text = render(results(40, {}), results(0, {}), "unoptimized", "optimized")
    (row,) = [line for line in text.splitlines() if line.startswith("gc_collections")]
    assert row.split()[-3:] == ["3.000", "—", "—"]
    assert "x (CPU, 2 cores)" in text


def test_each_differing_package_is_one_warning():
    old, new = results(1, {"uvicorn": "0.30", "orjson": "3.10"}), results(1, {"uvicorn": "0.31"})
    assert differences(old, new, ("a", "b")) == [
        "warning: orjson 3.10 in a, absent in b: not the same code was measured",
        "warning: uvicorn 0.30 in a, 0.31 in b: not the same code was measured",
    ]
    assert differences(old, old, ("a", "b")) == []


def test_services_the_reference_lacks_leave_nothing_to_put_beside():
    text = render(results(1, {}), results(1, {}), "hotpath", "optimized")
    assert text == "no metric of hotpath and optimized in both the reference and your run\n"
