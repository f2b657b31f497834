"""What each ladder rung sets out to remove, as frames of its predecessor's py-spy profile.

A rung's prediction is the share of the previous rung's GIL-held samples spent in these
frames. "inclusive" counts a sample when a matching frame is anywhere on its stack (the
frame and everything it calls); "self" only when the innermost frame matches, for code
that wraps the rest of the request (middleware, a protocol's main loop). A rung whose
target no Python profile can show says why instead.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal


@dataclass(frozen=True)
class Frames:
    """Frames a rung targets: a key, what a reader calls them, a regex on `file:function`."""

    key: str
    label: str
    pattern: str
    counted: Literal["inclusive", "self"] = "inclusive"

    def matches(self, file: str, function: str) -> bool:
        return _compiled(self.pattern).search(f"{file}:{function}") is not None


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


STD = r"<python>/lib/python3\.\d+/"
SITE = r"site-packages/"
SELF: Literal["self"] = "self"
# fmt: off
TARGETS: dict[str, tuple[Frames, ...] | str] = {
    "httptools": (
        Frames("h11", "h11, the pure-Python HTTP parser and writer", rf"{SITE}h11/"),
        Frames("h11-protocol", "uvicorn's h11 protocol",
               r"uvicorn/protocols/http/h11_impl\.py", SELF),
        Frames("httptools-protocol", "uvicorn's httptools protocol",
               r"uvicorn/protocols/http/httptools_impl\.py", SELF),
    ),
    "noaccesslog": (
        Frames("access-log", "the access log: `Logger.info`, its record, formatter and handler",
               rf"{STD}logging/__init__\.py:Logger\.info$|uvicorn/logging\.py"),
    ),
    "uvloop": (
        Frames("asyncio-loop", "asyncio's event loop, transports and selector",
               rf"{STD}(asyncio/(base_events|selector_events|events)|selectors)\.py", SELF),
    ),
    "noproxyheaders": (
        Frames("proxy-headers", "uvicorn's `ProxyHeadersMiddleware`",
               r"uvicorn/middleware/proxy_headers\.py", SELF),
    ),
    "noserverheader": (
        Frames("response-start", "uvicorn writing the response head (`RequestResponseCycle.send`)",
               r"uvicorn/protocols/http/\w+_impl\.py:RequestResponseCycle\.send$", SELF),
    ),
    "async": (
        Frames("thread-pool", "the thread-pool hop: `run_in_threadpool`, anyio's `to_thread`",
               r"starlette/concurrency\.py:run_in_threadpool$|anyio/to_thread\.py"),
        Frames("threading", "`threading`: waking a pool worker", rf"{STD}threading\.py", SELF),
    ),
    "nolocks": (
        Frames("locked-calls", "the locked calls: `Store.get`, `Stats.incr`",
               r"unoptimized/app\.py:(Store\.get|Stats\.incr)$"),
    ),
    "orjson": (
        Frames("json", "the standard library's `json.dumps`", rf"{STD}json/"),
        Frames("json-response", "`JSONResponse.render`",
               r"starlette/responses\.py:JSONResponse\.render$"),
    ),
    "prebuilt": (
        Frames("answer", "the store's `answer`: encode per GET (before), look up (after)",
               r"ladder/step\d_\w+\.py:\w*Store\.answer$"),
    ),
    "leanroute": (
        Frames("request", "Starlette's `Request`", r"starlette/requests\.py"),
        Frames("response", "Starlette's `Response` objects", r"starlette/responses\.py", SELF),
        Frames("endpoint", "the function-endpoint wrapper, `request_response`",
               r"starlette/routing\.py:request_response", SELF),
    ),
    "hotpath": (
        Frames("starlette", "Starlette's own code: middleware, router, routes", r"starlette/",
               SELF),
    ),
    "gcfreeze": (
        "gc.freeze() removes no frame: the collector runs in C inside "
        "whichever Python frame allocated, which the ladder's profiles (py-spy `--gil`, "
        "Python frames) cannot separate; the GC columns of the ladder tables measure it"
    ),
    "optimized": (
        Frames("writes", "the answer's writes: uvicorn's `RequestResponseCycle.send` and the held "
               "head", r"uvicorn/protocols/http/httptools_impl\.py:(RequestResponseCycle\.)?send$"
               r"|kvbench/runtime/onewrite\.py", SELF),
    ),
    "granian": (
        Frames("uvicorn", "uvicorn's own code: HTTP protocol, ASGI cycle", r"uvicorn/", SELF),
        Frames("asyncio", "asyncio's own code", rf"{STD}asyncio/", SELF),
        Frames("granian", "granian's Python code", r"granian/", SELF),
    ),
}
# fmt: on
# The frames a rung puts in place of those it removes: not part of its prediction.
ADDED = {"httptools-protocol", "granian"}


def frames(key: str) -> Frames | None:
    """The target frames named `key`, of whichever rung."""
    found = (f for fs in TARGETS.values() if not isinstance(fs, str) for f in fs if f.key == key)
    return next(found, None)
