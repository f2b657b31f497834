"""What each service is: its ASGI app and the exact server flags it is benchmarked with."""

import shlex
import sys
from dataclasses import dataclass, field, replace
from typing import Literal

from kvbench import KvbenchError
from kvbench.runtime.contract import REDIS_BATCH_ENV

Server = Literal["uvicorn", "granian", "python"]
MEMORY = "memory"  # the store of `Service.store`: a dict in each process
PRIVATE_REDIS = "redis"  # a redis-server of the run's own (kvbench/redis_server.py)

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
    # Keyword-only, so subclasses that add positional fields keep working.
    # "granian" serves the ASGI app with granian; "python" runs `python -m MODULE` (the
    # module part of `app`), a server of its own that takes --host and --port.
    server: Server = field(default="uvicorn", kw_only=True)
    env: tuple[tuple[str, str], ...] = field(default=(), kw_only=True)  # extra environment
    # More than one: uvicorn's command run by kvbench.runtime.supervisor, a socket a worker.
    workers: int = field(default=1, kw_only=True)
    # MEMORY, PRIVATE_REDIS or a redis:// URL; the app must be one that reads KVBENCH_STORE.
    store: str = field(default=MEMORY, kw_only=True)

    def command(self, host: str, port: int) -> list[str]:
        """The server command line, the same whether a reader or the benchmark runs it."""
        where = ["--host", host, "--port", str(port)]
        if self.workers > 1:
            if self.server != "uvicorn":
                raise KvbenchError(f"{self.name}: --workers needs a service served by uvicorn")
            supervisor = [sys.executable, "-m", "kvbench.runtime.supervisor", self.app]
            return [*supervisor, *where, *self.server_args, "--workers", str(self.workers)]
        if self.server == "granian":
            # granian's "asgi" interface runs the lifespan (asginl would not); app goes last.
            base = [sys.executable, "-m", "granian", "--interface", "asgi"]
            return [*base, *where, *self.server_args, self.app]
        if self.server == "python":
            module = self.app.partition(":")[0]
            return [sys.executable, "-m", module, *where, *self.server_args]
        return [sys.executable, "-m", "uvicorn", self.app, *where, *self.server_args]


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


@dataclass(frozen=True)
class Peer:
    """A row of `kvbench peers`: a service and what it is."""

    service: Service
    what: str


PYTHON_CEILING, FRAMEWORK_FLOOR = "raw-protocol", "bare-asgi"
# granian's access log is off by default; said anyway, as the uvicorn flags say it. Its
# accept backlog (1,024 by default) is raised to uvicorn's 2,048.
GRANIAN_FLAGS = (
    "--loop", "uvloop", "--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning",
    "--backlog", "2048",
)  # fmt: skip
PEERS = [
    Peer(SERVICES["unoptimized"], "the naive service, as `make bench` runs it"),
    Peer(SERVICES["optimized"], "the optimized service, as `make bench` runs it"),
    Peer(
        Service(FRAMEWORK_FLOOR, "peers.bare_asgi:app", TUNED_UVICORN),
        "framework floor: one bare ASGI callable, same store and bytes, same uvicorn flags",
    ),
    Peer(
        Service("granian", "optimized.app:app", GRANIAN_FLAGS, server="granian"),
        "the optimized app on granian (Rust HTTP server, ASGI interface)",
    ),
    Peer(
        Service("fastapi", "peers.fastapi_app:app", TUNED_UVICORN),
        "FastAPI as its tutorial teaches (async endpoint returning a dict), tuned uvicorn",
    ),
    Peer(
        Service(PYTHON_CEILING, "peers.raw_protocol:main", (), server="python"),
        "Python ceiling: asyncio Protocol on uvloop with httptools, same store and bytes, no ASGI",
    ),
]
NGINX = Peer(
    Service("nginx", "peers.nginx:main", (), server="python"),
    "system ceiling: nginx answering a JSON body from its config, no store",
)


# The services that can keep their answers on a shared store, and the app that does.
SHARED_STORE_APPS = {"optimized": "optimized.redis_app:app"}


def with_store(service: Service, store: str, batch: bool = True) -> Service:
    """The service on another store: MEMORY (as it is), PRIVATE_REDIS or a redis:// URL."""
    if store == MEMORY:
        return service
    if store != PRIVATE_REDIS and not store.startswith("redis://"):
        raise KvbenchError(f"--store takes memory, redis or redis://HOST:PORT/DB; got {store!r}")
    if service.name not in SHARED_STORE_APPS:
        known = ", ".join(SHARED_STORE_APPS)
        raise KvbenchError(f"{service.name} has no shared store; only {known} does")
    env = (*service.env, (REDIS_BATCH_ENV, "1" if batch else "0"))
    return replace(service, app=SHARED_STORE_APPS[service.name], store=store, env=env)


# The stores compared in docs/06 (`make bench-stores`): the optimized service's answers in
# each process, on a Redis shared by every worker, and that with its GETs batched; one
# worker and two, in one interleaved run.
STORES = [
    (replace(with_store(SERVICES["optimized"], store, batch), name=f"{name}-{n}", workers=n), what)
    for n in (1, 2)
    for name, store, batch, what in [
        ("memory", MEMORY, True, "answers in a dict of each worker"),
        ("redis", PRIVATE_REDIS, False, "answers on Redis, one GET a request"),
        ("redis-mget", PRIVATE_REDIS, True, "answers on Redis, one MGET an event-loop turn"),
    ]
]


def get_service(name: str) -> Service:
    rungs = {service.name: service for service, _ in LADDER + STORES}
    try:
        return SERVICES.get(name) or rungs[name]
    except KeyError:
        known = ", ".join(rungs)
        raise KvbenchError(f"unknown service {name!r}; known: {known}") from None


def parse_variant(text: str) -> Service:
    """`NAME=module:app [uvicorn flags...]`, as given to `--variant`."""
    name, sep, spec = text.partition("=")
    try:
        words = shlex.split(spec)
    except ValueError:  # an unbalanced quote
        words = []
    if not sep or not name or not words or ":" not in words[0]:
        raise KvbenchError(f"bad --variant {text!r}; expected NAME=module:app [uvicorn flags]")
    return Service(name, words[0], tuple(words[1:]))
