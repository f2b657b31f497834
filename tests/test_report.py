import json
import re
import shutil
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.report import write_report

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run"
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
        f"{name}.{ext}" for name in ("throughput", "latency", "sweep") for ext in ("png", "svg")
    }
    for link in links:
        image = out / link
        assert image.is_file() and image.stat().st_size > 1000
    assert (out / "plots" / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (FIXTURE / "REPORT.md").exists()


def test_report_states_environment_method_and_tables(rendered):
    text = rendered.read_text()
    assert "| cpu model | Fixture CPU @ 2.0GHz |" in text
    assert "| packages | starlette 0.41.0, uvicorn 0.32.0, memray not installed |" in text
    assert "| warmup (s) | 1 |" in text  # nested under "http" in summary.json
    assert "Throughput: 10 trials per service, measured closed loop with 64 connections" in text
    assert "fixed offered rate of 1,000 requests/s" in text
    assert "CPU pinning: server on CPU 0, load generator on CPU 1." in text
    # 118,000 from the canned server against the fastest service's median throughput.
    assert re.search(
        r"reached 118,000 requests/s against a canned server, \d+\.\dx the fastest", text
    )
    assert "Concurrency sweep: 1, 8, 64 connections, 6 trials each." in text
    assert "- unoptimized: `python -m uvicorn unoptimized.app:app --loop asyncio`" in text
    assert "### optimized vs unoptimized" in text
    assert (
        "| metric | unit (↑ higher / ↓ lower is better) | unoptimized | optimized | vs base |"
        in text
    )
    assert "| Metric | Unoptimized | Optimized | Delta |" in text


def test_method_says_only_what_the_run_recorded(tmp_path):
    def strip(data):
        data["environment"] = {"cpu_model": "X", "offered_rate": 500}
        data.pop("sweep")

    text = write_report(edited(tmp_path, strip)).read_text()
    method = text.split("## Method")[1].split("## Results")[0]
    assert "offered rate of 500 requests/s" in method
    assert "Throughput:" not in method and "pinning" not in method.lower()
    assert "Concurrency sweep" not in method and "canned server" not in method


def test_report_without_sweep_says_so(tmp_path):
    run = edited(tmp_path, lambda data: data.pop("sweep"))
    text = write_report(run).read_text()
    assert "No plot: no concurrency sweep was run." in text
    assert not (run / "plots" / "sweep.png").exists()
    assert (run / "plots" / "throughput.png").exists()


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
