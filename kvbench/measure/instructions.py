"""Instructions per request, counted exactly: the in-process driver under valgrind.

This machine has no hardware counters, but valgrind counts every instruction a process
runs. valgrind 3.19's cachegrind cannot count a region (and callgrind's per-thread toggle
misses the thread pool's worker), so each count is a whole process
(`kvbench.workers.instructions`). Processes identical but for N, 2N and 3N counted
requests give a line I(n) = a + b n: the slope b is instructions per request, the
intercept a is start-up, warm-up and exit, and the residual (the largest distance of a
count from the line, as a share of the requests' part) shows whether the work per request
was constant. The garbage collector's work is included: a gc.collect() before the window,
and any collection that falls inside it is counted and listed (`gc_collections`).

Identical means identical: a fixed minimal environment (no HOME, so no ~/.valgrindrc; no
VALGRIND_OPTS; a fixed hash seed; bytecode from a private cache that a native run filled
first, so no .pyc written by the first count and read by the next), cwd "/", and
zero-padded numbers on argv so all counts start with stacks of the same size.
A single-threaded app then repeats to the instruction (`fixed_cost_spread` 0).
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT, child_setup, stop
from kvbench.services import Service, in_process_services
from kvbench.workers import instructions as worker
from kvbench.workers.inprocess import get_scope

VALGRIND_ARGS = ("--tool=cachegrind", "--cache-sim=no", "--branch-sim=no")
REQUESTS, WARMUP, REPEATS, HASH_SEED = 1000, 500, 3, 0
MULTIPLES = (1, 2, 3)  # the counts: N, 2N and 3N requests
EXPECTED = (200, '{"key":"key-0042","value":"test-value"}', "application/json")
INSTALL_HINT = "valgrind is not installed (apt-get install valgrind)"
METHOD = (
    f"valgrind {' '.join(VALGRIND_ARGS)}: whole processes with N, 2N and 3N in-process "
    "requests after a warm-up and a gc.collect(); instructions per request is the slope of "
    "a least-squares line through the three totals, the residual its largest miss as a "
    "share of the requests' instructions; collections that fall in the counted window are "
    "included and listed (gc_collections); fixed environment and hash seed, bytecode from "
    "a private cache compiled by a native run first"
)
SECONDS_PER_REPEAT = 15  # N, 2N and 3N processes side by side, the naive app's the slowest
WORKER = Path(worker.__file__)
Check = Callable[[int, list[tuple[bytes, bytes]], bytes], str | None]


def hot_get_check(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> str | None:
    got = (status, body.decode("latin-1"), dict(headers).get(b"content-type", b"").decode())
    return None if got == EXPECTED else f"wrong answer: {got}"


@dataclass(frozen=True)
class Request:
    """What the child sends (an ASGI scope and a body) and how its answer is checked."""

    name: str
    scope: dict
    body: bytes = b""
    check: Check = field(default=hot_get_check, compare=False)
    hits: int | None = 1  # the app's hit counter per request, when it has one


HOT_GET = Request("GET /get?key=key-0042", get_scope())


def from_spec(spec) -> Request:
    """A `kvbench.load.requests.RequestSpec` as the child sends it; no hit count is assumed."""
    return Request(spec.name, spec.scope(), spec.body, spec.check, hits=None)


@dataclass(frozen=True)
class Target:
    """One app and one request, imported from `path` (a checkout, then `--app-dir`s)."""

    app: str
    request: Request = HOT_GET
    path: tuple[Path, ...] = (PROJECT_ROOT,)
    python: str = sys.executable


@dataclass(frozen=True)
class Result:
    """The N, 2N and 3N totals of each repeat of one app, and the line through them."""

    requests: int
    totals: tuple[tuple[int, ...], ...]  # (I(N), I(2N), I(3N)) per repeat
    hits_checked: bool = True
    gc_collections: tuple[int, ...] = ()  # collections in each counted window

    @property
    def sizes(self) -> list[int]:
        return [self.requests * m for m in MULTIPLES[: len(self.totals[0])]]

    @property
    def fits(self) -> list[tuple[float, float]]:
        return [fit(self.sizes, list(totals)) for totals in self.totals]

    @property
    def values(self) -> list[float]:
        return [slope for slope, _ in self.fits]

    @property
    def intercepts(self) -> list[float]:
        return [intercept for _, intercept in self.fits]

    @property
    def residual_pct(self) -> float:
        """The largest miss of a count from its line, as a share of the requests' part."""
        worst = 0.0
        for (slope, intercept), totals in zip(self.fits, self.totals, strict=True):
            for n, total in zip(self.sizes, totals, strict=True):
                worst = max(worst, abs(total - intercept - slope * n) / (slope * n))
        return worst * 100

    @property
    def spread_pct(self) -> float:
        """(max - min) / median of the per-request values, in percent."""
        values = self.values
        return (max(values) - min(values)) / statistics.median(values) * 100

    @property
    def fixed_cost_spread(self) -> int:
        """How much the intercept (start-up, warm-up, exit) moved across repeats."""
        return round(max(self.intercepts) - min(self.intercepts))

    def to_json(self) -> dict:
        return {
            "slope": [round(v, 3) for v in self.values],
            "intercept": [round(a) for a in self.intercepts],
            "residual_pct": round(self.residual_pct, 4),
            "spread_pct": round(self.spread_pct, 4),
            "fixed_cost_spread": self.fixed_cost_spread,
            "sizes": self.sizes,
            "totals": [list(totals) for totals in self.totals],
            "gc_collections": list(self.gc_collections),
            "hits_checked": self.hits_checked,
        }


def fit(sizes: list[int], totals: list[int]) -> tuple[float, float]:
    """Least squares: (slope, intercept) of the line through (size, total)."""
    mean_n, mean_i = statistics.fmean(sizes), statistics.fmean(totals)
    spread = sum((n - mean_n) ** 2 for n in sizes)
    slope = sum((n - mean_n) * (i - mean_i) for n, i in zip(sizes, totals, strict=True)) / spread
    return slope, mean_i - slope * mean_n


def valgrind() -> str | None:
    return shutil.which("valgrind")


def fixed_env(folder: Path, path: tuple[Path, ...] = (PROJECT_ROOT,)) -> dict[str, str]:
    """The whole environment of a counted process: the same for every run, on any machine.

    Bytecode comes from the measurement's own cache (PYTHONPYCACHEPREFIX), filled by one
    native run first: what a module loads from (source, or a .pyc some earlier tool wrote
    into __pycache__) moves the heap layout, and with it the count by up to ~0.2%.
    """
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": ":".join(str(p) for p in path),
        "PYTHONHASHSEED": str(HASH_SEED),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPYCACHEPREFIX": str(folder / "pycache"),
        "LANG": "C.UTF-8",
    }


def encode(value):
    """A scope as JSON: bytes as {"bytes": latin-1 text}, tuples as lists (the child decodes)."""
    if isinstance(value, bytes):
        return {"bytes": value.decode("latin-1")}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    return value


def write_request(target: Target, folder: Path) -> Path:
    path = folder / "request.json"
    request = {"scope": encode(target.request.scope), "body": target.request.body.decode("latin-1")}
    path.write_text(json.dumps(request))
    return path


def child(target: Target, folder: Path, requests: int, warmup: int) -> list[str]:
    # Fixed-width numbers: the counts' argv, and so their initial stack and heap layout,
    # have the same size (a different layout moves the count by up to ~0.3%). -P: the
    # worker's own folder is not put on sys.path.
    words = [target.python, "-P", str(WORKER), "--app", target.app]
    words += ["--request", str(folder / "request.json")]
    return words + ["--requests", f"{requests:09d}", "--warmup", f"{warmup:09d}"]


def command(tool: str, target: Target, folder: Path, requests: int, warmup: int) -> list[str]:
    out = f"--cachegrind-out-file={folder / f'{requests:09d}.cachegrind'}"
    return [tool, *VALGRIND_ARGS, out, *child(target, folder, requests, warmup)]


def prime(target: Target, folder: Path) -> None:
    """One native run first: checks the app's answer and compiles what the counts import."""
    write_request(target, folder)
    env = fixed_env(folder, target.path)
    del env["PYTHONDONTWRITEBYTECODE"]  # this run writes the cache the counted runs read
    done = subprocess.run(
        child(target, folder, 1, 1), env=env, cwd="/", capture_output=True, text=True
    )
    if done.returncode != 0:
        raise KvbenchError(f"{target.app}: the app failed outside valgrind\n{done.stderr[-2000:]}")
    check(json.loads(done.stdout.strip().splitlines()[-1]), 1, target)


def parse_total(text: str) -> int:
    """The total instruction count of a cachegrind out file (its `summary:` line)."""
    found = re.search(r"^summary: (\d+)", text, re.MULTILINE)
    if not found:
        raise KvbenchError("the cachegrind file has no `summary:` line")
    return int(found.group(1))


def check(report: dict, requests: int, target: Target) -> None:
    """The answers must be right: the first one whole, the last one's status, every hit."""
    request = target.request
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in report["headers"]]
    mismatch = request.check(report["status"], headers, report["body"].encode("latin-1"))
    if mismatch:
        raise KvbenchError(f"{target.app} {request.name}: {mismatch}")
    if report["last_status"] != report["status"]:
        raise KvbenchError(
            f"{target.app} {request.name}: status {report['last_status']} in the counted "
            f"requests, {report['status']} at first"
        )
    seen = report["hits_in_window"]
    if request.hits is not None and seen is not None and seen != request.hits * requests:
        raise KvbenchError(f"{target.app}: the app counted {seen} hits for {requests} requests")


@contextmanager
def counting(tool: str, target: Target, folder: Path, requests: int, warmup: int) -> Iterator:
    """One counted process, started in its own group and stopped, whatever happens."""
    name = f"{requests:09d}"
    with open(folder / f"{name}.stdout", "wb") as out, open(folder / f"{name}.stderr", "wb") as err:
        process = subprocess.Popen(
            command(tool, target, folder, requests, warmup),
            env=fixed_env(folder, target.path), cwd="/",  # cwd changes hashes, so dict probes
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True,
            preexec_fn=child_setup,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.poll() is None:  # stopped early: an error, or Ctrl-C
                stop(process)


def collect(
    process: subprocess.Popen, target: Target, folder: Path, requests: int
) -> tuple[int, bool, int]:
    """The finished process's total, whether hits were checked, and its collections."""
    name = f"{requests:09d}"
    if process.wait() != 0:
        tail = (folder / f"{name}.stderr").read_text(errors="replace")[-2000:]
        raise KvbenchError(f"{target.app}: valgrind exited {process.returncode}\n{tail}")
    lines = (folder / f"{name}.stdout").read_text().strip().splitlines()
    report = json.loads(lines[-1])
    check(report, requests, target)
    total = parse_total((folder / f"{name}.cachegrind").read_text())
    return total, report["hits_in_window"] is not None, sum(report["gc_collections_in_window"])


def measure(
    tool: str,
    target: str | Target,
    requests: int = REQUESTS,
    repeats: int = REPEATS,
    warmup: int = WARMUP,
) -> Result:
    """`repeats` times the N, 2N and 3N counts, the three processes side by side."""
    if isinstance(target, str):
        target = Target(target)
    sizes = [requests * m for m in MULTIPLES]
    totals, checked, collected = [], True, []
    with tempfile.TemporaryDirectory(prefix="kvbench-instructions-") as tmp:
        folder = Path(tmp)
        prime(target, folder)
        for _ in range(repeats):
            with ExitStack() as stack:
                running = [stack.enter_context(counting(tool, target, folder, n, warmup))
                           for n in sizes]  # fmt: skip
                done = [collect(p, target, folder, n) for p, n in zip(running, sizes, strict=True)]
            totals.append(tuple(total for total, _, _ in done))
            checked = checked and all(hit for _, hit, _ in done)
            collected += [gcs for _, _, gcs in done]
    return Result(requests, tuple(totals), checked, tuple(collected))


def measure_services(tool: str, services: list[Service]) -> dict[str, Result]:
    """Each piece of in-process code once, under the first service's name that runs it."""
    return {s.name: measure(tool, s.app) for s in in_process_services(services)}


def estimate_s(services: list[Service]) -> float:
    return len(in_process_services(services)) * REPEATS * SECONDS_PER_REPEAT


def environment(tool: str, results: dict[str, Result]) -> dict:
    """What summary.json's environment records of the layer: the method and each app's fit."""
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "method": METHOD,
        "valgrind": version,
        "requests": REQUESTS,
        "sizes": [REQUESTS * m for m in MULTIPLES],
        "warmup": WARMUP,
        "repeats": REPEATS,
        "hash_seed": HASH_SEED,
        "services": {name: result.to_json() for name, result in results.items()},
    }
