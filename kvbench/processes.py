"""Start a service in its own process group, wait until it answers, and always clean up."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from kvbench import PROJECT_ROOT, KvbenchError
from kvbench.load.http1 import Head, ProtocolError, ResponseParser, head_fields
from kvbench.load.requests import RequestSpec
from kvbench.redis_server import RedisServer, shared_store
from kvbench.runtime.contract import STORE_ENV
from kvbench.runtime.debugvars import ADMIN_HOST_ENV, ADMIN_PORT_ENV, SETTINGS_ENV
from kvbench.runtime.net import url_host
from kvbench.runtime.supervisor import die_with_parent
from kvbench.services import MEMORY, Service

START_TIMEOUT_S = 30.0
# free_port's port is free when asked and bound by the child a moment later; another process
# (a load generator's outgoing connection, a parallel test) can take it in between. The
# child then exits saying so, and the server is started again on fresh ports.
PORT_ATTEMPTS = 3
PORT_TAKEN = "address already in use"
APP_START_TIMEOUT_S = 10.0  # a user's app: imported, listening and answering by then


class ServerError(KvbenchError):
    pass


@dataclass
class RunningServer:
    service: Service
    process: subprocess.Popen
    host: str
    port: int
    admin_port: int
    command: list[str]
    log_path: Path | None
    admin_host: str = "127.0.0.1"  # Loopback by default, whatever `host` is.
    store: RedisServer | None = None  # the shared store of a Redis-backed service

    @property
    def pid(self) -> int:
        return self.process.pid

    def debug_vars(self, timeout: float = 5.0) -> dict:
        url = f"http://{url_host(self.admin_host)}:{self.admin_port}/debug/vars"
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.load(answer)

    def has_debug_vars(self) -> bool:
        """Whether the server answers /debug/vars (the services' runtime; a user's app may not)."""
        if self.service.debug_vars:
            return True
        try:
            self.debug_vars(timeout=0.5)
        except OSError:
            return False
        return True

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pin(pid: int, cpus: set[int] | None) -> bool:
    """Pin a process to CPUs; False where the OS cannot (then the caller says so)."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(pid, cpus)
    return True


def child_env(
    extra: dict[str, str] | None = None, app_dirs: tuple[str, ...] = ()
) -> dict[str, str]:
    """The environment of every child process: the import path is the apps' folders (a
    user's `--app-dir`), then the checkout, then the user's own PYTHONPATH, kept.

    Only kvbench is installed; the services (unoptimized, optimized, ladder, peers) are
    imported from the repository, whatever the child's working directory or how it starts
    (pyperf runs its workers as scripts, whose own folder comes first on sys.path).
    """
    env = dict(os.environ)
    env.update(extra or {})
    folders = [*dict.fromkeys(app_dirs), str(PROJECT_ROOT), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, folders))
    return env


def app_dirs(services: list[Service]) -> tuple[str, ...]:
    """The folders the services' apps are imported from (a user's `--app-dir`), in order."""
    return tuple(dict.fromkeys(s.app_dir for s in services if s.app_dir))


def working_dir(services: list[Service]) -> Path:
    """Where a child runs: the first user's app folder, else the checkout."""
    dirs = app_dirs(services)
    return Path(dirs[0]) if dirs else PROJECT_ROOT


def server_env(service: Service, command: list[str], admin_host: str, admin_port: int) -> dict:
    env = child_env(dict(service.env), app_dirs([service]))
    env[ADMIN_HOST_ENV] = admin_host
    env[ADMIN_PORT_ENV] = str(admin_port)
    env[SETTINGS_ENV] = json.dumps({"service": service.name, "command": command[1:]})
    return env


@contextmanager
def running_server(
    service: Service,
    host: str = "127.0.0.1",
    port: int = 0,
    admin_host: str = "127.0.0.1",
    admin_port: int = 0,
    cpus: set[int] | None = None,
    log_path: Path | None = None,
    start_timeout_s: float = START_TIMEOUT_S,
    ready: RequestSpec | None = None,
) -> Iterator[RunningServer]:
    """Run a service until the block ends; its whole process group is stopped afterwards.

    A Redis-backed service gets its store first (a private redis-server on the same CPUs,
    preloaded), and loses it after the service has stopped. A user's app is ready when
    it answers `ready` (the first request of its file) as the file expects.
    """
    with ExitStack() as stack:
        store = None
        if service.store != MEMORY:
            store = stack.enter_context(shared_store(service.store, cpus))
            service = replace(service, env=(*service.env, (STORE_ENV, store.url)))
        log = stack.enter_context(open(log_path, "wb")) if log_path else None
        for attempt in range(1, PORT_ATTEMPTS + 1):
            server = _start(service, store, host, (port, admin_port), admin_host, cpus, log)
            try:
                wait_until_ready(server, _start_timeout(service, start_timeout_s), ready)
                break
            except BaseException as exc:
                retry = isinstance(exc, ServerError) and attempt < PORT_ATTEMPTS
                retry = retry and not (port and admin_port) and _lost_port(server)
                stop(server.process)
                if not retry:
                    raise
                if log:
                    log.seek(0)
                    log.truncate()
        stack.callback(stop, server.process)
        yield server


def _start(service, store, host, ports, admin_host, cpus, log) -> RunningServer:
    """Start the server (ports 0: free ones) in its own process group, which dies with us."""
    port, admin_port = ports[0] or free_port(host), ports[1] or free_port(admin_host)
    command = service.command(host, port)
    env = server_env(service, command, admin_host, admin_port)
    process = subprocess.Popen(
        command, env=env, cwd=working_dir([service]), stdout=log,
        stderr=subprocess.STDOUT if log else None, stdin=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=partial(child_setup, cpus),
    )  # fmt: skip
    log_path = Path(log.name) if log else None
    return RunningServer(
        service, process, host, port, admin_port, command, log_path, admin_host, store
    )


def child_setup(cpus: set[int] | None = None) -> None:
    """The `preexec_fn` of the harness's children, started from the main thread: between
    fork and exec, so that a killed harness (a test run's timeout, SIGKILL) leaves no
    server behind, and a supervisor's workers inherit the pinning from their start."""
    die_with_parent()
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)


def _start_timeout(service: Service, timeout: float) -> float:
    return timeout if service.debug_vars else min(timeout, APP_START_TIMEOUT_S)


def _lost_port(server: RunningServer) -> bool:
    """Whether the server exited because one of its ports was taken after free_port."""
    return server.process.poll() is not None and PORT_TAKEN in server.log_tail().lower()


def wait_until_ready(
    server: RunningServer, timeout: float = START_TIMEOUT_S, ready: RequestSpec | None = None
) -> None:
    """Until the server answers: /debug/vars and a connection for a service of ours; a
    connection and then `ready`, answered as expected, for a user's app. A server that exits
    fails at once with the end of its log; a wrong first answer fails with the mismatch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.service.name} exited with code {server.process.returncode} "
                f"before answering\n{server.log_tail()}"
            )
        try:
            if server.service.debug_vars:
                server.debug_vars(timeout=1.0)
            with socket.create_connection((server.host, server.port), timeout=1.0) as sock:
                if ready is not None and not server.service.debug_vars:
                    first_answer(sock, server, ready)
                return
        except OSError:
            time.sleep(0.05)
    tail = server.log_tail()
    raise ServerError(
        f"{server.service.name} did not answer within {timeout:.0f} s"
        + (f"\n{tail}" if tail else "")
    )


def first_answer(sock: socket.socket, server: RunningServer, spec: RequestSpec) -> None:
    """Send `spec` and check its answer; OSError when none comes (the caller retries)."""
    sock.settimeout(2.0)
    sock.sendall(spec.raw(server.host, server.port))
    parser = ResponseParser()
    answers: list[tuple[Head, bytes, bytes]] = []
    while not answers:
        data = sock.recv(65536)
        if not data:
            raise ConnectionResetError("closed before answering")
        try:
            parser.feed(data, lambda parsed, head, body: answers.append((parsed, head, body)))
        except ProtocolError as exc:
            raise ServerError(f"{server.service.name}: {spec.name}: {exc}") from None
    parsed, head, body = answers[0]
    problem = spec.check(parsed[0], head_fields(head), body)
    if problem:
        raise ServerError(f"{server.service.name} answered wrong: {problem}")


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after the grace period."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    _signal_group(process.pid, signal.SIGKILL)  # stragglers in the group, if any
    process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
