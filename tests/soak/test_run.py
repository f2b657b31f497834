"""kvbench/soak/run.py's read-back against a tiny stand-in server."""

import asyncio
import gc
import socket
import time

import psutil
import pytest

from kvbench import KvbenchError
from kvbench.soak import run, series

BUSY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 24\r\n\r\nstore unavailable: reset"
MISSING = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
FOUND = b'HTTP/1.1 200 OK\r\ncontent-length: 34\r\n\r\n{"key":"soak-0001","value":"v123"}'


def serve(answers: list[bytes]):
    """A server that answers each request with the next of `answers`, then 404s."""

    async def handle(reader, writer):
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(answers.pop(0) if answers else MISSING)
        except asyncio.IncompleteReadError:
            pass  # the client hung up
        finally:
            writer.close()
            await writer.wait_closed()

    return asyncio.start_server(handle, "127.0.0.1", 0)


def read_back(answers: list[bytes], monkeypatch, reached: list[bool] | None = None) -> dict:
    """The read-back against `serve(answers)`; `reached`: what each "has every worker
    answered?" asks in turn (True when not given)."""
    monkeypatch.setattr(run, "READBACK_CONNECTIONS", 1)
    monkeypatch.setattr(run, "READBACK_MOST", 3)
    asked = list(reached or [])

    async def every_worker() -> bool:
        return asked.pop(0) if asked else True

    async def main():
        server = await serve(answers)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await run.read_back(port, ["soak-0001", "soak-0002"], every_worker)

    return asyncio.run(main())


def test_the_read_back_opens_connections_until_every_worker_answered(monkeypatch):
    once = read_back([FOUND], monkeypatch)
    assert once == {"soak-0001": ["v123"], "soak-0002": [None]}
    again = read_back([FOUND], monkeypatch, reached=[False, True])
    assert again == {"soak-0001": ["v123", None], "soak-0002": [None, None]}  # one more
    most = read_back([], monkeypatch, reached=[False] * 10)
    assert len(most["soak-0001"]) == 3  # READBACK_MOST, then it stops asking


def test_a_busy_store_is_asked_again_and_an_absent_key_reads_as_none(monkeypatch):
    reads = read_back([BUSY, BUSY, FOUND], monkeypatch)
    assert reads == {"soak-0001": ["v123"], "soak-0002": [None]}


def test_a_store_busy_on_every_try_fails_the_read_back(monkeypatch):
    with pytest.raises(KvbenchError, match="503"):
        read_back([BUSY] * run.READBACK_TRIES, monkeypatch)


def test_fds_net_leaves_out_established_connections_and_counts_the_rest():
    listener = socket.create_server(("127.0.0.1", 0))
    before = series.usage(psutil.Process())
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        after = series.usage(psutil.Process())
        assert before is not None and after is not None
        assert after[1] - before[1] == 2 and after[3] - before[3] == 2  # both ends, both live
        client.close()  # the peer of `accepted` is gone: it waits in CLOSE_WAIT, a leak's shape
        time.sleep(0.05)
        closed = series.usage(psutil.Process())
        assert closed is not None and closed[1] - closed[3] == before[1] - before[3] + 1
    finally:
        accepted.close()
        listener.close()


def test_the_soak_times_its_own_processes_collections():
    with run.gc_timed() as found:
        gc.collect()
    assert found["collections"][2] >= 1 and found["max_ms"][2] > 0
    assert found["total_ms"] >= found["max_ms"][2]
    before = found["collections"][2]
    gc.collect()  # outside the block: not counted
    assert found["collections"][2] == before


def test_what_exists_before_the_load_is_out_of_the_gcs_sight_during_it():
    with run.frozen_gc():
        assert gc.get_freeze_count() > 1_000  # the modules' objects, at least
    assert gc.get_freeze_count() == 0
