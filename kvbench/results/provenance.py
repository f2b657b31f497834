"""Which code a run measured, recorded in every summary.json and checked against the tree.

A run records the git revision and whether the tree was dirty, the interpreter, the lock
file's hash and the sha256 of every source file the measured servers and the load
generator are made of. `stale(run)` lists the files that changed since: `make docs-check`
(so `make test`) fails on any, so the committed results always describe the committed code.
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
    lock = lock_file(root=root)
    return Provenance(
        git_revision=revision.strip() if revision else None,
        git_dirty=bool(status.strip()) if status is not None else None,
        interpreter=python or interpreter(),
        lock_sha256=sha256(lock) if lock.is_file() else None,
        sources={name: sha256(root / name) for name in source_files(root)},
    )


def stale(recorded: Provenance, root: Path = ROOT) -> list[str]:
    """The source files that differ from what the run measured: changed, added or removed."""
    now = {name: sha256(root / name) for name in source_files(root)}
    changed = [f"changed: {n}" for n, h in recorded.sources.items() if n in now and now[n] != h]
    removed = [f"removed: {n}" for n in recorded.sources if n not in now]
    added = [f"added: {n}" for n in now if n not in recorded.sources]
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
