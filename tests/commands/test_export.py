"""`kvbench export`: one CSV row per service per HTTP trial, in-process metrics left out."""

import csv
import json

from kvbench import cli

SUMMARY = {
    "rounds": [{"order": ["a", "b"]}, {"order": ["b", "a"]}],
    "services": {
        "a": {"http_tps": {"values": [100.0, 110.0]}, "asgi_ns_per_op": {"values": [1.0] * 20}},
        "b": {"http_tps": {"values": [200.0, 210.0]}, "server_busy": {"values": [0.9, 1.0]}},
    },
}


def test_one_row_per_trial_with_its_round_and_place(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(SUMMARY))
    out = tmp_path / "trials.csv"
    assert cli.main(["export", str(run), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["service"], r["trial"], r["round"], r["position"]) for r in rows] == [
        ("a", "0", "1", "0"), ("a", "1", "2", "1"), ("b", "0", "1", "1"), ("b", "1", "2", "0"),
    ]  # fmt: skip
    assert rows[1]["http_tps"] == "110.0" and rows[3]["server_busy"] == "1.0"
    assert rows[0]["server_busy"] == "" and "asgi_ns_per_op" not in rows[0]


def test_a_trials_file_is_preferred_when_the_run_has_one(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "a-trials.json").write_text(json.dumps([{"http_tps": 1.5}, {"http_tps": 2.5}]))
    (run / "summary.json").write_text(
        json.dumps({**SUMMARY, "files": {"trials": {"a": "a-trials.json"}}})
    )
    out = tmp_path / "trials.csv"
    assert cli.main(["export", str(run), "--csv", str(out)]) == 0
    rows = csv.DictReader(out.read_text().splitlines())
    assert [r["http_tps"] for r in rows][:2] == ["1.5", "2.5"]


def test_a_run_without_trials_fails_and_a_wrong_suffix_is_a_usage_error(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"services": {}}))
    assert cli.main(["export", str(tmp_path), "--csv", str(tmp_path / "t.csv")]) == 1
    assert cli.main(["export", str(tmp_path), "--csv", str(tmp_path / "t.parquet")]) == 2
