"""The HTTP contract both services keep: limits, messages, the preloaded data and key parsing.

Both services import this module so that the only difference between them is the
optimization itself, never a rule of the contract.
"""

import json
import os
from collections.abc import Awaitable, Callable, Collection, Mapping
from urllib.parse import unquote_to_bytes

MAX_KEY_BYTES = 256
MAX_VALUE_BYTES = 64 * 1024

# The contract preloads 1,000 keys. The key-count scaling curve of `kvbench peers` starts
# servers with KVBENCH_PRELOAD_KEYS=100000 (and more) to see what a bigger store costs.
PRELOAD_KEYS_ENV = "KVBENCH_PRELOAD_KEYS"
PRELOAD_COUNT = 1_000
PRELOAD_VALUE = "test-value"

# Every PUT of a new key may add up to 64 KiB that stays for the life of the process, so
# the store holds at most this many keys: ten times the preload, and far more than any
# test or benchmark here creates. That bounds the values at 640 MiB as text; the optimized
# store keeps each as its encoded answer, up to six times longer for a value of control
# characters (JSON writes each as \u00XX), so 3.8 GiB at the very worst. A preload above
# the bound (the keys curve preloads up to a million) raises the bound to the preload: the
# operator's own data always fits, and the store then starts full. KVBENCH_MAX_KEYS (or
# `kvbench serve --max-keys`) sets another bound.
MAX_KEYS_ENV = "KVBENCH_MAX_KEYS"
MAX_KEYS = 10_000

# Where the optimized service keeps its data: set only for `optimized.redis_app`, to the
# redis:// URL that every worker and every replica shares. KVBENCH_REDIS_BATCH=0 sends one
# GET per request instead of one MGET per event-loop turn (the step docs/06 measures).
STORE_ENV = "KVBENCH_STORE"
REDIS_BATCH_ENV = "KVBENCH_REDIS_BATCH"

MISSING_KEY = "missing key"
KEY_TOO_LONG = "key too long"
BAD_KEY_ENCODING = "key is not valid percent-encoded UTF-8"
NOT_FOUND = "key not found"
VALUE_TOO_LARGE = "value too large"
BAD_VALUE_ENCODING = "value is not valid UTF-8"
BODY_INCOMPLETE = "request body incomplete"
STORE_FULL = "store is full: no new keys"
STORE_UNAVAILABLE = "store unavailable"  # 503: a shared store did not answer in time

_HEX = frozenset(b"0123456789abcdefABCDEF")


class ContractError(Exception):
    """A request the contract rejects; carries the status code and the plain-text message."""

    def __init__(self, status: int, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the body was left unread: answer, then close the connection

    @property
    def headers(self) -> dict[str, str] | None:
        # uvicorn (h11 and httptools) and granian close the connection after an answer
        # that says `connection: close`, instead of reading the rest of the body.
        return {"connection": "close"} if self.close else None


def preload_count() -> int:
    """How many keys to preload: 1,000, or KVBENCH_PRELOAD_KEYS when it is set."""
    return _count_from_env(PRELOAD_KEYS_ENV, PRELOAD_COUNT)


def max_keys() -> int:
    """The most keys a store holds: 10,000 or KVBENCH_MAX_KEYS, never fewer than the preload."""
    return max(_count_from_env(MAX_KEYS_ENV, MAX_KEYS), preload_count())


def _count_from_env(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, not {text!r}")
    return int(text)


def preload_items() -> list[tuple[str, str]]:
    """The distinct keys key-0000 ... key-0999 (or more, see above), each with the same value."""
    return [(f"key-{i:04d}", PRELOAD_VALUE) for i in range(preload_count())]


def answer_body(key: str, value: str) -> bytes:
    """The body of a GET that found `key`: the compact JSON pair, UTF-8 (as JSONResponse
    and orjson write it). The services build it their own way; checkers use this one."""
    pair = {"key": key, "value": value}
    return json.dumps(pair, ensure_ascii=False, separators=(",", ":")).encode()


def parse_key(query_string: bytes) -> str:
    """Return the first `key` parameter of a raw query string, or raise ContractError.

    The first `key=` wins when it is repeated. Form encoding is honoured (`+` is a
    space) and percent-escapes must be well formed and decode to UTF-8.
    """
    raw = _first_key(query_string)
    if not raw:
        raise ContractError(400, MISSING_KEY)
    if b"%" not in raw and b"+" not in raw:
        decoded = raw  # The common case: nothing to unescape.
    else:
        _check_escapes(raw)
        decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    if len(decoded) > MAX_KEY_BYTES:
        raise ContractError(400, KEY_TOO_LONG)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractError(400, BAD_KEY_ENCODING) from None


def parse_value(body: bytes) -> str:
    """Return a PUT body as text, or raise ContractError when it breaks the contract."""
    if len(body) > MAX_VALUE_BYTES:
        raise ContractError(413, VALUE_TOO_LARGE)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractError(400, BAD_VALUE_ENCODING) from None


async def read_value(scope: Mapping, receive: Callable[[], Awaitable[Mapping]]) -> str:
    """Read a PUT body with a running limit and return it as text, or raise ContractError.

    A declared content-length over the limit is refused before anything is read: the
    client gets its 413 without sending a body byte, and no `100 Continue` (servers send
    that on the first receive). Otherwise reading stops at the first chunk past the limit,
    so a body of any size costs at most the limit plus one chunk of memory.
    """
    if _declared_length(scope["headers"]) > MAX_VALUE_BYTES:
        raise ContractError(413, VALUE_TOO_LARGE, close=True)
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            # http.disconnect: the client hung up mid-body, or sent a framing the server
            # refused (granian reports a bad chunk size this way). Nobody may hear the 400.
            raise ContractError(400, BODY_INCOMPLETE, close=True)
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > MAX_VALUE_BYTES:
            raise ContractError(413, VALUE_TOO_LARGE, close=True)
        chunks.append(chunk)
    return parse_value(b"".join(chunks))


def check_room(store: Collection[str], key: str, limit: int) -> None:
    """Refuse a new key once the store holds `limit` keys (507); updates always fit."""
    if len(store) >= limit and key not in store:
        raise ContractError(507, STORE_FULL)


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int:
    # The server has already refused a malformed or repeated content-length (400).
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _first_key(query_string: bytes) -> bytes | None:
    if query_string.startswith(b"key=") and b"&" not in query_string:
        return query_string[4:]  # The common case: one parameter, no list to build.
    for part in query_string.split(b"&"):
        if part.startswith(b"key="):
            return part[4:]
        if part == b"key":
            return b""
    return None


def _check_escapes(raw: bytes) -> None:
    # unquote_to_bytes silently keeps a broken escape such as "%zz" or a trailing "%";
    # the contract calls that a bad request instead of guessing what was meant.
    start = raw.find(b"%")
    while start != -1:
        pair = raw[start + 1 : start + 3]
        if len(pair) != 2 or not _HEX.issuperset(pair):
            raise ContractError(400, BAD_KEY_ENCODING)
        start = raw.find(b"%", start + 3)
