"""A canned HTTP server: a raw asyncio Protocol on uvloop with every answer precomputed.

It answers `GET /get?key=KEY` for the preloaded keys with exactly the bytes a service
sends for that key (status, content-type and the key's own JSON body), found by request
target in a dictionary, so it does next to no work per request: what the load generator
reaches against it, every answer checked as in a trial, is the generator's own ceiling.
The built-in client must drive it at least twice as fast as the fastest service, or the
load generator, not the service, would be what a benchmark measures.

    python -m kvbench.load.canned --port 8080 [--cpu 1]
"""

import argparse
import asyncio
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kvbench import KvbenchError
from kvbench.load.workload import key_body
from kvbench.processes import pin
from kvbench.runtime.contract import NOT_FOUND, PRELOAD_COUNT
from kvbench.runtime.net import is_loopback, new_loop, stopped_by_signals

MAX_HEAD_BYTES = 64 * 1024


def response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
    return head % (status, content_type, len(body)) + body


def key_responses(keys: int = PRELOAD_COUNT) -> dict[bytes, bytes]:
    """Request target -> the whole response a service gives for it, for key-0000 onwards."""
    found = {}
    for i in range(keys):
        key = f"key-{i:04d}"
        found[f"/get?key={key}".encode()] = response(b"200 OK", b"application/json", key_body(key))
    return found


RESPONSES = key_responses()
MISSING = response(b"404 Not Found", b"text/plain; charset=utf-8", NOT_FOUND.encode())


class CannedProtocol(asyncio.Protocol):
    """Answers each request head (our clients send no bodies) with its precomputed response."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        answers, pos = [], 0
        while (end := buffer.find(b"\r\n\r\n", pos)) >= 0:
            start = buffer.find(b" ", pos, end) + 1  # the target follows the method
            answers.append(RESPONSES.get(buffer[start : buffer.find(b" ", start, end)], MISSING))
            pos = end + 4
        if answers:
            self.transport.write(b"".join(answers))
        self.buffer = buffer[pos:]
        if len(self.buffer) > MAX_HEAD_BYTES:
            self.transport.close()


@contextmanager
def serve_in_thread(
    factory: Callable[[], asyncio.Protocol] = CannedProtocol,
    host: str = "127.0.0.1",
    port: int = 0,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_loop,
) -> Iterator[int]:
    """Serve `factory`'s protocol from a background thread's own loop; yields the port.

    Protocols must keep their transport as `self.transport`, so that whatever is still
    connected at the end can be closed before the loop is.
    """
    protocols: list[asyncio.Protocol] = []

    def tracked() -> asyncio.Protocol:
        protocols.append(factory())
        return protocols[-1]

    loop = loop_factory()
    server = loop.run_until_complete(loop.create_server(tracked, host, port))
    thread = threading.Thread(target=loop.run_forever, name="canned-server", daemon=True)
    thread.start()
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5.0)
        loop.run_until_complete(_shut(server, protocols))
        loop.close()


async def _shut(server: asyncio.Server, protocols: list[asyncio.Protocol]) -> None:
    server.close()
    for protocol in protocols:
        transport = getattr(protocol, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.abort()
    await server.wait_closed()
    for _ in range(3):  # let connection_lost callbacks run before the loop closes
        await asyncio.sleep(0)


async def serve_forever(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, announcing the port on stdout once it listens."""
    stopped = stopped_by_signals()
    server = await asyncio.get_running_loop().create_server(CannedProtocol, host, port)
    print(f"canned server listening on {host}:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbench.load.canned", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--cpu", type=int, action="append", help="pin the server to this CPU")
    args = parser.parse_args(argv)
    try:
        if not is_loopback(args.host):
            raise KvbenchError(f"refusing to bind {args.host}: the canned server is loopback only")
        pin(os.getpid(), set(args.cpu or []))
        loop = new_loop()
        loop.run_until_complete(serve_forever(args.host, args.port))
        loop.close()
    except (KvbenchError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
