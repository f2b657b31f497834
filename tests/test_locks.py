"""The three lock files agree with pyproject.toml: what each says comes straight from the
project is a direct dependency, and every direct dependency is locked, in each of them."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ["requirements.lock", "requirements-3.12.lock", "requirements-3.13.lock"]
PROJECT = "kvbench (pyproject.toml)"  # how uv's `# via` comments name the project itself


def canonical(name: str) -> str:
    """PEP 503's normalized name: case and runs of -, _ and . do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def direct() -> set[str]:
    """Every dependency pyproject.toml names, in any extra; the project's own name left out."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        found += extra
    names = {canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)[0]) for spec in found}
    return names - {canonical(project["name"])}


def locked(text: str) -> dict[str, set[str]]:
    """package -> what its `# via` comments name, for each pinned package of a lock."""
    packages: dict[str, set[str]] = {}
    current = None
    for line in text.splitlines():
        if pin := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
            current = canonical(pin[1])
            packages[current] = set()
        elif current and (via := re.match(r"\s+# (?:via)?\s+(\S.*)$", line)):
            packages[current].add(via[1].strip())
    return packages


def test_the_lock_parser_reads_one_line_and_many_line_via_comments():
    text = ("a-b==1 \\\n    --hash=sha256:00\n    # via kvbench (pyproject.toml)\n"
            "C_d==2\n    # via\n    #   a-b\n    #   kvbench (pyproject.toml)\n")  # fmt: skip
    assert locked(text) == {"a-b": {PROJECT}, "c-d": {"a-b", PROJECT}}


@pytest.mark.parametrize("lock", LOCKS)
def test_a_lock_agrees_with_pyproject(lock):
    packages = locked((ROOT / lock).read_text())
    from_project = {name for name, via in packages.items() if PROJECT in via}
    assert from_project - direct() == set(), f"{lock} says these come from the project"
    assert direct() - set(packages) == set(), f"{lock} does not lock these dependencies"
    assert direct() - from_project == set(), f"{lock} does not say these come from the project"
