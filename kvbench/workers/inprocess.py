"""Call an ASGI app in-process, with no network: the analog of Go's httptest benchmark."""

import argparse
import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import pyperf

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

    runner = pyperf.Runner(add_cmdline_args=add_args)
    runner.argparser.add_argument("--app", action="append", default=[], help="NAME=module:app")
    args = runner.parse_args()
    runner.metadata["description"] = description
    return runner, args


def load_app(target: str) -> Callable:
    """Import `module:attribute`, as uvicorn does."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


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


async def call(app: Callable, scope: dict, body: bytes = b"") -> Answer:
    """One request through the app; returns what it sent."""
    answer = Answer()
    sent_body = False

    async def receive() -> dict:
        nonlocal sent_body
        if sent_body:
            await asyncio.Event().wait()  # Like a live connection: nothing more arrives.
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = message.get("headers", [])
        else:
            answer.body += message.get("body", b"")

    await app(dict(scope), receive, send)
    return answer


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
