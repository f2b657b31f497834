"""The Python ceiling: an asyncio Protocol on uvloop with httptools parsing, no ASGI at all.

The same store and response bytes as the optimized service (answers encoded once, here
down to the whole response after the status and date lines), the same exact counters and
the same /debug/vars listener; the whole contract, PUT included. What it leaves out is
everything ASGI adds per request: the scope dict, the receive and send messages, and the
server's translation of them. No Python HTTP server should be faster than this.

    python -m peers.raw_protocol --host 127.0.0.1 --port 8000
"""

import argparse
import asyncio
import gc
import sys
import time
from email.utils import formatdate

import httptools

from kvbench.runtime.contract import (
    MAX_VALUE_BYTES,
    NOT_FOUND,
    VALUE_TOO_LARGE,
    ContractError,
    check_room,
    max_keys,
    parse_key,
    parse_value,
)
from kvbench.runtime.debugvars import admin_listener
from kvbench.runtime.net import is_loopback, new_loop, stopped_by_signals
from optimized.store import Counters, encode, preloaded

STATUS = {
    200: b"200 OK", 204: b"204 No Content", 400: b"400 Bad Request", 404: b"404 Not Found",
    405: b"405 Method Not Allowed", 413: b"413 Content Too Large", 507: b"507 Insufficient Storage",
}  # fmt: skip
READS = frozenset({b"GET", b"HEAD"})
TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")
CLOSE = (b"connection", b"close")
BACKLOG = 2048


def tail(headers: list, body: bytes) -> bytes:
    """Everything of a response after its status and date lines."""
    lines = b"".join(b"%s: %s\r\n" % pair for pair in headers)
    return lines + b"\r\n" + body


counters = Counters()
answers = {key: tail(*answer) for key, answer in preloaded().items()}
key_bound = max_keys()
date = [b""]  # the current date line, refreshed once a second as uvicorn does


def refresh_date(loop: asyncio.AbstractEventLoop) -> None:
    date[0] = b"date: %s\r\n" % formatdate(time.time(), usegmt=True).encode()
    loop.call_later(1.0, refresh_date, loop)


def text(status: int, message: str, close: bool = False) -> bytes:
    body = message.encode()
    headers = [(b"content-length", b"%d" % len(body)), TEXT_TYPE]
    if close:
        headers.append(CLOSE)
    return b"HTTP/1.1 %s\r\n%s" % (STATUS[status], date[0]) + tail(headers, body)


class KeyValueProtocol(asyncio.Protocol):
    """One connection: httptools calls back per request, answers go out in order."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.size = self.declared = 0
        self.refused = False  # answered 413 mid-request; the connection is closing

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.write(text(400, "Bad Request"))
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url, self.body, self.size, self.declared = b"", [], 0, 0

    def on_url(self, url: bytes) -> None:
        self.url += url  # it may come in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 14 and name.lower() == b"content-length" and value.isdigit():
            self.declared = int(value)

    def on_headers_complete(self) -> None:
        if self.declared > MAX_VALUE_BYTES and self.is_put():
            self.refuse()  # before a single body byte is read, as read_value does

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size <= MAX_VALUE_BYTES:
            self.body.append(body)
        elif self.is_put() and not self.refused:
            self.refuse()  # the running limit: stop at the first byte past it

    def is_put(self) -> bool:
        return self.parser.get_method() == b"PUT" and self.url.partition(b"?")[0] == b"/put"

    def refuse(self) -> None:
        """413 now, then close instead of reading the rest of the body."""
        counters.total += 1
        counters.puts += 1
        counters.errors += 1
        self.refused = True
        self.transport.write(text(413, VALUE_TOO_LARGE, close=True))
        self.transport.close()

    def on_message_complete(self) -> None:
        if self.refused:
            return  # answered already, and closing
        path, _, query = self.url.partition(b"?")
        method = self.parser.get_method()
        if path == b"/get" and method in READS:
            response = get(query)
        elif path == b"/put" and method == b"PUT":
            response = put(query, self.body)
        else:
            counters.total += 1
            counters.errors += 1
            known = path in (b"/get", b"/put")
            response = text(405, "Method Not Allowed") if known else text(404, "Not Found")
        if method == b"HEAD":
            response = response[: response.index(b"\r\n\r\n") + 4]
        self.transport.write(response)
        if not self.parser.should_keep_alive():
            self.transport.close()


def get(query: bytes) -> bytes:
    counters.total += 1
    counters.gets += 1
    try:
        answer = answers.get(parse_key(query))
    except ContractError as exc:
        counters.errors += 1
        return text(exc.status, exc.message)
    if answer is None:
        counters.misses += 1
        return text(404, NOT_FOUND)
    counters.hits += 1
    return b"HTTP/1.1 200 OK\r\n" + date[0] + answer


def put(query: bytes, chunks: list[bytes]) -> bytes:
    counters.total += 1
    counters.puts += 1
    try:
        key = parse_key(query)
        value = parse_value(b"".join(chunks))
        check_room(answers, key, key_bound)
    except ContractError as exc:
        counters.errors += 1
        return text(exc.status, exc.message)
    answers[key] = tail(*encode(key, value))
    return b"HTTP/1.1 204 No Content\r\n" + date[0] + b"\r\n"


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, with /debug/vars when the harness asks for it."""
    loop = asyncio.get_running_loop()
    stopped = stopped_by_signals()
    refresh_date(loop)
    gc.freeze()  # the preloaded store lives as long as the process, as in optimized.app
    async with admin_listener(counters.snapshot):
        # uvicorn's and granian's accept backlog; asyncio's default of 100 drops connects.
        server = await loop.create_server(KeyValueProtocol, host, port, backlog=BACKLOG)
        where = server.sockets[0].getsockname()
        print(f"raw protocol server listening on {where[0]}:{where[1]}", flush=True)
        async with server:
            await stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peers.raw_protocol", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        print(f"error: refusing to bind {args.host}: this peer is loopback only", file=sys.stderr)
        return 2
    loop = new_loop()
    try:
        loop.run_until_complete(serve(args.host, args.port))
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
