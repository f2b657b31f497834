"""Write a run's files: the environment, HTTP trials, request records, summary.json.

`trials-SERVICE.json` holds every trial of a service, in our own plain format (earlier
runs wrote them as pyperf JSON, `http-SERVICE.json`, which pyperf's own tools misread:
a throughput is no time, and higher is better)::

    {"format": "kvbench-trials", "version": 1, "service": "optimized",
     "offered_rate": 2200.0,                       # the open-loop window's rate
     "units": {"http_tps": "req/s", ...},
     "trials": [{"trial": 0, "metrics": {"http_tps": 12345.6, ...}}, ...]}

The open-loop requests' raw records are `requests-SERVICE.npz` (`kvbench.load.summary`).
"""

import datetime
import json
import os
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from kvbench import KvbenchError
from kvbench.load.summary import load_records, record_latencies_ns, trial_latencies_ns
from kvbench.results.metrics import metric

# pyperf records where its interpreter lives and how it was built: paths of this machine,
# not facts about the benchmark, and not for a results folder that gets committed.
MACHINE_METADATA = ("python_executable", "python_config_args")
PACKAGES = ["starlette", "uvicorn", "uvloop", "httptools", "orjson", "anyio", "pyperf", "memray"]
TRIALS_FORMAT = "kvbench-trials"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(packages) -> dict[str, str | None]:
    """The installed version of each package, None where it is not installed."""
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def environment() -> dict:
    """The machine and the measured packages, for every summary.json."""
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "packages": versions(PACKAGES),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def write_trials(out: Path, service: str, trials: list[dict[str, float]], rate) -> Path:
    """`trials-SERVICE.json`: every trial's every metric, in the order the trials ran."""
    names = sorted({name for metrics in trials for name in metrics})
    path = out / f"trials-{service}.json"
    write_json(path, {
        "format": TRIALS_FORMAT, "version": 1, "service": service, "offered_rate": rate,
        "units": {name: metric(name).unit for name in names},
        "trials": [{"trial": i, "metrics": metrics} for i, metrics in enumerate(trials)],
    })  # fmt: skip
    return path


def trial_samples(data: dict) -> dict[str, list[float]]:
    """metric -> one value per trial, from a `trials-*.json` document (None values left out)."""
    found: dict[str, list[float]] = {}
    for trial in data.get("trials") or []:
        for name, value in (trial.get("metrics") or {}).items():
            if value is not None:
                found.setdefault(name, []).append(value)
    return found


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def load_trial_latencies(path: Path) -> list[np.ndarray]:
    """`load_latencies`, one array per trial: an older run's `.npy` kept no trials (one array)."""
    if path.suffix == ".npz":
        return trial_latencies_ns(load_records(path))
    return [load_latencies(path)]


def load_latencies(path: Path) -> np.ndarray:
    """A service's open-loop latencies (ns): answered - intended from `requests-*.npz`, or
    the bare array of an older run's `latency-*.npy`. KvbenchError when unreadable."""
    if path.suffix == ".npz":
        return record_latencies_ns(load_records(path))
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise KvbenchError(f"{path.name}: unreadable latency file ({type(exc).__name__})") from None
    return np.asarray(values).ravel().astype(np.int64)


def strip_machine_paths(path: Path) -> None:
    """Drop the metadata of a pyperf file that names paths of this machine."""
    data = json.loads(path.read_text())
    for key in MACHINE_METADATA:
        data.get("metadata", {}).pop(key, None)
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
