"""`python -m kvbench serve NAME`: what it prints, that it serves, and how it stops."""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psutil
import pytest

from kvbench.cli import main
from kvbench.processes import PROJECT_ROOT
from peers import nginx

SERVER_FLAGS = {
    "unoptimized": "--loop asyncio --http h11",
    "optimized": "--loop uvloop --http kvbench.runtime.onewrite:OneWriteProtocol",
    "async": "ladder.step2_async:app --host",  # a rung of docs/04, served by name
}
START_TIMEOUT_S = 30


class Serve:
    """A serve subprocess whose output lines are collected by a reader thread."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "kvbench", "serve", *args]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.server_pid: int | None = None  # uvicorn's, in its own process group
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.decode(errors="replace"))

    def wait_for(self, prefix: str) -> str:
        """The first output line starting with prefix; fails on timeout."""
        while True:
            try:
                line = self.lines.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(f"no {prefix!r} line; output so far:\n{''.join(self.output)}")
            self.output.append(line)
            if line.startswith(prefix):
                return line

    def finish(self, timeout: float = 15) -> str:
        """Wait for the process to exit; the rest of its output."""
        self.process.wait(timeout)
        self.reader.join(timeout)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "".join(self.output)

    def kill(self) -> None:
        """Leave nothing behind, even when a test failed half-way."""
        for pgid in filter(None, [self.process.pid, self.server_pid]):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        self.reader.join(5)
        self.process.stdout.close()


@contextmanager
def serving(*args: str) -> Iterator[Serve]:
    serve = Serve(*args)
    try:
        yield serve
    finally:
        serve.kill()


def printed_url(line: str) -> str:
    return re.search(r"http://\S+", line)[0]


def has_ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


NEEDS_IPV6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read()


@pytest.mark.slow
# Each signal once and each service once: the signal handling does not depend on the service.
@pytest.mark.parametrize(
    ("name", "signum", "host"),
    [
        pytest.param("unoptimized", signal.SIGINT, "127.0.0.1", id="unoptimized-SIGINT"),
        pytest.param("optimized", signal.SIGTERM, "127.0.0.1", id="optimized-SIGTERM"),
        pytest.param("optimized", signal.SIGINT, "::1", id="optimized-ipv6", marks=NEEDS_IPV6),
        pytest.param("async", signal.SIGTERM, "127.0.0.1", id="ladder-rung"),
    ],
)
def test_serve_prints_command_serves_and_stops_cleanly(name, signum, host):
    with serving(name, "--host", host, "--port", "0", "--admin-port", "0") as serve:
        running = serve.wait_for("running: ")
        assert " -m uvicorn " in running and SERVER_FLAGS[name] in running
        # The printed addresses are the ones to use, with IPv6 hosts in brackets.
        service_url = printed_url(serve.wait_for("service: "))
        debug_url = printed_url(serve.wait_for("debug: "))
        assert debug_url.startswith("http://127.0.0.1:")
        assert fetch(service_url) == (200, b'{"key":"key-0042","value":"test-value"}')
        serve.server_pid = json.loads(fetch(debug_url)[1])["pid"]
        assert serve.server_pid != serve.process.pid
        serve.process.send_signal(signum)
        output = serve.finish()
        assert serve.process.returncode == 0, output
        assert "stopped" in output and "Traceback" not in output
        assert not psutil.pid_exists(serve.server_pid)


@pytest.mark.slow
def test_serve_unknown_service_is_a_clear_error():
    result = subprocess.run(
        [sys.executable, "-m", "kvbench", "serve", "nope"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
    assert "unoptimized" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_serve_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with serving("optimized", "--port", str(port), "--admin-port", "0") as serve:
            output = serve.finish(timeout=START_TIMEOUT_S)
    assert serve.process.returncode == 1, output  # a failed start, not a usage error
    assert "error: optimized exited with code" in output
    assert "Traceback" not in output


NEEDS_NGINX = pytest.mark.skipif(not nginx.installed(), reason=nginx.INSTALL_HINT)


def put(url: str, key: str) -> int:
    target = url.replace("/get?key=key-0042", f"/put?key={key}")
    try:
        with urllib.request.urlopen(urllib.request.Request(target, b"v", method="PUT")) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param((), id="direct"),
        pytest.param(("--proxy", "nginx"), id="nginx", marks=NEEDS_NGINX),
    ],
)
def test_serve_max_keys_bounds_the_store(extra):
    with serving(
        "optimized", "--port", "0", "--admin-port", "0", "--max-keys", "1001", *extra
    ) as serve:
        running = serve.wait_for("running: ")
        service_url = printed_url(serve.wait_for("service: "))
        pid = json.loads(fetch(printed_url(serve.wait_for("debug: ")))[1])["pid"]
        serve.server_pid = os.getpgid(pid)  # behind nginx, the launcher's group
        assert ("-m kvbench.proxy" in running) == bool(extra)
        assert [put(service_url, k) for k in ("one", "two", "one")] == [204, 507, 204]
        serve.process.send_signal(signal.SIGTERM)
        assert serve.finish().count("Traceback") == 0


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.usefixtures("redis_checked")
def test_serve_workers_on_redis_and_ctrl_c_leaves_nothing_running():
    args = ("--workers", "2", "--store", "redis", "--port", "0", "--admin-port", "0")
    with serving("optimized", *args) as serve:
        running_line = serve.wait_for("running: ")
        assert "-m kvbench.runtime.supervisor optimized.redis_app:app" in running_line
        assert running_line.rstrip().endswith("--workers 2")
        redis_pid = int(re.search(r"private redis-server, pid (\d+)", serve.wait_for("store: "))[1])
        service_url = printed_url(serve.wait_for("service: "))
        debug_url = printed_url(serve.wait_for("debug: "))
        assert fetch(service_url) == (200, b'{"key":"key-0042","value":"test-value"}')
        found = json.loads(fetch(debug_url)[1])
        serve.server_pid = found["pid"]
        pids = [serve.server_pid, redis_pid, *(w["pid"] for w in found["workers"])]
        assert len(pids) == 4 and all(map(running, pids))
        serve.process.send_signal(signal.SIGINT)
        output = serve.finish()
    assert serve.process.returncode == 0, output
    assert "stopped" in output and "Traceback" not in output
    assert not any(map(running, pids))


@pytest.mark.slow
def test_serve_store_redis_without_redis_server_says_how_to_get_it():
    result = subprocess.run(
        [sys.executable, "-m", "kvbench", "serve", "optimized", "--store", "redis"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
        env={**os.environ, "PATH": "/nonexistent"},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: redis-server is not installed; on Debian or Ubuntu: apt-get install redis-server"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("unoptimized", "--store", "redis"), "unoptimized has no shared store"),
        (("optimized", "--store", "mysql://x"), "--store takes memory, redis or redis://"),
        (("optimized", "--workers", "0"), "--workers must be at least 1"),
    ],
)
def test_serve_refuses_what_it_cannot_run(args, message, capsys):
    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err
