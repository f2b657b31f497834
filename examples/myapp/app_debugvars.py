"""The app of app.py with the services' /debug/vars listener, for the GC figures over HTTP.

The listener runs only when the harness sets KVBENCH_ADMIN_PORT (it does for every server
it starts), so the app runs unchanged anywhere else.
"""

from contextlib import asynccontextmanager

from app import item
from starlette.applications import Starlette
from starlette.routing import Route

from kvbench.runtime.debugvars import admin_listener


# region lifespan
@asynccontextmanager
async def lifespan(app):
    async with admin_listener(lambda: {}):  # your own counters, if any, as a dict
        yield


app = Starlette(routes=[Route("/items/{item_id:int}", item)], lifespan=lifespan)
# endregion lifespan
