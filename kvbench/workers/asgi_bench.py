"""In-process ASGI benchmark (pyperf): each whole app called with a fixed scope, no network.

The Python analog of the article's httptest benchmark: `GET /get?key=key-0042` through
the app's full stack. Run as `python -m kvbench.workers.asgi_bench -o asgi.json --app NAME=mod:app`.
"""

import asyncio

import pyperf
import uvloop

from kvbench.workers.inprocess import app_runner, call_many, get_scope, load_app

EXPECTED = b'{"key":"key-0042","value":"test-value"}'


def bench(loops: int, target: str) -> float:
    app, scope = load_app(target), get_scope()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        answer = runner.run(call_many(app, scope, 1))  # checked before timing
        assert (answer.status, answer.body) == (200, EXPECTED), f"{target}: {answer}"
        started = pyperf.perf_counter()
        runner.run(call_many(app, scope, loops))
        return pyperf.perf_counter() - started


def main() -> None:
    runner, args = app_runner("GET /get?key=key-0042 through the whole app, in-process")
    for spec in args.app:
        name, _, target = spec.partition("=")
        runner.bench_time_func(f"asgi[{name}]", bench, target)


if __name__ == "__main__":
    main()
