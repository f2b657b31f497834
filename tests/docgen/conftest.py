"""A committed-looking ladder run for the docs generator: every rung, round numbers."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kvbench.results.summary import Summary
from kvbench.services import LADDER, in_process_services

# Time per request of each rung, in µs: from 1,000 to 100, so the steps make round shares of
# the 900 µs saved (httptools 20%, noaccesslog 10%, uvloop 5%, async 35%, ...); rungs that
# repeat their predecessor's time are `~`.
COST_US = {
    "unoptimized": 1000, "httptools": 820, "noaccesslog": 730, "uvloop": 685,
    "noproxyheaders": 685, "noserverheader": 685, "async": 370, "nolocks": 370, "orjson": 325,
    "prebuilt": 325, "leanroute": 280, "hotpath": 190, "gcfreeze": 190, "optimized": 190,
    "granian": 100,
}  # fmt: skip
# In-process cost (ns) and allocations of each piece of in-process code.
IN_PROCESS = {
    "unoptimized": (100_000, 411), "async": (23_000, 173), "nolocks": (21_000, 166),
    "orjson": (15_000, 136), "prebuilt": (15_000, 135), "leanroute": (10_000, 89),
    "hotpath": (3_000, 31),
}  # fmt: skip


def spread(centre: float) -> list[float]:
    """Ten values around `centre`, within 0.4% of it."""
    return [centre * (1 + d / 1000) for d in (-4, -3, -2, -1, 0, 0, 1, 2, 3, 4)]


def stored(values) -> dict:
    return Summary.of(values).to_json()


def ladder_summary() -> dict:
    """Every rung of LADDER as `make bench-ladder` writes it, in-process code measured once."""
    services = {}
    thread_pool = {s.name for s, _ in LADDER if s.app == "unoptimized.app:app"}
    for service, _ in LADDER:
        cost = COST_US[service.name]
        pooled = service.name in thread_pool
        metrics = {
            "http_tps": stored(spread(1e6 / cost)),
            "server_cpu_us_per_req": stored(spread(cost)),
            "gc_collections": stored(spread(500) if pooled else [3.0] * 10),
            "gc_pause_max_ms": stored(spread(18.0 if pooled else 0.12)),
        }
        services[service.name] = metrics
    for service in in_process_services([s for s, _ in LADDER]):
        ns, allocs = IN_PROCESS[service.name]
        services[service.name]["asgi_ns_per_op"] = stored(spread(ns) * 2)
        services[service.name]["asgi_allocs_per_op"] = stored([allocs] * 6)
    env = {"http": {"trials": 10, "duration_s": 4.0}}
    return {"schema": 1, "environment": env, "services": services}


@pytest.fixture
def write_ladder() -> Callable[[Path], Path]:
    """Write the ladder run into a results folder; returns its summary.json."""

    def write(results: Path) -> Path:
        path = results / "ladder" / "summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ladder_summary()))
        return path

    return write


ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "run"
# The value marker of the small repository's first chapter.
SERVES = '<!--v:median_ratio("run", "optimized", "unoptimized", "http_tps")-->'


@pytest.fixture
def repo(tmp_path, write_ladder) -> Path:
    """A small repository: README, two chapters, a source file and bench-results/."""
    shutil.copytree(FIXTURE, tmp_path / "bench-results")
    write_ladder(tmp_path / "bench-results")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "import os\n\n# region hot\ndef hot():\n    return 1\n# endregion hot\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("[0](docs/00-a.md) [1](docs/01-b.md)\n")
    (tmp_path / "docs" / "00-a.md").write_text(
        "# A\n\nIt serves " + SERVES + "?<!--/v--> the requests.\n\n"
        "<!-- begin: compare article -->\n<!-- end -->\n\n<!-- begin: include pkg/mod.py#hot -->\n"
        "<!-- end -->\n\n<!-- begin: ladder overview -->\n<!-- end -->\n\nNext: [B](01-b.md)\n"
    )
    (tmp_path / "docs" / "01-b.md").write_text(
        "# B\n\n<!-- begin: results peers -->\n<!-- end -->\n"
    )
    return tmp_path
