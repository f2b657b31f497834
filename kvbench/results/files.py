"""Write a run's files: the environment, HTTP trials as pyperf JSON, latencies, summary.json."""

import datetime
import json
import os
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pyperf

from kvbench.results.metrics import metric

# pyperf records where its interpreter lives and how it was built: paths of this machine,
# not facts about the benchmark, and not for a results folder that gets committed.
MACHINE_METADATA = ("python_executable", "python_config_args")
PACKAGES = ["starlette", "uvicorn", "uvloop", "httptools", "orjson", "anyio", "pyperf", "memray"]
# pyperf stores values in its own units; these are ours converted to them.
PYPERF_UNITS = {"ms": ("second", 1e-3), "us/req": ("second", 1e-6), "MB": ("byte", 1e6)}


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


def http_suite(trials: dict[str, list[float]]) -> pyperf.BenchmarkSuite:
    """One pyperf benchmark per metric, one value per trial (zeros cannot be stored)."""
    benchmarks = []
    for name, values in trials.items():
        unit, scale = PYPERF_UNITS.get(metric(name).unit, ("integer", 1.0))
        if not values or min(values) <= 0:
            continue  # pyperf refuses values <= 0 (a window without any GC pause, say)
        run = pyperf.Run(
            [v * scale for v in values],
            metadata={"name": name, "unit": unit, "description": metric(name).title},
            collect_metadata=False,
        )
        benchmarks.append(pyperf.Benchmark([run]))
    return pyperf.BenchmarkSuite(benchmarks)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def save_latencies(path: Path, chunks: list[np.ndarray]) -> None:
    """All open-loop latencies of a service, in nanoseconds, as the load generator saves them."""
    np.save(path, np.concatenate(chunks) if chunks else np.array([], dtype=np.int64))


def strip_machine_paths(path: Path) -> None:
    """Drop the metadata of a pyperf file that names paths of this machine."""
    data = json.loads(path.read_text())
    for key in MACHINE_METADATA:
        data.get("metadata", {}).pop(key, None)
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
