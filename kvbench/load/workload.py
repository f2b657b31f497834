"""What the load generator sends: pre-encoded GET requests and what each answer must be."""

import functools
import json
from dataclasses import dataclass

from kvbench.runtime.net import url_host

KEY_PROBES = 100_000  # at most this many distinct requests in a spread workload


@dataclass(frozen=True)
class Probe:
    """One pre-encoded request and what its answer must be."""

    raw: bytes
    status: int
    body_length: int


def path_probe(host: str, port: int, path: str, status: int = 200, body_length: int = 39) -> Probe:
    raw = f"GET {path} HTTP/1.1\r\nHost: {url_host(host)}:{port}\r\n\r\n".encode()
    return Probe(raw, status, body_length)


def key_probe(host: str, port: int, key: str, value: str = "test-value") -> Probe:
    """GET /get?key=KEY, answered with the compact JSON pair."""
    body = json.dumps({"key": key, "value": value}, separators=(",", ":"))
    return path_probe(host, port, f"/get?key={key}", 200, len(body.encode()))


def key_workload(host: str, port: int, keys: int = 1000, value: str = "test-value") -> list[Probe]:
    """GET /get?key=key-NNNN over the first `keys` preloaded keys, in turn."""
    return [key_probe(host, port, f"key-{i:04d}", value) for i in range(keys)]


@functools.lru_cache(maxsize=2)
def spread_workload(host: str, port: int, keys: int) -> list[Probe]:
    """Up to KEY_PROBES GETs of preloaded keys, evenly spread over all `keys` of them."""
    step = max(1, keys // KEY_PROBES)
    return [key_probe(host, port, f"key-{i:04d}") for i in range(0, keys, step)[:KEY_PROBES]]
