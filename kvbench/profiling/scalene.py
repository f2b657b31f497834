"""scalene: CPU and memory per line of one service, driven in-process (workers/asgi_loop.py)."""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT
from kvbench.profiling.artifacts import Artifact, check_size, run_tool, scrub, shown_command
from kvbench.services import Service

LOOP_SCRIPT = PROJECT_ROOT / "kvbench" / "workers" / "asgi_loop.py"
JSON_NAME = "lines.scalene.json"
HTML_NAME = "lines.scalene.html"
# scalene samples CPU every 10 ms: the fast service needs many thousands of requests.
MIN_SECONDS = 3.0


def run_command(service: Service, out: Path, requests: int, seconds: float) -> list[str]:
    """`scalene run`, profiling off until asgi_loop.py has warmed the app up."""
    # The program path defaults to the script's folder (kvbench/), which would leave the
    # services' own files out; the loop itself is excluded to keep the profile small.
    return [
        sys.executable, "-m", "scalene", "run", "-o", str(out), "--off",
        "--program-path", str(PROJECT_ROOT), "--profile-exclude", "asgi_loop.py,dataclasses",
        str(LOOP_SCRIPT), "---", "--app", service.app,
        "--requests", str(requests), "--min-seconds", f"{seconds:g}", "--scalene",
    ]  # fmt: skip


def loop_report(stdout: str) -> dict:
    """What asgi_loop.py measured: its last JSON line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"asgi_loop"'):
            return json.loads(line)["asgi_loop"]
    raise KvbenchError("kvbench/workers/asgi_loop.py reported nothing")


def compact(profile: dict) -> dict:
    """Keep only Python frames in the combined stacks: native ones are big and machine-bound."""
    for entry in profile.get("combined_stacks", []):
        entry[0] = [frame for frame in entry[0] if frame.get("kind") != "native"]
    return profile


def save_json(raw: Path, out: Path) -> None:
    profile = compact(json.loads(raw.read_text()))
    if not profile.get("files"):
        raise KvbenchError("scalene recorded no samples of the project's code; profile longer")
    out.write_text(scrub(json.dumps(profile, separators=(",", ":"))))


def active(line: dict) -> bool:
    """A line scalene sampled: any nonzero count or share, or samples listed."""
    counts = (v for k, v in line.items() if k.startswith("n_") and not isinstance(v, bool))
    return any(isinstance(v, int | float) and v for v in counts) or bool(
        line.get("cpu_samples_list") or line.get("memory_samples")
    )


def reduced(profile: dict) -> dict:
    """The profile with only the lines that have samples (what scalene's `--reduced` shows)."""
    for entry in profile.get("files", {}).values():
        entry["lines"] = [line for line in entry["lines"] if active(line)]
    return profile


def save_html(profile_json: Path, out: Path) -> list[str]:
    """`scalene view --standalone` of the reduced profile: the page carries the whole viewer
    (about 1.7 MB), so every source line would take it past 2 MB. It writes
    scalene-profile.html into its working directory."""
    command = [sys.executable, "-m", "scalene", "view", "--standalone", profile_json.name]
    with tempfile.TemporaryDirectory() as tmp:
        profile = reduced(json.loads(profile_json.read_text()))
        (Path(tmp) / profile_json.name).write_text(json.dumps(profile, separators=(",", ":")))
        run_tool(command, "scalene view", Path(tmp), timeout=120)
        shutil.move(Path(tmp) / "scalene-profile.html", out)
    return command


def line_profile(
    service: Service, out_dir: Path, requests: int, seconds: float = MIN_SECONDS
) -> list[Artifact]:
    """Profile in-process GETs for `seconds`; writes the JSON profile and a standalone page."""
    json_out, html_out = out_dir / JSON_NAME, out_dir / HTML_NAME
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.json"
        stdout = run_tool(run_command(service, raw, requests, seconds), "scalene run", PROJECT_ROOT)
        report = loop_report(stdout)
        save_json(raw, json_out)
    view = save_html(json_out, html_out)
    for path in (json_out, html_out):
        check_size(path)
    shown_run = shown_command(run_command(service, json_out, requests, seconds))
    details = {"requests": report["requests"], "seconds": report["seconds"]}
    return [
        Artifact(json_out, "scalene", "CPU (Python / native / system) and memory per line",
                 [shown_run], details),
        Artifact(html_out, "scalene", "the lines with samples as one self-contained page",
                 [shown_run, shown_command(view[:-1] + [JSON_NAME])], details),
    ]  # fmt: skip
