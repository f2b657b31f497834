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

Run as `python -m kvbench.workers.gcwork --app NAME=module:app ... [--requests N]`.
"""

import argparse
import asyncio
import gc
import json

import uvloop

from kvbench.workers.inprocess import call_many, get_scope, load_app

WARMUP_REQUESTS = 500
IN_FLIGHT = 64


async def in_flight(app, scope: dict, requests: int) -> list:
    """`requests` requests over IN_FLIGHT concurrent callers; their last answers."""
    share = max(1, requests // IN_FLIGHT)
    return await asyncio.gather(*(call_many(app, dict(scope), share) for _ in range(IN_FLIGHT)))


def collections(runner: asyncio.Runner, app, scope: dict, requests: int) -> int:
    """Gen-0 collections while `requests` requests run, IN_FLIGHT at a time."""
    counted = [0]

    def count(phase: str, info: dict) -> None:
        counted[0] += phase == "start"

    gc.collect()
    gc.callbacks.append(count)
    try:
        answers = runner.run(in_flight(app, scope, requests))
    finally:
        gc.callbacks.remove(count)
    check(answers[-1])
    return counted[0]


def check(answer) -> None:
    if answer.status != 200:
        raise SystemExit(f"the measured requests answered {answer.status}")


def measure(target: str, requests: int) -> dict[str, float]:
    app, scope = load_app(target), get_scope()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(in_flight(app, scope, WARMUP_REQUESTS))  # caches, the thread pool, imports
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]
            check(runner.run(call_many(app, scope, requests)))
            grown = gc.get_count()[0] - before
            found = gc.collect()
        finally:
            gc.enable()
        collected = collections(runner, app, scope, requests)
    return {
        "gc_survivors_per_op": grown / requests,
        "gc_cycles_per_op": found / requests,
        "gc_collections_per_kreq": collected / requests * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--app", action="append", required=True, help="NAME=module:app")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    out = {}
    for spec in args.app:
        name, _, target = spec.partition("=")
        out[name] = measure(target, args.requests)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
