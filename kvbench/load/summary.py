"""What a load run reports: the built-in generator's raw result, and the one summary shape
that it and wrk both produce, so the trials read either without caring which ran."""

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kvbench import KvbenchError
from kvbench.load.config import Mode

# Nearest-rank percentiles (numpy's "inverted_cdf"), the HdrHistogram and wrk convention,
# reported only where at least MIN_BEYOND requests lie beyond them (p99.9: 10,000 requests).
PERCENTILES = {"p50": "50", "p90": "90", "p99": "99", "p999": "99.9", "p9999": "99.99"}
LATENCY_FIELDS = (*PERCENTILES, "mean", "max")
MIN_BEYOND = 10


def rank(n: int, percent: str) -> int:
    """The 1-based order statistic numpy's inverted_cdf picks for this percentile of n values."""
    return int(np.percentile(np.arange(n), float(percent), method="inverted_cdf")) + 1


def beyond(n: int, percent: str) -> int:
    """How many of n values lie beyond (above the rank of) the percentile."""
    return n - rank(n, percent)


def qualifies(n: int, percent: str) -> bool:
    return n > 0 and beyond(n, percent) >= MIN_BEYOND


def percentile_ms(latencies_ns: np.ndarray, percent: str) -> float:
    return float(np.percentile(latencies_ns, float(percent), method="inverted_cdf")) / 1e6


class LoadError(KvbenchError):
    """A load run in which some request failed; the message names every reason."""


@dataclass
class LoadSummary:
    """One load run, whoever generated it; latencies in milliseconds, None when not recorded."""

    loadgen: str
    mode: Mode
    connections: int
    warmup_s: float
    duration_s: float  # the measured window
    requests: int  # closed loop: answers that arrived in the window; open: requests due in it
    errors: int  # every failure, warm-up included: statuses, bodies, connections, timeouts
    non_2xx: int
    bad_body: int  # 2xx answers whose content-type or body was not the one for the key asked
    failures: dict[str, int]  # reason -> count
    error_samples: list[str]
    offered_rate: float | None
    latency_ms: dict[str, float | None] = field(default_factory=dict)  # LATENCY_FIELDS
    send_lag_ms: float | None = None  # the generator's own worst lateness: not counted
    raw_latencies: bool = True
    note: str = ""

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def check(self) -> None:
        """Raise LoadError unless the run answered everything it sent, and something at all."""
        if self.errors:
            counts = sorted(self.failures.items(), key=lambda item: -item[1])
            reasons = ", ".join(f"{reason} x{count:,}" for reason, count in counts)
            first = f"; first: {self.error_samples[0]}" if self.error_samples else ""
            raise LoadError(
                f"{self.errors:,} requests failed ({self.requests:,} answered in the "
                f"measured window): {reasons}{first}"
            )
        if not self.requests:
            raise LoadError("no request was answered in the measured window")

    def to_dict(self) -> dict:
        """Flat JSON: every field, `throughput`, and each latency as `p99_ms` and so on."""
        flat = asdict(self)
        latency = flat.pop("latency_ms")
        flat["throughput"] = self.throughput
        return flat | {f"{name}_ms": latency.get(name) for name in LATENCY_FIELDS}

    def text(self) -> str:
        """Two human lines."""
        rate = f", offered {self.offered_rate:,.0f}/s" if self.offered_rate else ""
        head = (
            f"{self.mode} loop, {self.connections} connections{rate}: {self.requests:,} "
            f"requests in {self.duration_s:.2f} s, {self.throughput:,.0f} req/s, "
            f"{self.errors:,} errors"
        )
        names = ["p50", "p90", "p99", "p999", "p9999", "max"]
        cells = [f"{n} {v:.3f}" for n in names if (v := self.latency_ms.get(n)) is not None]
        return head + ("\nlatency ms: " + "  ".join(cells) if cells else "")


@dataclass
class LoadResult:
    """The built-in generator's run, with every measured request's latency in nanoseconds."""

    mode: Mode
    connections: int
    warmup_s: float
    duration_s: float
    requests: int
    errors: int
    non_2xx: int
    bad_body: int
    failures: dict[str, int]
    error_samples: list[str]
    latencies_ns: np.ndarray
    offered_rate: float | None = None
    send_lag_ms: float = 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def percentile_ms(self, percent: str) -> float | None:
        """A nearest-rank percentile, None unless MIN_BEYOND requests lie beyond it."""
        if not qualifies(self.latencies_ns.size, percent):
            return None
        return percentile_ms(self.latencies_ns, percent)

    def summary(self) -> LoadSummary:
        lat = self.latencies_ns
        latency: dict[str, float | None] = dict.fromkeys(LATENCY_FIELDS)
        if lat.size:
            latency = {name: self.percentile_ms(p) for name, p in PERCENTILES.items()}
            latency |= {"mean": float(lat.mean()) / 1e6, "max": float(lat.max()) / 1e6}
        return LoadSummary(
            loadgen="kvbench",
            mode=self.mode,
            connections=self.connections,
            warmup_s=self.warmup_s,
            duration_s=self.duration_s,
            requests=self.requests,
            errors=self.errors,
            non_2xx=self.non_2xx,
            bad_body=self.bad_body,
            failures=dict(self.failures),
            error_samples=list(self.error_samples),
            offered_rate=self.offered_rate,
            latency_ms=latency,
            send_lag_ms=self.send_lag_ms,
        )

    def save_latencies(self, path: Path | str) -> None:
        np.save(path, self.latencies_ns)

    def check(self) -> None:
        self.summary().check()
