"""py-spy: CPU and blocking flamegraphs of a served service under load, and live attach."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT, ServerError, pin, running_server
from kvbench.profiling.artifacts import Artifact, check_size, scrub_file, shown_command, tool
from kvbench.services import Service

FINISH_TIMEOUT_S = 60.0
LOAD_WARMUP_S = 1.0
PTRACE_HINT = (
    "needs ptrace: run as root or with CAP_SYS_PTRACE, or set "
    "/proc/sys/kernel/yama/ptrace_scope to 0 (Kubernetes: "
    "securityContext.capabilities.add: [SYS_PTRACE])"
)


class PtraceRefused(KvbenchError):
    """The OS would not let py-spy read the target process."""


@dataclass(frozen=True)
class SpiedService(Service):
    """A service started as py-spy's child: reading a child needs no ptrace attach rights."""

    spy: tuple[str, ...] = ()

    def command(self, host: str, port: int) -> list[str]:
        return [*self.spy, "--", *super().command(host, port)]


@dataclass(frozen=True)
class View:
    """One py-spy recording: its file, output format and flags."""

    name: str
    format: str = "flamegraph"
    flags: tuple[str, ...] = ()
    what: str = ""


# --gil keeps only the thread holding the GIL, the one running Python: py-spy counts every
# runnable thread as active, and woken pool threads queueing for the CPU would fill the view.
CPU_SVG = View(
    "cpu.pyspy.svg", flags=("--gil",), what="CPU flamegraph: where the server runs Python"
)
CPU_SPEEDSCOPE = View(
    "cpu.speedscope.json", "speedscope", ("--gil",), "the same CPU view, for speedscope.app"
)
# The same samples with the C frames below Python (--native): where time under a Python
# frame goes (uvloop's transport.write and the send system call, for example). Without it
# py-spy charges a Python frame with everything that runs below it in C.
NATIVE_SPEEDSCOPE = View(
    "native.speedscope.json",
    "speedscope",
    ("--gil", "--native"),
    "native view: the CPU view with the C frames below Python, for speedscope.app",
)
# --idle keeps samples of threads that are not running: waiting on a lock, on the GIL or
# for work. --gil would do the opposite (keep only the GIL holder), so it is not used.
BLOCKING_SVG = View(
    "blocking.pyspy.svg",
    flags=("--idle", "--threads"),
    what="blocking view: every thread, running or waiting (locks, GIL, idle pool), by thread id",
)


def cpu_plan() -> tuple[set[int] | None, set[int] | None]:
    """Server on CPU 0; load generator and py-spy on CPU 1, where the machine has both."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    return ({0}, {1}) if {0, 1} <= usable else (None, None)


def pin_threads(pid: int, cpus: set[int] | None) -> None:
    """Pin every thread of a process (sched_setaffinity on a pid moves one thread only)."""
    tasks = Path(f"/proc/{pid}/task")
    for tid in (int(t.name) for t in tasks.iterdir()) if tasks.exists() else [pid]:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            pin(tid, cpus)


def load_command(
    port: int | str, seconds: float, connections: int, cpus: set[int] | None
) -> list[str]:
    pinning = [word for cpu in sorted(cpus or ()) for word in ("--cpu", str(cpu))]
    return [
        sys.executable, "-m", "kvbench", "loadgen", "--host", "127.0.0.1", "--port", str(port),
        "--connections", str(connections), "--warmup", f"{LOAD_WARMUP_S:g}",
        "--duration", f"{seconds:g}", *pinning, "--json",
    ]  # fmt: skip


def run_load(port: int, seconds: float, connections: int, cpus: set[int] | None) -> dict:
    """Run the built-in load generator against loopback; returns its JSON summary."""
    command = load_command(port, seconds, connections, cpus)
    limit = LOAD_WARMUP_S + seconds + 60
    try:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=limit
        )
    except subprocess.TimeoutExpired:
        raise KvbenchError(f"the load generator ran past {limit:.0f} s") from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise KvbenchError(f"the load generator failed ({done.returncode}): {last}")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise KvbenchError(f"the load generator printed no JSON: {done.stdout[:200]!r}") from None


def record_flags(view: View, out: Path, rate: int, server: str = "uvicorn") -> tuple[str, ...]:
    # granian runs the app in a worker process of its own: follow it (--subprocesses).
    children = ("--subprocesses",) if server == "granian" else ()
    return (tool("py-spy"), "record", "-o", str(out), "-f", view.format, "-r", str(rate),
            *view.flags, *children)  # fmt: skip


def spied(service: Service, view: View, out: Path, rate: int) -> SpiedService:
    """The service as py-spy's child, its server, settings and environment unchanged."""
    flags = record_flags(view, out, rate, service.server)
    return SpiedService(
        service.name,
        service.app,
        service.server_args,
        server=service.server,
        env=service.env,
        store=service.store,
        spy=flags,
    )


def record(
    service: Service, view: View, out_dir: Path, rate: int, seconds: float, connections: int
) -> Artifact:
    """Serve under py-spy, run the load, stop py-spy with SIGINT so it writes the profile."""
    out = out_dir / view.name
    server_cpus, load_cpus = cpu_plan()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        command, load, served = serve_under_load(
            spied(service, view, out, rate), log, seconds, connections
        )
        samples = samples_written(log.read_text(errors="replace"))
    if not out.exists() or out.stat().st_size == 0:
        raise KvbenchError(f"py-spy wrote no {out.name}")
    scrub_file(out)
    check_size(out)
    details = {"rate_hz": rate, "load_s": seconds, "connections": connections, "load": load,
               "served": served, "samples": samples, "pinned": server_cpus is not None}  # fmt: skip
    port = command[command.index("--port") + 1]
    load_line = load_command(port, seconds, connections, load_cpus)
    return Artifact(out, "py-spy", view.what, [shown_command(command), shown_command(load_line)],
                    details)  # fmt: skip


def serve_under_load(
    spied: SpiedService, log: Path, seconds: float, connections: int
) -> tuple[list[str], dict, int | None]:
    """The command that ran, the load generator's summary and the server's request count."""
    server_cpus, load_cpus = cpu_plan()
    try:
        # py-spy shares the load generator's CPU; its server child gets the other one.
        with running_server(spied, cpus=load_cpus, log_path=log) as server:
            pin_threads(server.debug_vars()["pid"], server_cpus)
            load = run_load(server.port, seconds, connections, load_cpus)
            served = server.debug_vars()["counters"].get("total")
            finish(server.process, log)
            return server.command, load, served
    except ServerError as exc:
        reason = last_error(str(exc))
        raise refusal(str(exc)) or KvbenchError(f"{spied.name} under py-spy: {reason}") from None


def finish(process: subprocess.Popen, log: Path) -> None:
    """SIGINT to py-spy alone: it stops sampling, writes its file and kills the server."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(FINISH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise KvbenchError("py-spy did not finish writing its profile") from None
    if process.returncode:
        text = log.read_text(errors="replace")
        raise refusal(text) or KvbenchError(f"py-spy failed: {last_error(text)}")


def samples_written(log_text: str) -> int | None:
    found = re.findall(r"Samples: (\d+)", log_text)
    return int(found[-1]) if found else None


def last_error(text: str) -> str:
    """py-spy's own one-line reason, without its Rust backtrace."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("Error:", "Permission Denied"))]
    return (errors or lines or ["no output"])[-1]


def refusal(text: str) -> PtraceRefused | None:
    """A PtraceRefused when py-spy's output says the OS refused to let it read memory."""
    if "Permission denied" in text or "Permission Denied" in text or "os error 1)" in text:
        return PtraceRefused(f"py-spy was refused access to the process; it {PTRACE_HINT}")
    return None


def check_pid(pid: int) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise KvbenchError(f"no process with pid {pid}") from None
    except PermissionError:
        pass  # it exists; whether py-spy may read it is py-spy's to say


def idle_message(text: str, pid: int, seconds: int) -> str | None:
    if "No stack counts found" in text:
        return f"pid {pid} ran no Python in {seconds} s (it was idle): put load on it first"
    return None


def spy(command: list[str], pid: int, timeout: float) -> str:
    """Run a py-spy command against a pid; its output, or a one-line error."""
    check_pid(pid)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KvbenchError(f"py-spy did not finish within {timeout:.0f} s") from None
    if done.returncode:
        text = done.stdout + done.stderr
        if not Path(f"/proc/{pid}").exists():
            raise KvbenchError(f"process {pid} ended while py-spy was reading it")
        raise refusal(text) or KvbenchError(f"py-spy cannot read pid {pid}: {last_error(text)}")
    return done.stdout


def dump(pid: int) -> str:
    """The current stack of every thread, once (`py-spy dump`)."""
    return spy([tool("py-spy"), "dump", "--pid", str(pid)], pid, timeout=30)


def attach(pid: int, seconds: int, out: Path, rate: int) -> Artifact:
    """Record a flamegraph of a running process by attaching to it (needs ptrace)."""
    command = [tool("py-spy"), "record", "--pid", str(pid), "-d", str(seconds), "-r", str(rate),
               "-o", str(out), "--nonblocking"]  # fmt: skip
    try:
        spy(command, pid, timeout=seconds + 60)
    except PtraceRefused:
        raise
    except KvbenchError as exc:
        raise KvbenchError(idle_message(str(exc), pid, seconds) or str(exc)) from None
    scrub_file(out)
    details = {"rate_hz": rate, "duration_s": seconds, "pid": pid}
    return Artifact(out, "py-spy", "live CPU flamegraph", [shown_command(command)], details)
