"""Reading HTTP/1.1 responses off a byte stream: just enough framing for the load generator.

Our services always answer with content-length; anything else (chunked, no length) is
an error the load generator counts, never something it guesses around. Bodies are kept
(they are a few dozen bytes here), so every answer can be compared with the one expected.
"""

MAX_HEAD_BYTES = 64 * 1024

Head = tuple[int, int, bytes]  # status, content-length, content-type (lowercase, b"" if none)


class ProtocolError(Exception):
    """An answer that cannot be framed; the connection is closed and counted as failed."""


def parse_head(head: bytes) -> Head:
    """The status, content-length and content-type of a response head (without its blank line)."""
    line, _, fields = head.partition(b"\r\n")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"bad status line {line[:80]!r}")
    status = int(code)
    fields = b"\r\n" + fields.lower()
    if b"\r\ntransfer-encoding:" in fields:
        raise ProtocolError(f"{status} with transfer-encoding instead of content-length")
    content_type = _field(fields, b"\r\ncontent-type:") or b""
    length = _field(fields, b"\r\ncontent-length:")
    if length is None:
        if status in (204, 304):
            return status, 0, content_type
        raise ProtocolError(f"{status} without content-length")
    if not length.isdigit():
        raise ProtocolError(f"{status} with a bad content-length {length[:20]!r}")
    return status, int(length), content_type


def _field(fields: bytes, name: bytes) -> bytes | None:
    start = fields.find(name)
    if start < 0:
        return None
    end = fields.find(b"\r\n", start + len(name))
    return fields[start + len(name) : end if end >= 0 else None].strip()


def parse_cached(head: bytes) -> Head:
    # A server repeats the same few heads (the Date header changes once a second), so a
    # dictionary hit replaces most parsing; it is emptied rather than allowed to grow.
    if len(HEADS) >= 4096:
        HEADS.clear()
    HEADS[head] = parsed = parse_head(head)
    return parsed


HEADS: dict[bytes, Head] = {}


class ResponseParser:
    """Splits a byte stream into HTTP/1.1 responses framed by content-length."""

    def __init__(self) -> None:
        self.buffer = b""
        self.need = 0  # body bytes still to come for `pending`
        self.partial = b""  # the body bytes of `pending` received so far
        self.pending: tuple[Head, bytes] | None = None

    def feed(self, data: bytes, on_response) -> None:
        """Call `on_response(parsed_head, head, body)` for each response `data` completes."""
        if self.need:
            if len(data) < self.need:
                self.partial += data
                self.need -= len(data)
                return
            body, data = self.partial + data[: self.need], data[self.need :]
            pending, self.pending, self.partial, self.need = self.pending, None, b"", 0
            assert pending is not None
            on_response(pending[0], pending[1], body)
        buf = self.buffer + data if self.buffer else data
        pos = 0
        while (end := buf.find(b"\r\n\r\n", pos)) >= 0:
            head = buf[pos:end]
            parsed = HEADS.get(head) or parse_cached(head)
            start = end + 4
            pos = start + parsed[1]
            if pos > len(buf):  # the body is still arriving
                self.partial, self.need = buf[start:], pos - len(buf)
                self.pending, self.buffer = (parsed, head), b""
                return
            on_response(parsed, head, buf[start:pos])
        self.buffer = buf[pos:]
        if len(self.buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("response head over 64 KiB")
