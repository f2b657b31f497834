"""What requests leave for the garbage collector: the evidence behind the GC story.

CPython's gen-0 collection runs when the count of GC-tracked objects allocated minus those
freed passes a threshold (700 by default). An object freed by reference counting takes
itself off that count again, so what triggers collections is how many young tracked
objects are alive at once: garbage only the collector can free (reference cycles), objects
that outlive their request, and the objects of every request still in flight. Measured
in-process, no network:

- `gc_survivors_per_op`: with the collector off, how far gen 0's count grew per request
  over N requests sent one after another (objects a request leaves alive);
- `gc_cycles_per_op`: how many of those a full collection then found unreachable;
- `gc_collections_per_kreq`: with the collector on, collections per 1,000 requests when
  64 requests are in flight at once (as the HTTP layer's 64 connections keep them).

Every answer's status is counted and each request of the list is checked byte for byte
before and after. Run as `python -m kvbench.workers.gcwork --app NAME=module:app ...
[--requests N] [--request-file FILE.toml]`.
"""

import argparse
import asyncio
import gc
import json

import uvloop

from kvbench import KvbenchError
from kvbench.load.requests import RequestSpec
from kvbench.workers.inprocess import Cycle, check_all, exit_clearly, load_app, request_list

WARMUP_REQUESTS = 500
IN_FLIGHT = 64


async def in_flight(app, specs: list[RequestSpec], requests: int) -> int:
    """`requests` requests over IN_FLIGHT concurrent callers; how many were answered wrong."""
    share = max(1, requests // IN_FLIGHT)
    cycles = [Cycle(specs) for _ in range(IN_FLIGHT)]
    await asyncio.gather(*(cycle.run(app, share) for cycle in cycles))
    return sum(cycle.wrong for cycle in cycles)


def collections(runner: asyncio.Runner, app, specs: list[RequestSpec], requests: int) -> int:
    """Gen-0 collections while `requests` requests run, IN_FLIGHT at a time."""
    counted = [0]

    def count(phase: str, info: dict) -> None:
        counted[0] += phase == "start"

    gc.collect()
    gc.callbacks.append(count)
    try:
        wrong = runner.run(in_flight(app, specs, requests))
    finally:
        gc.callbacks.remove(count)
    check(wrong, requests)
    return counted[0]


def check(wrong: int, requests: int) -> None:
    if wrong:
        raise KvbenchError(f"{wrong} of {requests} answers had the wrong status")


def measure(target: str, requests: int, request_file: str = "") -> dict[str, float]:
    app, specs = load_app(target), request_list(request_file)
    cycle = Cycle(specs)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        check_all(app, specs, runner)
        check(runner.run(in_flight(app, specs, WARMUP_REQUESTS)), WARMUP_REQUESTS)
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]
            runner.run(cycle.run(app, requests))
            grown = gc.get_count()[0] - before
            found = gc.collect()
        finally:
            gc.enable()
        cycle.verify(target, requests)
        collected = collections(runner, app, specs, requests)
        check_all(app, specs, runner)
    return {
        "gc_survivors_per_op": grown / requests,
        "gc_cycles_per_op": found / requests,
        "gc_collections_per_kreq": collected / requests * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", action="append", required=True, help="NAME=module:app")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--request-file", default="", help="requests (TOML)")
    args = parser.parse_args()
    out = {}
    for spec in args.app:
        name, _, target = spec.partition("=")
        try:
            out[name] = measure(target, args.requests, args.request_file)
        except KvbenchError as error:
            exit_clearly(error)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
