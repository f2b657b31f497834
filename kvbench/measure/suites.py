"""The in-process layers: pyperf's micro and ASGI suites, exact allocation and GC counts.

Each runs as a subprocess (pyperf spawns its own workers and wants a process of its own)
and leaves a file in the results folder; these functions turn the files into samples.
In-process, services that run the same code (`kvbench.services.same_in_process`: the
server rungs, a lifespan-only change) are measured once, under the first one's name: two
measurements of identical code can only differ by noise, and a test would call some of
those differences significant.
"""

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pyperf

from kvbench import KvbenchError
from kvbench.processes import app_dirs, child_env, working_dir
from kvbench.results.files import strip_machine_paths
from kvbench.results.resample import process_means
from kvbench.services import Service, in_process_services

# Each value is one worker process's mean over its values (`ns_per_op`). pyperf runs all the
# processes of one benchmark before the next; on a machine whose speed drifts over seconds
# that would hand one benchmark the fast minute and the next the slow one, so they run in rounds
# of a few processes per benchmark, appended to one file: n = rounds x processes.
PYPERF_QUICK = ["--processes", "1", "--values", "2", "--warmups", "1", "--min-time", "0.05"]
PYPERF_FULL = ["--processes", "2", "--values", "2", "--warmups", "1"]
ROUNDS_QUICK, ROUNDS_FULL = 3, 5
ALLOCATION_METHOD = "memray Tracker(trace_python_allocators=True), every allocation counted"


def run_worker(command: list[str], what: str, services: Sequence[Service] = ()) -> str:
    """A worker program, run where the apps' folders are and with them on its import path;
    its stdout. A failure says the worker's own `error:` line when it printed one (a wrong
    answer, an app that cannot be imported), else the end of its stderr."""
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=working_dir(list(services)),
        env=child_env(app_dirs=app_dirs(list(services))),
    )  # fmt: skip
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        said = lines[0].removeprefix("error: ") if lines else done.stderr.strip()[-2000:]
        raise KvbenchError(f"{what} failed: {said}")
    return done.stdout


def run_pyperf(
    module: str, out: Path, args: list[str], cpu: int | None, rounds: int,
    services: Sequence[Service] = (),
) -> None:  # fmt: skip
    """The pyperf script `rounds` times, each appending its processes' values to `out`."""
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--quiet", "--append", str(out.resolve()), *args]
    if cpu is not None:
        command.append(f"--affinity={cpu}")
    for _ in range(rounds):
        run_worker(command, module, services)
    strip_machine_paths(out)


def request_args(request_file: Path | None) -> list[str]:
    return [f"--request-file={request_file.resolve()}"] if request_file else []


def pyperf_args(quick: bool) -> list[str]:
    return PYPERF_QUICK if quick else PYPERF_FULL


def rounds(quick: bool) -> int:
    return ROUNDS_QUICK if quick else ROUNDS_FULL


def micro(out: Path, quick: bool, cpu: int | None) -> None:
    run_pyperf("kvbench.workers.micro", out, pyperf_args(quick), cpu, rounds(quick))


def asgi(
    out: Path, services: list[Service], quick: bool, cpu: int | None,
    request_file: Path | None = None,
) -> None:  # fmt: skip
    # Within a round pyperf alternates the apps too: A's processes, then B's, round after round.
    apps = [f"--app={s.name}={s.app}" for s in in_process_services(services)]
    args = [*pyperf_args(quick), *apps, *request_args(request_file)]
    run_pyperf("kvbench.workers.asgi_bench", out, args, cpu, rounds(quick), services)


def allocations(
    services: list[Service], quick: bool, request_file: Path | None = None
) -> dict[str, dict[str, list[float]]]:
    """Per service: allocations and bytes allocated per request, one value per capture."""
    repeat, requests = ("3", "500") if quick else ("6", "2000")
    command = [
        sys.executable,
        "-m",
        "kvbench.workers.allocs",
        "--repeat",
        repeat,
        "--requests",
        requests,
    ]
    command += [f"--app={s.name}={s.app}" for s in in_process_services(services)]
    command += request_args(request_file)
    return json.loads(run_worker(command, "allocation count", services))


def gc_work(
    services: list[Service], request_file: Path | None = None
) -> dict[str, dict[str, float]]:
    """Per service: GC survivors and cyclic garbage per request, collections per 1k requests."""
    command = [sys.executable, "-m", "kvbench.workers.gcwork"]
    command += [f"--app={s.name}={s.app}" for s in in_process_services(services)]
    command += request_args(request_file)
    return json.loads(run_worker(command, "GC count", services))


def ns_per_op(path: Path) -> dict[str, list[float]]:
    """Every benchmark of a pyperf suite as ns/op, one value per worker process (the mean of
    its values: the process is the unit, `resample.PER_PROCESS`), by benchmark name."""
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {bench.get_name(): [v * 1e9 for v in process_means(bench)] for bench in suite}
