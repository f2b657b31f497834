"""Which code a run measured, recorded in every summary.json and checked against the tree.

A run records the git revision, the tracked files that were dirty, the interpreter, and the
sha256 of every file that shaped its numbers:

- every file under SOURCES (the apps the servers run, the generator, the servers' runtime,
  how each is served): the servers import them in processes of their own;
- every file of `kvbench/` the harness itself had imported when it wrote the summary
  (`sys.modules`, not a hand list: the statistics, the checks, the trial loop), except the
  packages that only present what the summary already holds (PRESENTATION);
- every lock file, so a changed pin is a changed measurement.

`stale(run)` lists the files that changed since: `make docs-check` (so `make test`) fails on
any, naming the part and the file, so the committed results always describe the committed
code. A dirty tree is allowed when the run listed its dirty files: each one that shaped a
number is hashed like any other, so it passes only if the tree now holds what was measured.
The interpreter is recorded, not compared: it is not in the tree.
"""

import hashlib
import json
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

from kvbench.results.model import SCHEMA, Provenance

ROOT = Path(__file__).resolve().parents[2]
# What a result depends on: the apps (the services, every ladder rung and peer), the
# harness's load generator, the runtime the servers import, and how each is served.
SOURCES = (
    "unoptimized",
    "optimized",
    "ladder",
    "peers",
    "kvbench/load",
    "kvbench/runtime",
    "kvbench/services.py",
)
LOCK = "requirements.lock"
LOCKS = "requirements*.lock"  # every interpreter's: a part may run several (pythons)
PRESENTATION = ("kvbench/report", "kvbench/docgen")  # they write what a summary holds


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(*args: str, root: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def source_files(root: Path = ROOT) -> list[str]:
    """The tracked files under SOURCES (every .py file there outside a git checkout)."""
    listed = _git("ls-files", "-z", "--", *SOURCES, root=root)
    if listed is not None:
        names = [name for name in listed.split("\0") if name]
    else:
        names = [str(p.relative_to(root)) for s in SOURCES for p in (root / s).rglob("*.py")]
        names += [s for s in SOURCES if s.endswith(".py") and (root / s).is_file()]
    return sorted(name for name in set(names) if (root / name).is_file())


def imported(root: Path = ROOT) -> list[str]:
    """The files of `kvbench/` this process has imported, outside PRESENTATION."""
    package = (root / "kvbench").resolve()
    names = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            continue
        path = Path(file).resolve()
        if path.is_relative_to(package):
            name = path.relative_to(root.resolve()).as_posix()
            if not name.startswith(PRESENTATION):
                names.add(name)
    return sorted(names)


def measured_files(root: Path = ROOT) -> list[str]:
    """Everything a run started now depends on: SOURCES, what it imported, the locks."""
    locks = [p.name for p in root.glob(LOCKS) if p.is_file()]
    return sorted(set(source_files(root)) | set(imported(root)) | set(locks))


def interpreter() -> dict:
    return {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "sys_version": sys.version,
    }


def lock_file(version: tuple[int, int] = sys.version_info[:2], root: Path = ROOT) -> Path:
    """The lock of this interpreter's minor version, where there is one of its own."""
    own = root / f"requirements-{version[0]}.{version[1]}.lock"
    return own if own.is_file() else root / LOCK


def collect(root: Path = ROOT, python: dict | None = None) -> Provenance:
    """The provenance of a run started now, from this tree."""
    revision = _git("rev-parse", "HEAD", root=root)
    status = _git("status", "--porcelain", "--untracked-files=no", root=root)
    dirty = [line[3:] for line in status.splitlines() if line.strip()] if status else []
    lock = lock_file(root=root)
    return Provenance(
        git_revision=revision.strip() if revision else None,
        git_dirty=bool(dirty) if status is not None else None,
        interpreter=python or interpreter(),
        lock_sha256=sha256(lock) if lock.is_file() else None,
        sources={name: sha256(root / name) for name in measured_files(root)},
        dirty_files=dirty if status is not None else None,
    )


def stale(recorded: Provenance, root: Path = ROOT) -> list[str]:
    """The files that differ from what the run measured: changed, removed, or added under
    SOURCES (a new rung or peer; a new harness module the run never imported shaped nothing).
    """
    now = {n: sha256(root / n) for n in set(recorded.sources) if (root / n).is_file()}
    changed = [f"changed: {n}" for n, h in recorded.sources.items() if n in now and now[n] != h]
    removed = [f"removed: {n}" for n in recorded.sources if n not in now]
    added = [f"added: {n}" for n in source_files(root) if n not in recorded.sources]
    return sorted(changed) + sorted(removed) + sorted(added)


def committed_problems(results: Path, root: Path = ROOT) -> list[str]:
    """One line per committed summary whose recorded sources differ from today's files.

    Summaries written before provenance existed (schema < 3) cannot be checked and are
    left out; the docs say which parts those are. Any summary with provenance is checked,
    a run's or another measurement's (the hostile clients').
    """
    problems = []
    for path in sorted(results.rglob("summary.json")):
        if path.relative_to(results).parts[0] in ("runs", "tmp"):
            continue  # your own runs, not the committed reference
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "provenance" not in data:
            continue
        recorded = Provenance.from_json(data["provenance"], f"{path}: provenance")
        differ = stale(recorded, root)
        if differ:
            shown = ", ".join(differ[:3]) + (
                f" and {len(differ) - 3} more" if len(differ) > 3 else ""
            )
            problems.append(
                f"{path.relative_to(root)}: measured other code than this tree's "
                f"({shown}); rerun that part and promote it"
            )
    return problems


def header() -> dict:
    """The start of every summary.json a run writes: schema, environment and provenance."""
    from kvbench.results import files  # pyperf and numpy: only when a run writes

    return {"schema": SCHEMA, "environment": files.environment(), "provenance": collect().to_json()}
