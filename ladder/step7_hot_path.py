"""The `hotpath` rung: the hot GET answered in front of Starlette, as pure ASGI middleware."""

from optimized.app import HotPath, serve_debug_vars, starlette_app

app = HotPath(starlette_app(lifespan=serve_debug_vars))
