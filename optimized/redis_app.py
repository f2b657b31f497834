"""The optimized service on a shared store: its answers on Redis, not in the process.

Same contract, same bytes and the same exact counters as `optimized.app`; only where the
answers live differs. Every worker and every replica reads and writes the same Redis, so
the next GET returns what a PUT stored, whichever process answers it. The price is a
network round trip per GET (or per MGET, see optimized/redis_store.py), measured in
docs/06. KVBENCH_STORE is the Redis URL (`kvbench serve optimized --store redis` starts
a private redis-server and sets it); a Redis that is down or slow gets 503s, not hangs.
"""

import gc
import logging
import os
from contextlib import asynccontextmanager

from starlette.responses import PlainTextResponse

from kvbench.runtime.contract import (
    NOT_FOUND,
    REDIS_BATCH_ENV,
    STORE_ENV,
    ContractError,
    max_keys,
    parse_key,
)
from kvbench.runtime.debugvars import EXTRAS, admin_listener
from optimized import routes
from optimized.redis_store import RedisStore, StoreUnavailable
from optimized.store import Counters

DEFAULT_URL = "redis://127.0.0.1:6379/0"
CONTENT_TYPE = (b"content-type", b"application/json")
READS = frozenset({"GET", "HEAD"})

counters = Counters()
store = RedisStore(
    os.environ.get(STORE_ENV) or DEFAULT_URL,
    batch=os.environ.get(REDIS_BATCH_ENV) != "0",
    max_keys=max_keys(),
)


class StoreGet:
    """GET /get as a raw ASGI app, as in optimized.app, awaiting the body from Redis."""

    async def __call__(self, scope, receive, send) -> None:
        counters.total += 1
        counters.gets += 1
        try:
            body = await store.get(parse_key(scope["query_string"]))
        except ContractError as exc:  # a bad key, or the store did not answer (503)
            counters.errors += 1
            await PlainTextResponse(exc.message, exc.status)(scope, receive, send)
            return
        if body is None:
            counters.misses += 1
            await PlainTextResponse(NOT_FOUND, 404)(scope, receive, send)
            return
        counters.hits += 1
        headers = [(b"content-length", b"%d" % len(body)), CONTENT_TYPE]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


store_get = StoreGet()


class HotPath:
    """optimized.app's HotPath in front of this GET (that one is quoted in docs/04 as is)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/get" and scope["method"] in READS:
            await store_get(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@asynccontextmanager
async def lifespan(app):
    # The harness preloads Redis before it starts the service; this covers a service run
    # by hand. A Redis unreachable now is not fatal: the service answers 503 until it is
    # back (an exception here would end the start-up with a traceback).
    try:
        await store.preload()
    except StoreUnavailable as exc:
        logging.getLogger("uvicorn.error").warning("%s; answering 503 until it is back", exc)
    gc.freeze()
    EXTRAS["store"] = store.stats
    try:
        async with admin_listener(counters.snapshot):
            yield
    finally:
        await store.close()


put = routes.put_endpoint(counters, store.put)
http_error = routes.error_endpoint(counters)
app = HotPath(routes.starlette_app(store_get, put, http_error, lifespan))
