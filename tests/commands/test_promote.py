"""`kvbench promote`: a run of yours becomes the reference, and its report is regenerated."""

import json
from pathlib import Path

from kvbench.cli import main
from kvbench.results import runs
from kvbench.soak.series import write_csv
from tests.soak.test_report import summary

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"


def test_promote_copies_the_latest_run_then_writes_its_report(tmp_path, capsys):
    reference = tmp_path / "bench-results"
    reference.mkdir()
    run = runs.start("r1", reference)
    for path in FIXTURE.glob("*.*"):  # the main files, not the fixture's own runs/
        (run / path.name).write_bytes(path.read_bytes())
    assert main(["promote", "--reference", str(reference)]) == 0
    out = capsys.readouterr().out
    assert f"promoted {run} into {reference}/: main" in out
    assert json.loads((reference / "summary.json").read_text())["services"]
    assert (reference / "REPORT.md").is_file()
    assert (reference / "plots" / "throughput.svg").is_file()
    assert not (run / "REPORT.md").exists()  # the run is read, never written


def test_promote_without_a_run_says_how_to_make_one(tmp_path, capsys):
    assert main(["promote", "--reference", str(tmp_path)]) == 1
    assert "make bench TRIALS=2" in capsys.readouterr().err


def test_promote_copies_a_soak_and_rewrites_its_report(tmp_path, capsys):
    reference = tmp_path / "bench-results"
    reference.mkdir()
    soak = runs.start("r1", reference) / "soak"
    soak.mkdir()
    (soak / "summary.json").write_text(json.dumps(summary()))
    write_csv([{"t_s": 1, "ok": 5, "errors": 0}], soak / "series.csv")
    (soak / "REPORT.md").write_text("stale")
    assert main(["promote", "--reference", str(reference)]) == 0
    assert "soak" in capsys.readouterr().out
    assert "| kill_redis |" in (reference / "soak" / "REPORT.md").read_text()
    assert (reference / "soak" / "plots" / "soak.png").is_file()
