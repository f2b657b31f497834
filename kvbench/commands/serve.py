"""`python -m kvbench serve NAME`: run one service until Ctrl-C or SIGTERM."""

import argparse
import shlex
import signal

from kvbench import KvbenchError
from kvbench.processes import running_server
from kvbench.runtime.net import is_loopback, url_host
from kvbench.services import LADDER, SERVICES, get_service


def configure(parser: argparse.ArgumentParser) -> None:
    names = sorted(set(SERVICES) | {rung.name for rung, _ in LADDER})
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


def run(args: argparse.Namespace) -> int:
    service = get_service(args.service)
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
