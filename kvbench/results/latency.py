"""Latency percentiles of requests, never of trials: nearest rank, intervals from whole trials.

One definition everywhere (tables, the summary, the plots): numpy's `inverted_cdf`, the
nearest-rank percentile of HdrHistogram and wrk, of every request of every trial pooled. A
percentile is reported only where at least MIN_BEYOND measured requests lie beyond it
(p99.9 needs 10,000 requests). Its 95% interval comes from resampling whole trials
(`resample.cluster_percentiles`): requests of one trial share its server and its minute,
so they are not independent draws, and an interval that treats them as such (binomial
order statistics over all requests, the method before) is several times too narrow.
With fewer than 6 trials there is no interval.

An interval is derived, not measured: a summary.json that stored one made another way gets
it again from its raw records when read (`current`), its points and counts as stored.
"""

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from kvbench import KvbenchError
from kvbench.load.summary import MIN_BEYOND, PERCENTILES, beyond, percentile_ms, qualifies
from kvbench.results import resample
from kvbench.results.files import load_trial_latencies
from kvbench.results.stats import MIN_CI_SAMPLES, quantile_orders

__all__ = ["METHOD", "MIN_BEYOND", "PERCENTILES", "beyond", "estimate", "label", "percentile_ms",
           "pooled", "qualifies", "requests_needed", "trial_percentiles",
           "CI_METHOD", "current", "current_summary"]  # fmt: skip
METHOD = "nearest rank (numpy inverted_cdf), trials pooled; 95% interval: whole trials resampled"
CI_METHOD = resample.METHOD
RECOMPUTED = "; recomputed from the raw records when read (the run stored another method's)"


def label(name: str) -> str:
    """`p999` -> `p99.9`."""
    return f"p{PERCENTILES[name]}"


def requests_needed(percent: str) -> int:
    """The fewest requests with which the percentile qualifies: 1,000 for p99."""
    n = math.ceil(MIN_BEYOND / (1 - Fraction(percent) / 100))
    while not qualifies(n, percent):
        n += 1
    while qualifies(n - 1, percent):
        n -= 1
    return n


def estimate(sorted_ns: np.ndarray, percent: str) -> dict:
    """One percentile of sorted latencies (ns) in ms, its order-statistic interval, the count
    beyond it: the interval as if every request were independent (too narrow for trials)."""
    n = sorted_ns.size
    lo, hi = quantile_orders(n, Fraction(percent) / 100)
    return {
        "ms": percentile_ms(sorted_ns, percent),
        "ci_low": float(sorted_ns[lo - 1]) / 1e6 if lo >= 1 else None,
        "ci_high": float(sorted_ns[hi - 1]) / 1e6 if hi <= n else None,
        "beyond": beyond(n, percent),
    }


def pooled(trials: list[np.ndarray], offered_rate: float | None = None) -> dict:
    """Every qualifying percentile of one service's requests, as summary.json stores it.

    `trials`: one array of latencies (ns) per trial. The point is the nearest-rank
    percentile of all requests pooled; the interval comes from resampling whole trials
    (none below 6 trials, so none for a single array whose trials are not known).
    """
    if isinstance(trials, np.ndarray):
        raise TypeError("pooled() takes one array per trial (a list), not one array")
    chunks = [_nanoseconds(t) for t in trials if np.asarray(t).size]
    values = np.sort(np.concatenate(chunks)) if chunks else np.array([], dtype=np.int64)
    found: dict = {"n": int(values.size), "offered_rate": offered_rate,
                   "trials": len(chunks), "ci_method": CI_METHOD}  # fmt: skip
    names = [name for name, percent in PERCENTILES.items() if qualifies(values.size, percent)]
    draws = None
    if names and len(chunks) >= MIN_CI_SAMPLES:
        draws = resample.cluster_percentiles(chunks, [PERCENTILES[n] for n in names])
    for j, name in enumerate(names):
        point = percentile_ms(values, PERCENTILES[name])
        ci = resample.interval(point, draws[:, j] / 1e6, len(chunks)) if draws is not None else None
        found[name] = {"ms": point, "ci_low": ci[0] if ci else None,
                       "ci_high": ci[1] if ci else None,
                       "beyond": beyond(values.size, PERCENTILES[name])}  # fmt: skip
    return found


def _nanoseconds(trial) -> np.ndarray:
    values = np.asarray(trial)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ValueError("the latencies have a NaN or infinite value: no percentile is defined")
    return values.astype(np.int64)


def trial_percentiles(latencies_ns: np.ndarray) -> dict[str, float]:
    """A single trial's qualifying percentiles (ms) by name: p50, p90 and p99 at most."""
    values = np.asarray(latencies_ns)
    return {
        name: percentile_ms(values, PERCENTILES[name])
        for name in ("p50", "p90", "p99")
        if qualifies(values.size, PERCENTILES[name])
    }


def current(latency: dict, folder: Path, files: dict) -> dict:
    """A summary's latency section with this method's intervals: a service whose stored
    interval was made another way gets it again from its raw records (`files`: service ->
    requests-*.npz beside the summary); one without per-trial records keeps what it has."""
    found = {}
    for service, entry in latency.items():
        rel = files.get(service)
        stale = isinstance(entry, dict) and not str(entry.get("ci_method", "")).startswith(
            CI_METHOD
        )
        if stale and rel and str(rel).endswith(".npz") and (folder / rel).is_file():
            entry = _recomputed(entry, load_trial_latencies(folder / rel), f"{folder / rel}")
        found[service] = entry
    return found


def current_summary(summary: dict, folder: Path) -> dict:
    """A summary.json as read (a dict), its latency section's intervals made by `current`."""
    if not isinstance(summary.get("latency"), dict):
        return summary
    files = (summary.get("files") or {}).get("latency") or {}
    return summary | {"latency": current(summary["latency"], folder, files)}


def _recomputed(entry: dict, trials: list[np.ndarray], where: str) -> dict:
    again = pooled(trials, entry.get("offered_rate"))
    for name in PERCENTILES:
        if name in entry and (name not in again or again[name]["ms"] != entry[name]["ms"]):
            raise KvbenchError(f"{where}: the raw records do not give the stored {name}")
    return (
        entry
        | {name: again[name] for name in PERCENTILES if name in entry}
        | {"ci_method": CI_METHOD + RECOMPUTED}
    )
