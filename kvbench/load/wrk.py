"""`--loadgen wrk`: the same closed-loop measurement made by wrk, to cross-check ours.

wrk has no JSON output, so a Lua `done()` hook prints one JSON line, parsed here into
the `LoadSummary` the built-in generator reports too. wrk keeps no raw latencies and does not
check bodies; it counts statuses over 399 as errors (`errors.status`).
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from kvbench import KvbenchError
from kvbench.load.summary import LoadSummary
from kvbench.processes import pin
from kvbench.runtime.net import is_loopback, url_host

MARKER = '{"kvbench_wrk":'
NOTE = "wrk keeps no raw latencies and checks statuses only (over 399 is an error), not bodies"

# init() builds every request once; request() cycles through them; done() prints JSON.
SCRIPT = r"""
local prepared = {}
local index = 0

function init(args)
  if args[1] == "keys" then
    for i = 0, tonumber(args[2]) - 1 do
      prepared[#prepared + 1] = wrk.format("GET", string.format("/get?key=key-%04d", i))
    end
  else
    prepared[1] = wrk.format("GET", args[2])
  end
end

function request()
  index = index % #prepared + 1
  return prepared[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"kvbench_wrk":1,"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p999":%.1f,"p9999":%.1f,' ..
    '"mean":%.1f,"max":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency:percentile(99.99), latency.mean, latency.max))
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise KvbenchError("wrk is not installed; the built-in load generator needs nothing")
    return path


def wrk_command(url: str, connections: int, duration_s: int, script: Path, args: list[str]):
    """wrk's command line: one thread, C connections, whole seconds (wrk takes no fractions)."""
    return [
        wrk_path(), "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency",
        "-s", str(script), url, "--", *args,
    ]  # fmt: skip


def parse_output(stdout: str, connections: int, warmup_s: float = 0.0) -> LoadSummary:
    """The JSON line of the `done()` hook, as the summary the built-in generator reports."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise KvbenchError(f"wrk printed no summary line:\n{stdout[-500:]}")
    raw = json.loads(line)
    return LoadSummary(
        loadgen="wrk",
        mode="closed",
        connections=connections,
        warmup_s=warmup_s,
        duration_s=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        errors=sum(raw["errors"].values()),
        non_2xx=raw["errors"]["status"],
        bad_body=0,
        failures={f"wrk {kind} errors": n for kind, n in raw["errors"].items() if n},
        error_samples=[],
        offered_rate=None,
        latency_ms={name: us / 1e3 for name, us in raw["latency_us"].items()},
        raw_latencies=False,
        note=NOTE,
    )


def run_wrk(
    host: str,
    port: int,
    connections: int = 64,
    duration_s: float = 5.0,
    warmup_s: float = 0.0,
    path: str | None = None,
    keys: int = 1000,
    cpus: set[int] | None = None,
) -> LoadSummary:
    """Run wrk (after an unrecorded warm-up run, if asked) and return its summary."""
    if not is_loopback(host):
        raise KvbenchError(f"refusing to load {host}: only loopback targets are allowed")
    url = f"http://{url_host(host)}:{port}/"
    args = ["path", path] if path else ["keys", str(keys)]
    with tempfile.TemporaryDirectory(prefix="kvbench-wrk-") as folder:
        script = Path(folder) / "summary.lua"
        script.write_text(SCRIPT)
        if warmup_s > 0:
            warmup = max(1, round(warmup_s))
            _run(wrk_command(url, connections, warmup, script, args), cpus, warmup)
        seconds = max(1, round(duration_s))
        stdout = _run(wrk_command(url, connections, seconds, script, args), cpus, seconds)
    return parse_output(stdout, connections, warmup_s)


def _run(command: list[str], cpus: set[int] | None, seconds: int) -> str:
    timeout = seconds + 30
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        pin(process.pid, cpus)
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise KvbenchError(f"wrk did not finish within {timeout} s") from None
    except OSError as exc:
        raise KvbenchError(f"cannot pin wrk to CPUs {sorted(cpus or [])}: {exc}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise KvbenchError(f"wrk exited with code {process.returncode}: {stdout.strip()[-300:]}")
    return stdout
