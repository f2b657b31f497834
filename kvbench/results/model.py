"""One run as `summary.json` holds it: the typed model that every reader goes through.

A run is its environment (what was measured, how and where), its provenance (which code),
its files (the raw results beside it), and its figures: every metric of every service as a
`Summary`, the open-loop latency of each service pooled over its trials, the ratios of each
service to its base measured round by round, the rounds themselves and the checks that say
whether they can be trusted. Sections that only one kind of run has (a curve, a cross-check)
travel untouched in `extra`.

`Run.from_json` is the only parser of a summary: a malformed one is a `KvbenchError` that
names the file and the field; `Run.to_json` writes the same shape back, so every writer can
pass its summary through the model before saving it. Schema 3 adds `provenance`; schemas 1
and 2 stay readable.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from kvbench import KvbenchError
from kvbench.results.summary import Summary

SCHEMA = 3
SCHEMAS = (1, 2, 3)  # the versions this model reads; a summary without a number is schema 1
KNOWN = (
    "schema",
    "environment",
    "provenance",
    "files",
    "services",
    "latency",
    "paired",
    "rounds",
    "checks",
)


class SchemaError(KvbenchError):
    """A summary.json that does not have the shape of a run."""


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SchemaError(f"{where} is not a mapping")
    return value


def schema(value: Any, where: str) -> int:
    """The summary's schema number, one this model reads; a newer or foreign one is refused."""
    found = 1 if value is None else value
    if isinstance(found, bool) or found not in SCHEMAS:
        raise SchemaError(
            f"{where}: schema {found!r} is not one this kvbench reads "
            f"({', '.join(map(str, SCHEMAS))}): written by another version, or not a run"
        )
    return int(found)


def _number(value: Any, where: str, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SchemaError(f"{where} is not a finite number: {value!r}")
    return float(value)


def metric(entry: Any, where: str) -> Summary | None:
    """A stored metric (`{"median", "ci_low", "ci_high", "n", "values"}`); None without values.

    The centre is recomputed from the values; a stored interval is kept as stored, since
    some come from a method that the values alone do not show (whole trials resampled).
    """
    entry = _mapping(entry, where)
    raw = entry.get("values")
    if not raw:
        return None
    file, _, path = where.rpartition(": ")
    named = f"{file + ': ' if file else ''}metric {path.rpartition('.')[2]!r}"
    if not isinstance(raw, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in raw
    ):
        raise SchemaError(f"{named} has non-numeric values")
    if not all(math.isfinite(v) for v in raw):
        raise SchemaError(f"{named} has NaN or infinite values")
    summary = Summary.of(raw, method=str(entry.get("method") or ""))
    low, high = entry.get("ci_low"), entry.get("ci_high")
    if low is not None and high is not None:
        summary = summary.with_ci((_number(low, where) or 0.0, _number(high, where) or 0.0))
    return summary


@dataclass(frozen=True)
class Percentile:
    ms: float
    ci_low: float | None
    ci_high: float | None
    beyond: int

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "Percentile":
        entry = _mapping(entry, where)
        ms = _number(entry.get("ms"), f"{where}.ms")
        low = _number(entry.get("ci_low"), f"{where}.ci_low", optional=True)
        high = _number(entry.get("ci_high"), f"{where}.ci_high", optional=True)
        return cls(ms or 0.0, low, high, int(entry.get("beyond") or 0))

    def to_json(self) -> dict:
        return {
            "ms": self.ms,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "beyond": self.beyond,
        }


@dataclass(frozen=True)
class Latency:
    """One service's open-loop requests pooled over its trials: nearest-rank percentiles."""

    n: int
    offered_rate: float | None
    percentiles: dict[str, Percentile]  # "p50", "p90", "p99", "p999", "p9999"
    other: dict = field(default_factory=dict)  # how the intervals were made, and the like

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "Latency":
        entry = _mapping(entry, where)
        found = {
            name: Percentile.from_json(value, f"{where}.{name}")
            for name, value in entry.items()
            if name.startswith("p") and name[1:].isdigit()
        }
        other = {
            k: v for k, v in entry.items() if k not in found and k not in ("n", "offered_rate")
        }
        rate = _number(entry.get("offered_rate"), f"{where}.offered_rate", optional=True)
        return cls(int(entry.get("n") or 0), rate, found, other)

    def to_json(self) -> dict:
        found: dict = {"n": self.n, "offered_rate": self.offered_rate, **self.other}
        return found | {name: p.to_json() for name, p in self.percentiles.items()}


@dataclass(frozen=True)
class PairedMetric:
    """A service's metric over its base's, round by round; and whatever else was stored with it
    (the unpaired ratio of medians, the within-round correlation)."""

    ratios: Summary
    other: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "PairedMetric | None":
        ratios = metric(entry, where)
        if ratios is None:
            return None
        known = ("median", "ci_low", "ci_high", "n", "values")
        return cls(ratios, {k: v for k, v in _mapping(entry, where).items() if k not in known})

    def to_json(self) -> dict:
        return self.ratios.to_json() | self.other


@dataclass(frozen=True)
class Paired:
    vs: str
    metrics: dict[str, PairedMetric]

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "Paired":
        entry = _mapping(entry, where)
        if not isinstance(entry.get("vs"), str):
            raise SchemaError(f"{where}.vs does not name a service")
        raw = _mapping(entry.get("metrics"), f"{where}.metrics")
        found = {
            name: PairedMetric.from_json(value, f"{where}.metrics.{name}")
            for name, value in raw.items()
        }
        return cls(entry["vs"], {name: m for name, m in found.items() if m is not None})

    def to_json(self) -> dict:
        return {"vs": self.vs, "metrics": {n: m.to_json() for n, m in self.metrics.items()}}


@dataclass(frozen=True)
class Provenance:
    """Which code a run measured: the revision, whether the tree was clean, the interpreter,
    the lock file, and the sha256 of every source file the run depends on."""

    git_revision: str | None
    git_dirty: bool | None
    interpreter: dict
    lock_sha256: str | None
    sources: dict[str, str]
    # Recorded since the harness hashes what it imported (None in older summaries): the
    # tracked files that differed from the revision when the run wrote its summary.
    dirty_files: list[str] | None = None

    @classmethod
    def from_json(cls, entry: Any, where: str) -> "Provenance":
        entry = _mapping(entry, where)
        sources = _mapping(entry.get("sources"), f"{where}.sources")
        if not all(isinstance(v, str) for v in sources.values()):
            raise SchemaError(f"{where}.sources maps paths to sha256 strings")
        interpreter = _mapping(entry.get("interpreter"), f"{where}.interpreter")
        return cls(
            entry.get("git_revision"),
            entry.get("git_dirty"),
            interpreter,
            entry.get("lock_sha256"),
            sources,
            entry.get("dirty_files"),
        )

    def to_json(self) -> dict:
        return {
            "git_revision": self.git_revision,
            "git_dirty": self.git_dirty,
            "interpreter": self.interpreter,
            "lock_sha256": self.lock_sha256,
            "sources": dict(sorted(self.sources.items())),
        } | ({"dirty_files": self.dirty_files} if self.dirty_files is not None else {})


@dataclass
class Run:
    """A whole summary.json."""

    schema: int
    environment: dict
    files: dict  # kind -> a file name, or service -> file name
    services: dict[str, dict[str, Summary]]
    latency: dict[str, Latency] = field(default_factory=dict)
    paired: dict[str, Paired] = field(default_factory=dict)
    rounds: list[dict] = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    provenance: Provenance | None = None
    extra: dict = field(default_factory=dict)  # sections of one kind of run, kept as they are

    @classmethod
    def from_json(cls, data: Any, where: str = "summary.json") -> "Run":
        data = _mapping(data, where)
        if "services" not in data:
            raise SchemaError(f"{where}: no 'services' (not a run summary)")
        services = {}
        for name, metrics in _mapping(data["services"], f"{where}: services").items():
            found = {
                m: metric(e, f"{where}: services.{name}.{m}")
                for m, e in _mapping(metrics, f"{where}: services.{name}").items()
            }
            services[name] = {m: s for m, s in found.items() if s is not None}
        latency = {
            name: Latency.from_json(e, f"{where}: latency.{name}")
            for name, e in _mapping(data.get("latency"), f"{where}: latency").items()
            if isinstance(e, dict)
        }
        paired = {
            name: Paired.from_json(e, f"{where}: paired.{name}")
            for name, e in _mapping(data.get("paired"), f"{where}: paired").items()
        }
        rounds = data.get("rounds") or []
        if not isinstance(rounds, list):
            raise SchemaError(f"{where}: rounds is not a list")
        provenance = data.get("provenance")
        return cls(
            schema=schema(data.get("schema"), where),
            environment=_mapping(data.get("environment"), f"{where}: environment"),
            files=_mapping(data.get("files"), f"{where}: files"),
            services=services,
            latency=latency,
            paired=paired,
            rounds=rounds,
            checks=_mapping(data.get("checks"), f"{where}: checks"),
            provenance=Provenance.from_json(provenance, f"{where}: provenance")
            if provenance is not None
            else None,
            extra={k: v for k, v in data.items() if k not in KNOWN},
        )

    def to_json(self) -> dict:
        found: dict = {"schema": self.schema, "environment": self.environment}
        if self.provenance is not None:
            found["provenance"] = self.provenance.to_json()
        found["files"] = self.files
        found["services"] = {
            s: {m: v.to_json() for m, v in metrics.items()} for s, metrics in self.services.items()
        }
        sections = {
            "latency": {n: lat.to_json() for n, lat in self.latency.items()},
            "paired": {n: p.to_json() for n, p in self.paired.items()},
            "rounds": self.rounds,
            "checks": self.checks,
        }
        return found | {k: v for k, v in sections.items() if v} | self.extra

    def file(self, kind: str, service: str | None = None) -> str | None:
        """The name of a raw file beside the summary: `file("latency", "optimized")`."""
        entry = self.files.get(kind)
        if service is None:
            return entry if isinstance(entry, str) else None
        return entry.get(service) if isinstance(entry, dict) else None

    def ratio(self, service: str, base: str, name: str) -> PairedMetric | None:
        """The run's per-round ratio of `service` to `base` for one metric, if it stored one."""
        paired = self.paired.get(service)
        if paired is None or paired.vs != base:
            return None
        return paired.metrics.get(name)
