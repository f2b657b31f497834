"""A system ceiling: nginx answering `GET /get?key=K` with a JSON body from its config alone.

No store, no Python: it bounds what the load generator and the loopback can carry on this
machine. The body is built from the query (`{"key":"$arg_key","value":"test-value"}`), so
for the preloaded keys it has the same bytes and length as every other row, and the load
generator's checks still apply. /debug/vars is a fixed document on the admin port, so that
the harness can start and wait for it as for any service; its GC and RSS figures are
zeros that mean "not measured", never "none".

This launcher writes the config into a temporary prefix, runs nginx in the foreground as
its child (CPU pinning and the process group carry over) and removes the prefix after.

    python -m peers.nginx --host 127.0.0.1 --port 8080
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from kvbench.runtime.debugvars import ADMIN_HOST_ENV, ADMIN_PORT_ENV
from kvbench.runtime.net import is_loopback

DEBUG_VARS = (
    '{"counters":{},"gc":{"since_last_read":{"collections":0,"pause_max_ms":0}},'
    '"rss_bytes":0,"peak_rss_bytes":0,"measured":false}'
)
CONFIG = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port} backlog=2048;
        location = /get {{
            default_type application/json;
            return 200 '{{"key":"$arg_key","value":"test-value"}}';
        }}
    }}
{admin}}}
"""
ADMIN = """\
    server {{
        listen {host}:{port};
        location = /debug/vars {{
            default_type application/json;
            return 200 '{debug_vars}';
        }}
    }}
"""


def installed() -> str | None:
    """The nginx executable on PATH, or None."""
    return shutil.which("nginx")


def config(prefix: Path, host: str, port: int, admin_host: str, admin_port: int) -> str:
    """The whole nginx.conf for one run; the admin server only when the harness asks for it."""
    admin = ""
    if admin_port:
        admin = ADMIN.format(host=_bracket(admin_host), port=admin_port, debug_vars=DEBUG_VARS)
    return CONFIG.format(prefix=prefix, host=_bracket(host), port=port, admin=admin)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(host: str, port: int) -> int:
    """Run nginx until it exits or we are told to stop; always remove the prefix."""
    admin_host = os.environ.get(ADMIN_HOST_ENV, "127.0.0.1")
    admin_port = int(os.environ.get(ADMIN_PORT_ENV) or 0)
    with tempfile.TemporaryDirectory(prefix="kvbench-nginx-") as tmp:
        prefix = Path(tmp)
        (prefix / "nginx.conf").write_text(config(prefix, host, port, admin_host, admin_port))
        command = [installed() or "nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        signal.signal(signal.SIGINT, lambda *_: child.terminate())
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.nginx", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"error: refusing to bind {args.host}: this peer is loopback only", file=sys.stderr)
        return 2
    if not installed():
        print("error: nginx is not installed (not on PATH)", file=sys.stderr)
        return 2
    return run(args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
