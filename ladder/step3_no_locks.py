"""The `nolocks` rung: no locks. One event-loop thread owns a plain dict and plain counters.

The `orjson` and `prebuilt` rungs change only how a stored value becomes a response, so
the store is a small class they subclass, and `build` wires any such store into the app.
"""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kvbench.runtime.contract import (
    NOT_FOUND,
    ContractError,
    check_room,
    max_keys,
    parse_key,
    preload_items,
    read_value,
)
from kvbench.runtime.debugvars import admin_listener
from optimized.app import counters, http_error


# region json-store
class JsonStore:
    """Values kept as text; every GET builds a dict and JSON-encodes it."""

    def __init__(self) -> None:
        self.values = {}
        for key, value in preload_items():
            self.put(key, value)

    def put(self, key: str, value: str) -> None:
        self.values[key] = value

    def answer(self, key: str) -> Response | None:
        value = self.values.get(key)
        return None if value is None else JSONResponse({"key": key, "value": value})


# endregion json-store


key_bound = max_keys()  # the contract's bound on keys, for every rung's store


def build(store: JsonStore) -> Starlette:
    """The same routes, counters and handlers around a rung's own store."""

    # region lockfree-get
    async def get(request: Request) -> Response:
        counters.total += 1
        counters.gets += 1
        try:
            answer = store.answer(parse_key(request.scope["query_string"]))
        except ContractError as exc:
            counters.errors += 1
            return PlainTextResponse(exc.message, exc.status)
        if answer is None:
            counters.misses += 1
            return PlainTextResponse(NOT_FOUND, 404)
        counters.hits += 1
        return answer

    # endregion lockfree-get

    async def put(request: Request) -> Response:
        counters.total += 1
        counters.puts += 1
        try:
            key = parse_key(request.scope["query_string"])
            value = await read_value(request.scope, request.receive)
            check_room(store.values, key, key_bound)
            store.put(key, value)
        except ContractError as exc:
            counters.errors += 1
            return PlainTextResponse(exc.message, exc.status, headers=exc.headers)
        return Response(status_code=204)

    app = Starlette(
        routes=[Route("/get", get, methods=["GET"]), Route("/put", put, methods=["PUT"])],
        exception_handlers={HTTPException: http_error},
        lifespan=lambda app: admin_listener(counters.snapshot),
    )
    app.router.redirect_slashes = False  # as in unoptimized: /get/ is a 404
    return app


app = build(JsonStore())
