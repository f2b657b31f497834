"""System calls per answer, counted with strace: how many writes carry one HTTP answer.

The server runs as it is served; once it answers, strace attaches to it (`strace -f -y`,
every thread and child, only the calls named in TRACED) while one keep-alive connection sends
`requests` GETs one after another, each answer read whole and checked before the next
is sent. Nothing else talks to the server in that window, so the counts are the
answers' own: one connection, one request in flight, nothing for the kernel or the event
loop to batch. Then strace detaches (SIGINT); `parse` counts the calls it logged, and
those on a socket apart (`-y` names each descriptor): granian's runtime also writes to
eventfds to wake its threads, which are write calls but not answers on the wire.
"""

import argparse
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import running_server
from kvbench.results import files
from kvbench.runtime.contract import PRELOAD_VALUE, answer_body
from kvbench.services import Service, get_service

WRITES = ("write", "writev", "sendmsg", "sendto")
READS = ("read", "recvfrom")
TRACED = WRITES + READS
REQUESTS = 2000
INSTALL_HINT = "strace is not installed (apt-get install strace)"
METHOD = (
    "strace -f -y attached to the running server and its children, trace="
    + ",".join(TRACED)
    + "; one keep-alive connection, one GET at a time, each answer checked; calls / answers, "
    "all of them and those on a socket"
)
KEY = "key-0042"
# One logged call: `PID name(FD<what the descriptor is>, ...` (a resumed call has no name).
CALL = re.compile(r"^(?:\d+\s+)?(\w+)\((\d+)<([^>]*)>")


@dataclass(frozen=True)
class Counts:
    """System calls a server made for `answers` answers, by name."""

    answers: int
    calls: dict[str, int]
    on_sockets: dict[str, int]

    def per_answer(self, names: tuple[str, ...], sockets_only: bool = False) -> float:
        counted = self.on_sockets if sockets_only else self.calls
        return sum(counted.get(name, 0) for name in names) / self.answers

    def to_json(self) -> dict:
        return {
            "answers": self.answers,
            "calls": self.calls,
            "calls_on_sockets": self.on_sockets,
            "writes_per_answer": round(self.per_answer(WRITES), 4),
            "socket_writes_per_answer": round(self.per_answer(WRITES, sockets_only=True), 4),
            "reads_per_answer": round(self.per_answer(READS), 4),
            "method": METHOD,
        }


def strace() -> str | None:
    return shutil.which("strace")


def parse(trace: str) -> tuple[dict[str, int], dict[str, int]]:
    """Calls by syscall in strace -f -y's log: all of them, and those on a socket."""
    calls: Counter[str] = Counter()
    on_sockets: Counter[str] = Counter()
    for line in trace.splitlines():
        found = CALL.match(line)
        if found and found.group(1) in TRACED:
            calls[found.group(1)] += 1
            if found.group(3).startswith("socket:"):
                on_sockets[found.group(1)] += 1
    return dict(calls), dict(on_sockets)


def request(key: str = KEY) -> bytes:
    return f"GET /get?key={key} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode()


def read_answer(conn: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One answer's head and body (Content-Length framed) off the connection."""
    while b"\r\n\r\n" not in buffer:
        buffer += recv(conn)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    if length is None:
        raise KvbenchError(f"an answer without content-length: {head[:200]!r}")
    while len(rest) < int(length.group(1)):
        rest += recv(conn)
    body, leftover = rest[: int(length.group(1))], rest[int(length.group(1)) :]
    buffer[:] = leftover
    return head, body


def recv(conn: socket.socket) -> bytes:
    data = conn.recv(65536)
    if not data:
        raise KvbenchError("the server closed the connection")
    return data


def send_checked(port: int, requests: int) -> None:
    """`requests` GETs, one at a time on one connection, each answer checked."""
    expected = answer_body(KEY, PRELOAD_VALUE)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray()
        for _ in range(requests):
            conn.sendall(request())
            head, body = read_answer(conn, buffer)
            if not head.startswith(b"HTTP/1.1 200 ") or body != expected:
                raise KvbenchError(f"wrong answer: {head[:60]!r} {body[:80]!r}")


def family(pid: int) -> list[int]:
    """A process and its descendants (granian answers from a worker process of its own)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            queue += [int(child) for child in task.read_text().split()]
    return found


def attach(pid: int, out: Path) -> subprocess.Popen:
    """strace on every thread of `pid` and its children, once it says it is attached."""
    pids = [word for each in family(pid) for word in ("-p", str(each))]
    command = ["strace", "-f", "-y", "-o", str(out), "-e", "trace=" + ",".join(TRACED), *pids]
    tracer = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert tracer.stderr is not None
    line = tracer.stderr.readline()  # "strace: Process N attached"
    if "attached" not in line:
        tracer.kill()
        tracer.wait()
        tracer.stderr.close()
        raise KvbenchError(f"strace could not attach to {pid}: {line.strip()}")
    time.sleep(0.2)  # the other threads' "attached" lines
    return tracer


def detach(tracer: subprocess.Popen) -> None:
    tracer.send_signal(signal.SIGINT)
    try:
        tracer.wait(30)
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait()
        if tracer.stderr is not None:
            tracer.stderr.close()


def count(service: Service, requests: int = REQUESTS, warmup: int = 200) -> Counts:
    """The server's traced calls while it answers `requests` checked GETs."""
    if strace() is None:
        raise KvbenchError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="kvbench-strace-") as tmp:
        out = Path(tmp) / "strace.txt"
        with running_server(service) as server:
            send_checked(server.port, warmup)  # imports, caches: none of it counted
            tracer = attach(server.pid, out)
            try:
                send_checked(server.port, requests)
            finally:
                detach(tracer)
        return Counts(requests, *parse(out.read_text()))


def writes_per_answer(service: str | Service, requests: int = REQUESTS) -> float:
    """write, writev, sendmsg and sendto calls per answer of a GET hit."""
    chosen = get_service(service) if isinstance(service, str) else service
    return count(chosen, requests).per_answer(WRITES)


def main(argv: list[str] | None = None) -> int:
    """`python -m kvbench.measure.syscalls --services a,b --out FILE`: counts per service."""
    parser = argparse.ArgumentParser(prog="python -m kvbench.measure.syscalls")
    parser.add_argument("--services", default="optimized")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if strace() is None:
        print(f"note: {INSTALL_HINT}; no system calls counted")
        return 0
    found = {}
    for name in args.services.split(","):
        found[name] = count(get_service(name), args.requests).to_json()
        said = found[name]
        print(f"{name}: {said['writes_per_answer']:.2f} write calls per answer, "
              f"{said['socket_writes_per_answer']:.2f} on the socket")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(args.out, {"method": METHOD, "services": found})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
