"""`python -m kvbench.proxy --upstream NAME`: a service behind nginx, as one server process.

The harness runs it like any server and stops its process group as one. It starts the
named service on a free loopback port (the service serves /debug/vars on the admin port,
as always), then nginx in front of it (`peers/nginx.py --upstream-port`), and lives until
either one exits or it is told to stop.
"""

import argparse
import signal
import socket
import subprocess
import sys
import time

from kvbench import KvbenchError
from kvbench.processes import child_env, free_port
from kvbench.runtime.net import is_loopback
from kvbench.services import get_service

CLIENT_TIMEOUT_S = 10


def wait_for_port(process: subprocess.Popen, port: int) -> bool:
    """True once the service accepts connections; False if it exits first."""
    while process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        child.terminate()


def run(host: str, port: int, upstream: str, timeout_s: int) -> int:
    backend_port = free_port()
    command = get_service(upstream).command("127.0.0.1", backend_port)
    print(f"upstream: {' '.join(command)}", flush=True)
    children = [subprocess.Popen(command, stdin=subprocess.DEVNULL, env=child_env())]
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop(children))
    try:
        if not wait_for_port(children[0], backend_port):
            return children[0].returncode or 1
        nginx = [sys.executable, "-m", "peers.nginx", "--host", host, "--port", str(port)]
        nginx += ["--upstream-port", str(backend_port), "--client-timeout", str(timeout_s)]
        children.append(subprocess.Popen(nginx, stdin=subprocess.DEVNULL, env=child_env()))
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        return next(child.returncode for child in children if child.returncode is not None)
    finally:
        for child in children:
            child.terminate()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbench.proxy", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--upstream", required=True, help="a service by name (e.g. optimized)")
    parser.add_argument(
        "--client-timeout",
        type=int,
        default=CLIENT_TIMEOUT_S,
        help=f"seconds for a request head, and between body reads (default {CLIENT_TIMEOUT_S})",
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"error: refusing to bind {args.host}: loopback only", file=sys.stderr)
        return 2
    try:
        return run(args.host, args.port, args.upstream, args.client_timeout)
    except KvbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
