"""Instructions per request, counted exactly: the in-process driver under valgrind.

This machine has no hardware counters, but valgrind counts every instruction a process
runs. valgrind 3.19's cachegrind cannot count a region (and callgrind's per-thread toggle
misses the thread pool's worker), so each count is a whole process
(`kvbench.workers.instructions`). Two processes identical but for N and 2N counted
requests give instructions per request = (I(2N) - I(N)) / N: start-up, warm-up and exit
are the same instructions in both and cancel.

Identical means identical: a fixed minimal environment (no HOME, so no ~/.valgrindrc; no
VALGRIND_OPTS; a fixed hash seed; bytecode from a private cache that a native run filled
first, so no .pyc written by the first count and read by the next), cwd "/", and
zero-padded numbers on argv so both runs start with stacks of the same size.
A single-threaded app then repeats to the instruction: the fixed cost, I(N) - N x the
per-request count = 2 I(N) - I(2N), is the same in every repeat (`fixed_cost_spread` 0).
What it does not see: kernel work (syscalls), waiting, cache misses; and valgrind runs
one thread at a time, so the naive app's thread pool varies by a few tenths of a percent.
Exact is not the same as stable across edits: any change to code the process loads, even
outside the counted requests, moves the heap layout, and that moves the count by up to
~0.3% (a one-word edit to the child took optimized from 22,717 to 22,663).
"""

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT, stop
from kvbench.services import Service, in_process_services

VALGRIND_ARGS = ("--tool=cachegrind", "--cache-sim=no", "--branch-sim=no")
REQUESTS, WARMUP, REPEATS, HASH_SEED = 1000, 500, 3, 0
EXPECTED = (200, '{"key":"key-0042","value":"test-value"}', "application/json")
INSTALL_HINT = "valgrind is not installed (apt-get install valgrind)"
METHOD = (
    f"valgrind {' '.join(VALGRIND_ARGS)}: whole processes with N and 2N in-process GETs "
    "after a warm-up and a gc.collect(), (I(2N) - I(N)) / N; fixed environment and hash "
    "seed, bytecode from a private cache compiled by a native run first"
)
SECONDS_PER_PAIR = 10  # an N and a 2N process side by side, the naive app's the slowest


@dataclass(frozen=True)
class Result:
    """The N and 2N totals of each repeat of one app, and what follows from them."""

    requests: int
    totals: tuple[tuple[int, int], ...]  # (I(N), I(2N)) per repeat
    hits_checked: bool = True

    @property
    def values(self) -> list[float]:
        return [(large - small) / self.requests for small, large in self.totals]

    @property
    def spread_pct(self) -> float:
        """(max - min) / median of the per-request values, in percent."""
        values = self.values
        return (max(values) - min(values)) / statistics.median(values) * 100

    @property
    def fixed_cost_spread(self) -> int:
        """How much I(N) minus the per-request share moved across repeats, in instructions."""
        fixed = [2 * small - large for small, large in self.totals]
        return max(fixed) - min(fixed)

    def to_json(self) -> dict:
        return {
            "spread_pct": round(self.spread_pct, 4),
            "fixed_cost_spread": self.fixed_cost_spread,
            "totals": [list(pair) for pair in self.totals],
            "hits_checked": self.hits_checked,
        }


def valgrind() -> str | None:
    return shutil.which("valgrind")


def fixed_env(folder: Path) -> dict[str, str]:
    """The whole environment of a counted process: the same for every run, on any machine.

    Bytecode comes from the measurement's own cache (PYTHONPYCACHEPREFIX), filled by one
    native run first: what a module loads from (source, or a .pyc some earlier tool wrote
    into __pycache__) moves the heap layout, and with it the count by up to ~0.2%.
    """
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONHASHSEED": str(HASH_SEED),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
        "LANG": "C.UTF-8",
    }


def child(target: str, requests: int, warmup: int) -> list[str]:
    # Fixed-width numbers: the N and 2N runs' argv, and so their initial stack and heap
    # layout, have the same size (a different layout moves the count by up to ~0.3%).
    words = [sys.executable, "-m", "kvbench.workers.instructions", "--app", target]
    return words + ["--requests", f"{requests:09d}", "--warmup", f"{warmup:09d}"]


def command(tool: str, target: str, requests: int, warmup: int, out: Path) -> list[str]:
    return [tool, *VALGRIND_ARGS, f"--cachegrind-out-file={out}", *child(target, requests, warmup)]


def prime(target: str, folder: Path) -> None:
    """One native run first: checks the app's answer and compiles what the counts import."""
    env = fixed_env(folder)
    del env["PYTHONDONTWRITEBYTECODE"]  # this run writes the cache the counted runs read
    done = subprocess.run(child(target, 1, 1), env=env, cwd="/", capture_output=True, text=True)
    if done.returncode != 0:
        raise KvbenchError(f"{target}: the app failed outside valgrind\n{done.stderr[-2000:]}")
    check(json.loads(done.stdout.strip().splitlines()[-1]), 1, target)


def parse_total(text: str) -> int:
    """The total instruction count of a cachegrind out file (its `summary:` line)."""
    found = re.search(r"^summary: (\d+)", text, re.MULTILINE)
    if not found:
        raise KvbenchError("the cachegrind file has no `summary:` line")
    return int(found.group(1))


def check(report: dict, requests: int, target: str) -> None:
    """The counted requests must be right: the exact answer, every hit, no GC collection."""
    got = (report["status"], report["body"], report["content_type"])
    if got != EXPECTED:
        raise KvbenchError(f"{target}: wrong answer in the counted requests: {got}")
    if report["hits_in_window"] not in (None, requests):
        hits = report["hits_in_window"]
        raise KvbenchError(f"{target}: the app counted {hits} hits for {requests} requests")
    if any(report["gc_collections_in_window"]):
        # A collection's cost depends on the heap, not on N: the difference would not cancel.
        collected = report["gc_collections_in_window"]
        raise KvbenchError(f"{target}: the GC collected in the counted requests: {collected}")


@contextmanager
def counting(tool: str, target: str, requests: int, warmup: int, folder: Path) -> Iterator:
    """One counted process, started in its own group and stopped, whatever happens."""
    name = f"{requests:09d}"
    with open(folder / f"{name}.stdout", "wb") as out, open(folder / f"{name}.stderr", "wb") as err:
        process = subprocess.Popen(
            command(tool, target, requests, warmup, folder / f"{name}.cachegrind"),
            env=fixed_env(folder), cwd="/",  # a different cwd changes hashes, so dict probes
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:  # stopped early: an error, or Ctrl-C
                stop(process)


def collect(
    process: subprocess.Popen, target: str, requests: int, folder: Path
) -> tuple[int, bool]:
    """The finished process's total and whether the app's hits were checked."""
    name = f"{requests:09d}"
    if process.wait() != 0:
        tail = (folder / f"{name}.stderr").read_text(errors="replace")[-2000:]
        raise KvbenchError(f"{target}: valgrind exited {process.returncode}\n{tail}")
    lines = (folder / f"{name}.stdout").read_text().strip().splitlines()
    report = json.loads(lines[-1])
    check(report, requests, target)
    total = parse_total((folder / f"{name}.cachegrind").read_text())
    return total, report["hits_in_window"] is not None


def measure(
    tool: str, target: str, requests: int = REQUESTS, repeats: int = REPEATS, warmup: int = WARMUP
) -> Result:
    """`repeats` pairs of counts, the N and 2N processes of a pair side by side."""
    totals, checked = [], True
    with tempfile.TemporaryDirectory(prefix="kvbench-instructions-") as tmp:
        folder = Path(tmp)
        prime(target, folder)
        for _ in range(repeats):
            with (
                counting(tool, target, requests, warmup, folder) as small,
                counting(tool, target, 2 * requests, warmup, folder) as large,
            ):
                n, hits_n = collect(small, target, requests, folder)
                two_n, hits_2n = collect(large, target, 2 * requests, folder)
            totals.append((n, two_n))
            checked = checked and hits_n and hits_2n
    return Result(requests, tuple(totals), checked)


def measure_services(tool: str, services: list[Service]) -> dict[str, Result]:
    """Each piece of in-process code once, under the first service's name that runs it."""
    return {s.name: measure(tool, s.app) for s in in_process_services(services)}


def estimate_s(services: list[Service]) -> float:
    return len(in_process_services(services)) * REPEATS * SECONDS_PER_PAIR


def environment(tool: str, results: dict[str, Result]) -> dict:
    """What summary.json's environment records of the layer: the method and each app's spread."""
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "method": METHOD,
        "valgrind": version,
        "requests": REQUESTS,
        "warmup": WARMUP,
        "repeats": REPEATS,
        "hash_seed": HASH_SEED,
        "services": {name: result.to_json() for name, result in results.items()},
    }
