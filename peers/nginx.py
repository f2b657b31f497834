"""nginx, two ways: a system ceiling, and a reverse proxy that bounds slow and large clients.

The ceiling answers `GET /get?key=K` with a JSON body from its config alone.

No store, no Python: it bounds what the load generator and the loopback can carry on this
machine. The body is built from the query (`{"key":"$arg_key","value":"test-value"}`), so
for the preloaded keys it has the same bytes and length as every other row, and the load
generator's checks still apply. /debug/vars is a fixed document on the admin port, so that
the harness can start and wait for it as for any service; its GC and RSS figures are
zeros that mean "not measured", never "none".

With `--upstream-port PORT` nginx is instead a reverse proxy in front of the service on
that loopback port (`kvbench.proxy` starts the pair): it bounds what uvicorn alone cannot,
the time a client may take over its request head and between two reads of its body, and
the body size (the contract's 64 KiB, refused before the service sees a byte), and keeps
its connections to the service alive.

This launcher writes the config into a temporary prefix, runs nginx in the foreground as
its child (CPU pinning and the process group carry over) and removes the prefix after.
nginx is a Debian package (`apt-get install nginx-light`), not a Python one.

    python -m peers.nginx --host 127.0.0.1 --port 8080
    python -m peers.nginx --host 127.0.0.1 --port 8000 --upstream-port 8001
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

INSTALL_HINT = "nginx is not installed (not on PATH); on Debian: apt-get install nginx-light"
CLIENT_TIMEOUT_S = 10

DEBUG_VARS = (
    '{"counters":{},"gc":{"since_last_read":{"collections":0,"pause_max_ms":0}},'
    '"rss_bytes":0,"peak_rss_bytes":0,"measured":false}'
)
# What both configurations share: one foreground worker, no logs, long keep-alive, and
# every temporary file under the run's own prefix.
HEAD = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_requests 10000000;
"""
TEMP_PATHS = """\
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
"""
CONFIG = (
    HEAD
    + TEMP_PATHS
    + """\
    server {{
        listen {host}:{port} backlog=2048;
        location = /get {{
            default_type application/json;
            return 200 '{{"key":"$arg_key","value":"test-value"}}';
        }}
    }}
{admin}}}
"""
)
ADMIN = """\
    server {{
        listen {host}:{port};
        location = /debug/vars {{
            default_type application/json;
            return 200 '{debug_vars}';
        }}
    }}
"""


# The reverse proxy. Every limit here is one uvicorn does not have (docs/06, "Hostile clients").
PROXY = (
    HEAD
    + """\
    # A client gets this long for its whole request head, and between two reads of its
    # body; then nginx closes the connection (and frees it at once: no FIN_WAIT linger).
    client_header_timeout {timeout}s;
    client_body_timeout {timeout}s;
    send_timeout {timeout}s;
    reset_timedout_connection on;
    # After refusing a body, nginx reads and drops what the client still sends (so that
    # the client reads the answer before a reset), and closes after this long a pause.
    lingering_timeout {timeout}s;
    keepalive_timeout 5s;
    # The contract's value limit: a longer body is refused (413) before the service sees
    # it, by its content-length or by the chunk size that would pass it. nginx reads a
    # body whole before it opens a request to the service; one that fits stays in memory
    # (the buffer is twice the limit: a full buffer would be written to a temp file).
    client_max_body_size 64k;
    client_body_buffer_size 128k;
    large_client_header_buffers 4 8k;
"""
    + TEMP_PATHS
    + """\
    upstream service {{
        server 127.0.0.1:{upstream};
        keepalive 64;
        # Below uvicorn's --timeout-keep-alive (5 s): nginx must never reuse a connection
        # that uvicorn is closing.
        keepalive_timeout 4s;
    }}
    server {{
        listen {host}:{port} backlog=2048;
        error_page 413 @too_large;
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location @too_large {{
            default_type "text/plain; charset=utf-8";
            return 413 "value too large";
        }}
    }}
}}
"""
)


def installed() -> str | None:
    """The nginx executable on PATH, or None."""
    return shutil.which("nginx")


def config(prefix: str, host: str, port: int, admin_host: str, admin_port: int) -> str:
    """The whole nginx.conf for one run; the admin server only when the harness asks for it."""
    admin = ""
    if admin_port:
        admin = ADMIN.format(host=_bracket(admin_host), port=admin_port, debug_vars=DEBUG_VARS)
    return CONFIG.format(prefix=prefix, host=_bracket(host), port=port, admin=admin)


def proxy_config(prefix: str, host: str, port: int, upstream_port: int, timeout_s: int) -> str:
    """The whole nginx.conf of the reverse proxy in front of a service on `upstream_port`."""
    host = _bracket(host)
    return PROXY.format(
        prefix=prefix, host=host, port=port, upstream=upstream_port, timeout=timeout_s
    )


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(conf: str, chmod: bool = False) -> int:
    """Run nginx with `conf` until it exits or we are told to stop; always remove the prefix."""
    with tempfile.TemporaryDirectory(prefix="kvbench-nginx-") as tmp:
        prefix = Path(tmp)
        if chmod:  # as root, nginx's workers are `nobody` and write temp files here
            prefix.chmod(0o755)
        (prefix / "nginx.conf").write_text(conf.replace("{prefix}", str(prefix)))
        command = [installed() or "nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        signal.signal(signal.SIGINT, lambda *_: child.terminate())
        return child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.nginx", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--upstream-port", type=int, help="proxy to the service on this port")
    parser.add_argument(
        "--client-timeout", type=int, default=CLIENT_TIMEOUT_S,
        help=f"seconds for a request head, and between body reads (default {CLIENT_TIMEOUT_S})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"error: refusing to bind {args.host}: this peer is loopback only", file=sys.stderr)
        return 2
    if not installed():
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    if not args.upstream_port:
        admin_host = os.environ.get(ADMIN_HOST_ENV, "127.0.0.1")
        admin_port = int(os.environ.get(ADMIN_PORT_ENV) or 0)
        return run(config("{prefix}", args.host, args.port, admin_host, admin_port))
    conf = proxy_config("{prefix}", args.host, args.port, args.upstream_port, args.client_timeout)
    return run(conf, chmod=True)


if __name__ == "__main__":
    raise SystemExit(main())
