"""The metrics a run records: one place for their names, units and which way is better.

`bench-results/summary.json` (schema 2) looks like this:

    {
      "schema": 2,
      "environment": {"cpu_model": ..., "cores": ..., "python": ..., "packages": {...},
                      "date": ..., "pinning": ..., "loadgen_ceiling": {"tps": ..., ...},
                      "pyperf_args": [...], "allocations": ...,
                      "instructions": {"method": ..., "valgrind": ..., "requests": ...,
                                       "warmup": ..., "repeats": ..., "hash_seed": ...,
                                       "services": {NAME: {"spread_pct": ...,
                                                           "fixed_cost_spread": ...,
                                                           "totals": [[...]],
                                                           "hits_checked": ...}}}
                                      (or {"skipped": why}),
                      "http": {"trials": ..., "order": ..., "concurrency": ...,
                               "offered_rate": ..., "loadgen": ..., "commands": {...}}},
      "services": {    # every metric of every service alike, one value per trial (pyperf's:
                       # one per worker process, with "method" saying so)
        "unoptimized": {"http_tps": {"median": 2400.0, "ci_low": 2350.0, "ci_high": 2450.0,
                                     "n": 10, "values": [...]}, ...},
        "optimized": {...}
      },
      "latency": {     # every open-loop request of a service, pooled over its trials
        "unoptimized": {"n": 33000, "offered_rate": 1100.0, "trials": 10,
                        "ci_method": "whole trials resampled ...",   # results.resample
                        "p99": {"ms": 6.4, "ci_low": 6.1, "ci_high": 6.8, "beyond": 330}, ...}
      },
      "paired": {      # per-round ratios to a base measured in the same round
        "optimized": {"vs": "unoptimized", "metrics": {"http_tps": {
            "median": 10.4, "ci_low": ..., "ci_high": ..., "n": 10, "values": [...],
            "unpaired": {"ratio": 10.2, "ci_low": ..., "ci_high": ..., "n": 10,
                         "method": ...},     # median / median, each side resampled alone
            "correlation": -0.3,             # Pearson r of the two sides' log values by round
            "narrower": "unpaired"}}}        # or "paired"; None without both intervals
      },
      "rounds": [{"order": [...], "ceiling_tps": ..., "fastest": ..., "headroom": ...,
                  "busy": {...}}, ...],
      "checks": {"headroom": {"status": "ok" | "failed" | "not run", ...},
                 "saturation": {...}, "schedule": {...}, "warnings": [...], "ok": true,
                 "sensitivity": {"status": "ok" | "failed" | "undecided", ...},
                 "undecided": [...]},  # checks that neither passed nor failed
      "files": {"micro": "micro.json", "asgi": "asgi.json",
                "trials": {SERVICE: "trials-SERVICE.json"},     # every trial's every metric
                "latency": {SERVICE: "requests-SERVICE.npz"}}   # every open-loop request
    }

A `requests-SERVICE.npz` holds int64 arrays `trial`, `intended_ns`, `sent_ns` and
`answered_ns` (-1: never answered), one entry per measured open-loop request, clocks in
`time.perf_counter_ns()`; latency is answered_ns - intended_ns. Runs before it saved a
bare `latency-SERVICE.npy` of latencies and the trials as pyperf JSON (`http-SERVICE.json`).

Schema 1 (the committed runs before it) had no latency, paired, rounds or checks, and
called the median of per-trial percentiles `http_p99_ms`; those names stay readable.
"""

from dataclasses import KW_ONLY, dataclass
from typing import Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    better: Better
    title: str
    _: KW_ONLY  # the flags are named where a metric is declared, never positional
    # Says how the run went (saturation, generator load), or repeats another figure (the
    # closed-loop p99 is throughput again), or reads back a setting (the answered rate is
    # the offered one): shown with its change, never a verdict, a geomean or a gate.
    diagnostic: bool = False
    # An exact count (instructions under valgrind, allocations under memray): repeats agree to
    # a fraction of a percent, so a change is judged against their spread and a gate's
    # threshold, never by a rank test on three values.
    exact: bool = False
    description: str = ""  # what a reader must know beside the title (the load it was taken at)


METRICS = {
    m.name: m
    for m in [
        Metric("http_tps", "req/s", "higher", "HTTP throughput"),
        Metric("http_wrk_tps", "req/s", "higher", "HTTP throughput measured by wrk"),
        # Schema 1 named the median of per-trial percentiles as if they were percentiles.
        Metric("http_p50_ms", "ms", "lower", "median of per-trial p50 (schema 1)"),
        Metric("http_p90_ms", "ms", "lower", "median of per-trial p90 (schema 1)"),
        Metric("http_p99_ms", "ms", "lower", "median of per-trial p99 (schema 1)"),
        Metric("http_p999_ms", "ms", "lower", "median of per-trial p99.9 (schema 1)"),
        Metric("http_trial_p50_ms", "ms", "lower", "median of per-trial p50"),
        Metric("http_trial_p90_ms", "ms", "lower", "median of per-trial p90"),
        Metric("http_trial_p99_ms", "ms", "lower", "median of per-trial p99"),
        Metric(
            "http_closed_p99_ms",
            "ms",
            "lower",
            "latency p99, closed loop",
            diagnostic=True,
            description="with a fixed number of connections always busy, latency follows from "
            "throughput (Little's law: connections / throughput on average), so it is "
            "throughput counted again; shown, never judged, averaged or gated",
        ),
        # Runs before the raw records: requests due in the window / window, the offered rate
        # by construction (every request is waited for). `http_open_answered_rate` replaced it.
        Metric(
            "http_achieved_rate",
            "req/s",
            "higher",
            "open-loop rate (the offered one)",
            diagnostic=True,
        ),
        Metric(
            "http_open_answered_rate",
            "req/s",
            "higher",
            "open-loop answers inside the window, per second",
            diagnostic=True,
            description="answers that arrived within the open-loop window, divided by it: "
            "the offered rate unless the server fell behind, and as measured it only tells "
            "whether the last request (due just before the window closed) was answered in "
            "time, so it is a setting read back, shown and never judged",
        ),  # fmt: skip
        Metric("http_service_p50_ms", "ms", "lower", "p50 from the actual send, open loop"),
        Metric("http_service_p99_ms", "ms", "lower", "p99 from the actual send, open loop"),
        # The generator's lateness against its schedule: sent - intended, every measured
        # request (a request due while every connection was busy waits, and counts, too).
        Metric("http_send_lag_p50_ms", "ms", "lower", "send lag p50, open loop", diagnostic=True),
        Metric("http_send_lag_p99_ms", "ms", "lower", "send lag p99, open loop", diagnostic=True),
        Metric("http_send_lag_max_ms", "ms", "lower", "send lag max, open loop", diagnostic=True),
        Metric("gc_collections", "count", "lower", "GC collections per trial"),
        Metric("server_startup_s", "s", "lower", "server start-up time"),
        # The server's core: the server, and a private Redis pinned beside it (measure.trials).
        Metric("server_busy", "cores", "higher", "server core busy, closed loop", diagnostic=True),
        Metric("loadgen_cpu_share", "cores", "lower", "load generator CPU share", diagnostic=True),
        # Schema 1: CPU over a saturated closed-loop window, which is just 1/throughput.
        Metric(
            "server_cpu_us_per_req",
            "us/req",
            "lower",
            "server CPU over the saturated closed loop (1/throughput)",
        ),
        Metric(
            "server_open_cpu_us_per_req",
            "us/req",
            "lower",
            "server CPU per request at the offered rate",
            description="server CPU over the open-loop window divided by its requests; it "
            "depends on the rate (a server that waits less between requests batches more "
            "work per wake-up), so it is stored with the offered rate and compares only "
            "at the same rate",
        ),
        Metric(
            "redis_cpu_us_per_req",
            "us/req",
            "lower",
            "Redis CPU per request at the offered rate",
            description="depends on the rate, as the server's CPU per request does",
        ),
        Metric("redis_cmds_per_req", "cmds/req", "lower", "Redis commands per request, open loop"),
        Metric(
            "worker_request_share_min",
            "share",
            "higher",
            "least-loaded worker's requests",
            diagnostic=True,
        ),
        Metric(
            "worker_connection_share_min",
            "share",
            "higher",
            "least-loaded worker's connections",
            diagnostic=True,
        ),
        Metric("server_rss_mb", "MB", "lower", "server peak RSS"),
        Metric("gc_pause_max_ms", "ms", "lower", "GC pause max"),
        Metric("asgi_ns_per_op", "ns/op", "lower", "in-process ASGI request"),
        Metric("asgi_allocs_per_op", "allocs/op", "lower", "allocations per request", exact=True),
        Metric("asgi_bytes_per_op", "B/op", "lower", "bytes allocated per request", exact=True),
        Metric(
            "asgi_instructions_per_op",
            "instr/op",
            "lower",
            "instructions per request (valgrind)",
            exact=True,
        ),
        Metric(
            "gc_survivors_per_op",
            "objects/op",
            "lower",
            "tracked objects left alive per request",
            exact=True,
        ),
        Metric(
            "gc_cycles_per_op",
            "objects/op",
            "lower",
            "objects only the GC frees, per request",
            exact=True,
        ),
        Metric(
            "gc_collections_per_kreq",
            "per 1k req",
            "lower",
            "GC collections with 64 in flight",
            exact=True,
        ),
        Metric("micro_store_get_ns_per_op", "ns/op", "lower", "store get + stats"),
        Metric("micro_encode_ns_per_op", "ns/op", "lower", "response body encoding"),
    ]
}


def metric(name: str) -> Metric:
    """The metric's definition; unknown names (say, from a newer run) default to lower-better."""
    return METRICS.get(name) or Metric(name, _guess_unit(name), "lower", name)


def _guess_unit(name: str) -> str:
    for suffix, unit in [("_ns_per_op", "ns/op"), ("_ms", "ms"), ("_tps", "req/s")]:
        if name.endswith(suffix):
            return unit
    return ""
