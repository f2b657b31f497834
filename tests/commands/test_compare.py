"""`kvbench compare` on your run: its services, then the run beside the committed reference."""

import json
import shutil
import statistics
from pathlib import Path

import pytest

from kvbench.cli import main
from kvbench.report.formatting import percent, ratio
from kvbench.results import runs

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "run"  # the reference; runs/RUN beside it is yours
RUN = "20241127T120000Z"


def median_ratio(folder: Path) -> float:
    services = json.loads((folder / "summary.json").read_text())["services"]
    medians = [
        statistics.median(services[s]["http_tps"]["values"]) for s in ("unoptimized", "optimized")
    ]
    return medians[0] / medians[1]


def compare(*argv: str) -> int:
    return main(["compare", "--reference", str(FIXTURE), *argv])


def test_your_run_alone_then_beside_the_reference(capsys, monkeypatch, golden):
    monkeypatch.chdir(ROOT)  # paths are shown relative to where you are
    assert compare("--run", RUN) == 0
    golden("compare-your-run.txt", capsys.readouterr().out)


def test_latest_is_the_default_run(tmp_path, capsys):
    reference = tmp_path / "bench-results"
    shutil.copytree(FIXTURE, reference)
    runs.start(RUN, reference)  # points latest at it
    assert main(["compare", "--reference", str(reference)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"your run: {reference / 'runs' / RUN}\n")
    assert "unoptimized vs optimized in your run" in out
    assert "your run against the committed reference" in out


def test_no_run_yet_says_how_to_make_one(tmp_path, capsys):
    shutil.copytree(FIXTURE / "runs", tmp_path / "elsewhere")  # no runs/ under the reference
    # not a usage error: there is no run to read
    assert main(["compare", "--reference", str(tmp_path)]) == 1
    assert "make bench TRIALS=2" in capsys.readouterr().err


def test_metric_and_service_choices_reach_both_tables(capsys):
    argv = ["--run", RUN, "--old", "optimized", "--new", "unoptimized", "--metric", "http_tps"]
    assert compare(*argv) == 0
    out = capsys.readouterr().out
    assert "optimized vs unoptimized in your run" in out
    rows = [line for line in out.splitlines() if line.startswith(("http_", "asgi_", "micro_"))]
    assert [row.split()[0] for row in rows] == ["http_tps", "http_tps"]
    # unoptimized / optimized now: the run's paired ratios go the other way, so not used,
    # and the ratio is that of the medians, in each run
    ratios = [median_ratio(folder) for folder in (FIXTURE, FIXTURE / "runs" / RUN)]
    moved = (ratios[1] / ratios[0] - 1) * 100
    assert f"{ratio(ratios[1])}  {percent(moved)}" in rows[1] and "±" not in rows[1]
    assert "ratio: unoptimized / optimized in the same run: the ratio of the medians." in out


@pytest.mark.parametrize(
    "argv",
    [["--format", "md"], ["--relative-to", "unoptimized"], ["--fail-on-regression", "10"]],
)
def test_run_view_refuses_what_needs_two_named_sets(capsys, argv):
    assert compare("--run", RUN, *argv) == 2
    assert "need RESULTS" in capsys.readouterr().err


def test_run_and_results_are_not_both_given(capsys):
    assert compare("--run", RUN, str(FIXTURE)) == 2
    assert "not both" in capsys.readouterr().err


def test_two_runs_on_other_versions_warn(capsys):
    assert compare(str(FIXTURE), str(FIXTURE / "runs" / RUN)) == 0
    err = capsys.readouterr().err
    assert err == (
        f"warning: starlette 0.41.0 in {FIXTURE}, 0.42.0 in {FIXTURE / 'runs' / RUN}: "
        "not the same code was measured\n"
    )


def test_fixture_run_is_the_reference_on_a_slower_machine():
    reference = json.loads((FIXTURE / "summary.json").read_text())
    run = json.loads((FIXTURE / "runs" / RUN / "summary.json").read_text())
    tps = [run["services"][s]["http_tps"]["median"] for s in ("unoptimized", "optimized")]
    assert tps[0] < reference["services"]["unoptimized"]["http_tps"]["median"] / 1.9
    assert run["paired"]["optimized"]["vs"] == "unoptimized"


def test_one_run_without_an_unoptimized_service_compares_against_its_first(tmp_path, capsys):
    data = json.loads((FIXTURE / "summary.json").read_text())
    services = data["services"]
    data["services"] = {"mine": services["optimized"], "theirs": services["unoptimized"],
                        "third": services["unoptimized"]}  # fmt: skip
    for key in ("latency", "paired"):
        data.pop(key)
    (tmp_path / "summary.json").write_text(json.dumps(data))
    assert main(["compare", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "theirs vs mine\n" in out and "third vs mine\n" in out
    data["paired"] = {"theirs": {"vs": "third", "metrics": {}}}
    (tmp_path / "summary.json").write_text(json.dumps(data))
    assert main(["compare", str(tmp_path)]) == 0  # the run's own pairs win
    out = capsys.readouterr().out
    assert "third" in out.splitlines()[0] and "theirs" in out.splitlines()[0]
    data["services"] = {"alone": services["optimized"]}
    data.pop("paired")
    (tmp_path / "summary.json").write_text(json.dumps(data))
    assert main(["compare", str(tmp_path)]) != 0
    assert "nothing to compare within this run" in capsys.readouterr().err
