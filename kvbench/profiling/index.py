"""The generated README of bench-results/profiles/: what each file is and how it was made."""

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from kvbench.catalog import ladder
from kvbench.profiling.artifacts import Artifact, tool
from kvbench.services import SERVICES

MANIFEST = "manifest.kvbench.json"

METHOD = """\
How they were made (py-spy 0.4, scalene 2.x and memray, all from the project's venv):

- **py-spy** records the real server under load. uvicorn runs as py-spy's child (so no
  ptrace attach is needed), pinned to CPU 0; the built-in load generator and py-spy
  itself run on CPU 1. py-spy samples from the server's start, so its imports show as a
  small separate tower; it stops (SIGINT) right after the load (1 s warm-up, then the
  measured seconds). Each view is its own run under the same load. granian runs the app
  in a worker process of its own, so py-spy follows it there (`--subprocesses`).
  - `cpu.*` use `--gil`: only the thread holding the GIL, the one running Python. Without
    it, py-spy counts every *runnable* thread as active, and under contention the woken
    thread-pool workers waiting for the CPU and the GIL would fill the CPU view. The
    shares are of wall-clock samples taken while a thread held the GIL, not of CPU time:
    a system call made with the GIL held (uvloop's socket writes) counts as the Python
    frame that made it.
  - `native.speedscope.json` is the same view with `--native`: the C frames below each
    Python frame (uvloop, the socket calls), so time under a Python frame has a name.
  - `blocking.pyspy.svg` uses `--idle --threads`: every thread in every sample, running or
    waiting (on a lock, on the GIL, or for work), one tower per thread: the analog of
    Go's blocking profile. `--gil` would hide exactly the waiting threads, so it is off.
- **scalene** and **memray** drive the app in-process with `kvbench/workers/asgi_loop.py`: a
  warm-up of 500 GETs of `key-0042`, then the measured GETs, each answer checked.
  scalene profiles only the measured part (`--off`, then `scalene_profiler.start()`), for
  at least 3 s, with the whole repository as its program path and the loop itself left
  out. It charges time spent inside libraries it does not profile (Starlette, anyio,
  asyncio) to the project line that called them, mostly `await app(...)` in
  `kvbench/workers/inprocess.py`; it rarely catches the naive handler, which runs in pool threads in
  bursts of microseconds; and, being signal-based, it can put a sample one line off (on
  a `raise` that never runs, say). The py-spy stacks show what happens below those lines.
- **memray** tracks the measured requests with
  `memray.Tracker(path, trace_python_allocators=True)`, so pymalloc's small objects count.
  `allocs.memray.json` counts allocation events (malloc, calloc, realloc and their pymalloc
  forms; frees excluded) divided by the number of measured requests, by innermost frame
  and by the service's own line that led to them. The flamegraph shows allocations freed
  within 100,000 later ones, i.e. the per-request churn. The capture (`.bin`) is not kept;
  the page loads its scripts from a CDN.

`make profile` makes every view of `unoptimized` and `optimized`; `make profile-ladder`
(`--ladder`) makes the CPU view of every rung of docs/04, which the docs read their
before/after tables from.

Profiles are qualitative: sampling slows a server (a thread-pool server most), so read
shapes and shares, not speeds; throughput is measured elsewhere, without a profiler.
"""


def versions() -> dict:

    def version_of(command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        found = re.search(r"\d+\.\d+[\w.]*", done.stdout)
        return found.group(0) if found else "?"

    return {
        "python": platform.python_version(),
        "py-spy": version_of([tool("py-spy"), "--version"]),
        "scalene": version_of([sys.executable, "-m", "scalene", "--version"]),
        "memray": metadata.version("memray"),
    }


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "load_average_1m_at_start": load and round(load[0], 2)}


def write_manifest(service_dir: Path, service: str, artifacts: list[Artifact], meta: dict) -> None:
    """Record this run's files, keeping entries of files it did not remake."""
    path = service_dir / MANIFEST
    old = json.loads(path.read_text()).get("files", []) if path.exists() else []
    files = {entry["name"]: entry for entry in old}
    for artifact in artifacts:
        entry = asdict(artifact) | {"name": artifact.path.name}
        del entry["path"]
        files[artifact.path.name] = entry
    manifest = {"service": service, **meta, "files": sorted(files.values(), key=_order)}
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def _order(entry: dict) -> tuple:
    ranks = ("cpu.pyspy", "cpu.speedscope", "native", "blocking", "lines", "allocs")
    name = entry["name"]
    return next((i for i, r in enumerate(ranks) if name.startswith(r)), len(ranks)), name


def how(entry: dict) -> str:
    """The sampling rate, duration and load, or the request count, in a few words."""
    d = entry["details"]
    if "rate_hz" in d and "load_s" in d:
        return f"{d['rate_hz']} Hz, {d['load_s']:g} s of load, {d.get('samples')} samples"
    if "rate_hz" in d:
        return f"{d['rate_hz']} Hz for {d['duration_s']} s, attached to pid {d['pid']}"
    text = f"{d['requests']} requests in-process"
    text += f" in {d['seconds']:g} s" if "seconds" in d else ""
    return text + (f", {d['per_request']} allocations/request" if "per_request" in d else "")


def load_line(entry: dict) -> str:
    d, load = entry["details"], entry["details"].get("load") or {}
    pinned = "server on CPU 0, load and py-spy on CPU 1" if d.get("pinned") else "not pinned"
    rate = load.get("throughput")
    return (
        f"`{entry['name']}`: {d['connections']} connections, {load.get('warmup_s', 0):g} s "
        f"warm-up + {d['load_s']:g} s ({pinned}); {load.get('requests')} requests answered in "
        f"the measured window, {load.get('errors')} errors, "
        f"{rate and round(rate)} requests/s under the profiler; "
        f"{d.get('served')} requests counted by the server in all"
    )


def section(manifest: dict) -> list[str]:
    name, files = manifest["service"], manifest["files"]
    lines = [f"## {name}", "", f"Made {manifest['date']}; {json.dumps(manifest['machine'])}.", ""]
    lines += ["| file | tool | what it shows | how |", "| --- | --- | --- | --- |"]
    for e in files:
        link = f"[{e['name']}]({name}/{e['name']})"
        lines.append(f"| {link} | {e['tool']} | {e['what']} | {how(e)} |")
    loads = [load_line(e) for e in files if "load_s" in e["details"]]
    lines += ["", "Load per py-spy run:", "", *[f"- {line}" for line in loads]] if loads else []
    commands = list(dict.fromkeys(c for e in files for c in e["commands"]))
    return [*lines, "", "Commands, in order:", "", "```sh", *commands, "```", ""]


def write_readme(root: Path) -> Path:
    """The index of every service directory under `root` that has a manifest."""
    manifests = [json.loads(p.read_text()) for p in sorted(root.glob(f"*/{MANIFEST}"))]
    known = list(dict.fromkeys([*SERVICES, *ladder.NAMES]))
    manifests.sort(key=lambda m: known.index(m["service"]) if m["service"] in known else 99)
    versions_line = json.dumps(manifests[0]["versions"]) if manifests else "{}"
    head = [
        "# Profiles of the services",
        "",
        "Generated by `make profile` and `make profile-ladder` (`python -m kvbench profile`); "
        "do not edit by hand.",
        f"Tool versions: `{versions_line}`.",
        "",
        METHOD,
    ]
    body = [line for m in manifests for line in section(m)]
    path = root / "README.md"
    path.write_text("\n".join(head + body).rstrip() + "\n")
    return path


def run_meta() -> dict:
    date = time.strftime("%Y-%m-%d %H:%M %Z")
    return {"date": date, "machine": machine(), "versions": versions()}
