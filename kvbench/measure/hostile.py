"""Hostile-client probes: clients that never finish a request, or send far too much.

Each probe opens raw loopback sockets against a running server and returns plain numbers.
The hostile test suite (tests/hostile/) asserts on them; `make bench-hostile` runs them
against each served configuration and keeps what it measured (docs/09 quotes it).
"""

import select
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

# A request line and one header, then nothing: the blank line that ends the head never comes.
SLOW_HEAD = b"GET /get?key=key-0042 HTTP/1.1\r\nhost: probe\r\n"
# A whole head that promises 100 body bytes, then 10 of them, then nothing.
SLOW_BODY = (
    b"PUT /put?key=slow-body HTTP/1.1\r\nhost: probe\r\ncontent-length: 100\r\n\r\n0123456789"
)
HOT_GET = b"GET /get?key=key-0042 HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n"
CHUNK = 64 * 1024


@dataclass
class Held:
    """What a server did with connections that each sent `first` and then nothing."""

    opened: int  # connections the server accepted (a refused connect is not counted)
    still_open: int  # after wait_s: neither closed nor answered
    answered: int  # the server wrote something (a 408, a 400) before or instead of closing
    wait_s: float
    get_status: int | None  # a normal GET on a fresh connection while they were held
    get_ms: float | None


@dataclass
class BigBody:
    """One oversized chunked PUT: the status it got and how much of the body went out."""

    status: int | None
    sent_bytes: int


def connect(host: str, port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes, or until `timeout` of silence."""
    sock.settimeout(timeout)
    data = b""
    with suppress(TimeoutError, ConnectionResetError, BrokenPipeError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def status_of(answer: bytes) -> int | None:
    """The status code of the first response in `answer`, or None when there is none."""
    line = answer.split(b"\r\n", 1)[0].split(b" ")
    ok = len(line) >= 2 and line[0].startswith(b"HTTP/1.") and line[1].isdigit()
    return int(line[1]) if ok else None


def timed_get(host: str, port: int, timeout: float = 5.0) -> tuple[int | None, float | None]:
    """A normal GET on a fresh connection: its status and milliseconds, or (None, None)."""
    started = time.perf_counter()
    try:
        with connect(host, port, timeout) as sock:
            sock.sendall(HOT_GET)
            answer = read_answer(sock, timeout)
    except OSError:
        return None, None
    return status_of(answer), (time.perf_counter() - started) * 1e3


@contextmanager
def opened(host: str, port: int, count: int, first: bytes) -> Iterator[list[socket.socket]]:
    """`count` connections that each sent `first`; all closed when the block ends."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            try:
                sock = connect(host, port, timeout=2.0)
            except OSError:
                continue  # refused or timed out: the server's choice, counted by the caller
            socks.append(sock)
            with suppress(OSError):
                sock.sendall(first)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def not_held(socks: list[socket.socket]) -> tuple[int, int]:
    """How many of these connections the server closed, and how many it answered."""
    closed = answered = 0
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    for fd, _ in poller.poll(0):
        try:
            data = by_fd[fd].recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            answered += 1
        else:
            closed += 1
    return closed, answered


def hold(host: str, port: int, count: int, wait_s: float, first: bytes = SLOW_HEAD) -> Held:
    """`count` connections send `first` and stall; after wait_s, count them and time a GET."""
    timed_get(host, port)  # a first request warms the server up (imports, thread pool)
    with opened(host, port, count, first) as socks:
        time.sleep(wait_s)
        closed, answered = not_held(socks)
        status, ms = timed_get(host, port)  # while the rest are still held
        return Held(len(socks), len(socks) - closed - answered, answered, wait_s, status, ms)


def big_body(host: str, port: int, size: int, key: str = "big-body") -> BigBody:
    """A chunked PUT of `size` bytes (no content-length), sent until the server answers."""
    head = f"PUT /put?key={key} HTTP/1.1\r\nhost: probe\r\ntransfer-encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
    sent = 0
    with connect(host, port, timeout=30.0) as sock:
        try:
            sock.sendall(head.encode())
            while sent < size and not _readable(sock):
                sock.sendall(chunk)
                sent += CHUNK
            if sent >= size:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending
        return BigBody(status_of(read_answer(sock, timeout=10.0)), sent)


def big_bodies(host: str, port: int, clients: int, size: int) -> list[BigBody]:
    """`clients` oversized chunked PUTs at once, one thread each."""
    results: list[BigBody | None] = [None] * clients

    def one(index: int) -> None:
        results[index] = big_body(host, port, size, key=f"big-body-{index}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r or BigBody(None, 0) for r in results]


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


# `make bench-hostile` (`python -m kvbench.measure.hostile --out DIR`): every probe against
# each served configuration, into the run's hostile/ part.
PROBES = {"slow head": SLOW_HEAD, "slow body": SLOW_BODY, "idle": b""}
CONFIGURATIONS = ("unoptimized", "optimized", "granian", "optimized+nginx")
BIG_CLIENTS = 4


def measure(name: str, connections: int, wait_s: float, big: int, log: Path) -> dict:
    """Each probe on a fresh server of the configuration, then the big-body probe."""
    from kvbench.processes import running_server
    from kvbench.services import get_service

    service = get_service(name)
    found: dict = {"name": name, "probes": {}}
    for probe, first in PROBES.items():
        with running_server(service, log_path=log) as server:
            held = hold(server.host, server.port, connections, wait_s, first)
        found["probes"][probe] = asdict(held)
    with running_server(service, log_path=log) as server:
        before = server.debug_vars()["peak_rss_bytes"]
        answers = big_bodies(server.host, server.port, BIG_CLIENTS, big)
        after = server.debug_vars()["peak_rss_bytes"]
    statuses = sorted({answer.status or 0 for answer in answers})
    found["big_bodies"] = {"statuses": statuses, "peak_rss_before": before, "peak_rss": after}
    return found


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from kvbench.report.hostile import table
    from kvbench.results import provenance

    parser = argparse.ArgumentParser(prog="python -m kvbench.measure.hostile", description=__doc__)
    parser.add_argument("--services", default=",".join(CONFIGURATIONS), help="comma-separated")
    parser.add_argument("--connections", type=int, default=3000, help="held per probe")
    parser.add_argument("--wait", type=float, default=12.0, help="seconds before counting")
    parser.add_argument("--big-mb", type=int, default=256, help="size of each of 4 PUTs")
    parser.add_argument("--out", type=Path, help="write summary.json into this folder too")
    args = parser.parse_args(argv)
    settings = {"connections": args.connections, "wait_s": args.wait, "big_mb": args.big_mb}
    summary: dict = {"settings": {**settings, "big_clients": BIG_CLIENTS}, "configurations": []}
    summary["provenance"] = provenance.collect().to_json()  # which code the probes met
    with tempfile.TemporaryDirectory() as tmp:  # the servers' logs, out of the table's way
        for name in args.services.split(","):
            found = measure(name, args.connections, args.wait, args.big_mb << 20, Path(tmp) / "log")
            summary["configurations"].append(found)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(table(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
