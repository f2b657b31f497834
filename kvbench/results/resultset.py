"""Read a run's results back: a results folder, its summary.json, a trials file or pyperf JSON.

Every reader of results (compare, the reports, the docs) goes through `read_results`, so
a malformed file is one clear error everywhere, and every metric arrives as a `Summary`.
"""

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from kvbench import KvbenchError
from kvbench.results.files import TRIALS_FORMAT, load_trial_latencies, trial_samples
from kvbench.results.latency import PERCENTILES, current, pooled
from kvbench.results.metrics import METRICS, metric
from kvbench.results.model import Run
from kvbench.results.resample import PER_PROCESS, per_process, process_means, ratio_interval
from kvbench.results.summary import Summary

# pyperf stores times in seconds and sizes in bytes; (pyperf unit, our unit) -> factor.
FROM_PYPERF = {
    ("second", "ns/op"): 1e9,
    ("second", "us/req"): 1e6,
    ("second", "ms"): 1e3,
    ("byte", "MB"): 1e-6,
}

Metrics = dict[str, Summary]
LatencyRatio = tuple[float, tuple[float, float] | None]  # new / old, and its 95% interval


@dataclass
class ResultSet:
    """A run's results: service -> metric -> Summary, plus the summary.json around them."""

    path: Path
    services: dict[str, Metrics]
    summary: dict = field(default_factory=dict)
    run: Run | None = None  # the typed summary.json; None for a bare pyperf file

    def __post_init__(self) -> None:
        if self.run is None and self.summary:  # built by hand (tests, a part's own reader)
            self.run = Run.from_json({"services": {}, **self.summary}, str(self.path))

    def service(self, name: str) -> Metrics:
        if name not in self.services:
            known = ", ".join(self.services) or "none"
            raise KvbenchError(f"{self.path}: no service {name!r} (has: {known})")
        return self.services[name]

    @property
    def environment(self) -> dict:
        return self.run.environment if self.run else {}

    @cached_property
    def latency(self) -> dict[str, dict]:
        """service -> its open-loop requests' percentiles, pooled over the trials.

        Schema 2 stores them (intervals made another way are made again from the raw
        records, `latency.current`); for a schema 1 run they are computed here from its raw
        latency files, so every reader gets percentiles of requests, never of trials.
        """
        files = (self.summary.get("files") or {}).get("latency") or {}
        if "latency" in self.summary:
            found = self.summary["latency"] or {}
            stored = {name: entry for name, entry in found.items() if isinstance(entry, dict)}
            return current(stored, self.path.parent, files)
        rate = (self.environment.get("http") or {}).get("offered_rate")
        computed = {}
        for name, rel in files.items():
            try:  # requests-*.npz (answered - intended, by trial), or an old latency-*.npy
                trials = load_trial_latencies(self.path.parent / rel)
            except KvbenchError:
                continue  # the report names an unreadable file where it draws the plot
            if sum(t.size for t in trials):
                computed[name] = pooled(trials, rate)  # one .npy: one cluster, no interval
        return computed

    def trial_latencies(self, service: str) -> list[np.ndarray] | None:
        """A service's open-loop latencies (ns), one array per trial (its round); None when
        the run kept no per-trial records for it (an older run's bare `.npy`, or none)."""
        rel = ((self.summary.get("files") or {}).get("latency") or {}).get(service)
        if not rel or not str(rel).endswith(".npz") or not (self.path.parent / rel).is_file():
            return None
        return load_trial_latencies(self.path.parent / rel)

    def latency_ratios(self, old: str, new: str, names=("p99", "p999")) -> dict[str, LatencyRatio]:
        """percentile name -> new's pooled percentile over old's with its interval, whole
        rounds resampled (`resample.ratio_interval`); empty without both sides' records."""
        sides = (self.trial_latencies(old), self.trial_latencies(new))
        if sides[0] is None or sides[1] is None or len(sides[0]) != len(sides[1]):
            return {}
        both = set(self.latency.get(old, {})) & set(self.latency.get(new, {}))
        return {name: ratio_interval(sides[0], sides[1], PERCENTILES[name])
                for name in names if name in both}  # fmt: skip

    def paired_ratios(self, service: str, base: str) -> Metrics:
        """metric -> the per-round ratios of `service` to `base`, where the run stored them."""
        paired = self.run.paired.get(service) if self.run else None
        if paired is None or paired.vs != base:
            return {}
        return {name: m.ratios.with_unit(f"x {base}") for name, m in paired.metrics.items()}


def read_results(path: str | Path) -> ResultSet:
    """A results folder, a summary.json, or a pyperf JSON file; KvbenchError when unreadable."""
    path = Path(path)
    file = path / "summary.json" if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise KvbenchError(f"{path}: no summary.json in this folder (has `make bench` run?)")
    if not file.is_file():
        raise KvbenchError(f"{file}: no such file (expected a results folder or a JSON file)")
    try:
        data = _read_json(file)
    except (OSError, ValueError, EOFError) as exc:
        raise KvbenchError(f"{file}: not readable JSON ({exc})") from None
    if isinstance(data, dict) and "services" in data:
        run = Run.from_json(data, str(file))
        return ResultSet(file, _with_units(run.services), data, run)
    if isinstance(data, dict) and data.get("format") == TRIALS_FORMAT:
        return ResultSet(file, {str(data.get("service")): _trial_services(file, data)})
    if isinstance(data, dict) and "benchmarks" in data:
        return ResultSet(file, _pyperf_services(file))
    raise KvbenchError(f"{file}: neither a summary.json nor a pyperf suite")


def _read_json(file: Path):
    if file.suffix == ".gz":
        with gzip.open(file, "rt", encoding="utf-8") as stream:
            return json.load(stream)
    return json.loads(file.read_text(encoding="utf-8"))


def _with_units(services: dict[str, Metrics]) -> dict[str, Metrics]:
    """Each stored metric with its unit from the metrics table."""
    return {service: {name: s.with_unit(metric(name).unit) for name, s in metrics.items()}
            for service, metrics in services.items()}  # fmt: skip


def _trial_services(file: Path, data: dict) -> Metrics:
    """A `trials-*.json` file's metrics, each summarized over its trials."""
    found = {name: _summary(file, name, {"values": v}) for name, v in trial_samples(data).items()}
    return {name: s for name, s in found.items() if s is not None}


def _summary(file: Path, name: str, entry, unit: str | None = None) -> Summary | None:
    """A stored metric; None when it holds no values (nothing to summarize)."""
    if not isinstance(entry, dict) or not entry.get("values"):
        return None
    try:
        values = [float(v) for v in entry["values"]]
    except (TypeError, ValueError):
        raise KvbenchError(f"{file}: metric {name!r} has non-numeric values") from None
    if not all(math.isfinite(v) for v in values):
        raise KvbenchError(f"{file}: metric {name!r} has NaN or infinite values")
    return Summary.of(values, metric(name).unit if unit is None else unit)


def _pyperf_services(file: Path) -> dict[str, Metrics]:
    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.load(str(file))
        benchmarks = [
            (b.get_name(), b.get_unit(), process_means(b), PER_PROCESS if per_process(b) else "")
            for b in suite
        ]
    except Exception as exc:  # pyperf raises anything from KeyError to TypeError on bad files
        raise KvbenchError(f"{file}: not a valid pyperf suite ({type(exc).__name__})") from None
    result: dict[str, Metrics] = {}
    for name, unit, values, method in benchmarks:
        family, _, rest = name.partition("[")
        service = rest.rstrip("]") or _service_from_file(file)
        metric_name, summary = _pyperf_summary(family, unit, values)
        summary = Summary.of(summary.values, summary.unit, method)
        result.setdefault(service, {})[metric_name] = summary
    return result


def _service_from_file(file: Path) -> str:
    """`http-optimized.json` holds plain metric names; the service is in the file name."""
    stem = file.name.removesuffix(".gz").removesuffix(".json")
    return stem.removeprefix("http-") if stem.startswith("http-") else "default"


def _pyperf_summary(family: str, unit: str, values: list[float]) -> tuple[str, Summary]:
    """Seconds and bytes become the metric's unit (ns/op for unknown timings)."""
    if family in METRICS:
        target = metric(family).unit
        scale = FROM_PYPERF.get((unit, target), 1.0)
        return family, Summary.of([v * scale for v in values], target)
    if unit == "second":
        return f"{family}_ns_per_op", Summary.of([v * 1e9 for v in values], "ns/op")
    return family, Summary.of(values, {"byte": "B"}.get(unit, unit))
