"""The child the instruction and gate counts run: N identical requests to one app, in-process.

It imports the app, sends the request once and prints that whole answer (the parent
checks it), warms up, collects garbage, then sends N counted requests and prints one JSON
line: the first answer, the last status, how far the app's hit counter rose, and the GC
collections in the counted window. Under valgrind the parent runs it with N, 2N and 3N
and fits a line; with `--allocs FILE` the counted window runs under memray instead.

It imports nothing from kvbench: the parent runs this file as a script (`python -P`)
against any revision's code on PYTHONPATH, so the driver counted with the app is the same
at both ends of a gate. The request comes as a JSON file (an ASGI scope, bytes encoded
as {"bytes": latin-1 text}, and the body). Numbers come zero-padded so the N, 2N and 3N
runs have argv of the same size: nothing may differ between them but the count.
"""

import argparse
import asyncio
import gc
import importlib
import json
import sys

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


def decode(value):
    """The scope as the parent wrote it: {"bytes": text} back to bytes, lists of pairs to tuples."""
    if isinstance(value, dict):
        if set(value) == {"bytes"}:
            return value["bytes"].encode("latin-1")
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [decode(item) for item in value]
        return tuple(items) if len(items) == 2 and not isinstance(items[0], tuple) else items
    return value


class Exchange:
    """A receive/send pair made once and reused; `whole` joins a streamed body (the check)."""

    def __init__(self, body: bytes, whole: bool = False) -> None:
        self.request = {"type": "http.request", "body": body, "more_body": False}
        self.whole = whole
        self.status, self.body = 0, b""
        self.headers: list = []

    async def receive(self) -> dict:
        return self.request

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", [])
        elif self.whole:
            self.body += message.get("body", b"")
        else:
            self.body = message.get("body", b"")


async def call_many(app, scope: dict, body: bytes, loops: int) -> Exchange:
    exchange = Exchange(body)
    receive, send = exchange.receive, exchange.send
    for _ in range(loops):
        await app(scope, receive, send)
    return exchange


def text(data: bytes) -> str:
    return data.decode("latin-1")


async def count(
    target: str, scope: dict, body: bytes, warmup: int, requests: int, allocs: str
) -> dict:
    """Check one answer, warm up, then the counted requests, on one loop and in one task.

    One task: anyio stops a sync endpoint's worker thread when the root task ends, so
    a second task would start a new thread inside the counted window.
    """
    app, first = load_app(target), Exchange(body, whole=True)
    await app(dict(scope), first.receive, first.send)
    await call_many(app, scope, body, warmup)
    # An empty young generation: the same starting point whatever the warm-up left.
    gc.collect()
    hits0, gc0 = hits(), collections()
    if allocs:
        import memray  # only here: the instruction counts must not load it

        with memray.Tracker(allocs, trace_python_allocators=True):
            last = await call_many(app, scope, body, requests)
    else:
        last = await call_many(app, scope, body, requests)  # the counted requests
    hits1, gc1 = hits(), collections()
    return {
        "status": first.status,
        "headers": [[text(name), text(value)] for name, value in first.headers],
        "body": text(first.body),
        "last_status": last.status,
        "hits_in_window": None if hits0 is None or hits1 is None else hits1 - hits0,
        "gc_collections_in_window": [
            after - before for before, after in zip(gc0, gc1, strict=True)
        ],
    }


def load_app(target: str):
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="module:attribute")
    parser.add_argument("--request", required=True, help="the request, a JSON file")
    parser.add_argument("--requests", type=int, required=True, help="counted requests")
    parser.add_argument("--warmup", type=int, required=True, help="uncounted requests first")
    parser.add_argument("--allocs", default="", help="count allocations into this memray file")
    args = parser.parse_args()
    with open(args.request) as file:
        request = json.load(file)
    scope, body = decode(request["scope"]), request["body"].encode("latin-1")
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(count(args.app, scope, body, args.warmup, args.requests, args.allocs))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
