"""Where results go: the committed reference run, and your own runs beside it, never mixed.

    bench-results/                   the reference: what the docs and reports quote (committed)
    bench-results/runs/<UTC time>/   one run of yours, laid out like the reference (git-ignored)
    bench-results/runs/latest        a symlink to the run written last

A run holds the main files at its top (`kvbench bench`) and a folder for each part
another command wrote into it (`ladder/`, `peers/`, `profiles/` and the rest of PARTS).
`promote` makes a run the reference. An installed kvbench (no checkout around it) keeps
them in the current directory's bench-results/, not in site-packages.
"""

import datetime
import os
import shutil
import tomllib
from pathlib import Path

from kvbench import PROJECT_ROOT, KvbenchError
from kvbench.catalog import experiments


def is_checkout(root: Path) -> bool:
    """Whether `root` is a checkout of this repository: its pyproject.toml names kvbench."""
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text()).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return project.get("name") == "kvbench"


def reference_folder(root: Path = PROJECT_ROOT, cwd: Path | None = None) -> Path:
    """The checkout's bench-results/; installed (root is site-packages), the current
    directory's, so that a reader's runs land where they ran kvbench."""
    return (root if is_checkout(root) else cwd or Path.cwd()) / "bench-results"


REFERENCE = reference_folder()
NEW, LATEST = "new", "latest"
# The parts of a results folder beside its main files, and the file that says a part is whole.
PARTS = experiments.parts()
# Made from a run's data by the reports (and `live/` by attaching to a process): promotion
# regenerates the first and leaves the second in the run.
NOT_PROMOTED = ("REPORT.md", "plots", "live")
# Another folder for your runs than bench-results/runs/: the test suite sets it to a temporary
# one, so that no test writes into the checkout or moves your `latest`.
RUNS_ENV = "KVBENCH_RUNS"
NO_RUN = "no run of yours yet: `make bench` makes one (`make bench TRIALS=2` a short one)"


def runs_folder(reference: Path = REFERENCE) -> Path:
    """Where the runs beside `reference` are: its runs/, or $KVBENCH_RUNS beside the reference."""
    elsewhere = os.environ.get(RUNS_ENV)
    return Path(elsewhere) if elsewhere and reference == REFERENCE else reference / "runs"


def stamp(now: datetime.datetime | None = None) -> str:
    """A new run's name: its start in UTC, `20261127T101500Z`, which sorts by time."""
    return (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")


def start(run: str = NEW, reference: Path = REFERENCE) -> Path:
    """The folder `--run RUN` writes into, created, with `latest` pointing at it.

    RUN is `new` (a new folder named by the time), `latest` (the run written last, or a
    new one when there is none) or the name of a run folder, made if absent.
    """
    runs = runs_folder(reference)
    if run == LATEST and (runs / LATEST).is_dir():
        folder = (runs / LATEST).resolve()
    elif run in (NEW, LATEST):
        folder = _new_folder(runs)
    else:
        folder = runs / _checked_name(run)
        folder.mkdir(parents=True, exist_ok=True)
    _point_latest(folder)
    return folder


def _new_folder(runs: Path) -> Path:
    runs.mkdir(parents=True, exist_ok=True)
    name, count = stamp(), 1
    while True:  # two runs started within one second get -2, -3, ...
        folder = runs / (name if count == 1 else f"{name}-{count}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            count += 1


def _checked_name(run: str) -> str:
    if not run or run in (".", "..") or "/" in run or os.sep in run:
        raise KvbenchError(f"--run takes new, latest or a run's folder name, not {run!r}")
    return run


def _point_latest(folder: Path) -> None:
    """Swap the symlink in one rename, relative so the checkout can move."""
    link = folder.parent / LATEST
    temporary = folder.parent / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name)
    os.replace(temporary, link)


def find(run: str = LATEST, reference: Path = REFERENCE) -> Path:
    """An existing run to read: `latest`, a run folder's name, or any folder's path."""
    runs = runs_folder(reference)
    if run == LATEST:
        if not (runs / LATEST).is_dir():
            raise KvbenchError(f"{NO_RUN}; the reference alone: kvbench compare {shown(reference)}")
        return (runs / LATEST).resolve()
    folder = Path(run) if ("/" in run or os.sep in run) else runs / run
    if not folder.is_dir():
        known = sorted(p.name for p in runs.glob("*") if p.is_dir() and p.name != LATEST)
        raise KvbenchError(f"no run {run!r}; runs: {', '.join(known) or 'none'}")
    return folder.resolve()


def parts(folder: Path) -> list[str]:
    """What a results folder holds whole: `main` (its summary.json) and each part's name."""
    found = ["main"] if (folder / "summary.json").is_file() else []
    return found + [part for part, marker in PARTS.items() if (folder / part / marker).is_file()]


def promote(run: Path, reference: Path = REFERENCE) -> list[str]:
    """Copy every part a run holds into the reference, each replacing that part; the parts."""
    if run.resolve() == reference.resolve():
        raise KvbenchError(f"{shown(run)} is the reference itself; name a run to promote")
    found = parts(run)
    if not found:
        raise KvbenchError(f"{shown(run)}: nothing to promote (no summary.json, ladder/, peers/ "
                           "or profiles/ that a finished command wrote)")  # fmt: skip
    for part in found:
        if part == "main":
            _replace_main(run, reference)
        else:
            shutil.rmtree(reference / part, ignore_errors=True)
            ignore = shutil.ignore_patterns(*NOT_PROMOTED)
            shutil.copytree(run / part, reference / part, ignore=ignore)
    return found


def _replace_main(run: Path, reference: Path) -> None:
    """The main files are the files at the top: the run's replace the reference's."""
    for old in reference.iterdir():
        if old.is_file() and old.name not in NOT_PROMOTED:
            old.unlink()
    for new in run.iterdir():
        if new.is_file() and new.name not in NOT_PROMOTED:
            shutil.copy2(new, reference / new.name)


def shown(path: Path) -> str:
    """A path as typed from the current folder when it lies inside it, else as it is."""
    try:
        return Path(path).absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
