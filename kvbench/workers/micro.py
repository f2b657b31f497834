"""Micro benchmarks (pyperf): the read path and the response encoding of each service alone.

Run as a pyperf script: `python -m kvbench.workers.micro -o micro.json [pyperf options]`.
Each benchmark checks its answer before it is timed, so a change that alters the
output fails instead of winning.
"""

import json

import orjson
import pyperf

from kvbench.workers.inprocess import HOT_KEY
from optimized import app as optimized
from unoptimized import app as naive

EXPECTED = b'{"key":"key-0042","value":"test-value"}'


def naive_get() -> str | None:
    # The naive read path: a lock around the store, another around the stats.
    value = naive.store.get(HOT_KEY)
    naive.stats.incr("total", "gets", "hits")
    return value


def lockfree_get() -> tuple | None:
    counters = optimized.counters
    answer = optimized.answers.get(HOT_KEY)
    counters.total += 1
    counters.gets += 1
    counters.hits += 1
    return answer


def encode_json_dumps() -> bytes:
    # What JSONResponse.render does with a fresh dict on every request.
    body = {"key": HOT_KEY, "value": "test-value"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_orjson() -> bytes:
    return orjson.dumps({"key": HOT_KEY, "value": "test-value"})


def encode_prebuilt() -> bytes:
    return optimized.answers[HOT_KEY][1]


BENCHMARKS = {
    "micro_store_get[unoptimized]": (naive_get, "test-value"),
    "micro_store_get[optimized]": (lockfree_get, optimized.answers[HOT_KEY]),
    "micro_encode[unoptimized]": (encode_json_dumps, EXPECTED),
    "micro_encode[orjson]": (encode_orjson, EXPECTED),
    "micro_encode[optimized]": (encode_prebuilt, EXPECTED),
}


def bench(loops: int, func) -> float:
    started = pyperf.perf_counter()
    for _ in range(loops):
        func()
    return pyperf.perf_counter() - started


def main() -> None:
    runner = pyperf.Runner()
    runner.metadata["description"] = "store read path and response encoding, per service"
    for name, (func, expected) in BENCHMARKS.items():
        assert func() == expected, f"{name} answered {func()!r}"
        runner.bench_time_func(name, bench, func)


if __name__ == "__main__":
    main()
