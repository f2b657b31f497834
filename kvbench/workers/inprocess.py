"""Call an ASGI app in-process, with no network: the analog of Go's httptest benchmark."""

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, NoReturn
from urllib.parse import quote

from kvbench import KvbenchError

if TYPE_CHECKING:
    import pyperf

    from kvbench.load.requests import RequestSpec

HOT_KEY = "key-0042"


def app_runner(description: str) -> tuple["pyperf.Runner", argparse.Namespace]:
    """A pyperf runner taking `--app NAME=module:app` (repeatable), handed on to its workers.

    Returns the runner and its parsed arguments. pyperf is imported here, not at the top:
    the other in-process programs (allocations, GC) count what their process holds.
    """
    import pyperf

    def add_args(cmd: list[str], args) -> None:
        for app in args.app:
            cmd.extend(["--app", app])
        if args.request_file:
            cmd.extend(["--request-file", args.request_file])

    runner = pyperf.Runner(add_cmdline_args=add_args)
    runner.argparser.add_argument("--app", action="append", default=[], help="NAME=module:app")
    runner.argparser.add_argument("--request-file", default="", help="requests (TOML)")
    args = runner.parse_args()
    runner.metadata["description"] = description
    return runner, args


def load_app(target: str) -> Callable:
    """Import `module:attribute`, as uvicorn does; a KvbenchError says why it cannot."""
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise KvbenchError(f"cannot import {target}: {exc}") from None
    except AttributeError:
        raise KvbenchError(f"cannot import {target}: {module} has no {attribute!r}") from None


def exit_clearly(error: KvbenchError) -> NoReturn:
    """A worker's failure as one line on stderr, `error: ...`, which its parent shows as is."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def http_scope(method: str = "GET", path: str = "/get", query: bytes = b"") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def get_scope(key: str = HOT_KEY) -> dict:
    return http_scope("GET", "/get", b"key=" + quote(key).encode())


@dataclass
class Answer:
    status: int = 0
    headers: list = field(default_factory=list)
    body: bytes = b""


class Reply(NamedTuple):
    """A whole answer: status, headers and the body (a chunked or streamed body joined)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class WrongAnswer(KvbenchError):
    """An app's answer that is not the one its request file (or the contract) expects."""


async def call(app: Callable, spec: "RequestSpec | dict", body: bytes = b"") -> Reply:
    """One request through the app; returns what it sent.

    `spec` is a RequestSpec (its scope and body are used) or a ready scope with `body`.
    """
    if isinstance(spec, dict):
        scope = spec
    else:
        scope, body = spec.scope(), spec.body
    status, headers, chunks = 0, [], []
    sent_body = False

    async def receive() -> dict:
        nonlocal sent_body
        if sent_body:
            await asyncio.Event().wait()  # Like a live connection: nothing more arrives.
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(dict(scope), receive, send)
    return Reply(status, headers, b"".join(chunks))


def checked_call(app: Callable, spec: "RequestSpec", runner: asyncio.Runner | None = None) -> Reply:
    """`call` on an event loop (`runner`'s, or a new one); raises WrongAnswer on a wrong answer."""
    reply = asyncio.run(call(app, spec)) if runner is None else runner.run(call(app, spec))
    problem = spec.check(*reply)
    if problem:
        raise WrongAnswer(problem)
    return reply


def check_all(app: Callable, specs: "list[RequestSpec]", runner: asyncio.Runner) -> None:
    """Every request of the list once, each answer checked (outside any timed region)."""
    for spec in specs:
        checked_call(app, spec, runner)


class Exchange:
    """A receive/send pair made once and reused, so that what is counted is the app's work."""

    def __init__(self, body: bytes = b"") -> None:
        self.request = {"type": "http.request", "body": body, "more_body": False}
        self.answer = Answer()

    async def receive(self) -> dict:
        return self.request

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.answer.status = message["status"]
            self.answer.headers = message.get("headers", [])
        else:
            self.answer.body = message.get("body", b"")


async def call_many(app: Callable, scope: dict, loops: int) -> Answer:
    """`loops` identical requests, one after another; returns the last answer.

    The scope is reused as it is: the apps only add the same routing keys to it each time.
    """
    exchange = Exchange()
    receive, send = exchange.receive, exchange.send
    for _ in range(loops):
        await app(scope, receive, send)
    return exchange.answer


def request_list(path: str | None) -> "list[RequestSpec]":
    """The requests a worker drives: those of a request file, or the services' GET hit.

    The services' in-process figures have always been of `GET /get?key=key-0042` alone;
    their list keeps that one request so the figures keep their meaning.
    """
    from kvbench.load.requests import load_requests, service_requests

    return load_requests(path) if path else service_requests()[:1]


class Once(Exchange):
    """An Exchange whose request arrives once per call: a second receive waits, as on a live
    connection (a streaming answer listens for the client's disconnect meanwhile)."""

    received = False

    async def receive(self) -> dict:
        if self.received:
            await asyncio.Event().wait()
        self.received = True
        return self.request


class Cycle:
    """Reusable receive/send pairs for a list of requests, called in turn; counts answers.

    The timed loops use it: each answer's status is compared with the expected one (one
    integer comparison), and the whole list is checked byte for byte before and after.
    """

    def __init__(self, specs: "list[RequestSpec]") -> None:
        self.items = [(spec.scope(), Once(spec.body), spec.expect.status) for spec in specs]
        self.wrong = 0

    async def run(self, app: Callable, loops: int) -> None:
        items, n = self.items, len(self.items)
        for i in range(loops):
            scope, exchange, status = items[i % n]
            exchange.received = False
            await app(scope, exchange.receive, exchange.send)
            if exchange.answer.status != status:
                self.wrong += 1

    def verify(self, target: str, loops: int) -> None:
        """Raise WrongAnswer if any answer of the timed loops had a status other than expected."""
        if self.wrong:
            raise WrongAnswer(f"{target}: {self.wrong} of {loops} answers had the wrong status")
