"""The child `kvbench.measure.instructions` runs under valgrind: N identical GETs, in-process.

It imports the app, warms it up, sends N requests with the harness's own driver
(`kvbench.workers.inprocess.call_many`, whose cost is part of what is counted), and prints
one JSON line: the last answer, how far the app's hit counter rose, and the GC collections
in the counted window. valgrind counts the whole process; the parent runs it with N and 2N
and takes the difference, so everything but the N extra requests cancels.

Run as `python -m kvbench.workers.instructions --app module:app --requests 000001000`.
Numbers come zero-padded so that the N and 2N runs have argv of the same size (see the
parent). Nothing here may differ between those two runs except the number of requests.
"""

import argparse
import asyncio
import gc
import json
import sys

import uvloop

from kvbench.workers.inprocess import call_many, get_scope, load_app

COUNTER_NAMES = ("counters", "stats")


def hits() -> int | None:
    """The hits the app's own counters saw (a module-level `counters` or `stats`), or None.

    Read `hits` as an attribute where there is one: a snapshot() that calls vars() would
    give the object a real __dict__ and slow every later `counters.hits += 1` on CPython
    3.11. The naive service's stats are a dict behind a lock: snapshot() is its only door.
    """
    seen, total = set(), None
    for module in list(sys.modules.values()):
        for name in COUNTER_NAMES:
            found = getattr(module, name, None)
            if found is None or id(found) in seen or not hasattr(found, "snapshot"):
                continue
            seen.add(id(found))
            value = getattr(found, "hits", None)
            if value is None:
                value = found.snapshot().get("hits")
            if isinstance(value, int):
                total = (total or 0) + value
    return total


def collections() -> list[int]:
    return [generation["collections"] for generation in gc.get_stats()]


async def count(target: str, warmup: int, requests: int) -> dict:
    """Warm up, then the counted requests, on one loop and in one task.

    One task: anyio stops a sync endpoint's worker thread when the root task ends, so
    a second task would start a new thread inside the counted window.
    """
    app, scope = load_app(target), get_scope()
    await call_many(app, scope, warmup)
    # An empty young generation: the most room before the collector's threshold (a
    # collection costs what the heap holds, not what N requests did, so it cannot be in the
    # window), and the same starting point whatever the warm-up left behind.
    gc.collect()
    hits0, gc0 = hits(), collections()
    answer = await call_many(app, scope, requests)  # the counted requests
    hits1, gc1 = hits(), collections()
    return {
        "status": answer.status,
        "body": answer.body.decode("latin-1"),
        "content_type": dict(answer.headers).get(b"content-type", b"").decode("latin-1"),
        "hits_in_window": None if hits0 is None or hits1 is None else hits1 - hits0,
        "gc_collections_in_window": [
            after - before for before, after in zip(gc0, gc1, strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="module:attribute")
    parser.add_argument("--requests", type=int, required=True, help="counted requests")
    parser.add_argument("--warmup", type=int, required=True, help="uncounted requests first")
    args = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(count(args.app, args.warmup, args.requests))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
