"""In-process ASGI benchmark (pyperf): each whole app called with its requests, no network.

The Python analog of the article's httptest benchmark: the requests of a request file in
turn (the services: `GET /get?key=key-0042`) through the app's full stack. Every request
is checked byte for byte before and after the timed loops, and every answer's status in
them. Run as `python -m kvbench.workers.asgi_bench -o asgi.json --app NAME=mod:app
[--request-file FILE.toml]`.
"""

import asyncio

import pyperf
import uvloop

from kvbench import KvbenchError
from kvbench.workers.inprocess import (
    Cycle,
    app_runner,
    check_all,
    exit_clearly,
    load_app,
    request_list,
)


def bench(loops: int, target: str, request_file: str) -> float:
    try:
        app, specs = load_app(target), request_list(request_file)
        cycle = Cycle(specs)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            check_all(app, specs, runner)  # checked before timing
            started = pyperf.perf_counter()
            runner.run(cycle.run(app, loops))
            elapsed = pyperf.perf_counter() - started
            check_all(app, specs, runner)  # and after: state the loops left behind
        cycle.verify(target, loops)
    except KvbenchError as error:
        exit_clearly(error)
    return elapsed


def main() -> None:
    runner, args = app_runner("the request list through the whole app, in-process")
    for spec in args.app:
        name, _, target = spec.partition("=")
        runner.bench_time_func(f"asgi[{name}]", bench, target, args.request_file)


if __name__ == "__main__":
    main()
