"""The optimized service's store, without Starlette: answers encoded once, exact counters.

`encode` and `Counters` are those of `optimized.app`, kept here so that a peer without a
framework does not import one; a test checks that the bytes are identical.
"""

import orjson

from kvbench.contract import preload_items

JSON_TYPE = (b"content-type", b"application/json")


class Counters:
    """Plain ints: only the event-loop thread touches them, so no lock is needed."""

    def __init__(self) -> None:
        self.total = self.gets = self.puts = self.hits = self.misses = self.errors = 0

    def snapshot(self) -> dict:
        return dict(vars(self))


def encode(key: str, value: str) -> tuple[list, bytes]:
    """The GET answer for a key (headers and body), built once when the value is stored."""
    body = orjson.dumps({"key": key, "value": value})
    return [(b"content-length", b"%d" % len(body)), JSON_TYPE], body


def preloaded() -> dict[str, tuple[list, bytes]]:
    """The contract's preloaded keys, each with its encoded answer."""
    return {key: encode(key, value) for key, value in preload_items()}
