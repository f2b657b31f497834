"""The rungs of docs/04's ladder: each service of `services.LADDER` with what else it carries.

A rung is one change to the rung before it. Besides its service and that change in one line
(both still in kvbench/services.py), it has the frames of its predecessor's profile it sets
out to remove (its prediction, docs/04) and, for each app, where its store keeps the bound on
new keys (tests/hostile/test_store_bound.py sets it to 0). This file is the only one of the
harness that names a rung beyond the first; everything else derives its list from RUNGS.
"""

from dataclasses import dataclass

from kvbench.catalog.entry import Served
from kvbench.catalog.frames import SELF, SITE, STD, Frames
from kvbench.services import LADDER, LIFESPAN_ONLY, Service

# What each rung sets out to remove, as frames of its predecessor's py-spy profile: the
# share of the predecessor's GIL-held samples in them is the rung's prediction. A rung
# whose target no Python profile can show says why instead.
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

# Where each app that accepts PUT keeps its bound on new keys (module, attribute), read at
# every PUT; the apps of the peers are in kvbench/catalog/peers.py.
STORE_BOUNDS = {
    "unoptimized.app:app": ("unoptimized.app", "store._max_keys"),
    "ladder.step2_async:app": ("unoptimized.app", "store._max_keys"),
    "ladder.step3_no_locks:app": ("ladder.step3_no_locks", "key_bound"),
    "ladder.step4_orjson:app": ("ladder.step3_no_locks", "key_bound"),
    "ladder.step5_prebuilt:app": ("ladder.step3_no_locks", "key_bound"),
    "ladder.step6_lean_route:app": ("optimized.app", "key_bound"),
    "ladder.step7_hot_path:app": ("optimized.app", "key_bound"),
    "optimized.app:app": ("optimized.app", "key_bound"),
}


@dataclass(frozen=True)
class Rung(Served):
    """One rung: its service, the change it makes, its target frames and its store's bound."""

    service: Service
    change: str
    targets: tuple[Frames, ...] | str | None
    store_bound: tuple[str, str] | None


RUNGS = tuple(
    Rung(service, change, TARGETS.get(service.name), STORE_BOUNDS.get(service.app))
    for service, change in LADDER
)
NAMES = tuple(rung.name for rung in RUNGS)


def rung(name: str) -> Rung:
    """The rung called `name`; KeyError when there is none."""
    found = {r.name: r for r in RUNGS}
    return found[name]


def code_rungs() -> list[str]:
    """The rungs that change the code the in-process layers run (no server, no lifespan).

    The first rung, then each whose app is not its predecessor's and is no lifespan-only
    twin of another app: the rungs whose in-process code is measured, each once.
    """
    names = [RUNGS[0].name]
    for before, after in zip(RUNGS, RUNGS[1:], strict=False):
        if after.app != before.app and after.app not in LIFESPAN_ONLY:
            names.append(after.name)
    return names
