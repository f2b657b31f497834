"""A committed-looking ladder run for the docs generator: every rung, round numbers."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kvbench.catalog.ladder import NAMES, code_rungs
from kvbench.results.summary import Summary
from kvbench.services import LADDER, in_process_services

# Time per request of each rung, in µs: from 1,000 to 100, so the steps make round shares of
# the 900 µs saved (httptools 20%, noaccesslog 10%, uvloop 5%, async 35%, ...); any other
# rung of the catalogue repeats its predecessor's time (a `~` step).
SAVED_US = {
    "httptools": 180, "noaccesslog": 90, "uvloop": 45, "async": 315, "orjson": 45,
    "hotpath": 135, "granian": 90,
}  # fmt: skip
# In-process cost (ns) and allocations of each piece of in-process code (the catalogue's code
# rungs): 100,000 ns for the naive app, these savings, and 2,000 ns (5 allocations) for any
# other code rung but the last, which ends at 3,000 ns: 97,000 ns saved in all.
FIRST_IN_PROCESS, LAST_IN_PROCESS = (100_000, 411), (3_000, 31)
SAVED_IN_PROCESS = {"async": (77_000, 238), "orjson": (6_000, 30)}
SMALL_STEP = (2_000, 5)


def cost_us() -> dict[str, float]:
    """Every rung's time per request, in the catalogue's order."""
    cost, found = 1000.0, {}
    for name in NAMES:
        cost -= SAVED_US.get(name, 0)
        found[name] = cost
    return found


def in_process() -> dict[str, tuple[int, int]]:
    """Each code rung's in-process ns and allocations."""
    code = code_rungs()
    found, (ns, allocs) = {code[0]: FIRST_IN_PROCESS}, FIRST_IN_PROCESS
    for name in code[1:-1]:
        saved_ns, saved_allocs = SAVED_IN_PROCESS.get(name, SMALL_STEP)
        ns, allocs = ns - saved_ns, allocs - saved_allocs
        found[name] = (ns, allocs)
    return found | {code[-1]: LAST_IN_PROCESS}


@pytest.fixture
def quiet_step() -> str:
    """A code rung that saves nothing in throughput and a small step in-process."""
    return next(name for name in code_rungs()[1:-1] if name not in SAVED_IN_PROCESS)


def spread(centre: float) -> list[float]:
    """Ten values around `centre`, within 0.4% of it."""
    return [centre * (1 + d / 1000) for d in (-4, -3, -2, -1, 0, 0, 1, 2, 3, 4)]


def stored(values) -> dict:
    return Summary.of(values).to_json()


def ladder_summary() -> dict:
    """Every rung of LADDER as `make bench-ladder` writes it, in-process code measured once."""
    services, costs, code = {}, cost_us(), in_process()
    thread_pool = {s.name for s, _ in LADDER if s.app == "unoptimized.app:app"}
    for service, _ in LADDER:
        cost = costs[service.name]
        pooled = service.name in thread_pool
        metrics = {
            "http_tps": stored(spread(1e6 / cost)),
            "server_cpu_us_per_req": stored(spread(cost)),
            "gc_collections": stored(spread(500) if pooled else [3.0] * 10),
            "gc_pause_max_ms": stored(spread(18.0 if pooled else 0.12)),
        }
        services[service.name] = metrics
    for service in in_process_services([s for s, _ in LADDER]):
        ns, allocs = code[service.name]
        services[service.name]["asgi_ns_per_op"] = stored(spread(ns) * 2)
        services[service.name]["asgi_allocs_per_op"] = stored([allocs] * 6)
    # Each rung paired with the one before, round by round: the throughput ratio spread as
    # the trials are, so a step that saves nothing holds 1 and the others exclude it.
    names = [service.name for service, _ in LADDER]
    paired = {
        new: {"vs": old, "metrics": {"http_tps": stored(spread(costs[old] / costs[new]))}}
        for old, new in zip(names, names[1:], strict=False)
    }
    env = {"http": {"trials": 10, "duration_s": 4.0}}
    return {"schema": 1, "environment": env, "services": services, "paired": paired}


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
