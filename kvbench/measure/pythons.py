"""The services under every installed CPython: which interpreters, their venvs, their names.

Each interpreter (`3.11`, `3.12`, ...) is found on PATH or under pyenv and gets a venv of
its own made from its own lock (`make venv-other PY=...`: .venv-3.X). A service measured
under it is named `NAME@3.X` and its server is started by that venv's python; the
in-process layers run in a child of that python (`python -m kvbench.measure.pythons`),
where every tool the layers start is that interpreter's too.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from kvbench import KvbenchError
from kvbench.measure import instructions, suites
from kvbench.processes import PROJECT_ROOT, child_env
from kvbench.services import FRAMEWORK_FLOOR, PEERS, SERVICES, Service, in_process_services

VERSIONS = ("3.11", "3.12", "3.13")
REPEATS = instructions.REPEATS  # as every part: a spread needs at least 3 repeats
NAMES = ("unoptimized", "optimized", FRAMEWORK_FLOOR)
# What an interpreter says of itself: version, build, and whether the GIL is compiled out.
DESCRIBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({'executable': sys.executable, "
    "'version': sys.version, 'version_info': list(sys.version_info[:3]), "
    "'implementation': platform.python_implementation(), 'build': list(platform.python_build()), "
    "'compiler': platform.python_compiler(), "
    "'gil_disabled': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
    "'shared_libpython': bool(sysconfig.get_config_var('Py_ENABLE_SHARED'))}))"
)


@dataclass(frozen=True)
class Interpreter:
    minor: str  # "3.12"
    path: str  # the interpreter found, which makes the venv
    venv_python: str  # the venv's python, which runs the services

    def service(self, base: Service) -> Service:
        return replace(base, name=f"{base.name}@{self.minor}", python=self.venv_python)


def describe(python: str) -> dict | None:
    """The interpreter's own account of itself; None when it does not run."""
    try:
        done = subprocess.run([python, "-c", DESCRIBE], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return json.loads(done.stdout) if done.returncode == 0 else None


def pyenv_root() -> Path | None:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    found = shutil.which("pyenv")
    if not found:
        return None
    done = subprocess.run([found, "root"], capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def candidates(minor: str, root: Path | None) -> list[str]:
    """Where `minor` may be: python3.X on PATH, then pyenv's builds of it, newest first."""
    found = [path for path in [shutil.which(f"python{minor}")] if path]
    if root is not None:
        builds = glob.glob(str(root / "versions" / f"{minor}.*" / "bin" / f"python{minor}"))
        # "3.13.0t" is a free-threaded build: a different interpreter, not this minor's.
        builds = [b for b in builds if Path(b).parents[1].name.replace(".", "").isdigit()]
        found += sorted(builds, key=lambda b: [int(p) for p in Path(b).parents[1].name.split(".")],
                        reverse=True)  # fmt: skip
    return found


def find(minor: str, root: Path | None = None) -> str | None:
    """The first candidate that runs and says it is CPython `minor`; None if none does."""
    for path in candidates(minor, root):
        said = describe(path)
        if said and ".".join(map(str, said["version_info"][:2])) == minor:
            return said["executable"]
    return None


def discover(minors: list[str], root: Path | None = None, say=print) -> list[tuple[str, str]]:
    """(minor, interpreter) for each minor found; a note for each one missing."""
    found = []
    for minor in minors:
        path = find(minor, root)
        if path is None:
            say(f"note: Python {minor} is not installed (not on PATH, not under pyenv); skipped")
        else:
            found.append((minor, path))
    return found


def venv_python(minor: str) -> Path:
    return PROJECT_ROOT / f".venv-{minor}" / "bin" / "python"


def make_venv(minor: str, path: str) -> Interpreter:
    """The interpreter's venv from its lock, made or refreshed by make (a no-op when fresh)."""
    command = ["make", "--no-print-directory", "venv-other", f"PY={path}"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise KvbenchError(f"the venv for Python {minor} failed:\n{done.stderr[-2000:]}")
    return Interpreter(minor, path, str(venv_python(minor)))


def bases() -> list[Service]:
    """The services measured under each interpreter: both services and the framework floor."""
    floor = next(peer.service for peer in PEERS if peer.service.name == FRAMEWORK_FLOOR)
    return [SERVICES["unoptimized"], SERVICES["optimized"], floor]


def services(interpreters: list[Interpreter]) -> list[Service]:
    """Every base service under every interpreter, the first interpreter's first."""
    return [i.service(base) for i in interpreters for base in bases()]


def pairs(interpreters: list[Interpreter]) -> tuple[tuple[str, str], ...]:
    """Each service under a later interpreter against the same service under the first."""
    first, *later = interpreters
    return tuple((i.service(b).name, first.service(b).name) for i in later for b in bases())


# In the child: the in-process layers under this interpreter.
def in_process(quick: bool, cpu: int | None, folder: Path) -> dict:
    """Per base service: instructions, allocations and in-process time per request."""
    chosen = bases()
    samples: dict[str, dict[str, list[float]]] = {s.name: {} for s in chosen}
    tool = instructions.valgrind()
    found: dict = {"instructions": {}}
    if tool is not None:
        sizes = {"requests": 200, "repeats": 1, "warmup": 100} if quick else {"repeats": REPEATS}
        for service in in_process_services(chosen):
            result = instructions.measure(tool, service.app, **sizes)
            name = service.name
            samples[name]["asgi_instructions_per_op"] = result.values
            found["instructions"][name] = result.to_json()
    for name, counts in suites.allocations(chosen, quick).items():
        samples[name]["asgi_allocs_per_op"] = counts["allocs_per_op"]
        samples[name]["asgi_bytes_per_op"] = counts["bytes_per_op"]
    suites.asgi(folder / "asgi.json", chosen, True, cpu)  # pyperf's quick settings
    for name, values in suites.ns_per_op(folder / "asgi.json").items():
        samples[name.rstrip("]").partition("[")[2]]["asgi_ns_per_op"] = values
    return {"samples": samples, **found, "valgrind": bool(tool)}


def shown(said: dict, interpreter: Interpreter) -> dict:
    """An interpreter's account with its paths as a reader would type them, no machine's."""
    root = pyenv_root()
    path = interpreter.path
    if root is not None and path.startswith(str(root) + os.sep):
        path = "$(pyenv root)" + path[len(str(root)) :]
    elif os.sep in path:
        path = Path(path).name + " on PATH"
    return said | {"executable": f".venv-{interpreter.minor}/bin/python", "interpreter": path}


def run_in_process(
    interpreter: Interpreter, folder: Path, cpu: int | None, quick: bool = False
) -> dict:
    """The in-process layers in a child of the interpreter's venv python; its JSON."""
    out = folder / f"inprocess-{interpreter.minor}.json"
    command = [interpreter.venv_python, "-m", "kvbench.measure.pythons", "--out", str(out),
               "--folder", str(folder / interpreter.minor)]  # fmt: skip
    command += ([] if cpu is None else ["--cpu", str(cpu)]) + (["--quick"] if quick else [])
    (folder / interpreter.minor).mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=child_env())  # fmt: skip
    if done.returncode != 0:
        raise KvbenchError(f"in-process layers under {interpreter.minor}:\n{done.stderr[-2000:]}")
    found = json.loads(out.read_text())
    out.unlink()  # it names this machine's paths; summary.json keeps what it says
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbench.measure.pythons")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts")
    args = parser.parse_args(argv)
    found = in_process(args.quick, args.cpu, args.folder)
    found["python"] = describe(sys.executable)
    args.out.write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
