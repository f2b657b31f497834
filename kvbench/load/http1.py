"""Reading HTTP/1.1 responses off a byte stream: just enough framing for the load generator.

Our services always answer with content-length; anything else (chunked, no length) is
an error the load generator counts, never something it guesses around.
"""

MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(Exception):
    """An answer that cannot be framed; the connection is closed and counted as failed."""


def parse_head(head: bytes) -> tuple[int, int]:
    """The status and content-length of a response head (without its blank line)."""
    line, _, fields = head.partition(b"\r\n")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"bad status line {line[:80]!r}")
    status = int(code)
    fields = b"\r\n" + fields.lower()
    if b"\r\ntransfer-encoding:" in fields:
        raise ProtocolError(f"{status} with transfer-encoding instead of content-length")
    start = fields.find(b"\r\ncontent-length:")
    if start < 0:
        if status in (204, 304):
            return status, 0
        raise ProtocolError(f"{status} without content-length")
    end = fields.find(b"\r\n", start + 17)
    value = fields[start + 17 : end if end >= 0 else None].strip()
    if not value.isdigit():
        raise ProtocolError(f"{status} with a bad content-length {value[:20]!r}")
    return status, int(value)


def parse_cached(head: bytes) -> tuple[int, int]:
    # A server repeats the same few heads (the Date header changes once a second), so a
    # dictionary hit replaces most parsing; it is emptied rather than allowed to grow.
    if len(HEADS) >= 4096:
        HEADS.clear()
    HEADS[head] = parsed = parse_head(head)
    return parsed


HEADS: dict[bytes, tuple[int, int]] = {}


class ResponseParser:
    """Splits a byte stream into HTTP/1.1 responses framed by content-length."""

    def __init__(self) -> None:
        self.buffer = b""
        self.skip = 0  # body bytes still to come for `pending`
        self.pending: tuple[int, int, bytes] | None = None

    def feed(self, data: bytes, on_response) -> None:
        """Call `on_response(status, body_length, head)` for each response `data` completes."""
        if self.skip:
            if len(data) < self.skip:
                self.skip -= len(data)
                return
            data, self.skip = data[self.skip :], 0
            pending, self.pending = self.pending, None
            assert pending is not None  # skip > 0 only while a response is pending
            on_response(*pending)
        buf = self.buffer + data if self.buffer else data
        pos = 0
        while (end := buf.find(b"\r\n\r\n", pos)) >= 0:
            head = buf[pos:end]
            status, length = HEADS.get(head) or parse_cached(head)
            pos = end + 4 + length
            if pos > len(buf):  # the body is still arriving: count it, don't keep it
                self.skip, self.pending, self.buffer = pos - len(buf), (status, length, head), b""
                return
            on_response(status, length, head)
        self.buffer = buf[pos:]
        if len(self.buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("response head over 64 KiB")
