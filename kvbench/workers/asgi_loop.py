"""Drive one app in-process for N requests: the target program for scalene and memray.

`python kvbench/workers/asgi_loop.py --app unoptimized.app:app --requests 5000 [--memray out.bin]`
warms the app up, then sends the measured requests one after another (the GET of `--key`,
or those of `--request-file` in turn): each request is checked byte for byte before and
after, and every answer's status in between.
"""

import argparse
import asyncio
import contextlib
import json
import time

from uvloop import new_event_loop

from kvbench import KvbenchError
from kvbench.load.requests import Expect, RequestSpec, load_requests
from kvbench.load.workload import key_body
from kvbench.workers.inprocess import HOT_KEY, Cycle, check_all, exit_clearly, load_app

WARMUP_REQUESTS = 500


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True, help="module:attribute, as uvicorn takes it")
    parser.add_argument("--requests", type=int, default=5000, help="measured requests")
    parser.add_argument(
        "--min-seconds", type=float, default=0.0, help="repeat the measured requests this long"
    )
    parser.add_argument("--warmup", type=int, default=WARMUP_REQUESTS, help="unmeasured first")
    parser.add_argument("--key", default=HOT_KEY, help="the key every GET asks for")
    parser.add_argument("--request-file", help="send these requests (TOML) instead")
    parser.add_argument("--memray", metavar="PATH", help="track the measured requests to PATH")
    parser.add_argument(
        "--scalene", action="store_true", help="start scalene after the warm-up (run with --off)"
    )
    return parser


def requests_of(args: argparse.Namespace) -> list[RequestSpec]:
    if args.request_file:
        return load_requests(args.request_file)
    path = f"/get?key={args.key}"
    return [RequestSpec(f"GET {path}", "GET", path, expect=Expect(200, key_body(args.key)))]


async def drive(app, cycle: Cycle, requests: int) -> None:
    """Send `requests` requests the way the benchmark does (the same driver as
    `kvbench.workers.allocs`, so the profiles count what the benchmark counts)."""
    if requests >= 1:
        await cycle.run(app, requests)


@contextlib.contextmanager
def tracking(args: argparse.Namespace):
    """The measured region: memray's tracker, scalene's profiler, or nothing."""
    if args.memray:
        import memray

        with memray.Tracker(args.memray, trace_python_allocators=True):
            yield
    elif args.scalene:
        from scalene import scalene_profiler

        scalene_profiler.start()
        try:
            yield
        finally:
            scalene_profiler.stop()
    else:
        yield


def run(args: argparse.Namespace) -> None:
    """Warm up, then drive the measured requests on the same event loop, tracked; report."""
    app, specs = load_app(args.app), requests_of(args)
    cycle = Cycle(specs)
    # One loop for both phases keeps the thread pool warm; entering the loop again inside
    # the tracked region lets memray see every frame of the measured requests.
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        check_all(app, specs, runner)
        runner.run(drive(app, cycle, args.warmup))
        with tracking(args):
            done, began = 0, time.perf_counter()
            while done == 0 or time.perf_counter() - began < args.min_seconds:
                runner.run(drive(app, cycle, args.requests))
                done += args.requests
            seconds = time.perf_counter() - began
        check_all(app, specs, runner)
    cycle.verify(args.app, args.warmup + done)
    print(json.dumps({"asgi_loop": {"requests": done, "seconds": round(seconds, 3)}}))


def main(argv: list[str] | None = None) -> int:
    try:
        run(build_parser().parse_args(argv))
    except KvbenchError as error:
        exit_clearly(error)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
