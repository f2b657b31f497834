"""The CPU-per-request curve: which parts' services are the optimized one, and its plot."""

import json
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.report import cpu_curve
from kvbench.services import SERVICES

OPTIMIZED = SERVICES["optimized"].command("127.0.0.1", 0)[1:]
SUPERVISED = ["-m", "kvbench.runtime.supervisor", *OPTIMIZED[2:], "--workers", "2"]


def cpu(*values: float) -> dict:
    return {"server_open_cpu_us_per_req": {"values": list(values)}}


def part(folder: Path, rate: float | None, services: dict, commands: dict, python="3.11.7"):
    folder.mkdir(parents=True, exist_ok=True)
    http = {"offered_rate": rate, "commands": commands}
    summary = {"schema": 3, "environment": {"python": python, "http": http}, "services": services}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    naive = ["-m", "uvicorn", "unoptimized.app:app"]
    part(tmp_path, 1700.0, {"optimized": cpu(*[100.0] * 6), "unoptimized": cpu(*[400.0] * 6)},
         {"optimized": OPTIMIZED, "unoptimized": naive})  # fmt: skip
    part(tmp_path / "stores", 2300.0, {"memory-1": cpu(90.0), "memory-2": cpu(95.0)},
         {"memory-1": OPTIMIZED, "memory-2": SUPERVISED})  # fmt: skip
    part(tmp_path / "pythons", 1600.0, {"optimized@3.11": cpu(105.0), "optimized@3.12": cpu(99.0)},
         {"optimized@3.11": OPTIMIZED, "optimized@3.12": OPTIMIZED})  # fmt: skip
    part(tmp_path / "ladder", None, {"optimized": cpu(1.0)}, {"optimized": OPTIMIZED})
    return tmp_path


def test_a_point_is_the_optimized_command_on_the_harness_interpreter_below_saturation(results):
    found = cpu_curve.points(results)
    assert [(p.part, p.service, p.rate) for p in found] == [
        ("pythons", "optimized@3.11", 1600.0),
        ("main", "optimized", 1700.0),
        ("stores", "memory-1", 2300.0),
    ]  # two workers, another Python and a part with no open loop are left out
    assert [p.label for p in found] == ["pythons: optimized@3.11", "main", "stores: memory-1"]


def test_a_point_says_its_interval_and_rate(results):
    (main,) = [p for p in cpu_curve.points(results) if p.part == "main"]
    assert main.said() == "100 µs (100 to 100) at 1,700 req/s"


def test_host_and_port_values_do_not_matter_but_flags_do():
    moved = [w if w not in ("127.0.0.1", "0") else "10.0.0.1" for w in OPTIMIZED]
    assert cpu_curve.is_optimized("optimized", moved, {})
    assert not cpu_curve.is_optimized("optimized", [*OPTIMIZED, "--access-log"], {})
    assert cpu_curve.is_optimized("optimized", None, {})  # no command lines recorded


def test_the_plot_is_drawn_where_asked(results, tmp_path):
    written = cpu_curve.draw(cpu_curve.points(results), tmp_path / "out" / cpu_curve.STEM)
    assert [p.name for p in written] == ["cpu-per-request.png", "cpu-per-request.svg"]
    assert all(p.stat().st_size > 0 for p in written)
    with pytest.raises(KvbenchError, match="no committed part"):
        cpu_curve.draw([], tmp_path / "none")


def test_the_committed_results_hold_points_of_the_optimized_service():
    found = cpu_curve.points(Path(__file__).resolve().parents[2] / "bench-results")
    assert {"main", "peers"} <= {p.part for p in found}
    assert all(p.cpu.unit == "us/req" for p in found)
