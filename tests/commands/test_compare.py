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


# The gate's refusals, each from outside: exit 4 and the reason on stderr.

GATE = ["--fail-on-regression", "5", "--service", "optimized", "--metric", "http_tps"]


def edited(tmp_path: Path, edit) -> str:
    """A copy of the reference run's summary.json, `edit`ed."""
    data = json.loads((FIXTURE / "summary.json").read_text())
    edit(data)
    path = tmp_path / f"edited-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_the_gate_refuses_a_gated_metric_deleted_from_the_new_run(tmp_path, capsys):
    new = edited(tmp_path, lambda d: d["services"]["optimized"].pop("http_tps"))
    assert compare(*GATE, str(FIXTURE), new) == 4
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "gate refused: http_tps [optimized]: only in old"
    assert err[-1].startswith("gate: refused (exit 4): ")


def test_the_gate_refuses_a_run_with_the_old_metric_names(tmp_path, capsys):
    def schema_1(data):
        data["schema"] = 1
        for metrics in data["services"].values():
            metrics["http_p99_ms"] = metrics.pop("http_trial_p99_ms")

    old = edited(tmp_path, schema_1)
    argv = [*GATE[:4], "--metric", "http_trial_p99_ms"]
    assert compare(*argv, old, str(FIXTURE)) == 4
    assert "gate refused: http_trial_p99_ms [optimized]: only in new" in capsys.readouterr().err


@pytest.mark.parametrize("schema", [99, "3", 0])
def test_an_unknown_schema_is_refused_naming_the_file_and_the_version(tmp_path, capsys, schema):
    new = edited(tmp_path, lambda d: d.update(schema=schema))
    assert compare(*GATE, str(FIXTURE), new) == 4
    err = capsys.readouterr().err
    assert err.startswith(f"gate refused: {new}: schema {schema!r} is not one this kvbench reads")
    assert compare(str(FIXTURE), new) == 1  # without the gate, the same error
    assert f"{new}: schema {schema!r}" in capsys.readouterr().err


def test_the_gate_refuses_two_different_services_unless_mapped(tmp_path, capsys):
    def rename(data):
        data["services"]["granian"] = data["services"].pop("optimized")
        data["latency"]["granian"] = data["latency"].pop("optimized")

    new = edited(tmp_path, rename)
    flags = ["--fail-on-regression", "200", "--metric", "http_tps"]
    assert compare(*flags, str(FIXTURE), new) == 0  # unoptimized, the one service in both
    assert compare(*flags, "--old", "optimized", "--new", "granian", str(FIXTURE), new) == 4
    assert "say --map optimized=granian" in capsys.readouterr().err
    assert compare(*flags, "--map", "optimized=granian", str(FIXTURE), new) == 0
    err = capsys.readouterr().err
    assert "note: two different services: optimized (old) against granian (new), mapped by " \
        "--map" in err  # fmt: skip
    assert compare("--map", "optimized", str(FIXTURE), new) == 2
