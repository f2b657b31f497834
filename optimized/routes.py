"""What the optimized service's two stores share: PUT, the error answers, the Starlette app.

`optimized.app` keeps its answers in a dict of the process; `optimized.redis_app` keeps
them on Redis, shared by every worker and replica. Only the GET handler and the `save`
coroutine a PUT ends with differ; a store that cannot answer raises a ContractError
(503), so it is counted and answered like any other refused request.
"""

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from kvbench.runtime.contract import ContractError, parse_key, read_value
from optimized.store import Counters

Save = Callable[[str, str], Awaitable[None]]


def put_endpoint(counters: Counters, save: Save):
    """PUT /put: parse, then `save(key, value)`; 204 only once the store holds the value."""

    async def put(request: Request) -> Response:
        counters.total += 1
        counters.puts += 1
        try:
            key = parse_key(request.scope["query_string"])
            value = await read_value(request.scope, request.receive)
            await save(key, value)
        except ContractError as exc:
            counters.errors += 1
            return PlainTextResponse(exc.message, exc.status, headers=exc.headers)
        return Response(status_code=204)

    return put


def error_endpoint(counters: Counters):
    """Unknown paths (404) and wrong methods (405) are requests too: count them."""

    async def http_error(request: Request, exc: Exception) -> Response:
        counters.total += 1
        counters.errors += 1
        assert isinstance(exc, HTTPException)
        return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)

    return http_error


def starlette_app(get, put, http_error, lifespan) -> Starlette:
    routes = [Route("/get", get, methods=["GET"]), Route("/put", put, methods=["PUT"])]
    app = Starlette(
        routes=routes, exception_handlers={HTTPException: http_error}, lifespan=lifespan
    )
    app.router.redirect_slashes = False  # /get/ is another path: 404, as in unoptimized
    return app
