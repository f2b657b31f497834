"""In-process PUT benchmark (pyperf): what reading the body with a running limit costs.

Two families, every answer checked before timing:
- `put[NAME]`: `PUT /put?key=bench-put` with a 10-byte value through each whole app, as a
  server hands it over (one body message, a content-length header);
- `body[...]`: the body read alone, as the services read it before the running limit
  (`parse_value(await request.body())`, which reads everything, then checks) and as they
  read it now (`read_value`), for a 10-byte value in one message and a 64 KiB value in 16.
Both read sides build the Starlette `Request` the endpoints get, so the difference is the
read itself. Run as `python -m kvbench.workers.put_bench -o put.json [--app NAME=mod:app ...]`.
"""

import asyncio
from pathlib import Path

import pyperf
import uvloop
from starlette.requests import Request

from kvbench.runtime.contract import MAX_VALUE_BYTES, parse_value, read_value
from kvbench.workers.inprocess import Answer, app_runner, http_scope, load_app

VALUE = b"test-value"
APPS = ("unoptimized=unoptimized.app:app", "optimized=optimized.app:app")


def put_scope(length: int) -> dict:
    scope = http_scope("PUT", "/put", b"key=bench-put")
    scope["headers"] = [(b"host", b"127.0.0.1"), (b"content-length", b"%d" % length)]
    return scope


class Messages:
    """A receive() that hands out the same body messages, round and round."""

    def __init__(self, value: bytes, pieces: int) -> None:
        size = len(value) // pieces
        chunks = [value[i * size : (i + 1) * size] for i in range(pieces)]
        self.messages = [
            {"type": "http.request", "body": chunk, "more_body": i < pieces - 1}
            for i, chunk in enumerate(chunks)
        ]
        self.index = 0

    async def receive(self) -> dict:
        message = self.messages[self.index % len(self.messages)]
        self.index += 1
        return message


async def put_many(app, scope: dict, loops: int) -> Answer:
    answer, messages = Answer(), Messages(VALUE, 1)

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]

    for _ in range(loops):
        await app(dict(scope), messages.receive, send)
    return answer


def bench_put(loops: int, target: str) -> float:
    app, scope = load_app(target), put_scope(len(VALUE))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(put_many(app, scope, 1)).status == 204, target  # checked first
        started = pyperf.perf_counter()
        runner.run(put_many(app, scope, loops))
        return pyperf.perf_counter() - started


async def whole_then_check(scope: dict, receive) -> str:
    return parse_value(await Request(scope, receive).body())


async def running_limit(scope: dict, receive) -> str:
    request = Request(scope, receive)
    return await read_value(request.scope, request.receive)


READS = {"whole-then-check": whole_then_check, "running-limit": running_limit}


async def read_many(read, value: bytes, pieces: int, loops: int) -> str:
    scope, messages = put_scope(len(value)), Messages(value, pieces)
    text = ""
    for _ in range(loops):
        text = await read(scope, messages.receive)
    return text


def bench_read(loops: int, how: str, value: bytes, pieces: int) -> float:
    read = READS[how]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(read_many(read, value, pieces, 1)) == value.decode(), how
        started = pyperf.perf_counter()
        runner.run(read_many(read, value, pieces, loops))
        return pyperf.perf_counter() - started


def main() -> None:
    runner, args = app_runner("PUT through each app, and the body read alone, in-process")
    for spec in args.app or APPS:
        name, _, target = spec.partition("=")
        runner.bench_time_func(f"put[{name}]", bench_put, target)
    big = b"v" * MAX_VALUE_BYTES
    for how in READS:
        runner.bench_time_func(f"body-10b[{how}]", bench_read, how, VALUE, 1)
        runner.bench_time_func(f"body-64kib-16-chunks[{how}]", bench_read, how, big, 16)
    if not args.worker and args.output:  # the parent process, once every result is in
        from kvbench.results.files import strip_machine_paths  # not in the timed workers

        strip_machine_paths(Path(args.output))


if __name__ == "__main__":
    main()
