"""The served configurations under attack, and the checks every hostile probe ends with.

Each probe runs against a real server over loopback: both services as `kvbench serve`
runs them (uvicorn with asyncio + h11, and with uvloop + httptools), the optimized app on
granian, and both services behind the nginx proxy of `kvbench serve --proxy nginx`.
"""

import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pytest

from hostile.rawclient import Connection, request
from kvbench.processes import RunningServer, running_server
from kvbench.services import GRANIAN_FLAGS, SERVICES, Service, behind_proxy
from peers import nginx

HOT = b'{"key":"key-0042","value":"test-value"}'
NEEDS_NGINX = pytest.mark.skipif(not nginx.installed(), reason=nginx.INSTALL_HINT)
PROXY_TIMEOUT_S = 1  # the proxy's client timeouts, short so the suite can watch them act


def behind_nginx(name: str) -> Service:
    proxied = behind_proxy(SERVICES[name])
    flags = (*proxied.server_args, "--client-timeout", str(PROXY_TIMEOUT_S))
    return dataclasses.replace(proxied, server_args=flags)


CONFIGS = {
    "unoptimized": SERVICES["unoptimized"],  # uvicorn, asyncio + h11
    "optimized": SERVICES["optimized"],  # uvicorn, uvloop + httptools
    "granian": Service("granian", "optimized.app:app", GRANIAN_FLAGS, server="granian"),
    "unoptimized+nginx": behind_nginx("unoptimized"),
    "optimized+nginx": behind_nginx("optimized"),
}
DIRECT = ("unoptimized", "optimized", "granian")
PROXIED = ("unoptimized+nginx", "optimized+nginx")

# Counter changes a probe may cause: none (the server refused it before the app saw it),
# or the one request the app saw and refused.
NOTHING: dict[str, int] = {}
REFUSED_PUT = {"total": 1, "puts": 1, "errors": 1}
REFUSED_GET = {"total": 1, "gets": 1, "errors": 1}
# What a server log must never say: a traceback, an error of uvicorn or granian, a 5xx in
# an access log (but 507, the contract's answer when the store is full), nginx's failures.
BAD_LOG = re.compile(r"Traceback|^ERROR:|\[ERROR\]|\" 5(?!07)\d\d|\[(crit|alert|emerg)\]", re.M)


def config_param(name: str):
    marks = [NEEDS_NGINX] if "+nginx" in name else []
    return pytest.param(name, id=name, marks=marks)


def configs(*names: str) -> list:
    return [config_param(name) for name in names or CONFIGS]


@dataclass
class Target:
    """A running configuration: where to send bytes, and what to read back from it."""

    name: str
    server: RunningServer

    @property
    def address(self) -> tuple[str, int]:
        return self.server.host, self.server.port

    @property
    def proxied(self) -> bool:
        return "+nginx" in self.name

    def counters(self) -> dict[str, int]:
        return self.server.debug_vars()["counters"]

    def log(self) -> str:
        return self.server.log_path.read_text(errors="replace")


@contextmanager
def started_on_use(folder) -> Iterator[Callable[[str], Target]]:
    """One server per configuration, started on first use, all stopped when the block ends."""
    started: dict[str, Target] = {}
    with ExitStack() as stack:

        def get(name: str) -> Target:
            if name not in started:
                log = folder / f"{name}.log"
                server = stack.enter_context(running_server(CONFIGS[name], log_path=log))
                started[name] = Target(name, server)
            return started[name]

        yield get


@pytest.fixture(scope="session")
def targets(tmp_path_factory) -> Iterator[Callable[[str], Target]]:
    """The servers the probes share for the whole session."""
    with started_on_use(tmp_path_factory.mktemp("hostile")) as get:
        yield get


@pytest.fixture
def own_targets(tmp_path) -> Iterator[Callable[[str], Target]]:
    """Servers of the test's own, for a probe that leaves one flooded or stalled."""
    with started_on_use(tmp_path) as get:
        yield get


@pytest.fixture(params=configs())
def target(request, targets) -> Target:
    return targets(request.param)


def assert_alive(target: Target) -> None:
    """A normal GET on a fresh connection answers, byte for byte, within a second."""
    with Connection(target.address, timeout=1.0) as conn:
        conn.send(request("GET", "/get?key=key-0042"))
        answer = conn.answer()
    assert answer is not None, f"{target.name}: no answer to a normal GET within 1 s"
    assert (answer.status, answer.body) == (200, HOT)


def assert_refused(answer, *statuses: int) -> None:
    """A clear 4xx (one of `statuses` when given); None means no answer, checked elsewhere."""
    if answer is None:
        return
    assert 400 <= answer.status < 500, answer.head
    if statuses:
        assert answer.status in statuses, answer.head


@contextmanager
def probing(target: Target, *allowed: dict[str, int], absent: tuple[str, ...] = ()):
    """Around a probe: counters exact, no bad log lines, keys not stored, still serving."""
    before, log_start = target.counters(), len(target.log())
    yield
    delta = settled_delta(target, before, [NOTHING, *allowed])
    assert delta in [NOTHING, *allowed], f"{target.name}: counters moved by {delta}"
    for key in absent:
        with Connection(target.address) as conn:
            conn.send(request("GET", f"/get?key={key}"))
            assert conn.answer().status == 404, f"{target.name}: {key} was stored"
    assert_alive(target)
    bad = BAD_LOG.findall(target.log()[log_start:])
    assert not bad, f"{target.name} log:\n{target.log()[log_start:][-3000:]}"


def settled_delta(target: Target, before: dict, allowed: list, timeout: float = 2.0) -> dict:
    """The counters' change; a server counts a client that left as it notices, so wait."""
    deadline = time.monotonic() + timeout
    while True:
        after = target.counters()
        delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        if delta in allowed or time.monotonic() > deadline:
            return delta
        time.sleep(0.05)
