"""The requests a benchmark sends and what each must get back, read from a TOML file.

One list serves every layer: the in-process programs build an ASGI scope from each
request, the load generator its pre-encoded HTTP/1.1 bytes, and both check every answer
with the same `RequestSpec.check`. The services' own list is `service_requests`.

    [[request]]
    method = "GET"                 # default GET
    path = "/items/7"              # with its query string, if any
    headers = { accept = "application/json" }
    body = ""                      # the request body, as text
    [request.expect]
    status = 200                   # required
    body = '{"id":7,"name":"item 7"}'   # the exact body, or
    json = { id = 7 }              # a JSON subset (every key given must match)
    headers = { content-type = "application/json" }
"""

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from kvbench import KvbenchError
from kvbench.runtime.contract import NOT_FOUND, PRELOAD_VALUE, answer_body
from kvbench.runtime.net import url_host

REQUEST_KEYS = {"name", "method", "path", "headers", "body", "expect"}
EXPECT_KEYS = {"status", "body", "json", "headers"}
HOT_KEY = "key-0042"


class RequestFileError(KvbenchError):
    """A request file that cannot be read: says which file, which request and what is wrong."""


@dataclass(frozen=True)
class Expect:
    """What an answer must be: a status and, optionally, an exact body or JSON subset, headers."""

    status: int
    body: bytes | None = None
    json: object | None = None
    headers: tuple[tuple[str, str], ...] = ()  # lower-case name, exact value


@dataclass(frozen=True)
class RequestSpec:
    """One request and the answer it must get."""

    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    expect: Expect = field(default_factory=lambda: Expect(200))

    def raw(self, host: str, port: int) -> bytes:
        """The request as HTTP/1.1 bytes (keep-alive), with content-length when it has a body."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {url_host(host)}:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def scope(self) -> dict:
        """An ASGI HTTP scope for this request, as a server on 127.0.0.1:8000 would pass it."""
        path, _, query = self.path.partition("?")
        headers = [(b"host", b"127.0.0.1:8000")]
        headers += [(name.lower().encode("latin-1"), value.encode("latin-1"))
                    for name, value in self.headers]  # fmt: skip
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            headers.append((b"content-length", str(len(self.body)).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    def check(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
        """None for the expected answer, else a one-line account of the first difference."""
        expect = self.expect
        if status != expect.status:
            return f"{self.name}: status {status} expected {expect.status} (body {body[:80]!r})"
        if expect.body is not None and body != expect.body:
            return f"{self.name}: body {body[:120]!r} expected {expect.body[:120]!r}"
        if expect.json is not None:
            problem = _json_mismatch(body, expect.json)
            if problem:
                return f"{self.name}: {problem}"
        if expect.headers:
            got = {name.lower(): value for name, value in headers}
            for name, value in expect.headers:
                have = got.get(name.encode("latin-1"))
                if have != value.encode("latin-1"):
                    return f"{self.name}: header {name} {have!r} expected {value!r}"
        return None


def _json_mismatch(body: bytes, expected: object) -> str | None:
    try:
        got = json.loads(body)
    except ValueError:
        return f"body {body[:120]!r} is not JSON"
    if not _subset(expected, got):
        return f"JSON {body[:120]!r} does not contain {json.dumps(expected)[:120]}"
    return None


def _subset(expected: object, got: object) -> bool:
    """Every key of an expected object is in `got` with a matching value; other values are equal."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(
            key in got and _subset(value, got[key]) for key, value in expected.items()
        )
    # JSON 1 and 1.0 are equal, true and 1 are not
    return expected == got and isinstance(expected, bool) == isinstance(got, bool)


def load_requests(path: str | Path) -> list[RequestSpec]:
    """The requests of a TOML file; a RequestFileError names the file and what is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise RequestFileError(f"{path}: cannot read the request file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RequestFileError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"request"}
    if unknown:
        name = sorted(unknown)[0]
        raise RequestFileError(f"{path}: unknown table {name!r} (expected [[request]])")
    items = data.get("request")
    if not isinstance(items, list) or not items:
        raise RequestFileError(f"{path}: no [[request]] entries")
    return [parse_request(item, f"{path}: request {i + 1}") for i, item in enumerate(items)]


def parse_request(item: dict, where: str) -> RequestSpec:
    _known(item, REQUEST_KEYS, where)
    method = _text(item, "method", where, "GET").upper()
    path = _text(item, "path", where, None)
    if not path.startswith("/"):
        raise RequestFileError(f"{where}: path must start with '/', not {path!r}")
    name = _text(item, "name", where, f"{method} {path}")
    expect = item.get("expect")
    if not isinstance(expect, dict):
        raise RequestFileError(f"{where} ({name}): missing [request.expect] with a status")
    return RequestSpec(
        name, method, path, _headers(item, where), _text(item, "body", where, "").encode(),
        parse_expect(expect, f"{where} ({name})"),
    )  # fmt: skip


def parse_expect(expect: dict, where: str) -> Expect:
    _known(expect, EXPECT_KEYS, f"{where} expect")
    status = expect.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise RequestFileError(f"{where}: expect.status must be a status 100-599, not {status!r}")
    if "body" in expect and "json" in expect:
        raise RequestFileError(f"{where}: give expect.body or expect.json, not both")
    body = expect.get("body")
    if body is not None and not isinstance(body, str):
        raise RequestFileError(f"{where}: expect.body must be a string")
    headers = tuple((name.lower(), value) for name, value in _headers(expect, f"{where} expect"))
    return Expect(status, body.encode() if body is not None else None, expect.get("json"), headers)


def _known(table: dict, keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        known = ", ".join(sorted(keys))
        raise RequestFileError(f"{where}: unknown key {unknown[0]!r} (known: {known})")


def _text(table: dict, key: str, where: str, default: str | None) -> str:
    value = table.get(key, default)
    if value is None:
        raise RequestFileError(f"{where}: missing {key!r}")
    if not isinstance(value, str):
        raise RequestFileError(f"{where}: {key!r} must be a string, got {value!r}")
    return value


def _headers(table: dict, where: str) -> tuple[tuple[str, str], ...]:
    headers = table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise RequestFileError(f'{where}: headers must be a table of name = "value" strings')
    return tuple(headers.items())


def service_requests(service: str = "optimized") -> list[RequestSpec]:
    """The services' own endpoints, as their contract answers them: GET hit, GET miss, PUT.

    Every service (ladder rungs and peers too) keeps the same contract, so `service` only
    names the list; the PUT writes a key that is not preloaded, the same one each time.
    """
    hit = RequestSpec(f"GET /get?key={HOT_KEY}", "GET", f"/get?key={HOT_KEY}",
                      expect=Expect(200, answer_body(HOT_KEY, PRELOAD_VALUE)))  # fmt: skip
    miss = RequestSpec("GET /get?key=no-such-key", "GET", "/get?key=no-such-key",
                       expect=Expect(404, NOT_FOUND.encode()))  # fmt: skip
    put = RequestSpec("PUT /put?key=bench-put", "PUT", "/put?key=bench-put", body=b"test-value",
                      expect=Expect(204, b""))  # fmt: skip
    return [hit, miss, put]
