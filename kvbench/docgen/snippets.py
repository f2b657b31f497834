"""Code in the docs, taken from the repository: whole files, named regions, diffs, commands.

A region is marked in a source file by comment lines `# region NAME` and `# endregion NAME`;
other region markers inside it are left out of the snippet.
"""

import difflib
import re
import textwrap
from pathlib import Path

from kvbench import KvbenchError
from kvbench.catalog.ladder import RUNGS
from kvbench.services import get_service

REGION = re.compile(r"^\s*# (end)?region (?P<name>[\w-]+)\s*$")
LANGUAGES = {".py": "python", ".toml": "toml", ".sh": "sh", ".md": "markdown", ".json": "json"}
NAMED = {"Makefile": "make", "run": "sh"}


def source(root: Path, ref: str) -> tuple[str, list[str]]:
    """`PATH` or `PATH#REGION` under `root`: the display path and the lines it names."""
    path, _, region = ref.partition("#")
    file = root / path
    if not file.is_file() or not file.resolve().is_relative_to(root.resolve()):
        raise KvbenchError(f"{path}: no such file in the repository")
    lines = file.read_text(encoding="utf-8").splitlines()
    if region:
        lines = _region(lines, region, path)
    kept = [line for line in lines if not REGION.match(line)]
    text = textwrap.dedent("\n".join(kept)).strip("\n")  # a nested function reads flush left
    return path, text.split("\n")


def _region(lines: list[str], name: str, path: str) -> list[str]:
    marks = [(i, m) for i, line in enumerate(lines) if (m := REGION.match(line))]
    starts = [i for i, m in marks if m["name"] == name and not m[1]]
    ends = [i for i, m in marks if m["name"] == name and m[1]]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise KvbenchError(f"{path}: no single `# region {name}` ... `# endregion {name}`")
    return lines[starts[0] + 1 : ends[0]]


def fence(text: str, language: str = "") -> str:
    """A fenced code block; the fence grows if the text holds backticks itself."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{language}\n{text.rstrip(chr(10))}\n{ticks}"


def include(root: Path, ref: str) -> str:
    path, lines = source(root, ref)
    language = NAMED.get(Path(path).name) or LANGUAGES.get(Path(path).suffix, "")
    return fence("\n".join(lines), language)


def diff(root: Path, old_ref: str, new_ref: str) -> str:
    """A unified diff of two files or regions, as `diff -u` would print it."""
    old_path, old = source(root, old_ref)
    new_path, new = source(root, new_ref)
    lines = difflib.unified_diff(old, new, old_ref, new_ref, lineterm="")
    text = "\n".join(lines)
    if not text:
        raise KvbenchError(f"{old_path} and {new_path} do not differ")
    return fence(text, "diff")


def commands(names: list[str]) -> str:
    """The server command of each named service, as a reader types it, with what it is."""
    said = {rung.name: rung.change for rung in RUNGS}
    lines = []
    for name in names:
        service = get_service(name)
        words = ["python", *service.command("127.0.0.1", 8000)[1:]]
        lines += [f"# {name}: {said.get(name, 'as benchmarked')}", " ".join(words)]
    return fence("\n".join(lines), "sh")
