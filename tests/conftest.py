"""Shared fixtures: one small client interface over both services, in-process or over HTTP."""

import asyncio
import http.client
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path

import psutil
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from kvbench.processes import RunningServer, running_server
from kvbench.redis_server import INSTALL_HINT
from kvbench.services import SERVICES, get_service
from kvbench.workers.inprocess import call, http_scope, load_app

# Hypothesis keeps its examples and caches outside the checkout (by default .hypothesis/ in
# the working directory), so that no test writes into it.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "kvbench-hypothesis")

SERVICE_NAMES = tuple(SERVICES)
GOLDEN = Path(__file__).resolve().parent / "golden"
MODES = ("asgi", "http")

Reply = tuple[int, str | None, bytes]


def stop_descendants(grace: float = 3.0) -> list[str]:
    """SIGTERM every process this one started, however deep, and their process groups, then
    SIGKILL what is left.

    The tree is read before any of them is signalled: a server started by a killed middle
    process (a `kvbench bench` run by a test) would otherwise be orphaned and missed. The
    groups catch what a server forks meanwhile (granian's workers, started after the read).
    """
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return []
    names, groups = [], set()
    for child in children:
        with suppress(psutil.Error, OSError):
            names.append(child.name())
            groups.add(os.getpgid(child.pid))
    groups.discard(os.getpgrp())  # ours: pytest itself and an xdist controller's workers
    _signal_all(children, groups, signal.SIGTERM)
    _, alive = psutil.wait_procs(children, timeout=grace)
    _signal_all(alive, groups, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=grace)
    return names


def _signal_all(processes: list[psutil.Process], groups: set[int], sig: int) -> None:
    for process in processes:
        with suppress(psutil.Error):
            process.send_signal(sig)
    for group in groups:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)


def _stop_left(why: str) -> None:
    left = stop_descendants()
    if left:
        print(f"\n{why}: stopped {len(left)} processes: {', '.join(sorted(set(left)))}")


def _terminated(signum, frame) -> None:
    # A run stopped by SIGTERM (a CI timeout, `timeout make test`) would die at once and
    # leave every server it started running: stop them, then end as Ctrl-C does, which
    # runs the fixtures' teardown and prints the summary.
    _stop_left("SIGTERM")
    raise KeyboardInterrupt


def pytest_unconfigure(config) -> None:
    _stop_left("left running at the end")  # what a test or an interrupted teardown left


def pytest_configure(config) -> None:
    signal.signal(signal.SIGTERM, _terminated)
    # The Ctrl-C tests send SIGINT to the programs they start and expect what a terminal's
    # Ctrl-C does. A shell without job control starts background jobs with SIGINT ignored,
    # and an ignored signal stays ignored across exec; a handled one is reset to the
    # default. Handle it here, so the children start as they would from a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from today's output"
    )


@pytest.fixture
def golden(request) -> Callable[[str, str], None]:
    """Compare rendered output with tests/golden/NAME, as benchstat's tests do."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.is_file(), f"no golden file {name}: run pytest --update-golden and review it"
        assert text == path.read_text(encoding="utf-8"), f"output differs from golden/{name}"

    return check


class AsgiClient:
    """Calls a service's ASGI app directly, on one event loop, with no network."""

    mode = "asgi"

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop) -> None:
        self.name = name
        self.app = load_app(get_service(name).app)
        self.loop = loop

    def request(self, method: str, target: str, body: bytes = b"") -> Reply:
        path, _, query = target.partition("?")
        scope = http_scope(method, path, query.encode())
        answer = self.loop.run_until_complete(call(self.app, scope, body))
        content_type = dict(answer.headers).get(b"content-type")
        return answer.status, content_type and content_type.decode(), answer.body


class HttpClient:
    """Sends each request on a fresh loopback connection to a running server."""

    mode = "http"

    def __init__(self, name: str, server: RunningServer) -> None:
        self.name = name
        self.server = server

    def request(self, method: str, target: str, body: bytes = b"") -> Reply:
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            conn.request(method, target, body=body or None)
            answer = conn.getresponse()
            return answer.status, answer.getheader("content-type"), answer.read()
        finally:
            conn.close()


@pytest.fixture(scope="session")
def asgi_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory) -> Iterator[Callable[[str], RunningServer]]:
    """One real server per service for the whole session, started on first use."""
    started: dict[str, RunningServer] = {}
    with ExitStack() as stack:

        def get(name: str) -> RunningServer:
            if name not in started:
                log = tmp_path_factory.mktemp("live") / f"{name}.log"
                server = running_server(get_service(name), log_path=log)
                started[name] = stack.enter_context(server)
            return started[name]

        yield get


@pytest.fixture(scope="session")
def make_client(asgi_loop, live_servers) -> Callable[[str, str], AsgiClient | HttpClient]:
    def make(name: str, mode: str) -> AsgiClient | HttpClient:
        if mode == "asgi":
            return AsgiClient(name, asgi_loop)
        return HttpClient(name, live_servers(name))

    return make


def _client_param(name: str, mode: str):
    marks = [pytest.mark.slow] if mode == "http" else []
    return pytest.param((name, mode), id=f"{name}-{mode}", marks=marks)


@pytest.fixture(params=[_client_param(name, mode) for name in SERVICE_NAMES for mode in MODES])
def client(request, make_client) -> AsgiClient | HttpClient:
    return make_client(*request.param)


@pytest.fixture
def unique_key() -> Callable[[str], str]:
    """Fresh keys for PUTs: in-process services keep their store for the whole session."""
    return lambda prefix="k": f"{prefix}-{uuid.uuid4().hex[:12]}"


def redis_servers() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"}


@pytest.fixture
def redis_checked() -> Iterator[None]:
    """Skip where redis-server cannot be had (saying how to get it); fail on one left behind."""
    if shutil.which("redis-server") is None:
        pytest.skip(INSTALL_HINT)
    before = redis_servers()
    yield
    deadline = time.monotonic() + 5
    while (redis_servers() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not redis_servers() - before, "a test left a redis-server running"
