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
    """One load run, whoever generated it; latencies in milliseconds, None when not recorded.

    Open-loop latency counts from each request's intended send time (the schedule), the
    generator's own lateness included; `service_ms` counts from the actual send instead,
    and `send_lag_ms` is the lateness itself (sent - intended).
    """

    loadgen: str
    mode: Mode
    connections: int
    warmup_s: float
    duration_s: float  # the measured window
    requests: int  # closed loop: answers that arrived in the window; open: due in it, answered
    errors: int  # failures in the measured window: statuses, bodies, connections, timeouts
    non_2xx: int
    bad_body: int  # 2xx answers whose content-type or body was not the one for the key asked
    failures: dict[str, int]  # reason -> count, in the window
    error_samples: list[str]
    offered_rate: float | None
    latency_ms: dict[str, float | None] = field(default_factory=dict)  # LATENCY_FIELDS
    service_ms: dict[str, float | None] = field(default_factory=dict)  # from the actual send
    send_lag_ms: dict[str, float | None] = field(default_factory=dict)  # LAG_FIELDS
    answered_in_window: int | None = None  # open loop: answers that arrived inside the window
    warmup_errors: int = 0  # failures before the window (they fail the run too)
    warmup_failures: dict[str, int] = field(default_factory=dict)
    raw_latencies: bool = True
    note: str = ""

    @property
    def throughput(self) -> float:
        """Closed loop: answers per second of the window. Open: the window's requests per
        second, the offered rate when all were answered (`answered_rate` is the measure)."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def answered_rate(self) -> float | None:
        """Open loop: answers that arrived inside the window, per second of it."""
        if self.answered_in_window is None or self.duration_s <= 0:
            return None
        return self.answered_in_window / self.duration_s

    def check(self) -> None:
        """Raise LoadError unless the run answered everything it sent, and something at all."""
        if self.errors or self.warmup_errors:
            raise LoadError(self.failure_text())
        if not self.requests:
            raise LoadError("no request was answered in the measured window")

    def failure_text(self) -> str:
        parts = []
        for count, failures, where in [(self.errors, self.failures, "in the measured window"),
                                       (self.warmup_errors, self.warmup_failures,
                                        "in the warm-up")]:  # fmt: skip
            if count:
                counts = sorted(failures.items(), key=lambda item: -item[1])
                reasons = ", ".join(f"{reason} x{n:,}" for reason, n in counts)
                parts.append(f"{count:,} requests failed {where}: {reasons}")
        first = f"; first: {self.error_samples[0]}" if self.error_samples else ""
        return f"{'; '.join(parts)} ({self.requests:,} answered in the window){first}"

    def to_dict(self) -> dict:
        """Flat JSON: every field, `throughput`, and each latency as `p99_ms` and so on."""
        flat = asdict(self)
        latency, service = flat.pop("latency_ms"), flat.pop("service_ms")
        lag = flat.pop("send_lag_ms")
        flat["throughput"] = self.throughput
        flat["answered_rate"] = self.answered_rate
        flat |= {f"{name}_ms": latency.get(name) for name in LATENCY_FIELDS}
        flat |= {f"service_{name}_ms": service.get(name) for name in LAG_FIELDS if service}
        return flat | {f"send_lag_{name}_ms": lag.get(name) for name in LAG_FIELDS if lag}

    def text(self) -> str:
        """Human lines."""
        rate = f", offered {self.offered_rate:,.0f}/s" if self.offered_rate else ""
        head = (
            f"{self.mode} loop, {self.connections} connections{rate}: {self.requests:,} "
            f"requests in {self.duration_s:.2f} s, {self.throughput:,.0f} req/s, "
            f"{self.errors:,} errors"
        )
        if self.warmup_errors:
            head += f" (and {self.warmup_errors:,} in the warm-up)"
        if (answered := self.answered_rate) is not None:
            head += f", {answered:,.0f} req/s answered inside the window"
        lines = [head]
        names = ["p50", "p90", "p99", "p999", "p9999", "max"]
        for title, values in [("latency ms (from the intended send)", self.latency_ms),
                              ("service ms (from the actual send)", self.service_ms),
                              ("send lag ms (sent - intended)", self.send_lag_ms)]:  # fmt: skip
            cells = [f"{n} {v:.3f}" for n in names if (v := values.get(n)) is not None]
            if cells:
                lines.append(f"{title}: " + "  ".join(cells))
        return "\n".join(lines)


LAG_FIELDS = ("p50", "p99", "max")


def spread_ms(values_ns: np.ndarray) -> dict[str, float | None]:
    """p50, p99 (None unless it qualifies) and max of nanosecond values, in ms."""
    if not values_ns.size:
        return {}
    p99 = percentile_ms(values_ns, "99") if qualifies(values_ns.size, "99") else None
    return {"p50": percentile_ms(values_ns, "50"), "p99": p99, "max": float(values_ns.max()) / 1e6}


@dataclass
class LoadResult:
    """The built-in generator's run, with every measured request's raw record (ns).

    A record is `intended_ns` (due by the schedule; in the closed loop, the send),
    `sent_ns` (written to the socket) and `answered_ns` (-1 if never answered), all
    `time.perf_counter_ns()` readings, in the order the requests were sent (open loop) or
    answered (closed loop).
    """

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
    intended_ns: np.ndarray
    sent_ns: np.ndarray
    answered_ns: np.ndarray
    offered_rate: float | None = None
    answered_in_window: int | None = None  # open loop only
    warmup_failures: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> np.ndarray:
        """Which records were answered."""
        return self.answered_ns >= 0

    @property
    def latencies_ns(self) -> np.ndarray:
        """Answered requests' latency from the intended send: the wrk2 convention."""
        done = self.done
        return self.answered_ns[done] - self.intended_ns[done]

    @property
    def service_ns(self) -> np.ndarray:
        """Answered requests' time from the actual send."""
        done = self.done
        return self.answered_ns[done] - self.sent_ns[done]

    @property
    def send_lag_ns(self) -> np.ndarray:
        """How late each request left against its schedule (0 in the closed loop)."""
        return self.sent_ns - self.intended_ns

    @property
    def throughput(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def percentile_ms(self, percent: str) -> float | None:
        """A nearest-rank percentile, None unless MIN_BEYOND requests lie beyond it."""
        latencies = self.latencies_ns
        if not qualifies(latencies.size, percent):
            return None
        return percentile_ms(latencies, percent)

    def summary(self) -> LoadSummary:
        lat = self.latencies_ns
        latency: dict[str, float | None] = dict.fromkeys(LATENCY_FIELDS)
        if lat.size:
            latency = {name: self.percentile_ms(p) for name, p in PERCENTILES.items()}
            latency |= {"mean": float(lat.mean()) / 1e6, "max": float(lat.max()) / 1e6}
        open_loop = self.mode == "open"
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
            service_ms=spread_ms(self.service_ns) if open_loop else {},
            send_lag_ms=spread_ms(self.send_lag_ns) if open_loop else {},
            answered_in_window=self.answered_in_window,
            warmup_errors=sum(self.warmup_failures.values()),
            warmup_failures=dict(self.warmup_failures),
        )

    def save_latencies(self, path: Path | str) -> None:
        """The answered requests' latencies (ns) as a bare .npy array."""
        np.save(path, self.latencies_ns)

    def save_records(self, path: Path | str, trial: int = 0) -> None:
        """The raw records as `requests-*.npz` stores them (one trial)."""
        save_records(path, join_records([self], [trial]))

    def check(self) -> None:
        self.summary().check()


RECORD_ARRAYS = ("trial", "intended_ns", "sent_ns", "answered_ns")
EMPTY = np.empty(0, dtype=np.int64)


def join_records(results: list[LoadResult], trials: list[int]) -> dict[str, np.ndarray]:
    """The raw records of several runs as one set of int64 arrays `trial`, `intended_ns`,
    `sent_ns` and `answered_ns` (-1: never answered), one entry a request."""

    def joined(chunks: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(c, dtype=np.int64) for c in chunks] or [EMPTY])

    pairs = zip(results, trials, strict=True)
    return {
        "trial": joined([np.full(r.intended_ns.size, t, dtype=np.int64) for r, t in pairs]),
        "intended_ns": joined([r.intended_ns for r in results]),
        "sent_ns": joined([r.sent_ns for r in results]),
        "answered_ns": joined([r.answered_ns for r in results]),
    }


def save_records(path: Path | str, records: dict[str, np.ndarray]) -> None:
    """`requests-*.npz`: the arrays of `join_records`, compressed."""
    np.savez_compressed(
        path,
        trial=records["trial"],
        intended_ns=records["intended_ns"],
        sent_ns=records["sent_ns"],
        answered_ns=records["answered_ns"],
    )


def load_records(path: Path | str) -> dict[str, np.ndarray]:
    """A `requests-*.npz` file's four arrays, checked for shape; KvbenchError when unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name], dtype=np.int64) for name in RECORD_ARRAYS}
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise KvbenchError(f"{Path(path).name}: unreadable request records ({exc})") from None
    if len({a.shape for a in arrays.values()}) != 1 or arrays["trial"].ndim != 1:
        raise KvbenchError(f"{Path(path).name}: request record arrays of different lengths")
    return arrays


def record_latencies_ns(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """answered - intended of the answered records: the latencies every figure comes from."""
    done = arrays["answered_ns"] >= 0
    return arrays["answered_ns"][done] - arrays["intended_ns"][done]


def trial_latencies_ns(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The latencies of `record_latencies_ns`, one array per trial, in trial order."""
    done = arrays["answered_ns"] >= 0
    latencies = arrays["answered_ns"][done] - arrays["intended_ns"][done]
    trials = arrays["trial"][done]
    return [latencies[trials == t] for t in np.unique(arrays["trial"])]
