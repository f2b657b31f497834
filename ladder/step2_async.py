"""The `async` rung: async endpoints. The same naive GET body now runs on the event loop.

No thread-pool hop per request any more; the locks stay (now uncontended).
"""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from kvbench.runtime.debugvars import admin_listener
from unoptimized import app as naive


async def get(request: Request):
    return naive.get(request)


app = Starlette(
    routes=[Route("/get", get, methods=["GET"]), Route("/put", naive.put, methods=["PUT"])],
    exception_handlers={HTTPException: naive.http_error},
    lifespan=lambda app: admin_listener(naive.stats.snapshot),
)
app.router.redirect_slashes = False  # as in unoptimized: /get/ is a 404
