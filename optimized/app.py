"""The optimized key-value service, the Python analog of the article's Step 4.

Same contract and exact counters as `unoptimized.app`. What changed, and why, is
measured rung by rung in docs/04: async endpoints (no thread pool), no locks (one
event-loop thread owns the store and the counters), response bodies encoded once at
PUT time with orjson, a raw ASGI handler for the hot GET path, and the preloaded
store frozen out of the garbage collector's sight.
"""

import gc
from contextlib import asynccontextmanager

from starlette.responses import PlainTextResponse

from kvbench.runtime.contract import NOT_FOUND, ContractError, check_room, max_keys, parse_key
from kvbench.runtime.debugvars import admin_listener
from optimized import routes
from optimized.store import Counters, encode, preloaded

counters = Counters()
answers = preloaded()
key_bound = max_keys()


# region hot-get
# region lean-get
class HotGet:
    """GET /get as a raw ASGI app: no Request or Response object is built.

    A class, not a function: Starlette wraps a function endpoint as
    `func(request) -> response`, and routes to anything else as an ASGI app.
    """

    async def __call__(self, scope, receive, send) -> None:
        counters.total += 1
        counters.gets += 1
        try:
            answer = answers.get(parse_key(scope["query_string"]))
        except ContractError as exc:
            counters.errors += 1
            await PlainTextResponse(exc.message, exc.status)(scope, receive, send)
            return
        if answer is None:
            counters.misses += 1
            await PlainTextResponse(NOT_FOUND, 404)(scope, receive, send)
            return
        counters.hits += 1
        headers, body = answer
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


hot_get = HotGet()
# endregion lean-get


# region hot-path
class HotPath:
    """Pure ASGI middleware: the hot GET skips Starlette's middleware stack and router."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/get" and scope["method"] in _READS:
            await hot_get(scope, receive, send)
        else:
            await self.app(scope, receive, send)


_READS = frozenset({"GET", "HEAD"})
# endregion hot-path
# endregion hot-get


async def save(key: str, value: str) -> None:
    """A PUT's last step: the answer is encoded once, here, and every GET reuses it."""
    check_room(answers, key, key_bound)
    answers[key] = encode(key, value)


put = routes.put_endpoint(counters, save)
http_error = routes.error_endpoint(counters)


def serve_debug_vars(app):
    return admin_listener(counters.snapshot)


# region lifespan
@asynccontextmanager
async def lifespan(app):
    # The preloaded store lives as long as the process: move it, and everything imported,
    # out of the collector's generations so no collection walks it again.
    gc.freeze()
    async with serve_debug_vars(app):
        yield


# endregion lifespan


# region app
def starlette_app(lifespan=lifespan):
    return routes.starlette_app(hot_get, put, http_error, lifespan)


# The hot GET is answered in front of Starlette; everything else goes through it.
app = HotPath(starlette_app())
# endregion app
