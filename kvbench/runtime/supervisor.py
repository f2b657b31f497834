"""N uvicorn workers that share the load: one SO_REUSEPORT listening socket per worker.

    python -m kvbench.runtime.supervisor APP [uvicorn flags...] --workers N

The command line is uvicorn's own. `uvicorn --workers N` binds one socket and hands it
to every worker: they all wait on one accept queue, and the first to wake accepts a
whole burst of connections (measured here: 42,790 requests to one worker, 0 to the
other). Here each worker gets a socket of its own in one SO_REUSEPORT group, so the
kernel picks a worker for each new connection (by a hash of its addresses and ports)
before any worker wakes up.

The supervisor binds and listens on every socket before it starts a worker (port 0 is
resolved by the first bind; a connection that arrives while its worker starts waits in
that socket's queue), passes socket i to worker i (`kvbench.runtime.worker`), and owns
the debug port: `GET /debug/vars` asks every worker over its own Unix socket and answers
the sums with each worker's figures beside them. The debug port opens only once every
worker has answered, so whoever waits for it waits for all of them. A worker that dies
stops the others and the supervisor exits 1: a benchmark must not go on with fewer
workers than it says. SIGTERM or SIGINT stops them all.
"""

import asyncio
import ctypes
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from contextlib import suppress

from kvbench.runtime import debugvars
from kvbench.runtime.worker import uvicorn_params

ASK_TIMEOUT_S = 2.0
GRACE_S = 5.0
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: SIGTERM this process when the thread that started it dies, even by SIGKILL.

    Meant as `preexec_fn`: it runs in the child between fork and exec, so a killed parent
    leaves no orphan serving (or holding a port) behind.
    """
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def reuseport_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """`count` listening sockets in one SO_REUSEPORT group on host:port (0: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # the first bind resolves port 0 for the others
            sock.listen(backlog)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def ask(path: str, timeout: float = ASK_TIMEOUT_S) -> dict:
    """One worker's /debug/vars, from its Unix socket."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_unix_connection(path)
        try:
            writer.write(b"GET /debug/vars HTTP/1.1\r\nHost: worker\r\n\r\n")
            answer = await reader.read()  # the listener hangs up after one answer
        finally:
            writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError(f"answered {head[:40]!r}")
    return json.loads(body)


class Supervisor:
    def __init__(self, argv: list[str], workers: int) -> None:
        self.argv = argv  # uvicorn's command line, handed to every worker as it is
        self.count = workers
        self.rundir = tempfile.mkdtemp(prefix="kvbench-workers-")
        self.paths = [os.path.join(self.rundir, f"worker-{i}.sock") for i in range(workers)]
        self.procs: list[asyncio.subprocess.Process] = []
        self.stopping = asyncio.Event()
        self.exit_code = 0

    async def start(self, sockets: list[socket.socket]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KVBENCH_ADMIN_")}
        for sock, path in zip(sockets, self.paths, strict=True):
            fd = sock.fileno()
            command = [sys.executable, "-m", "kvbench.runtime.worker", str(fd), *self.argv]
            proc = await asyncio.create_subprocess_exec(
                *command, env={**env, debugvars.ADMIN_UNIX_ENV: path}, pass_fds=(fd,),
                stdin=asyncio.subprocess.DEVNULL, preexec_fn=die_with_parent,
            )  # fmt: skip
            self.procs.append(proc)

    async def wait_ready(self) -> None:
        """Until every worker answers on its Unix socket (it has run its app's start-up)."""
        pending = set(range(self.count))
        while pending and not self.stopping.is_set():
            for index in sorted(pending):
                with suppress(OSError, TimeoutError, ValueError):
                    await ask(self.paths[index], timeout=1.0)
                    pending.discard(index)
            await asyncio.sleep(0.05)

    async def debug_vars(self) -> dict:
        async def one(index: int) -> dict:
            entry = {"index": index, "pid": self.procs[index].pid}
            try:
                return entry | await ask(self.paths[index])
            except (OSError, TimeoutError, ValueError) as exc:
                return entry | {"error": f"{type(exc).__name__}: {exc}"}

        return debugvars.combined(await asyncio.gather(*map(one, range(self.count))))

    async def watch(self, index: int) -> None:
        code = await self.procs[index].wait()
        if not self.stopping.is_set():
            say(f"worker {index} (pid {self.procs[index].pid}) exited with code {code}; "
                "stopping every worker")  # fmt: skip
            self.exit_code = 1
            self.stopping.set()

    async def stop(self) -> None:
        """SIGTERM every worker (uvicorn shuts down gracefully), SIGKILL after the grace."""
        for proc in self.procs:
            with suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        waits = asyncio.gather(*(proc.wait() for proc in self.procs))
        try:
            await asyncio.wait_for(waits, GRACE_S)
        except TimeoutError:
            for proc in self.procs:
                with suppress(ProcessLookupError):
                    proc.kill()
            await asyncio.gather(*(proc.wait() for proc in self.procs))

    async def run(self, sockets: list[socket.socket]) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        admin = None
        try:
            await self.start(sockets)
            watchers = [asyncio.create_task(self.watch(i)) for i in range(self.count)]
            await self.wait_ready()
            if not self.stopping.is_set():
                admin = await self.listen()
                pids = ", ".join(str(p.pid) for p in self.procs)
                say(f"{self.count} workers ({pids}) each on its own socket, all ready")
            await self.stopping.wait()
            for task in watchers:
                task.cancel()
        finally:
            if admin is not None:
                admin.close()
            await self.stop()
            shutil.rmtree(self.rundir, ignore_errors=True)
        return self.exit_code

    async def listen(self):
        port = os.environ.get(debugvars.ADMIN_PORT_ENV)
        if not port:
            return None
        host = os.environ.get(debugvars.ADMIN_HOST_ENV, "127.0.0.1")
        return await debugvars.listen_tcp(self.debug_vars, host, int(port))


def say(text: str) -> None:
    print(f"supervisor {os.getpid()}: {text}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    params = uvicorn_params(argv)
    if params["uds"] or params["fd"] is not None:
        say("--uds and --fd are not supported: each worker gets its own TCP socket")
        return 2
    workers = params["workers"] or 1
    try:
        sockets = reuseport_sockets(params["host"], params["port"], workers, params["backlog"])
    except OSError as exc:
        say(f"cannot listen on {params['host']}:{params['port']}: {exc.strerror or exc}")
        return 1
    try:
        return asyncio.run(Supervisor(argv, workers).run(sockets))
    finally:
        for sock in sockets:
            sock.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
