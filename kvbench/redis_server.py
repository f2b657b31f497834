"""The shared store of a run: a private redis-server, the data the service expects in it.

`kvbench serve optimized --store redis` and every trial of a Redis-backed service start
their own redis-server: loopback, a free port, no persistence, bounded memory, a temp
directory of its own, its own process group, and stopped on exit, Ctrl-C and failure
alike (and by the kernel if the harness is killed). With a redis:// address the service
uses that server instead; either way the harness preloads the contract's keys first.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from kvbench import KvbenchError
from kvbench.runtime.contract import answer_body, preload_items
from kvbench.runtime.supervisor import die_with_parent

PACKAGES = ("redis", "hiredis")  # the service's client, recorded in a run's environment
INSTALL_HINT = "redis-server is not installed; on Debian or Ubuntu: apt-get install redis-server"
MAXMEMORY = "256mb"  # full: a PUT answers 503 (noeviction), nothing is silently dropped
START_TIMEOUT_S = 10.0
KEY_PREFIX = b"kvbench:"  # optimized/redis_store.py's namespace, and its key count
KEY_COUNT = b"kvbench-meta:keys"
TIMEOUT_S = 5.0  # the harness's own calls to Redis: preload and INFO


@dataclass
class RedisServer:
    """The store a service runs against: its URL, and its process when it is ours."""

    url: str
    process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


# A durable server (the soak's): every write is in the append-only file and fsynced before
# Redis answers it, so a SET acknowledged to the service survives a kill -9 of Redis.
DURABLE = ("--appendonly", "yes", "--appendfsync", "always")
VOLATILE = ("--appendonly", "no")  # the benchmarks': nothing written to disk


def server_command(exe: str, port: int, rundir: Path, durable: bool = False) -> list[str]:
    return [
        exe, "--bind", "127.0.0.1", "--port", str(port), "--protected-mode", "yes",
        "--save", "", *(DURABLE if durable else VOLATILE), "--dir", str(rundir),
        "--maxmemory", MAXMEMORY, "--maxmemory-policy", "noeviction",
        "--daemonize", "no", "--logfile", str(rundir / "redis.log"), "--loglevel", "warning",
    ]  # fmt: skip


def _child_setup(cpus: set[int] | None) -> None:
    # Runs in the child before exec: pinned from its first instruction, and ended by the
    # kernel when the thread that started it dies. Start it from the main thread, then.
    die_with_parent()
    if cpus:
        os.sched_setaffinity(0, cpus)


def launch(
    port: int, rundir: Path, cpus: set[int] | None = None, durable: bool = False
) -> subprocess.Popen:
    """A redis-server starting on 127.0.0.1:port, not yet waited for (see `start`).

    A durable one started again on the same `rundir` and port after a kill -9 reads its
    append-only file back: it answers PING only once every acknowledged write is loaded.
    """
    exe = shutil.which("redis-server")
    if exe is None:
        raise KvbenchError(INSTALL_HINT)
    return subprocess.Popen(
        server_command(exe, port, rundir, durable), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=partial(_child_setup, cpus),
    )  # fmt: skip


def start(
    port: int, rundir: Path, cpus: set[int] | None = None, durable: bool = False
) -> subprocess.Popen:
    """A redis-server on 127.0.0.1:port, answering PING; KvbenchError when it cannot be."""
    process = launch(port, rundir, cpus, durable)
    try:
        wait_until_ready(process, port, rundir)
    except BaseException:  # Ctrl-C while it starts, too
        stop(process)
        raise
    return process


def wait_until_ready(process: subprocess.Popen, port: int, rundir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            log = rundir / "redis.log"
            tail = log.read_text(errors="replace")[-400:] if log.exists() else ""
            raise KvbenchError(f"redis-server did not start on 127.0.0.1:{port}\n{tail}")
        time.sleep(0.02)


def ping(port: int, timeout: float = 0.5) -> bool:
    with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


def stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM (without save points it exits at once, writing nothing), then SIGKILL."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)  # a stopped server cannot exit
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def private_redis(cpus: set[int] | None = None) -> Iterator[RedisServer]:
    """A redis-server of our own for the block; it and its directory are gone afterwards."""
    rundir = Path(tempfile.mkdtemp(prefix="kvbench-redis-"))
    try:
        port = free_port()
        process = start(port, rundir, cpus)
        try:
            yield RedisServer(f"redis://127.0.0.1:{port}/0", process)
        finally:
            stop(process)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def shared_store(store: str, cpus: set[int] | None = None) -> Iterator[RedisServer]:
    """The store a Redis-backed service runs against, preloaded: ours ("redis") or a URL."""
    if store.startswith("redis://"):
        server = RedisServer(store)
        preload(server.url)
        yield server
        return
    with private_redis(cpus) as server:
        preload(server.url)
        yield server


def describe() -> dict:
    """How a run's Redis was set up and measured, for summary.json's environment."""
    exe = shutil.which("redis-server")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True) if exe else None
    return {
        "server": version.stdout.split(" sha=")[0] if version else "not installed",
        "private": f"a fresh redis-server per trial on 127.0.0.1, preloaded; no persistence, "
        f"maxmemory {MAXMEMORY} (noeviction); pinned with the service",
        "cpu": "INFO cpu: used_cpu_user + used_cpu_sys, read around the open-loop window",
        "commands": "INFO stats: total_commands_processed, around the same window",
    }


def redis_py():
    """redis-py, imported only by a run that uses Redis; a clear error where it is missing."""
    try:
        import redis
    except ImportError:
        raise KvbenchError("the Redis store needs redis-py: pip install -e '.[redis]'") from None
    return redis


def preload(url: str) -> None:
    """The namespace as every run starts: the contract's keys and answers, nothing else."""
    redis = redis_py()
    items = preload_items()
    try:
        with client(url) as redis_client, redis_client.pipeline(transaction=False) as pipe:
            for name in redis_client.scan_iter(match=KEY_PREFIX + b"*", count=1000):
                pipe.unlink(name)  # keys PUT by an earlier run on a Redis of one's own
            for key, value in items:
                pipe.set(KEY_PREFIX + key.encode(), answer_body(key, value))
            pipe.set(KEY_COUNT, len(items))
            pipe.execute()
    except (redis.RedisError, OSError) as exc:
        raise KvbenchError(f"Redis at {url}: {exc}") from None


def usage(url: str) -> tuple[float, int]:
    """Redis's CPU seconds (user + system, from INFO) and the commands it has processed."""
    with client(url) as redis_client:
        cpu, stats = redis_client.info("cpu"), redis_client.info("stats")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"], stats["total_commands_processed"]


def client(url: str):
    """redis-py's blocking client, with the harness's timeouts."""
    return redis_py().Redis.from_url(
        url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
