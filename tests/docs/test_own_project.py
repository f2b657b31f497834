"""examples/own-project, the reader's own project of docs/10 and docs/11, read without running it.

Its workflow runs only in a reader's repository: here its gate line is parsed by the gate's
own parser, and the files it names are read as the gate reads them. The project's bench run,
in a venv of its own, is tests/docs/own-project.sh (through test_commands.py).
"""

import argparse
import ast
import re
import shlex
import sys
import tomllib
from pathlib import Path

from kvbench.commands import gate

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "own-project"
WORKFLOW = PROJECT / ".github" / "workflows" / "kvbench-gate.yml"


def run_lines(text: str) -> list[str]:
    """The shell lines of a workflow's `run:` steps, one-line (`run: X`) and block (`run: |`)."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        head, sep, value = line.strip().partition("run: ")
        if not sep or head not in ("", "- "):
            continue
        if value.strip() != "|":
            found.append(value.strip())
            continue
        indent = len(line) - len(line.lstrip())
        for body in lines[i + 1 :]:
            if body.strip() and len(body) - len(body.lstrip()) <= indent:
                break
            found += [body.strip()] if body.strip() else []
    return found


def gate_args() -> argparse.Namespace:
    lines = [line for line in run_lines(WORKFLOW.read_text()) if line.startswith("kvbench gate ")]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0].replace("${{ github.base_ref }}", "main"))
    parser = argparse.ArgumentParser()
    gate.configure(parser)
    return parser.parse_args(words[2:])


def test_run_lines_reads_one_line_and_block_steps():
    lines = ["    steps:", "      - run: a b", "      - name: x", "        run: |",
             "          c", "", "          d", "      - name: y", "        run: e"]  # fmt: skip
    text = "\n".join(lines)
    assert run_lines(text) == ["a b", "c", "d", "e"]


def test_the_workflow_gates_the_app_against_the_base_branch_on_its_request_file():
    args = gate_args()
    assert args.base == "origin/main" and args.allow_missing == []  # both counts gated
    args.requests = PROJECT / args.requests  # the workflow runs from the project's root
    _, target, requests = gate.parse(args)  # reads and checks the request file
    module = target.partition(":")[0]
    assert (PROJECT / f"{module.replace('.', '/')}.py").is_file()
    assert [r.name for r in requests][:3] == ["GET /items/1", "GET /items/9", "POST /quote"]


def test_the_workflow_installs_what_the_gate_counts_with():
    text = WORKFLOW.read_text()
    assert "fetch-depth: 0" in text  # the gate checks the base branch out of the clone
    words = [word for line in run_lines(text) for word in shlex.split(line)]
    assert "valgrind" in words  # instructions; memray (allocations) comes with kvbench[bench]
    assert "requirements.txt" in words
    assert any(re.fullmatch(r"kvbench\[bench\] @ git\+https://\S+", word) for word in words)


def test_the_apps_imports_are_in_its_requirements():
    tree = ast.parse((PROJECT / "app.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}  # fmt: skip
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}  # fmt: skip
    lines = (PROJECT / "requirements.txt").read_text().splitlines()
    required = {re.split(r"[<>=!~\[; ]", line.strip())[0].lower() for line in lines
                if line.strip() and not line.startswith("#")}  # fmt: skip
    assert imported - set(sys.stdlib_module_names) <= required
    assert "msgspec" in required  # the point of the example: a package kvbench does not bring
    project = tomllib.loads((PROJECT.parents[1] / "pyproject.toml").read_text())["project"]
    brought = project["dependencies"] + project["optional-dependencies"]["bench"]
    assert not [spec for spec in brought if spec.lower().startswith("msgspec")]
