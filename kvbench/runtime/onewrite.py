"""uvicorn's httptools protocol with a complete answer sent in one write.

uvicorn writes an answer's head when the app sends `http.response.start` and its body when
the app sends `http.response.body`: two `write` system calls for every answer, each a trip
through the kernel's TCP stack. Here the head waits for its body: the answer's first write
is held and leaves with the second, in one write. Everything else is uvicorn's own code,
run unchanged: parsing, headers, Content-Length and chunked framing, HEAD, keep-alive,
`Connection: close`, expect-100, pipelining, flow control (which keeps the real transport).
The bytes on the wire and their order are uvicorn's; only how many writes carry them
changes.

A head is never held past the event-loop turn in which the app sent it: an app that waits
between start and body (a server-sent stream, a file read) has its head written at the end
of that turn, as a write of its own. A streamed body's first chunk sent in the same turn
shares the head's write; its other chunks are written one by one, as uvicorn writes them.
A HEAD answer, which has no body to write, goes out when the answer completes.

    uvicorn optimized.app:app --loop uvloop --http kvbench.runtime.onewrite:OneWriteProtocol
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "kvbench.runtime.onewrite:OneWriteProtocol"  # as uvicorn's --http takes it


class HeldHead:
    """A connection's transport as uvicorn's answers see it: an answer's first write waits
    for its second. Plain methods, no __getattr__: attribute lookups here stay specialized."""

    __slots__ = ("transport", "loop", "fresh", "head")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.fresh = True  # the next write is an answer's first: its head
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head + data)
        elif self.fresh:
            self.fresh, self.head = False, data
            self.loop.call_soon(self.flush)  # in case no body follows in this turn
        else:
            self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            if not self.transport.is_closing():
                self.transport.write(head)

    def next_answer(self) -> None:
        """The answer is complete: write what is held; the next write is the next head."""
        self.flush()
        self.fresh = True

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.transport.get_extra_info(name, default)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose answers write through a HeldHead."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control keeps the real transport
        self.transport = HeldHead(transport, self.loop)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        self.transport.next_answer()  # type: ignore[attr-defined]
        super().on_response_complete()

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over: it gets the real transport.
        self.transport.flush()  # type: ignore[attr-defined]
        self.transport = self.transport.transport  # type: ignore[attr-defined]
        super().handle_websocket_upgrade()
