"""Raw-socket HTTP/1.1 for the hostile suite: send exact bytes, read back exact answers."""

import contextlib
import socket
from dataclasses import dataclass, field

TIMEOUT_S = 2.0


@dataclass
class Answer:
    status: int
    head: bytes
    body: bytes
    fields: dict[bytes, bytes] = field(default_factory=dict)


class Connection:
    """One loopback connection; answers are framed by content-length, chunks or close."""

    def __init__(self, address: tuple[str, int], timeout: float = TIMEOUT_S) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buffer = b""
        self.eof = False

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """Send it all; False when the server closed or reset the connection meanwhile."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def shut_write(self) -> None:
        """Tell the server nothing more is coming (it may still answer)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def answer(self) -> Answer | None:
        """The next response (a `100 Continue` included), or None if none comes in time."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        fields = _fields(head)
        if status < 200 or status in (204, 304):
            return Answer(status, head, b"", fields)
        if b"content-length" in fields:
            body = self._take(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = self._until(b"0\r\n\r\n")
        else:
            body = self._until_close()
        return Answer(status, head, body, fields)

    def closed(self) -> bool:
        """True when the server closes the connection (or resets it) within the timeout."""
        while not self.eof:
            if self.buffer or not self._fill():
                break
        return self.eof

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except TimeoutError:
            return False
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size and self._fill():
            pass
        body, self.buffer = self.buffer[:size], self.buffer[size:]
        return body

    def _until(self, end: bytes) -> bytes:
        while end not in self.buffer and self._fill():
            pass
        body, found, self.buffer = self.buffer.partition(end)
        return body + found

    def _until_close(self) -> bytes:
        while self._fill():
            pass
        body, self.buffer = self.buffer, b""
        return body


def _fields(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n")[1:]
    pairs = (line.partition(b":") for line in lines)
    return {name.strip().lower(): value.strip() for name, _, value in pairs}


def ask(address: tuple[str, int], data: bytes, timeout: float = TIMEOUT_S) -> Answer | None:
    """Send `data` on a fresh connection; the first answer to it, or None."""
    with Connection(address, timeout) as conn:
        conn.send(data)
        return conn.answer()


def request(method: str, target: str, *headers: str, body: bytes = b"", version="1.1") -> bytes:
    """Request bytes exactly as given; a Host header unless the caller gives one."""
    lines = [f"{method} {target} HTTP/{version}", *headers]
    if not any(h.lower().startswith("host:") for h in headers) and version == "1.1":
        lines.append("host: hostile")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
