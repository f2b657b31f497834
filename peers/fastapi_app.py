"""The service as FastAPI's tutorial teaches it: async endpoints that return a dict.

What many readers run in production. FastAPI validates the query parameter, serializes
the returned dict with `jsonable_encoder` and renders a `JSONResponse` (compact JSON, so
the bytes match the other services). Errors are `HTTPException`s, rendered as plain text
by the exception handler the tutorial shows, so statuses and messages keep the contract.
Unlike the contract, a repeated `key` reads the last one (FastAPI's choice) and a value is
any text FastAPI decodes; the benchmark only reads preloaded keys.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kvbench.runtime.contract import (
    KEY_TOO_LONG,
    MAX_KEY_BYTES,
    MISSING_KEY,
    NOT_FOUND,
    ContractError,
    check_room,
    max_keys,
    preload_items,
    read_value,
)
from kvbench.runtime.debugvars import admin_listener

store: dict[str, str] = dict(preload_items())
key_bound = max_keys()
counters = {"total": 0, "gets": 0, "puts": 0, "hits": 0, "misses": 0, "errors": 0}


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with admin_listener(lambda: dict(counters)):
        yield


app = FastAPI(lifespan=lifespan)


def checked(key: str | None) -> str:
    if not key:
        raise HTTPException(status_code=400, detail=MISSING_KEY)
    if len(key.encode()) > MAX_KEY_BYTES:
        raise HTTPException(status_code=400, detail=KEY_TOO_LONG)
    return key


@app.get("/get")
async def read_item(key: str | None = None):
    counters["total"] += 1
    counters["gets"] += 1
    key = checked(key)
    if key not in store:
        counters["misses"] += 1
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    counters["hits"] += 1
    return {"key": key, "value": store[key]}


@app.put("/put", status_code=204)
async def write_item(request: Request, key: str | None = None):
    counters["total"] += 1
    counters["puts"] += 1
    key = checked(key)
    try:
        value = await read_value(request.scope, request.receive)
        check_room(store, key, key_bound)
    except ContractError as exc:
        raise HTTPException(exc.status, exc.message, exc.headers) from None
    store[key] = value
    return Response(status_code=204)


@app.exception_handler(StarletteHTTPException)
async def http_exception_handler(request: Request, exc: StarletteHTTPException):
    # A miss is not an error; an unknown path or method never reached an endpoint to count it.
    if exc.detail != NOT_FOUND:
        counters["errors"] += 1
    if exc.status_code in (404, 405) and exc.detail != NOT_FOUND:
        counters["total"] += 1
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
