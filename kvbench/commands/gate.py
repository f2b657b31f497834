"""`kvbench gate --base REV`: fail when instructions or allocations per request grew since REV.

Both are counts, not times: the same code gives the same count on a busy machine, so a
shared CI runner cannot make the gate flake. REV is checked out in a temporary git
worktree (removed afterwards, also on Ctrl-C); each endpoint of the app is counted there
and in the working tree with the same driver, the same environment and paths of the same
length (a path's length moves the heap layout, and with it the count). Exit 0 when nothing
grew by more than --threshold percent, 1 when something did, when the measurement failed,
or when a tool it counts with is missing (valgrind for instructions, memray for
allocations) and --allow-missing does not name it; 2 for a usage error.
"""

import argparse
import contextlib
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.measure import instructions
from kvbench.measure.instructions import Request, Target

THRESHOLD_PCT = 2.0  # repeats on the same code agree within 0.3% (heap layout), see docs/11
N_INSTRUCTIONS, N_ALLOCATIONS, WARMUP = 1000, 1000, 200
DEFAULT_APP = "optimized=optimized.app:app"
METRICS = ("instructions per request", "allocations per request")
# What each count needs, and how to install it; a row whose tool is missing is not gated.
TOOLS = {
    "valgrind": (METRICS[0], instructions.INSTALL_HINT),
    "memray": (METRICS[1], "memray is not installed (pip install -r requirements.lock)"),
}


@dataclass(frozen=True)
class Row:
    metric: str
    endpoint: str
    base: float
    head: float
    missing: str = ""  # the tool that was not there to count it (allowed by --allow-missing)

    @property
    def change_pct(self) -> float:
        if self.base == 0:
            return 0.0 if self.head == 0 else float("inf")
        return (self.head - self.base) / self.base * 100


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--base", required=True, metavar="REV", help="the git revision to compare with")
    grew = f"fail when a count grew by more than PCT percent (default {THRESHOLD_PCT:g})"
    add("--threshold", type=float, default=THRESHOLD_PCT, metavar="PCT", help=grew)
    mine = "the app to count (default: the optimized service)"
    add("--app", default=DEFAULT_APP, metavar="NAME=MODULE:ATTR", help=mine)
    where = "put DIR on the import path (inside the repository: DIR at each revision)"
    add("--app-dir", type=Path, action="append", default=[], metavar="DIR", help=where)
    what = "the requests, a TOML file (default: the service's GET hit, GET miss and PUT)"
    add("--requests", type=Path, metavar="FILE", help=what)
    allow = "gate without TOOL's count (valgrind: instructions, memray: allocations), the table "
    allow += "saying which rows were not gated; without it, a missing tool fails the gate"
    add("--allow-missing", action="append", choices=TOOLS, default=[], metavar="TOOL", help=allow)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    name, target, requests = parse(args)
    missing = missing_tools(args.allow_missing)
    root = repository()
    revision = resolve(root, args.base)
    python = base_python(root, revision)
    say(f"gate: {name} ({target}) at {args.base} ({revision[:12]}) vs the working tree")
    with sides(root, revision) as (base_root, head_root):
        rows = []
        for request in requests:
            base = count(side(target, request, base_root, root, args.app_dir, python), missing)
            head = count(side(target, request, head_root, root, args.app_dir, sys.executable),
                         missing)  # fmt: skip
            rows += [
                Row(metric, request.name, b, h, missing.get(metric, ""))
                for metric, b, h in zip(METRICS, base, head, strict=True)
            ]
    print(table(rows))
    say(f"measured in {time.monotonic() - started:.0f} s")
    return verdict(rows, args.threshold)


def parse(args: argparse.Namespace) -> tuple[str, str, list[Request]]:
    if not args.threshold > 0:
        raise UsageError(f"--threshold must be above 0 percent, not {args.threshold}")
    name, sep, target = args.app.partition("=")
    if not sep or ":" not in target:
        raise UsageError(f"--app takes NAME=MODULE:ATTR, not {args.app!r}")
    if args.requests is None and args.app != DEFAULT_APP:
        raise UsageError("--app needs --requests FILE: the requests your app answers")
    return name, target, endpoints(args.requests)


def missing_tools(allowed: list[str]) -> dict[str, str]:
    """metric -> the missing tool that counts it, each one allowed; a KvbenchError with the
    install line for a missing tool that is not, and when nothing would be left to gate."""
    found = {"valgrind": instructions.valgrind() is not None,
             "memray": importlib.util.find_spec("memray") is not None}  # fmt: skip
    missing = {}
    for tool, (metric, hint) in TOOLS.items():
        if found[tool]:
            continue
        if tool not in allowed:
            raise KvbenchError(f"{hint}: the gate cannot count {metric}; install it, or pass "
                               f"--allow-missing {tool} to gate without it")  # fmt: skip
        missing[metric] = tool
    if len(missing) == len(TOOLS):
        raise KvbenchError("neither valgrind nor memray is installed: nothing to gate")
    return missing


def endpoints(path: Path | None) -> list[Request]:
    from kvbench.load.requests import load_requests, service_requests

    specs = service_requests("optimized") if path is None else load_requests(path)
    return [instructions.from_spec(spec) for spec in specs]


def git(root: Path, *argv: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise KvbenchError(f"git {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout.strip()


def repository() -> Path:
    try:
        return Path(git(Path.cwd(), "rev-parse", "--show-toplevel"))
    except KvbenchError:
        raise UsageError("kvbench gate runs inside a git checkout") from None


def resolve(root: Path, rev: str) -> str:
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except KvbenchError:
        raise UsageError(f"--base {rev!r} is not a commit of {root.name}") from None


def base_python(root: Path, revision: str) -> str:
    """This venv's Python, when the base locks the same packages; else a clear refusal."""
    lock = root / "requirements.lock"
    here = lock.read_text() if lock.exists() else ""
    try:
        there = git(root, "show", f"{revision}:requirements.lock")
    except KvbenchError:
        there = ""
    if here.strip() != there.strip():
        raise KvbenchError(
            "requirements.lock differs at the base revision: its counts would measure other "
            "package versions too. Gate against a revision with the same lock, or land the "
            "lock change on its own first."
        )
    return sys.executable


@contextlib.contextmanager
def sides(root: Path, revision: str) -> Iterator[tuple[Path, Path]]:
    """REV in a temporary worktree beside a link to the working tree: paths of one length."""
    with tempfile.TemporaryDirectory(prefix="kvbench-gate-") as tmp:
        base, head = Path(tmp) / "base", Path(tmp) / "head"
        head.symlink_to(root)
        git(root, "worktree", "add", "--quiet", "--detach", str(base), revision)
        try:
            yield base, head
        finally:  # also on Ctrl-C and errors
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(base)],
                           capture_output=True)  # fmt: skip
            subprocess.run(["git", "-C", str(root), "worktree", "prune"], capture_output=True)


def side(
    app: str, request: Request, checkout: Path, root: Path, app_dirs: list[Path], python: str
) -> Target:
    """The app imported from `checkout`; an --app-dir inside the repository follows it."""
    path = [checkout]
    for folder in app_dirs:
        full = folder.resolve()
        path.append(checkout / full.relative_to(root) if full.is_relative_to(root) else full)
    return Target(app, request, tuple(path), python)


def count(target: Target, missing: dict[str, str]) -> tuple[float, float]:
    """Instructions per request (valgrind) and allocations per request (memray); NaN for a
    count whose tool is `missing`."""
    nan = float("nan")
    found = nan if METRICS[0] in missing else instruction_count(target)
    return found, nan if METRICS[1] in missing else allocations(target)


def instruction_count(target: Target) -> float:
    tool = instructions.valgrind()
    if tool is None:  # it was there when the gate started
        raise KvbenchError(instructions.INSTALL_HINT)
    result = instructions.measure(tool, target, N_INSTRUCTIONS, repeats=1, warmup=WARMUP)
    if result.residual_pct > 0.5:
        say(f"note: {target.request.name}: the fit misses by {result.residual_pct:.2f}%")
    return result.values[0]


def allocations(target: Target) -> float:
    """memray, Python's allocators traced, around N requests of the same child."""
    import memray

    frees = {memray.AllocatorType.FREE, memray.AllocatorType.PYMALLOC_FREE,
             memray.AllocatorType.MUNMAP}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kvbench-gate-allocs-") as tmp:
        folder = Path(tmp)
        instructions.write_request(target, folder)
        argv = instructions.child(target, folder, N_ALLOCATIONS, WARMUP)
        argv += ["--allocs", str(folder / "allocs.bin")]
        env = instructions.fixed_env(folder, target.path)
        done = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True)
        if done.returncode != 0:
            raise KvbenchError(f"{target.app}: the allocation count failed\n{done.stderr[-2000:]}")
        instructions.check(json.loads(done.stdout.splitlines()[-1]), N_ALLOCATIONS, target)
        with memray.FileReader(folder / "allocs.bin") as reader:
            records = reader.get_allocation_records()
            allocs = sum(r.n_allocations for r in records if r.allocator not in frees)
    return allocs / N_ALLOCATIONS


def table(rows: list[Row]) -> str:
    head = ("metric", "endpoint", "base", "head", "change")
    cells = [head] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(head))]
    lines = []
    for line in cells:
        left = [cell.ljust(w) for cell, w in zip(line[:2], widths, strict=False)]
        right = [cell.rjust(w) for cell, w in zip(line[2:], widths[2:], strict=True)]
        lines.append("  ".join(left + right))
    return "\n".join(lines)


def _cells(r: Row) -> tuple[str, ...]:
    if r.missing:
        return (r.metric, r.endpoint, "-", "-", f"not gated: no {r.missing}")
    return (r.metric, r.endpoint, f"{r.base:,.1f}", f"{r.head:,.1f}", f"{r.change_pct:+.2f}%")


def verdict(rows: list[Row], threshold: float) -> int:
    """1 when any count grew by more than `threshold` percent, each one named, or when a count
    is missing that no --allow-missing explains; else 0, naming the rows not gated."""
    gated = [r for r in rows if not r.missing]
    lost = [r for r in gated if not (math.isfinite(r.base) and math.isfinite(r.head))]
    worse = [r for r in gated if r not in lost and r.change_pct > threshold]
    for r in lost:
        say(f"error: {r.metric}, {r.endpoint}: not counted ({r.base} -> {r.head})")
    for r in worse:
        say(f"regression: {r.metric}, {r.endpoint}: {r.base:,.1f} -> {r.head:,.1f} "
            f"({r.change_pct:+.2f}%, over the {threshold:g}% threshold)")  # fmt: skip
    skipped = sorted({f"{r.metric} (no {r.missing}, --allow-missing {r.missing})"
                      for r in rows if r.missing})  # fmt: skip
    if skipped:
        say(f"note: not gated: {'; '.join(skipped)}")
    if not worse and not lost:
        only = f" ({len(gated)} of {len(rows)} rows gated)" if skipped else ""
        say(f"gate passed: no count grew by more than {threshold:g}%{only}")
    return 1 if worse or lost else 0


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
