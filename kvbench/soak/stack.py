"""What the soak runs and keeps running: a durable Redis of its own, and the service on it.

The supervisor (kvbench/runtime/supervisor.py) is fail-fast: when one worker dies it stops
the other and exits 1. The soak therefore plays the process manager a production
deployment has (systemd's Restart=always, a Kubernetes restart): whenever the service
exits, `Keeper` starts it again at once on the same ports, and the soak measures the gap.
"""

import asyncio
import dataclasses
import json
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import psutil

from kvbench import redis_server
from kvbench.processes import RunningServer, server_env, stop, wait_until_ready, working_dir
from kvbench.runtime.contract import STORE_ENV
from kvbench.services import SERVICES, Service, with_store

WORKERS = 2
HOST = "127.0.0.1"
MB = 1024 * 1024
PEEK_TIMEOUT_S = 0.25  # the soak's own reads of Redis: a paused Redis reads as None, soon


class DurableRedis:
    """A redis-server on a fixed port and data directory, fsyncing every write (appendonly)."""

    def __init__(self, datadir: Path) -> None:
        self.datadir = datadir
        self.port = redis_server.free_port()
        self.process: subprocess.Popen | None = None
        self.answered_ping = float("nan")  # monotonic: when the last start answered PING

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        # Started from the loop's thread: redis_server's children die with the thread
        # that started them, and a pool thread may end before the soak does.
        self.process = redis_server.launch(self.port, self.datadir, durable=True)
        await asyncio.to_thread(self._wait_until_ready, self.process)

    def _wait_until_ready(self, process: subprocess.Popen) -> None:
        redis_server.wait_until_ready(process, self.port, self.datadir)
        self.answered_ping = time.monotonic()

    def kill(self) -> None:
        """kill -9: no shutdown, no last write; what is on disk is all there is."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            redis_server.stop(self.process)

    def _client(self):
        return redis_server.redis_py().Redis.from_url(
            self.url, socket_timeout=PEEK_TIMEOUT_S, socket_connect_timeout=PEEK_TIMEOUT_S
        )

    def memory(self) -> dict:
        """What Redis's allocator has handed out (INFO used_memory, in MB: RSS adds the
        allocator's overhead and the freed pages it keeps), the most it has since Redis
        started (used_memory_peak), its connected clients (this one among them) and the AOF
        rewrites it has completed since it started, with the pid of the Redis that answered (INFO
        process_id); {} when Redis does not answer in time."""
        with suppress(OSError, redis_server.redis_py().RedisError), self._client() as client:
            info = client.info()
            found = {"pid": info["process_id"], "used_mb": round(info["used_memory"] / MB, 3)}
            found["used_peak_mb"] = round(info["used_memory_peak"] / MB, 3)
            found["aof_rewrites"] = completed_rewrites(info)
            return found | {"clients": info["connected_clients"]}
        return {}

    def values(self, keys: list[str]) -> tuple[float, dict[str, str | None]]:
        """Each key's value as Redis holds it now, in one MGET (one instant of Redis's
        single thread), and when the MGET was sent (monotonic, just before it connects);
        None: absent. The stored value is the encoded GET answer body: one that does not
        decode raises ValueError, KeyError or TypeError."""
        with self._client() as client:
            sent = time.monotonic()
            found = client.mget([redis_server.KEY_PREFIX + key.encode() for key in keys])
        values = {
            k: json.loads(v)["value"] if v else None for k, v in zip(keys, found, strict=True)
        }
        return sent, values


def completed_rewrites(info: dict) -> int | None:
    """AOF rewrites done since Redis started: INFO counts one as it forks, so one still in
    progress is taken off; None from a Redis before 7, which does not count them."""
    if "aof_rewrites" not in info:
        return None
    return int(info["aof_rewrites"]) - int(info.get("aof_rewrite_in_progress", 0))


def soak_service(store_url: str, workers: int = WORKERS) -> Service:
    """optimized in its production shape: `workers` processes on the shared Redis."""
    service = with_store(SERVICES["optimized"], store_url)
    env = (*service.env, (STORE_ENV, store_url))
    return dataclasses.replace(service, workers=workers, env=env)


class Keeper:
    """The service on fixed ports, started again whenever it exits (see the module's doc)."""

    def __init__(self, service: Service, log_path: Path) -> None:
        self.service = service
        self.port = redis_server.free_port()
        self.admin_port = redis_server.free_port()
        self.log_path = log_path
        self.server: RunningServer | None = None
        self.restarts: list[tuple[float, float, int | None]] = []  # (exited, answering, code)
        self.back = asyncio.Event()  # set each time a restarted service answers

    async def start(self) -> None:
        command = self.service.command(HOST, self.port)
        env = server_env(self.service, command, HOST, self.admin_port)
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                command, env=env, cwd=working_dir([self.service]), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.server = RunningServer(
            self.service, process, HOST, self.port, self.admin_port, command, self.log_path
        )
        await asyncio.to_thread(wait_until_ready, self.server)

    async def watch(self) -> None:
        """Restart the service each time it exits, until cancelled."""
        while True:
            assert self.server is not None
            code = self.server.process.poll()
            if code is None:
                await asyncio.sleep(0.02)
                continue
            exited = time.monotonic()
            self.back.clear()
            await self.start()
            self.restarts.append((exited, time.monotonic(), code))
            self.back.set()

    def stop(self) -> None:
        if self.server is not None:
            stop(self.server.process)

    def processes(self) -> list[psutil.Process]:
        """The supervisor, then its workers in the order they started."""
        if self.server is None:
            return []
        with suppress(psutil.Error):
            top = psutil.Process(self.server.pid)
            workers = sorted(top.children(), key=lambda p: p.create_time())
            return [top, *workers]
        return []

    def debug_vars(self) -> dict | None:
        if self.server is None:
            return None
        with suppress(OSError, ValueError):
            return self.server.debug_vars(timeout=0.5)
        return None
