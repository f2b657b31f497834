"""Where profiles go, which tools make them, and how their text is made safe to commit."""

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT, child_env

PROFILES_DIR = PROJECT_ROOT / "bench-results" / "profiles"
# Every committed artifact stays under this. scalene's standalone page carries its own viewer
# (about 1.7 MB) around the profile, so that page holds only the lines with samples.
MAX_BYTES = 2_000_000


@dataclass
class Artifact:
    """One file a profiler made, with what it shows and exactly how it was made."""

    path: Path
    tool: str
    what: str
    commands: list[str]
    details: dict = field(default_factory=dict)


def tool(name: str) -> str:
    """A profiler's executable: next to this Python first (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise KvbenchError(f"{name} is not installed; run: pip install -e '.[profile]'")
    return found


def shown(word: str | Path) -> str:
    """A path as a reader should see it: relative to the repository when inside it."""
    text = str(word)
    if text == str(PROJECT_ROOT):
        return "."
    root = str(PROJECT_ROOT) + os.sep
    return text.replace(root, "") if root in text else text


def shown_command(command: list) -> str:
    return shlex.join(shown(word) for word in command)


def scrub(text: str) -> str:
    """Replace this machine's paths with repository-relative ones and `<python>`."""
    text = text.replace(str(PROJECT_ROOT) + os.sep, "").replace(str(PROJECT_ROOT), ".")
    return text.replace(sys.base_prefix + os.sep, "<python>/")


def short_path(filename: str) -> str:
    """A source file as py-spy names it: from its package down, or relative to the repository."""
    if "site-packages" + os.sep in filename:
        return filename.rpartition("site-packages" + os.sep)[2]
    stdlib = os.path.dirname(os.__file__) + os.sep
    return filename.removeprefix(stdlib) if filename.startswith(stdlib) else scrub(filename)


def scrub_file(path: Path) -> None:
    path.write_text(scrub(path.read_text(errors="replace")))


def check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise KvbenchError(
            f"{shown(path)} is {size / 1e6:.2f} MB, over the 2 MB limit; "
            "lower the sampling rate, the duration or the request count"
        )


def run_tool(command: list[str], what: str, cwd: Path, timeout: float = 600) -> str:
    """Run a profiler's command; its standard output, or a one-line error."""
    env = child_env()
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise KvbenchError(f"{what} did not finish within {timeout:.0f} s") from None
    if done.returncode:
        last = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1]
        raise KvbenchError(f"{what} failed ({done.returncode}): {last}")
    return done.stdout
