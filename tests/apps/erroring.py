"""A service that starts like ours but answers every request with a 500: a trial must fail."""

from kvbench.runtime.debugvars import admin_listener


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        async with admin_listener(dict):
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"boom"})
