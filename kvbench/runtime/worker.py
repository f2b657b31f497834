"""One worker of `kvbench.runtime.supervisor`: uvicorn serving an inherited listening socket.

    python -m kvbench.runtime.worker FD APP [uvicorn flags...]

FD is the supervisor's socket for this worker, already bound and listening; the rest is
uvicorn's own command line, parsed by uvicorn's own click command, so every flag means
what it means to `uvicorn`. The socket is not handed over as uvicorn's `--fd`: uvicorn
wraps that fd as `socket.fromfd(fd, AF_UNIX, ...)`, and uvloop then serves the TCP
socket as a Unix pipe, without TCP_NODELAY (measured: about 1,400 req/s instead of
tens of thousands, 45 ms per request of Nagle and delayed ACKs). `socket.socket(fileno=
fd)` asks the kernel for the socket's real family instead.
"""

import socket
import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.main import main as uvicorn_command

from kvbench.runtime import debugvars

# The supervisor owns the sockets and the process count; a worker serves what it is given.
NOT_FOR_WORKERS = ("uds", "fd", "workers", "reload", "reload_dirs", "reload_includes",
                   "reload_excludes", "reload_delay")  # fmt: skip


def uvicorn_params(argv: list[str]) -> dict:
    """uvicorn's command line as the keyword arguments its click command parses it into."""
    return dict(uvicorn_command.make_context("uvicorn", list(argv)).params)


def uvicorn_config(argv: list[str]) -> uvicorn.Config:
    """The Config `uvicorn ARGV` would build, without the options that open sockets."""
    params = uvicorn_params(argv)
    if app_dir := params.pop("app_dir", None):
        sys.path.insert(0, app_dir)
    for name in NOT_FOR_WORKERS:
        params.pop(name, None)
    # What uvicorn.main.main does to these two before it builds its Config.
    params["log_config"] = params["log_config"] or LOGGING_CONFIG
    params["headers"] = [header.split(":", 1) for header in params["headers"]]
    return uvicorn.Config(**params)


class CountedConnections(set):
    """uvicorn's set of open connections, also counting every connection it ever held."""

    accepted = 0

    def add(self, connection) -> None:
        self.accepted += 1
        super().add(connection)

    def snapshot(self) -> dict:
        return {"open": len(self), "accepted": self.accepted}


def main(argv: list[str]) -> None:
    fd, uvicorn_argv = int(argv[0]), argv[1:]
    server = uvicorn.Server(uvicorn_config(uvicorn_argv))
    # How the kernel spread the connections: /debug/vars reports this worker's count.
    connections = CountedConnections()
    server.server_state.connections = connections
    debugvars.EXTRAS["connections"] = connections.snapshot
    server.run(sockets=[socket.socket(fileno=fd)])


if __name__ == "__main__":
    main(sys.argv[1:])
