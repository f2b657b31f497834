"""What the load generator sends: pre-encoded GET requests and the exact answer each must get."""

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kvbench.load.http1 import Head, head_fields
from kvbench.runtime.contract import PRELOAD_VALUE, answer_body
from kvbench.runtime.net import url_host

if TYPE_CHECKING:
    from kvbench.load.requests import RequestSpec

KEY_PROBES = 100_000  # at most this many distinct requests in a spread workload
JSON = b"application/json"


@dataclass(frozen=True)
class Probe:
    """One pre-encoded request and its expected answer: status, content-type and body bytes.

    `head` is what the response parser reports for a right answer, so the generator checks
    an answer with two equalities: the parsed head against `head`, the body against `body`.
    """

    raw: bytes
    status: int
    body: bytes
    content_type: bytes = JSON
    spec: "RequestSpec | None" = field(default=None, repr=False, compare=False)
    head: tuple[int, int, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", (self.status, len(self.body), self.content_type))

    def mismatch(self, parsed: Head, head: bytes, body: bytes) -> str | None:
        """Why an answer that is not the exact expected one is wrong; None if it is right.

        A probe of the contract knows one right answer, so anything else is wrong; a probe
        from a request file checks what the file asks (a JSON subset, some headers...).
        """
        if self.spec is None:
            return "not the expected answer"
        fields = head_fields(head) if self.spec.expect.headers else []
        return self.spec.check(parsed[0], fields, body)

    @property
    def target(self) -> str:
        """The request target, `/get?key=key-0042`, to name the request in an error."""
        return self.raw.split(b" ", 2)[1].decode("latin-1")


def path_probe(
    host: str, port: int, path: str, status: int = 200, body: bytes = b"", content_type=JSON
) -> Probe:
    raw = f"GET {path} HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\n\r\n".encode()
    return Probe(raw, status, body, content_type)


def key_body(key: str, value: str = PRELOAD_VALUE) -> bytes:
    """The compact JSON pair every service answers for a stored key."""
    return answer_body(key, value)


def key_probe(host: str, port: int, key: str, value: str = "test-value") -> Probe:
    """GET /get?key=KEY, answered 200 with that key's JSON pair."""
    return path_probe(host, port, f"/get?key={key}", 200, key_body(key, value))


def key_workload(host: str, port: int, keys: int = 1000, value: str = "test-value") -> list[Probe]:
    """GET /get?key=key-NNNN over the first `keys` preloaded keys, in turn."""
    return [key_probe(host, port, f"key-{i:04d}", value) for i in range(keys)]


@functools.lru_cache(maxsize=2)
def spread_workload(host: str, port: int, keys: int) -> list[Probe]:
    """Up to KEY_PROBES GETs of preloaded keys, evenly spread over all `keys` of them."""
    step = max(1, keys // KEY_PROBES)
    return [key_probe(host, port, f"key-{i:04d}") for i in range(0, keys, step)[:KEY_PROBES]]


NEVER = b"\x00"  # no content-type is this: spec probes always take their own check


def spec_probes(host: str, port: int, specs: "list[RequestSpec]") -> list[Probe]:
    """Probes for the requests of a request file, sent in turn, each checked by its spec."""
    return [
        Probe(spec.raw(host, port), spec.expect.status, spec.expect.body or b"", NEVER, spec)
        for spec in specs
    ]
