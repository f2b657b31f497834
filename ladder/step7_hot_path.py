"""Rung 7: the hot GET answered in front of Starlette, as pure ASGI middleware; no GC tuning."""

from optimized.app import HotPath, serve_debug_vars, starlette_app

app = HotPath(starlette_app(lifespan=serve_debug_vars))
