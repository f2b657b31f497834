"""What each service is: its ASGI app and the exact server flags it is benchmarked with."""

import shlex
import sys
from dataclasses import dataclass, field

from kvbench import KvbenchError

# A plain `pip install uvicorn` runs asyncio + h11 with the access log and proxy headers
# on; uvicorn would silently pick uvloop and httptools if they are installed, so pin them.
NAIVE_UVICORN = ("--loop", "asyncio", "--http", "h11", "--access-log")
TUNED_UVICORN = (
    "--loop", "uvloop", "--http", "httptools",
    "--no-access-log", "--no-proxy-headers", "--no-server-header",
)  # fmt: skip


@dataclass(frozen=True)
class Service:
    name: str
    app: str  # "module:attribute", as uvicorn takes it
    server_args: tuple[str, ...] = field(default=NAIVE_UVICORN)

    def command(self, host: str, port: int) -> list[str]:
        """The server command line, the same whether a reader or the benchmark runs it."""
        base = [sys.executable, "-m", "uvicorn", self.app]
        return [*base, "--host", host, "--port", str(port), *self.server_args]


SERVICES = {
    "unoptimized": Service("unoptimized", "unoptimized.app:app", NAIVE_UVICORN),
    "optimized": Service("optimized", "optimized.app:app", TUNED_UVICORN),
}


# The measured ladder of docs/04: each rung changes one thing of the rung before it.
LADDER = [
    (SERVICES["unoptimized"], "the naive service, as a plain uvicorn install runs it"),
    (
        Service("server", "unoptimized.app:app", TUNED_UVICORN),
        "server settings only, no code change",
    ),
    (Service("async", "ladder.step2_async:app", TUNED_UVICORN), "async endpoints, no thread pool"),
    (Service("nolocks", "ladder.step3_no_locks:app", TUNED_UVICORN), "no locks on store and stats"),
    (Service("orjson", "ladder.step4_orjson:app", TUNED_UVICORN), "orjson instead of json"),
    (Service("prebuilt", "ladder.step5_prebuilt:app", TUNED_UVICORN), "bodies encoded at PUT time"),
    (Service("leanroute", "ladder.step6_lean_route:app", TUNED_UVICORN), "raw ASGI route for GET"),
    (Service("hotpath", "ladder.step7_hot_path:app", TUNED_UVICORN), "hot GET ahead of Starlette"),
    (SERVICES["optimized"], "preloaded store frozen out of the GC (gc.freeze)"),
]


def get_service(name: str) -> Service:
    rungs = {service.name: service for service, _ in LADDER}
    try:
        return SERVICES.get(name) or rungs[name]
    except KeyError:
        known = ", ".join(rungs)
        raise KvbenchError(f"unknown service {name!r}; known: {known}") from None


def parse_variant(text: str) -> Service:
    """`NAME=module:app [uvicorn flags...]`, as given to `--variant`."""
    name, sep, spec = text.partition("=")
    words = shlex.split(spec)
    if not sep or not name or not words or ":" not in words[0]:
        raise KvbenchError(f"bad --variant {text!r}; expected NAME=module:app [uvicorn flags]")
    return Service(name, words[0], tuple(words[1:]))
