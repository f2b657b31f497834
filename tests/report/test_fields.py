import pytest

from kvbench import KvbenchError
from kvbench.report import fields
from kvbench.results.model import Run

PYTHONS = {"pythons": {"3.12": {"version": "3.12.8"}}, "base_python": "3.11"}


def run(**sections) -> Run:
    return Run.from_json({"services": {}, **sections})


def test_a_missing_required_setting_names_it_instead_of_a_key_error():
    with pytest.raises(KvbenchError, match="records no 'pythons'"):
        fields.pythons({"http": {}})
    with pytest.raises(KvbenchError, match="records no 'base_python'"):
        fields.base_python({"pythons": {}})


def test_the_pythons_part_settings_are_read_as_recorded():
    assert fields.pythons(PYTHONS) == {"3.12": {"version": "3.12.8"}}
    assert fields.base_python(PYTHONS) == "3.11"


def test_a_nested_setting_is_read_by_its_dotted_path():
    assert fields.recorded({"http": {"trials": 6}}, "http.trials") == 6
    with pytest.raises(KvbenchError, match="records no 'http.trials'"):
        fields.recorded({"http": 6}, "http.trials")


def test_a_numeric_setting_that_is_not_a_number_says_so():
    assert fields.recorded_number({"http": {"duration_s": 3.0}}, "http.duration_s") == 3.0
    with pytest.raises(KvbenchError, match="records 'http.trials' as '6', not a number"):
        fields.recorded_number({"http": {"trials": "6"}}, "http.trials")


def test_http_settings_are_none_or_empty_without_an_http_layer():
    assert fields.offered_rate({}) is None and fields.connections({}) is None
    assert fields.server_commands({"http": {"commands": None}}) == {}
    env = {"http": {"offered_rate": 1200, "concurrency": 64, "commands": {"a": ["-m", "a"]}}}
    assert (fields.offered_rate(env), fields.connections(env)) == (1200, 64)
    assert fields.server_commands(env) == {"a": ["-m", "a"]}


def test_latency_files_are_the_per_service_mapping_only():
    assert fields.latency_files(run(files={"latency": {"a": "requests-a.npz"}})) == {
        "a": "requests-a.npz"
    }
    assert fields.latency_files(run(files={"latency": "one.npy"})) == {}  # not per service
    assert fields.latency_files(run()) == {}


def test_a_kind_of_runs_own_sections_come_from_what_the_model_keeps_untyped():
    found = run(floor={"rate": 100}, ratio_to_ceiling={"optimized": 0.5}, rows={"a": "A"})
    assert fields.floor(found) == {"rate": 100} and fields.floor(run()) is None
    assert fields.ratio_to_ceiling(found) == {"optimized": 0.5}
    assert fields.rows(found) == {"a": "A"}
    assert (fields.skipped(found), fields.curves(found), fields.cross_check(found)) == ({}, {}, {})
