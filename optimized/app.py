"""The optimized key-value service, the Python analog of the article's Step 4.

Same contract and exact counters as `unoptimized.app`. What changed, and why, is
measured rung by rung in docs/04: async endpoints (no thread pool), no locks (one
event-loop thread owns the store and the counters), response bodies encoded once
at PUT time with orjson, and a raw ASGI endpoint for the hot GET route.
"""

import gc

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from kvbench.contract import NOT_FOUND, ContractError, parse_key, parse_value, preload_items
from kvbench.debugvars import admin_listener

JSON_HEADERS = [(b"content-type", b"application/json")]


class Counters:
    """Plain ints: only the event-loop thread touches them, so no lock is needed."""

    def __init__(self) -> None:
        self.total = self.gets = self.puts = self.hits = self.misses = self.errors = 0

    def snapshot(self) -> dict:
        return dict(vars(self))


def encode(key: str, value: str) -> bytes:
    """The GET body for a key, built once when the value is stored."""
    return orjson.dumps({"key": key, "value": value})


counters = Counters()
bodies: dict[str, bytes] = {key: encode(key, value) for key, value in preload_items()}
# The preloaded store lives for the whole process: keep it out of every future collection.
gc.freeze()


def plain(status: int, message: str):
    return PlainTextResponse(message, status)


class GetEndpoint:
    """A raw ASGI endpoint: Starlette routes to it without building a Request or Response."""

    async def __call__(self, scope, receive, send) -> None:
        counters.total += 1
        counters.gets += 1
        try:
            body = bodies.get(parse_key(scope["query_string"]))
        except ContractError as exc:
            counters.errors += 1
            await plain(exc.status, exc.message)(scope, receive, send)
            return
        if body is None:
            counters.misses += 1
            await plain(404, NOT_FOUND)(scope, receive, send)
            return
        counters.hits += 1
        headers = [(b"content-length", str(len(body)).encode()), *JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def put(request: Request) -> Response:
    counters.total += 1
    counters.puts += 1
    try:
        key = parse_key(request.scope["query_string"])
        value = parse_value(await request.body())
    except ContractError as exc:
        counters.errors += 1
        return plain(exc.status, exc.message)
    bodies[key] = encode(key, value)
    return Response(status_code=204)


async def http_error(request: Request, exc: Exception) -> Response:
    # Unknown paths (404) and wrong methods (405) are requests too: count them.
    counters.total += 1
    counters.errors += 1
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


app = Starlette(
    routes=[Route("/get", GetEndpoint(), methods=["GET"]), Route("/put", put, methods=["PUT"])],
    exception_handlers={HTTPException: http_error},
    lifespan=lambda app: admin_listener(counters.snapshot),
)
