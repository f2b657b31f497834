import json
import re
import shutil
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.report.bench import cross_check_table, write_report

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run"
LINK = re.compile(r"\]\(([^)]+)\)")


def edited(tmp_path: Path, change) -> Path:
    """A copy of the fixture run with its summary.json changed by `change(data)`."""
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    data = json.loads((run / "summary.json").read_text())
    change(data)
    (run / "summary.json").write_text(json.dumps(data))
    return run


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The fixture run's report, rendered once for the tests that only read it."""
    return write_report(FIXTURE, tmp_path_factory.mktemp("report"))


def test_report_from_fixture_links_only_existing_images(rendered):
    links = LINK.findall(rendered.read_text())
    out = rendered.parent
    assert {Path(link).name for link in links} == {
        f"{name}.{ext}" for name in ("throughput", "latency") for ext in ("png", "svg")
    }
    for link in links:
        image = out / link
        assert image.is_file() and image.stat().st_size > 1000
    assert (out / "plots" / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (FIXTURE / "REPORT.md").exists()


def test_report_of_the_fixture_run_matches_its_golden_file(rendered, golden):
    golden("report-bench.md", rendered.read_text())


def test_method_says_only_what_the_run_recorded(tmp_path):
    def strip(data):
        data["environment"] = {"cpu_model": "X", "offered_rate": 500}

    text = write_report(edited(tmp_path, strip)).read_text()
    method = text.split("## Method")[1].split("## Results")[0]
    assert "offered rate of 500 requests/s" in method
    assert "Throughput:" not in method and "pinning" not in method.lower()
    assert "canned server" not in method


def test_report_compares_every_variant_with_the_baseline(tmp_path):
    def add_variant(data):
        data["services"]["granian"] = data["services"]["optimized"]

    text = write_report(edited(tmp_path, add_variant)).read_text()
    assert text.index("### optimized vs unoptimized") < text.index("### granian vs unoptimized")


def test_missing_latency_file_is_a_note_not_a_crash(tmp_path, capsys):
    run = edited(tmp_path, lambda data: None)
    (run / "latency-optimized.npy").unlink()
    text = write_report(run).read_text()
    assert "Note: latency-optimized.npy: unreadable latency file" in text
    assert "warning: latency-optimized.npy" in capsys.readouterr().err
    assert (run / "plots" / "latency.png").exists()  # the other service is still drawn


def test_report_needs_a_summary(tmp_path):
    with pytest.raises(KvbenchError, match="needs a results folder with summary.json"):
        write_report(FIXTURE / "asgi.json", tmp_path)
    with pytest.raises(KvbenchError, match="no such file"):
        write_report(tmp_path / "absent", tmp_path)


def test_the_wrk_cross_check_gets_its_own_table(tmp_path):
    def add(data):
        data["cross_check"] = {"optimized": {"vs": "unoptimized", "builtin_ratio": 9.7,
                                             "wrk_ratio": 8.7, "wrk_over_builtin": 8.7 / 9.7,
                                             "within_10pct": False}}  # fmt: skip

    text = write_report(edited(tmp_path, add)).read_text()
    assert "| optimized | unoptimized | 9.70x | 8.70x | 0.897x | no |" in text


def test_a_run_with_warnings_lists_them_under_checks(rendered):
    text = rendered.read_text()
    checks = text.split("## Checks")[1].split("## Results")[0]
    assert "2 warning(s)" in checks and "round 7: the load generator used 97% of its core" in checks


def test_the_floor_measured_in_the_run_stands_beside_its_latencies(tmp_path):
    def add(data):
        data["floor"] = {"rate": 1000.0, "connections": 64, "seconds": 5.0, "requests": 5000,
                         "round_trip_ms": {"p50": 0.08, "p99": 1.06, "p999": None},
                         "lateness_at_server_ms": {"p50": 0.06, "p99": 0.93, "p999": None},
                         "at_floor_factor": 2.0}  # fmt: skip

    text = write_report(edited(tmp_path, add)).read_text()
    floor = text.split("## The floor")[1].split("## Results")[0]
    assert "| round trip to a server that answers at once | 0.0800 ms | 1.06 ms | - |" in floor
    assert "| | p50 | p99 | p99.9 |" in floor and "within 2x of the round trip's" in floor


def test_the_cross_check_marks_the_row_its_runs_checks_flagged():
    found = {"optimized": {"vs": "unoptimized", "builtin_ratio": 11.5, "wrk_ratio": 11.8,
                           "wrk_over_builtin": 1.02, "within_10pct": True}}  # fmt: skip
    assert "‡" not in cross_check_table(found, {})
    moved = {"status": "undecided", "service": "optimized", "ratio": 0.955, "tolerance": 0.03}
    text = cross_check_table(found, {"sensitivity": moved})
    assert "| optimized ‡ | unoptimized | 11.5x | 11.8x | 1.02x | yes |" in text
    assert "‡: the sensitivity check on `optimized` was undecided" in text
    assert "(appendix 96)" in text  # the main report points there; appendix 96 itself not
    assert "appendix" not in cross_check_table(found, {"sensitivity": moved}, pointer=False)
