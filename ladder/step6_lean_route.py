"""The `leanroute` rung: GET /get is a raw ASGI app that Starlette routes to directly."""

from optimized.app import serve_debug_vars, starlette_app

app = starlette_app(lifespan=serve_debug_vars)
