"""`python -m kvbench serve NAME`: run one service until Ctrl-C or SIGTERM."""

import argparse
import dataclasses
import shlex
import signal

from kvbench import KvbenchError, UsageError
from kvbench.catalog import ladder
from kvbench.processes import running_server
from kvbench.redis_server import RedisServer
from kvbench.runtime.contract import MAX_KEYS, MAX_KEYS_ENV
from kvbench.runtime.net import is_loopback, url_host
from kvbench.services import (
    MEMORY,
    PROXIES,
    SERVICES,
    behind_proxy,
    get_service,
    with_store,
)


def configure(parser: argparse.ArgumentParser) -> None:
    names = sorted(set(SERVICES) | set(ladder.NAMES))
    parser.add_argument("service", choices=names, help="a service or any rung of docs/04")
    parser.add_argument("--host", default="127.0.0.1", help="service address (default loopback)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument(
        "--admin-host",
        default=None,
        help="debug listener address; loopback unless given explicitly, whatever --host is",
    )
    parser.add_argument("--admin-port", type=int, default=6060, help="0 picks a free port")
    parser.add_argument("--cpu", type=int, action="append", help="pin the server to this CPU")
    parser.add_argument(
        "--max-keys", type=int, help=f"most keys the store holds (default {MAX_KEYS:,})"
    )
    parser.add_argument(
        "--proxy", choices=PROXIES, help="serve behind nginx: client timeouts, 64 KiB body limit"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes, each with its own SO_REUSEPORT socket (default 1)",
    )
    parser.add_argument(
        "--store",
        default=MEMORY,
        metavar="memory|redis|redis://HOST:PORT/DB",
        help="where optimized keeps its answers: each process (default), a private "
        "redis-server started for the run, or that Redis",
    )
    parser.add_argument(
        "--no-batch",
        dest="batch",
        action="store_false",
        help="with Redis: one GET per request instead of one MGET per event-loop turn",
    )


def run(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.proxy and (args.workers != 1 or args.store != MEMORY):
        raise UsageError("--proxy puts nginx in front of one process on the memory store")
    service = with_store(get_service(args.service), args.store, args.batch)
    service = dataclasses.replace(service, workers=args.workers)
    if args.max_keys is not None:  # read by the service's store, as KVBENCH_PRELOAD_KEYS is
        if args.max_keys < 1:
            raise UsageError("--max-keys must be at least 1")
        env = (*service.env, (MAX_KEYS_ENV, str(args.max_keys)))
        service = dataclasses.replace(service, env=env)
    if args.proxy:  # the launcher says how to install nginx when it is missing
        service = behind_proxy(service, args.proxy)
    admin_host = args.admin_host or "127.0.0.1"
    if not is_loopback(admin_host):
        print(f"warning: the debug listener is exposed on {admin_host}, as --admin-host asked")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    cpus = set(args.cpu) if args.cpu else None
    try:
        with running_server(
            service, args.host, args.port, admin_host, args.admin_port, cpus=cpus
        ) as server:
            print(f"running: {shlex.join(server.command)}", flush=True)
            if server.store:
                ours = (
                    f" (private redis-server, pid {server.store.pid})" if server.store.pid else ""
                )
                print(f"store:   {server.store.url}{ours}", flush=True)
            service_url = f"http://{url_host(args.host)}:{server.port}/get?key=key-0042"
            debug_url = f"http://{url_host(admin_host)}:{server.admin_port}/debug/vars"
            print(f"service: {service_url}", flush=True)
            print(f"debug:   {debug_url}", flush=True)
            code = server.process.wait()
            raise KvbenchError(f"{service.name} exited with code {code}")
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def describe(store: RedisServer) -> str:
    return f"{store.url} (private redis-server, pid {store.pid})" if store.pid else store.url
