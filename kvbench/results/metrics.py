"""The metrics a run records: one place for their names, units and which way is better.

`bench-results/summary.json` looks like this (every metric of every service alike):

    {
      "schema": 1,
      "environment": {"cpu_model": ..., "cores": ..., "python": ..., "packages": {...},
                      "date": ..., "pinning": ..., "loadgen_ceiling": {"tps": ...},
                      "pyperf_args": [...], "allocations": ...,
                      "instructions": {"method": ..., "valgrind": ..., "requests": ...,
                                       "warmup": ..., "repeats": ..., "hash_seed": ...,
                                       "services": {NAME: {"spread_pct": ...,
                                                           "fixed_cost_spread": ...,
                                                           "totals": [[...]],
                                                           "hits_checked": ...}}}
                                      (or {"skipped": why}),
                      "http": {"trials": ..., "interleaved": true, "concurrency": ...,
                               "offered_rate": ..., "loadgen": ..., "commands": {...}}},
      "services": {
        "unoptimized": {"http_tps": {"median": 2400.0, "ci_low": 2350.0, "ci_high": 2450.0,
                                     "n": 10, "values": [...]}, ...},
        "optimized": {...}
      },
      "files": {"micro": "micro.json", "asgi": "asgi.json", ...},
      "sweep": {"unoptimized": {"1": {"http_tps": {...}, "http_closed_p99_ms": {...}}}}
                                                                          (optional)
    }
"""

from dataclasses import dataclass
from typing import Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    better: Better
    title: str


METRICS = {
    m.name: m
    for m in [
        Metric("http_tps", "req/s", "higher", "HTTP throughput"),
        Metric("http_p50_ms", "ms", "lower", "latency p50"),
        Metric("http_p90_ms", "ms", "lower", "latency p90"),
        Metric("http_p99_ms", "ms", "lower", "latency p99"),
        Metric("http_p999_ms", "ms", "lower", "latency p99.9"),
        Metric("http_closed_p99_ms", "ms", "lower", "latency p99, closed loop"),
        Metric("http_achieved_rate", "req/s", "higher", "open-loop achieved rate"),
        Metric("gc_collections", "count", "lower", "GC collections per trial"),
        Metric("server_startup_s", "s", "lower", "server start-up time"),
        Metric("loadgen_cpu_share", "cores", "lower", "load generator CPU share"),
        Metric("server_cpu_us_per_req", "us/req", "lower", "server CPU per request"),
        Metric("server_rss_mb", "MB", "lower", "server peak RSS"),
        Metric("gc_pause_max_ms", "ms", "lower", "GC pause max"),
        Metric("asgi_ns_per_op", "ns/op", "lower", "in-process ASGI request"),
        Metric("asgi_allocs_per_op", "allocs/op", "lower", "allocations per request"),
        Metric("asgi_bytes_per_op", "B/op", "lower", "bytes allocated per request"),
        Metric(
            "asgi_instructions_per_op", "instr/op", "lower", "instructions per request (valgrind)"
        ),
        Metric(
            "gc_survivors_per_op", "objects/op", "lower", "tracked objects left alive per request"
        ),
        Metric("gc_cycles_per_op", "objects/op", "lower", "objects only the GC frees, per request"),
        Metric(
            "gc_collections_per_kreq", "per 1k req", "lower", "GC collections with 64 in flight"
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
