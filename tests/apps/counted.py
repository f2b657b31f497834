"""Apps whose per-request work the instruction count can be checked against: each answers the
hot key's exact body, counts its hits as the services do, and spins a loop K times first."""

BODY = b'{"key":"key-0042","value":"test-value"}'
HEADERS = [(b"content-length", b"%d" % len(BODY)), (b"content-type", b"application/json")]


class Counters:
    def __init__(self) -> None:
        self.hits = 0

    def snapshot(self) -> dict:
        return {"hits": self.hits}


counters = Counters()


def spinning(k: int):
    """An ASGI app that runs `k` empty loop iterations per request before it answers."""

    async def app(scope, receive, send) -> None:
        for _ in range(k):
            pass
        counters.hits += 1
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})

    return app


app = spinning(0)
spin_100 = spinning(100)
spin_200 = spinning(200)
