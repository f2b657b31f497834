"""Count allocations per request exactly, with memray tracing Python's own allocator too.

Without `trace_python_allocators=True` memray sees only what reaches malloc, and
pymalloc's small objects (most of a request's garbage) stay invisible.
Every answer is checked: each request of the list byte for byte before and after, and
the status of every answer counted. Run as `python -m kvbench.workers.allocs --app
NAME=module:app ... [--requests N] [--repeat K] [--request-file FILE.toml]`: prints one JSON
object {NAME: {"allocs_per_op": [...], "bytes_per_op": [...]}}.
"""

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import memray
import uvloop

from kvbench import KvbenchError
from kvbench.workers.inprocess import Cycle, check_all, exit_clearly, load_app, request_list

FREES = {memray.AllocatorType.FREE, memray.AllocatorType.PYMALLOC_FREE, memray.AllocatorType.MUNMAP}


def count(path: Path, requests: int) -> tuple[float, float]:
    """Allocations and bytes allocated per request in one memray capture."""
    allocs = size = 0
    with memray.FileReader(path) as reader:
        for record in reader.get_allocation_records():
            if record.allocator not in FREES:
                allocs += record.n_allocations
                size += record.size
    return allocs / requests, size / requests


def measure(target: str, requests: int, repeat: int, request_file: str = "") -> dict:
    app, specs = load_app(target), request_list(request_file)
    cycle = Cycle(specs)
    results: dict[str, list[float]] = {"allocs_per_op": [], "bytes_per_op": []}
    with (
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        tempfile.TemporaryDirectory() as tmp,
    ):
        check_all(app, specs, runner)
        runner.run(cycle.run(app, 200))  # warm caches, the thread pool, lazy imports
        for trial in range(repeat):
            path = Path(tmp) / f"{trial}.bin"
            with memray.Tracker(path, trace_python_allocators=True):
                runner.run(cycle.run(app, requests))
            allocs, size = count(path, requests)
            results["allocs_per_op"].append(allocs)
            results["bytes_per_op"].append(size)
        check_all(app, specs, runner)
    cycle.verify(target, 200 + requests * repeat)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", action="append", required=True, help="NAME=module:app")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--request-file", default="", help="requests (TOML)")
    args = parser.parse_args()
    out = {}
    for spec in args.app:
        name, _, target = spec.partition("=")
        try:
            out[name] = measure(target, args.requests, args.repeat, args.request_file)
        except KvbenchError as error:
            exit_clearly(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
