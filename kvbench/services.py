"""What each service is: its ASGI app and the exact server flags it is benchmarked with."""

import shlex
import sys
from dataclasses import dataclass, field, replace
from typing import Literal

from kvbench import UsageError
from kvbench.runtime.contract import REDIS_BATCH_ENV

Server = Literal["uvicorn", "granian", "python"]
MEMORY = "memory"  # the store of `Service.store`: a dict in each process
PRIVATE_REDIS = "redis"  # a redis-server of the run's own (kvbench/redis_server.py)


@dataclass(frozen=True)
class Uvicorn:
    """The uvicorn settings the ladder changes, one per rung; `flags` says them as its CLI does.

    A plain `pip install uvicorn` runs asyncio + h11 with the access log, proxy headers and
    the Server header on; uvicorn would silently pick uvloop and httptools if they are
    installed, so loop and parser are always said. The other two are said only when off.
    """

    loop: Literal["asyncio", "uvloop"] = "asyncio"
    http: Literal["h11", "httptools", "kvbench.runtime.onewrite:OneWriteProtocol"] = "h11"
    access_log: bool = True
    proxy_headers: bool = True
    server_header: bool = True

    @property
    def flags(self) -> tuple[str, ...]:
        words = ["--loop", self.loop, "--http", self.http]
        words.append("--access-log" if self.access_log else "--no-access-log")
        words += [] if self.proxy_headers else ["--no-proxy-headers"]
        words += [] if self.server_header else ["--no-server-header"]
        return tuple(words)


NAIVE = Uvicorn()
TUNED = Uvicorn("uvloop", "httptools", access_log=False, proxy_headers=False, server_header=False)
NAIVE_UVICORN, TUNED_UVICORN = NAIVE.flags, TUNED.flags
# uvicorn's httptools protocol with head and body of a complete answer in one write
# (kvbench/runtime/onewrite.py); uvicorn's --http takes a protocol class's import path.
ONE_WRITE = replace(TUNED, http="kvbench.runtime.onewrite:OneWriteProtocol")


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
    # The interpreter that runs the server (another venv's python); None: this one.
    python: str | None = field(default=None, kw_only=True)

    @property
    def executable(self) -> str:
        return self.python or sys.executable

    # A user's app (`--app`, `--variant`): imported from `app_dir` (its folder, also the
    # working directory of its server and in-process workers), and ready when it answers
    # its first request; it need not serve /debug/vars as the services' runtime does.
    app_dir: str = field(default="", kw_only=True)
    debug_vars: bool = field(default=True, kw_only=True)

    def command(self, host: str, port: int) -> list[str]:
        """The server command line, the same whether a reader or the benchmark runs it."""
        where = ["--host", host, "--port", str(port)]
        if self.workers > 1:
            if self.server != "uvicorn":
                raise UsageError(f"{self.name}: --workers needs a service served by uvicorn")
            supervisor = [self.executable, "-m", "kvbench.runtime.supervisor", self.app]
            return [*supervisor, *where, *self.server_args, "--workers", str(self.workers)]
        if self.server == "granian":
            # granian's "asgi" interface runs the lifespan (asginl would not); app goes last.
            base = [self.executable, "-m", "granian", "--interface", "asgi"]
            return [*base, *where, *self.server_args, self.app]
        if self.server == "python":
            module = self.app.partition(":")[0]
            return [self.executable, "-m", module, *where, *self.server_args]
        return [self.executable, "-m", "uvicorn", self.app, *where, *self.server_args]


# The optimized service is served with the one-write protocol (the ladder's last uvicorn
# rung; docs/07 has the measurement), so strace counts one write per answer.
SERVICES = {
    "unoptimized": Service("unoptimized", "unoptimized.app:app", NAIVE_UVICORN),
    "optimized": Service("optimized", "optimized.app:app", ONE_WRITE.flags),
}


# granian's access log is off by default; said anyway, as the uvicorn flags say it. Its
# accept backlog (1,024 by default) is raised to uvicorn's 2,048.
GRANIAN_FLAGS = (
    "--loop", "uvloop", "--http", "1", "--no-ws", "--no-access-log", "--log-level", "warning",
    "--backlog", "2048",
)  # fmt: skip
GRANIAN = Service("granian", "optimized.app:app", GRANIAN_FLAGS, server="granian")

# The server rungs: one uvicorn setting each, cumulative, on the naive app. In the order the
# naive service's CPU profile ranks what they remove (docs/03): h11 is the widest tower, the
# access log the next, then asyncio's own loop; the proxy-headers middleware and the Server
# header are slivers, left for last so that they are measured on the fastest server.
SERVER_STEPS: list[tuple[str, dict, str]] = [
    ("httptools", {"http": "httptools"}, "HTTP parsed by httptools (C) instead of h11"),
    ("noaccesslog", {"access_log": False}, "access log off"),
    ("uvloop", {"loop": "uvloop"}, "uvloop (C) instead of asyncio's event loop"),
    ("noproxyheaders", {"proxy_headers": False}, "proxy-headers middleware off"),
    ("noserverheader", {"server_header": False}, "no Server header"),
]


def server_rungs() -> list[tuple[Service, str]]:
    """The naive app with one more uvicorn setting changed per rung, ending at TUNED."""
    settings, rungs = NAIVE, []
    for name, change, what in SERVER_STEPS:
        settings = replace(settings, **change)
        rungs.append((Service(name, "unoptimized.app:app", settings.flags), what))
    return rungs


# The measured ladder of docs/04: each rung changes one thing of the rung before it (one
# uvicorn setting, the code, or the server); tests/services/test_ladder.py checks it.
LADDER = [
    (SERVICES["unoptimized"], "the naive service, as a plain uvicorn install runs it"),
    *server_rungs(),
    (Service("async", "ladder.step2_async:app", TUNED_UVICORN), "async endpoints, no thread pool"),
    (Service("nolocks", "ladder.step3_no_locks:app", TUNED_UVICORN), "no locks on store and stats"),
    (Service("orjson", "ladder.step4_orjson:app", TUNED_UVICORN), "orjson instead of json"),
    (Service("prebuilt", "ladder.step5_prebuilt:app", TUNED_UVICORN), "bodies encoded at PUT time"),
    (Service("leanroute", "ladder.step6_lean_route:app", TUNED_UVICORN), "raw ASGI route for GET"),
    (Service("hotpath", "ladder.step7_hot_path:app", TUNED_UVICORN), "hot GET ahead of Starlette"),
    (
        Service("gcfreeze", "optimized.app:app", TUNED_UVICORN),
        "preloaded store frozen out of the GC (gc.freeze)",
    ),
    (SERVICES["optimized"], "head and body of an answer in one write (docs/07)"),
    (GRANIAN, "the same app on granian (Rust) instead of uvicorn"),
]

# The in-process layers (pyperf's ASGI suite, allocations, instructions) call the app's
# ASGI callable directly: no server, so no server flags, and no lifespan scope, so nothing
# that only the lifespan does. `optimized` is `hotpath` plus gc.freeze() in its lifespan
# (tests/services/test_ladder.py checks that nothing else differs): the same code there,
# as for `gcfreeze` (the same app as `optimized`, uvicorn's own protocol).
LIFESPAN_ONLY = {"optimized.app:app": "ladder.step7_hot_path:app"}


def in_process_code(service: Service) -> str:
    """The app the in-process layers really run for `service`."""
    return LIFESPAN_ONLY.get(service.app, service.app)


def same_in_process(services: list[Service]) -> dict[str, str]:
    """Service name -> the earlier service whose in-process code it runs, for those that do."""
    first: dict[str, str] = {}
    same = {}
    for service in services:
        code = in_process_code(service)
        if code in first:
            same[service.name] = first[code]
        else:
            first[code] = service.name
    return same


def in_process_services(services: list[Service]) -> list[Service]:
    """The services the in-process layers measure: each piece of in-process code once."""
    same = same_in_process(services)
    return [service for service in services if service.name not in same]


def why_same_in_process(before: Service, after: Service) -> str:
    """Why two services run the same code in-process, in a few words."""
    if before.app != after.app:
        return "the apps differ only in their lifespan, which the in-process layers never run"
    if before.server != after.server:
        return "only the server differs, and the in-process layers run no server"
    return "only the server's settings differ, and the in-process layers run no server"


@dataclass(frozen=True)
class Peer:
    """A row of `kvbench peers`: a service and what it is."""

    service: Service
    what: str


PYTHON_CEILING, FRAMEWORK_FLOOR = "raw-protocol", "bare-asgi"
PEERS = [
    Peer(SERVICES["unoptimized"], "the naive service, as `make bench` runs it"),
    Peer(SERVICES["optimized"], "the optimized service, as `make bench` runs it"),
    Peer(
        Service(FRAMEWORK_FLOOR, "peers.bare_asgi:app", SERVICES["optimized"].server_args),
        "framework floor: one bare ASGI callable, same store and bytes, same uvicorn flags",
    ),
    Peer(GRANIAN, "the optimized app on granian (Rust HTTP server, ASGI interface)"),
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
        raise UsageError(f"--store takes memory, redis or redis://HOST:PORT/DB; got {store!r}")
    if service.name not in SHARED_STORE_APPS:
        known = ", ".join(SHARED_STORE_APPS)
        raise UsageError(f"{service.name} has no shared store; only {known} does")
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


# A service behind a reverse proxy is named NAME+PROXY, e.g. `optimized+nginx`.
PROXIES = ("nginx",)


def behind_proxy(service: Service, proxy: str = "nginx") -> Service:
    """The service behind nginx, with its client timeouts and body limit (kvbench/proxy.py)."""
    flags = ("--upstream", service.name)
    name = f"{service.name}+{proxy}"
    return Service(name, "kvbench.proxy:main", flags, server="python", env=service.env)


def get_service(name: str) -> Service:
    base, plus, proxy = name.partition("+")
    if plus and proxy in PROXIES:
        return behind_proxy(get_service(base), proxy)
    rungs = {service.name: service for service, _ in LADDER + STORES}
    try:
        return SERVICES.get(name) or rungs[name]
    except KeyError:
        known = ", ".join(rungs)
        raise UsageError(f"unknown service {name!r}; known: {known}") from None


def parse_variant(text: str, option: str = "--variant") -> Service:
    """`NAME=module:app [uvicorn flags...]`, as given to `--variant`."""
    name, sep, spec = text.partition("=")
    try:
        words = shlex.split(spec)
    except ValueError:  # an unbalanced quote
        words = []
    if not sep or not name or not words or ":" not in words[0]:
        raise UsageError(f"bad {option} {text!r}; expected NAME=module:app [uvicorn flags]")
    return Service(name, words[0], tuple(words[1:]), debug_vars=False)


def parse_app(text: str, app_dir: str) -> Service:
    """`NAME=module:app [uvicorn flags...]`, as given to `--app`: the user's own app.

    Without flags it is served by a tuned uvicorn (TUNED_UVICORN: uvloop, httptools, no
    access log, proxy headers or Server header): what is measured is the app, not
    uvicorn's defaults.
    """
    service = parse_variant(text, "--app")
    args = service.server_args or TUNED_UVICORN
    return replace(service, server_args=args, app_dir=app_dir, debug_vars=False)


def bare_variants(services: list[Service]) -> list[str]:
    """Warnings for variants served by bare uvicorn beside a tuned service."""
    tuned = any("--no-access-log" in s.server_args for s in services)  # tuned, any protocol
    return [
        f"{s.name} runs on bare uvicorn (access log on, loop and parser left to uvicorn) "
        f"beside a tuned service: give it flags, e.g. --variant '{s.name}={s.app} "
        f"{' '.join(TUNED_UVICORN)}'"
        for s in services
        if tuned and not s.server_args
    ]
