"""Two in-process apps for the GC measurement: one leaves a reference cycle per request, one
keeps a growing list of every request's scope; both answer 200."""

kept: list = []


async def _ok(send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def cyclic(scope, receive, send) -> None:
    a: dict = {}
    b = {"a": a}
    a["b"] = b  # two dicts that only the collector can free
    await _ok(send)


async def hoarding(scope, receive, send) -> None:
    kept.append({"path": scope["path"]})  # one tracked dict outlives every request
    await _ok(send)
