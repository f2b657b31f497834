"""Reading HTTP/1.1 responses off a byte stream: just enough framing for the load generator.

Our services answer with content-length; other apps may stream (chunked transfer
coding), which is decoded here. An answer framed neither way (no length, read to the close)
is an error the load generator counts, never something it guesses around. Bodies are kept,
so every answer can be compared with the one expected.
"""

MAX_HEAD_BYTES = 64 * 1024
MAX_CHUNKED_BYTES = 64 * 1024 * 1024  # a chunked answer still arriving may hold this much
CHUNKED = -1  # the length of a head whose body comes in chunks

# status, content-length (CHUNKED for a chunked body), content-type (lowercase, b"" if none)
Head = tuple[int, int, bytes]


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
    content_type = _field(fields, b"\r\ncontent-type:") or b""
    if b"\r\ntransfer-encoding:" in fields:
        if _field(fields, b"\r\ntransfer-encoding:") != b"chunked":
            raise ProtocolError(f"{status} with a transfer-encoding other than chunked")
        if b"\r\ncontent-length:" in fields:  # RFC 9112 6.3: a request-smuggling sign
            raise ProtocolError(f"{status} with both transfer-encoding and content-length")
        return status, CHUNKED, content_type
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


def head_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields of a response head, names lower-cased, as an ASGI app sends them."""
    found = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        found.append((name.strip().lower(), value.strip()))
    return found


def dechunk(buf: bytes, start: int) -> tuple[bytes, int] | None:
    """The body of a chunked answer starting at `start`, and where the answer ends; None
    while it is incomplete. Chunk extensions and trailers are skipped."""
    parts: list[bytes] = []
    pos = start
    while (eol := buf.find(b"\r\n", pos)) >= 0:
        size_text = buf[pos:eol].partition(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
        if size == 0:  # the last chunk; trailer fields, if any, end with a blank line
            if buf[eol + 2 : eol + 4] == b"\r\n":
                return b"".join(parts), eol + 4
            end = buf.find(b"\r\n\r\n", eol + 2)
            return (b"".join(parts), end + 4) if end >= 0 else None
        data_end = eol + 2 + size
        if data_end + 2 > len(buf):
            return None
        if buf[data_end : data_end + 2] != b"\r\n":
            raise ProtocolError("a chunk not followed by CRLF")
        parts.append(buf[eol + 2 : data_end])
        pos = data_end + 2
    return None


def parse_cached(head: bytes) -> Head:
    # A server repeats the same few heads (the Date header changes once a second), so a
    # dictionary hit replaces most parsing; it is emptied rather than allowed to grow.
    if len(HEADS) >= 4096:
        HEADS.clear()
    HEADS[head] = parsed = parse_head(head)
    return parsed


HEADS: dict[bytes, Head] = {}


class ResponseParser:
    """Splits a byte stream into HTTP/1.1 responses framed by content-length or chunked."""

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
            if parsed[1] == CHUNKED:
                found = dechunk(buf, start)
                if found is None:  # kept whole, head included, until the last chunk is in
                    if len(buf) - pos > MAX_CHUNKED_BYTES:
                        raise ProtocolError("chunked answer over 64 MiB")
                    self.buffer = buf[pos:]
                    return
                body, pos = found
                on_response(parsed, head, body)
                continue
            pos = start + parsed[1]
            if pos > len(buf):  # the body is still arriving
                self.partial, self.need = buf[start:], pos - len(buf)
                self.pending, self.buffer = (parsed, head), b""
                return
            on_response(parsed, head, buf[start:pos])
        self.buffer = buf[pos:]
        if len(self.buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("response head over 64 KiB")
