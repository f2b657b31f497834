"""memray: allocations per request of one service, in-process, with Python allocators traced."""

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import memray

from kvbench.processes import PROJECT_ROOT
from kvbench.profiling.artifacts import (
    Artifact,
    check_size,
    run_tool,
    scrub,
    short_path,
    shown_command,
)
from kvbench.profiling.scalene import LOOP_SCRIPT
from kvbench.services import Service
from kvbench.workers.allocs import FREES

JSON_NAME = "allocs.memray.json"
HTML_NAME = "allocs.memray.html"
TOP = 10
# In the flamegraph, an allocation freed within this many later allocations counts as
# temporary: at a few hundred allocations per request, that is every per-request object.
TEMPORARY_WITHIN = 100_000


def capture_command(service: Service, capture: Path, requests: int) -> list[str]:
    return [sys.executable, str(LOOP_SCRIPT), "--app", service.app,
            "--requests", str(requests), "--memray", str(capture)]  # fmt: skip


def capture(service: Service, path: Path, requests: int) -> None:
    """Warm the app up, then track `requests` GETs into a memray capture file."""
    run_tool(capture_command(service, path, requests), "the memray capture", PROJECT_ROOT)


def where(frame: tuple) -> str:
    function, filename, line = frame[:3]
    return f"{function} ({short_path(filename)}:{line})"


def count(path: Path, requests: int, own_file: str) -> dict:
    """Allocation events per request: in total, by innermost line, and by the service's lines."""
    innermost: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = size = 0
    reader = memray.FileReader(path)
    for record in reader.get_allocation_records():
        if record.allocator in FREES:
            continue
        total += record.n_allocations
        size += record.size
        stack = record.stack_trace()
        if stack:
            innermost[where(stack[0])] += record.n_allocations
        for frame in (f for f in stack if f[1].endswith(own_file)):
            own[where(frame)] += record.n_allocations
            break  # the innermost line of the service's own code is the one to blame
    return {
        "requests": requests,
        "allocations_per_request": total / requests,
        "bytes_per_request": size / requests,
        "top_locations": per_request(innermost, requests),
        "top_service_lines": per_request(own, requests),
        "capture": {"total_records": reader.metadata.total_allocations,
                    "python_allocators_traced": reader.metadata.trace_python_allocators},
    }  # fmt: skip


def per_request(counter: Counter, requests: int) -> list[dict]:
    return [
        {"where": location, "per_request": round(n / requests, 2)}
        for location, n in counter.most_common(TOP)
    ]


def flamegraph_command(capture_path: Path, out: Path) -> list[str]:
    temporary = ("--temporary-allocation-threshold", str(TEMPORARY_WITHIN))
    return [sys.executable, "-m", "memray", "flamegraph", "-f", "-o", str(out), *temporary,
            str(capture_path)]  # fmt: skip


def alloc_profile(service: Service, out_dir: Path, requests: int) -> list[Artifact]:
    """The per-request counts as JSON and a flamegraph page; the capture itself is not kept."""
    json_out, html_out = out_dir / JSON_NAME, out_dir / HTML_NAME
    own_file = service.app.partition(":")[0].replace(".", "/") + ".py"
    with tempfile.TemporaryDirectory() as tmp:
        bin_path = Path(tmp) / "allocs.memray.bin"
        capture(service, bin_path, requests)
        counts = count(bin_path, requests, own_file)
        run_tool(flamegraph_command(bin_path, html_out), "memray flamegraph", PROJECT_ROOT)
    json_out.write_text(json.dumps(counts, indent=2) + "\n")
    # The page quotes the capture's command line, temporary path included.
    page = html_out.read_text(errors="replace").replace(str(bin_path), bin_path.name)
    html_out.write_text(scrub(page))
    for path in (json_out, html_out):
        check_size(path)
    commands = [shown_command(capture_command(service, Path("allocs.memray.bin"), requests))]
    details = {"requests": requests, "per_request": round(counts["allocations_per_request"], 1)}
    graph = shown_command(flamegraph_command(Path("allocs.memray.bin"), html_out))
    return [
        Artifact(json_out, "memray", "allocations per request, top lines", commands, details),
        Artifact(html_out, "memray", "flamegraph of the temporary (per-request) allocations",
                 [*commands, graph], details),
    ]  # fmt: skip
