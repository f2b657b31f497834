"""Many clients at once: the counters stay exact and no write is lost, on both services."""

import http.client
import json
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from kvbench.processes import RunningServer, running_server
from kvbench.services import SERVICES, get_service

CLIENTS = 32
REQUESTS_PER_CLIENT = 200
SHARED_KEYS = 4
COUNTER_NAMES = ("total", "gets", "puts", "hits", "misses", "errors")


def plan(client: int, step: int) -> tuple[str, str, bytes, int | None]:
    """The step-th request of a client: method, target, body and the status it must get.

    The status is None where it depends on timing (a shared key another client writes).
    """
    cycle, kind = divmod(step, 8)
    own = f"key=own-{client}-{cycle}"
    if kind == 0:
        return "PUT", f"/put?{own}", f"value-{client}-{cycle}".encode(), 204
    if kind == 1:
        return "GET", f"/get?{own}", b"", 200
    if kind == 2:
        return (
            "PUT",
            f"/put?key=shared-{cycle % SHARED_KEYS}",
            f"from-{client}-{cycle}".encode(),
            204,
        )
    if kind == 3:
        # The next shared key: early on, nobody may have written it yet.
        return "GET", f"/get?key=shared-{(cycle + 1) % SHARED_KEYS}", b"", None
    if kind == 4:
        return "GET", f"/get?key=key-{(client * 31 + step) % 1000:04d}", b"", 200
    if kind == 5:
        return "GET", f"/get?key=absent-{client}-{cycle}", b"", 404
    if kind == 6:
        return "HEAD", "/get?key=key-0001", b"", 200
    return [
        ("GET", "/get", b"", 400),
        ("PUT", f"/put?key=rejected-{client}-{cycle}", b"\xff", 400),
        ("GET", "/nope", b"", 404),
        ("DELETE", "/get?key=key-0001", b"", 405),
    ][cycle % 4]


def counted(method: str, target: str, status: int) -> Counter:
    """What the contract says the server counts for one request and its answer."""
    path = target.partition("?")[0]
    tally = Counter(total=1)
    if path == "/get" and method in ("GET", "HEAD"):
        tally["gets"] += 1
        outcome = {200: "hits", 404: "misses", 400: "errors"}[status]
        tally[outcome] += 1
    elif path == "/put" and method == "PUT":
        tally["puts"] += 1
        tally["errors"] += status != 204
    else:
        tally["errors"] += 1
    return tally


def exchange(conn: http.client.HTTPConnection, method: str, target: str, body: bytes):
    conn.request(method, target, body=body or None)
    answer = conn.getresponse()
    return answer.status, answer.read()


def run_client(server: RunningServer, client: int) -> tuple[Counter, list, list]:
    """Send one client's requests on one keep-alive connection; tally what was sent."""
    tally, written, rejected = Counter(), [], []
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        for step in range(REQUESTS_PER_CLIENT):
            method, target, body, expected = plan(client, step)
            status, _ = exchange(conn, method, target, body)
            assert expected is None or status == expected, (method, target, status)
            tally += counted(method, target, status)
            if method == "PUT":
                key = target.partition("key=")[2]
                (written if status == 204 else rejected).append(
                    (key, body.decode(errors="replace"))
                )
    finally:
        conn.close()
    return tally, written, rejected


def read_back(server: RunningServer, keys) -> dict[str, str | None]:
    """The stored value of each key, None for a key that is not stored."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        values = {}
        for key in keys:
            status, body = exchange(conn, "GET", f"/get?key={key}", b"")
            assert status in (200, 404), key
            values[key] = json.loads(body)["value"] if status == 200 else None
        return values
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", tuple(SERVICES))
def test_counters_exact_and_writes_visible_under_load(name, tmp_path):
    with running_server(get_service(name), log_path=tmp_path / "server.log") as server:
        assert server.debug_vars()["counters"] == dict.fromkeys(COUNTER_NAMES, 0)
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(lambda c: run_client(server, c), range(CLIENTS)))
        expected = sum((tally for tally, _, _ in results), Counter())
        assert expected["total"] == CLIENTS * REQUESTS_PER_CLIENT
        assert server.debug_vars()["counters"] == {n: expected[n] for n in COUNTER_NAMES}

        written = [pair for _, pairs, _ in results for pair in pairs]
        own = {key: value for key, value in written if key.startswith("own-")}
        assert len(own) == CLIENTS * REQUESTS_PER_CLIENT // 8
        assert read_back(server, own) == own
        candidates = defaultdict(set)
        for key, value in written:
            if key.startswith("shared-"):
                candidates[key].add(value)
        shared = read_back(server, candidates)
        assert len(shared) == SHARED_KEYS
        assert all(shared[key] in candidates[key] for key in shared)
        rejected = {key for _, _, pairs in results for key, _ in pairs}
        assert rejected and set(read_back(server, rejected).values()) == {None}
