"""The framework floor: the optimized service as one bare ASGI callable, no framework at all.

Same store, same response bytes and the same exact counters as `optimized.app`, served by
uvicorn with the same tuned flags; whatever separates the two is what Starlette costs.
It keeps the whole contract (PUT included), so a benchmark of it compares like with like.
"""

import gc
from contextlib import AsyncExitStack

from kvbench.runtime.contract import (
    NOT_FOUND,
    ContractError,
    check_room,
    max_keys,
    parse_key,
    read_value,
)
from kvbench.runtime.debugvars import admin_listener
from optimized.store import Counters, encode, preloaded

TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
CLOSE = (b"connection", b"close")
READS = frozenset({"GET", "HEAD"})

counters = Counters()
answers = preloaded()
key_bound = max_keys()


async def app(scope, receive, send) -> None:
    """Route by path and method with two comparisons, as the optimized hot path does."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    path, method = scope["path"], scope["method"]
    if path == "/get" and method in READS:
        await get(scope, send)
    elif path == "/put" and method == "PUT":
        await put(scope, receive, send)
    else:
        counters.total += 1
        counters.errors += 1
        known = path in ("/get", "/put")
        await text(send, 405 if known else 404, "Method Not Allowed" if known else "Not Found")


async def get(scope, send) -> None:
    counters.total += 1
    counters.gets += 1
    try:
        answer = answers.get(parse_key(scope["query_string"]))
    except ContractError as exc:
        counters.errors += 1
        await text(send, exc.status, exc.message)
        return
    if answer is None:
        counters.misses += 1
        await text(send, 404, NOT_FOUND)
        return
    counters.hits += 1
    headers, body = answer
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def put(scope, receive, send) -> None:
    counters.total += 1
    counters.puts += 1
    try:
        key = parse_key(scope["query_string"])
        value = await read_value(scope, receive)
        check_room(answers, key, key_bound)
    except ContractError as exc:
        counters.errors += 1
        await text(send, exc.status, exc.message, exc.close)
        return
    answers[key] = encode(key, value)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def text(send, status: int, message: str, close: bool = False) -> None:
    body = message.encode()
    headers = [(b"content-length", b"%d" % len(body)), TEXT_TYPE]
    if close:
        headers.append(CLOSE)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive, send) -> None:
    """Start the /debug/vars listener and freeze the store out of the GC, as optimized does."""
    async with AsyncExitStack() as stack:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                gc.freeze()
                await stack.enter_async_context(admin_listener(counters.snapshot))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
