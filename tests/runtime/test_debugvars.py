"""The /debug/vars listener: what it reports, how it counts, and whom it answers."""

import gc
import ipaddress
import json
import os
import socket

import psutil
import pytest

from kvbench.runtime.debugvars import SETTINGS_ENV, GcMonitor, debug_vars, rss_bytes
from kvbench.services import SERVICES

SERVICE_NAMES = tuple(SERVICES)
COUNTER_NAMES = {"total", "gets", "puts", "hits", "misses", "errors"}
SERVER_FLAGS = {
    "unoptimized": "--loop asyncio --http h11",
    "optimized": "--loop uvloop --http kvbench.runtime.onewrite:OneWriteProtocol",
}


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            is_ipv4 = address.family == socket.AF_INET
            if is_ipv4 and not ipaddress.ip_address(address.address).is_loopback:
                return address.address
    return None


def admin_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes to the admin port and read until it hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)
        except TimeoutError:
            raise
        except OSError:
            return b""  # The listener hung up before reading everything: fine for garbage.


def test_gc_monitor_counts_collections_and_pauses():
    monitor = GcMonitor()
    monitor.install()
    monitor.install()
    try:
        assert gc.callbacks.count(monitor._callback) == 1
        gc.collect()
        gc.collect(0)
    finally:
        gc.callbacks.remove(monitor._callback)
    snapshot = monitor.snapshot()
    assert snapshot["collections"][2] == 1
    assert snapshot["collections"][0] >= 1
    assert 0 < snapshot["pause_max_ms"] <= snapshot["pause_total_ms"]
    assert snapshot["thresholds"] == list(gc.get_threshold())


def test_debug_vars_in_process(monkeypatch):
    monkeypatch.setenv(SETTINGS_ENV, json.dumps({"service": "x", "command": ["-m", "uvicorn"]}))
    report = debug_vars({"total": 3})
    assert report["counters"] == {"total": 3}
    assert report["pid"] == os.getpid()
    assert report["settings"] == {"service": "x", "command": ["-m", "uvicorn"]}
    assert report["uptime_s"] > 0
    monkeypatch.delenv(SETTINGS_ENV)
    assert debug_vars({})["settings"] == {}


def test_rss_bytes_is_this_process_resident_size():
    rss = psutil.Process().memory_info().rss
    assert 0.5 * rss < rss_bytes() < 2 * rss


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_listener_refuses_non_loopback_addresses(live_servers, name):
    server = live_servers(name)
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with socket.create_connection(("127.0.0.1", server.admin_port), timeout=5):
        pass  # The port is live on loopback...
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, server.admin_port), timeout=5).close()


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_debug_vars_report(live_servers, name):
    server = live_servers(name)
    report = server.debug_vars()
    assert set(report["counters"]) == COUNTER_NAMES
    assert all(type(value) is int and value >= 0 for value in report["counters"].values())
    collections = report["gc"]["collections"]
    assert len(collections) == 3 and all(type(count) is int for count in collections)
    assert 0 <= report["gc"]["pause_max_ms"] <= report["gc"]["pause_total_ms"]
    assert report["rss_bytes"] > 1_000_000
    assert report["pid"] == server.pid
    assert report["uptime_s"] > 0
    assert report["settings"]["service"] == name
    assert report["settings"]["command"] == server.command[1:]
    assert SERVER_FLAGS[name] in " ".join(report["settings"]["command"])


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_debug_vars_answers_json_over_http(live_servers, name):
    answer = admin_exchange(live_servers(name).admin_port, b"GET /debug/vars HTTP/1.1\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-type: application/json" in head
    assert f"content-length: {len(body)}".encode() in head
    assert set(json.loads(body)["counters"]) == COUNTER_NAMES


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"GET / HTTP/1.1", b"404"),
        (b"GET /debug/other HTTP/1.1", b"404"),
        (b"GET /debug/vars/x HTTP/1.1", b"404"),
        (b"POST /debug/vars HTTP/1.1", b"405"),
        (b"HEAD /debug/vars HTTP/1.1", b"405"),
    ],
)
def test_other_requests_get_404_or_405(live_servers, name, request_line, status):
    answer = admin_exchange(live_servers(name).admin_port, request_line + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status + b" ")


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_garbage_does_not_kill_the_listener(live_servers, name):
    server = live_servers(name)
    with socket.create_connection(("127.0.0.1", server.admin_port), timeout=5):
        # A silent client holds a connection open; others are still answered meanwhile.
        assert server.debug_vars(timeout=2)["pid"] == server.pid
        assert admin_exchange(server.admin_port, b"\x16\x03\x01\x02\x00garbage") == b""
        assert admin_exchange(server.admin_port, b"GET /debug/vars HTTP/1.1\r\n") == b""
        assert admin_exchange(server.admin_port, b"\x00\xff\xfe \r\n\r\n").startswith(
            b"HTTP/1.1 404 "
        )
        assert admin_exchange(server.admin_port, b"G" * 200_000) == b""
    assert server.process.poll() is None
    assert server.debug_vars()["pid"] == server.pid


@pytest.mark.slow
@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_counters_follow_the_counting_rules(live_servers, make_client, unique_key, name):
    server, client = live_servers(name), make_client(name, "http")
    key = unique_key()
    requests = [
        ("GET", "/get?key=key-0001", b""),  # gets, hits
        ("HEAD", "/get?key=key-0002", b""),  # gets, hits
        ("GET", "/get?key=" + key, b""),  # gets, misses
        ("GET", "/get?key=%zz", b""),  # gets, errors
        ("GET", "/get", b""),  # gets, errors
        ("PUT", "/put?key=" + key, b"v"),  # puts
        ("PUT", "/put?key=" + key, b"\xff"),  # puts, errors
        ("PUT", "/put?key=" + key, b"x" * 65_537),  # puts, errors
        ("PUT", "/put", b"v"),  # puts, errors
        ("GET", "/nope", b""),  # errors
        ("OPTIONS", "/get", b""),  # errors
        ("POST", "/put?key=" + key, b"v"),  # errors
    ]
    before = server.debug_vars()["counters"]
    assert server.debug_vars()["counters"] == before  # Reading the vars counts nothing.
    for request in requests:
        client.request(*request)
    after = server.debug_vars()["counters"]
    delta = {name: after[name] - before[name] for name in COUNTER_NAMES}
    assert delta == {"total": 12, "gets": 5, "hits": 2, "misses": 1, "puts": 4, "errors": 8}
