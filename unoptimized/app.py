"""The naive key-value service, the Python analog of the article's Step 1.

Everything here is a common, reasonable choice: a lock around the store, a stats
object with its own lock, sync endpoints (Starlette runs them in its thread pool,
where the two locks really contend) and a fresh dict JSON-encoded per request.
"""

import threading

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


# region naive-store
class Store:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, str] = {}
        self._max_keys = max_keys()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            check_room(self._data, key, self._max_keys)
            self._data[key] = value


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"total": 0, "gets": 0, "puts": 0, "hits": 0, "misses": 0, "errors": 0}

    def incr(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._counts[name] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._counts)


store = Store()
stats = Stats()
for _key, _value in preload_items():
    store.put(_key, _value)
# endregion naive-store


# region naive-get
def get(request: Request) -> Response:
    try:
        key = parse_key(request.scope["query_string"])
    except ContractError as exc:
        stats.incr("total", "gets", "errors")
        return PlainTextResponse(exc.message, exc.status)
    value = store.get(key)
    if value is None:
        stats.incr("total", "gets", "misses")
        return PlainTextResponse(NOT_FOUND, 404)
    stats.incr("total", "gets", "hits")
    return JSONResponse({"key": key, "value": value})


# endregion naive-get


# region naive-put
async def put(request: Request) -> Response:
    # Reading the body needs `await`, so this one endpoint is async; it still takes the
    # same threading.Lock as the readers, now on the event loop itself. The body is read
    # with a running limit (not `request.body()`, which reads it all before the check).
    try:
        key = parse_key(request.scope["query_string"])
        value = await read_value(request.scope, request.receive)
        store.put(key, value)
    except ContractError as exc:
        stats.incr("total", "puts", "errors")
        return PlainTextResponse(exc.message, exc.status, headers=exc.headers)
    stats.incr("total", "puts")
    return Response(status_code=204)


# endregion naive-put


async def http_error(request: Request, exc: Exception) -> Response:
    # Unknown paths (404) and wrong methods (405) are requests too: count them.
    stats.incr("total", "errors")
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


# region naive-app
app = Starlette(
    routes=[Route("/get", get, methods=["GET"]), Route("/put", put, methods=["PUT"])],
    exception_handlers={HTTPException: http_error},
    lifespan=lambda app: admin_listener(stats.snapshot),
)
# The contract answers 404 for any other path; Starlette would redirect /get/ to /get
# (a 307 that no exception handler sees, so it would not even be counted).
app.router.redirect_slashes = False
# endregion naive-app
