import asyncio
import json
import time

import numpy as np
import pytest

from kvbench import KvbenchError, cli
from kvbench.load.canned import RESPONSE, CannedProtocol, serve_in_thread
from kvbench.load.config import LoadConfig
from kvbench.load.engine import Run, run_load
from kvbench.load.summary import LoadError, LoadResult
from kvbench.load.workload import key_workload, path_probe
from kvbench.processes import free_port

OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 39"
ERROR_500 = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n\r\noops!"


class Scripted(asyncio.Protocol):
    """A test server: each request head gets `answer(n)` (n counts from 0) after `delay_s`."""

    served = 0
    delay_s = 0.0
    stall_at: int | None = None  # this request blocks the whole server for stall_s
    stall_s = 0.3

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for _ in range(data.count(b"\r\n\r\n")):
            n = type(self).served
            type(self).served += 1
            if n == self.stall_at:
                time.sleep(self.stall_s)  # blocks this server's loop: every connection waits
            if self.delay_s:
                asyncio.get_running_loop().call_later(self.delay_s, self.reply, n)
            else:
                self.reply(n)

    def reply(self, n: int) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.answer(n))

    def answer(self, n: int) -> bytes:
        return RESPONSE


def scripted(**attributes) -> type[Scripted]:
    return type("Server", (Scripted,), {"served": 0, **attributes})


def serve(factory):
    # The plain asyncio loop times call_later finely; uvloop rounds to whole milliseconds.
    return serve_in_thread(factory, loop_factory=asyncio.new_event_loop)


def canned_load(port: int, probes=None, **options):
    probes = probes or [path_probe("127.0.0.1", port, "/get")]
    return run_load(LoadConfig(port=port, **options), probes)


def test_key_workload_cycles_the_preloaded_keys():
    probes = key_workload("127.0.0.1", 8000)
    assert len(probes) == 1000
    assert probes[0].raw == b"GET /get?key=key-0000 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
    assert probes[999].raw.startswith(b"GET /get?key=key-0999 ")
    assert {(p.status, p.body_length) for p in probes} == {(200, 39)}
    assert key_workload("::1", 80, keys=12_346)[12_345].body_length == 40


def test_result_summary_uses_nearest_rank_percentiles():
    latencies = np.arange(1, 101, dtype=np.int64) * 1_000_000
    result = LoadResult("closed", 4, 0.0, 2.0, 100, 0, 0, 0, {}, [], latencies)
    summary = result.summary().to_dict()
    assert summary["p50_ms"] == 50 and summary["p99_ms"] == 99 and summary["p9999_ms"] == 100
    assert summary["mean_ms"] == 50.5 and summary["max_ms"] == 100
    assert summary["throughput"] == 50 and summary["offered_rate"] is None
    assert json.loads(json.dumps(summary)) == summary


def test_empty_result_has_no_percentiles_and_fails_the_check():
    result = LoadResult("open", 4, 0.0, 1.0, 0, 0, 0, 0, {}, [], np.empty(0, np.int64), 100.0)
    assert result.summary().latency_ms["p99"] is None and result.percentile_ms(50) is None
    with pytest.raises(LoadError, match="no request was answered"):
        result.check()


@pytest.mark.timing
def test_closed_loop_times_every_answer_of_a_slow_server():
    server = scripted(delay_s=0.02)
    with serve(server) as port:
        result = canned_load(port, connections=4, duration_s=0.5)
    assert result.errors == 0 and result.requests > 0
    assert result.latencies_ns.size == result.requests
    assert result.latencies_ns.min() >= 20_000_000
    # Closed loop: at most one request per connection every 20 ms.
    assert result.requests <= 4 * (result.duration_s / 0.02 + 1)
    assert result.throughput == pytest.approx(result.requests / result.duration_s)
    result.check()


def test_max_requests_stops_at_exactly_that_many():
    with serve_in_thread() as port:
        result = canned_load(port, connections=4, duration_s=10, max_requests=100)
    assert result.requests == 100 and result.errors == 0
    assert result.duration_s < 10


@pytest.mark.timing
def test_warmup_is_served_but_not_recorded():
    server = scripted(delay_s=0.02)
    with serve(server) as port:
        result = canned_load(port, connections=4, duration_s=0.3, warmup_s=0.3)
    assert result.requests > 0
    assert server.served >= result.requests + 20  # about 60 answers went to the warm-up


@pytest.mark.timing
def test_open_loop_keeps_the_offered_rate():
    with serve_in_thread() as port:
        result = canned_load(port, connections=4, duration_s=1.0, mode="open", rate=200)
    assert result.errors == 0
    assert result.offered_rate == 200
    assert result.throughput == pytest.approx(200, rel=0.1)


@pytest.mark.timing
def test_open_loop_counts_a_stall_from_the_intended_send_times():
    server = scripted(stall_at=60, stall_s=0.3)
    with serve(server) as port:
        result = canned_load(port, connections=2, duration_s=1.0, mode="open", rate=200)
    assert result.errors == 0
    assert result.percentile_ms(99) >= 250
    # Timed from the actual sends, at most one request per connection could see the stall;
    # timed from the intended ones, every request due while it lasted shows its wait.
    assert (result.latencies_ns >= 250_000_000).sum() > 2 * 2


class Recorder:
    """Stands in for a Connection: keeps what `send` was given."""

    def __init__(self, idle_ns: int) -> None:
        self.idle_ns = idle_ns

    def send(self, probe, timed_from_ns, now, measured) -> None:
        self.timed_from_ns = timed_from_ns


@pytest.mark.parametrize(
    ("idle_ns", "timed_from_ns"),
    [
        (500, 1_800),  # free before it was due: our own 800 ns of lateness is not counted
        (1_500, 1_300),  # busy until 500 ns after it was due: that wait counts
    ],
)
def test_open_loop_latency_counts_from_when_a_request_could_first_be_sent(idle_ns, timed_from_ns):
    loop = asyncio.new_event_loop()
    try:
        config = LoadConfig(port=1, mode="open", rate=1000)
        run = Run(config, key_workload("127.0.0.1", 1, keys=1), loop)
        conn = Recorder(idle_ns)
        run.send_next(conn, 1_000, 1_800)
    finally:
        loop.close()
    assert conn.timed_from_ns == timed_from_ns


def test_server_errors_fail_the_check_by_name():
    server = scripted(answer=lambda self, n: RESPONSE if n % 2 else ERROR_500)
    with serve(server) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.non_2xx > 0 and result.errors >= result.non_2xx
    with pytest.raises(LoadError, match="500 Internal Server Error x"):
        result.check()


def test_wrong_body_length_fails_the_check():
    short = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    with serve(scripted(answer=lambda self, n: short)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.bad_body == result.errors > 0
    with pytest.raises(LoadError, match="200 with a 2-byte body instead of 39"):
        result.check()


def test_unframed_answers_are_errors_and_the_run_goes_on():
    unframed = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"
    with serve(scripted(answer=lambda self, n: unframed if n == 3 else RESPONSE)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.failures == {"200 with transfer-encoding instead of content-length": 1}
    assert result.requests > 10


class Resetting(Scripted):
    def reply(self, n: int) -> None:
        if n == 5:
            self.transport.abort()  # a reset mid-run, with a request in flight
        else:
            super().reply(n)


def test_a_connection_reset_mid_run_is_an_error_and_the_run_goes_on():
    with serve(type("Server", (Resetting,), {"served": 0})) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    [(reason, count)] = result.failures.items()
    assert reason.startswith("connection lost: ") and count == 1
    assert result.requests > 10


@pytest.mark.timing
def test_unanswered_requests_time_out():
    with serve(scripted(answer=lambda self, n: b"" if n == 0 else RESPONSE)) as port:
        result = canned_load(port, connections=2, duration_s=0.6, timeout_s=0.2)
    assert result.failures == {"timeout: no answer in 0.2 s": 1}
    assert result.requests > 0


class SlowFirst(Scripted):
    """Answers the very first request (sent before the measured window) only after 0.5 s."""

    def data_received(self, data: bytes) -> None:
        for _ in range(data.count(b"\r\n\r\n")):
            n = type(self).served
            type(self).served += 1
            asyncio.get_running_loop().call_later(0.5 if n == 0 else 0, self.reply, n)


@pytest.mark.timing
def test_a_request_from_before_the_window_still_unanswered_at_its_end_is_no_error():
    with serve(type("Server", (SlowFirst,), {"served": 0})) as port:
        result = canned_load(port, connections=2, duration_s=0.2)
    assert result.errors == 0 and result.requests > 10


def test_refused_port_gives_errors_not_a_hang():
    began = time.monotonic()
    result = canned_load(free_port(), connections=2, duration_s=0.3)
    assert time.monotonic() - began < 5
    assert result.requests == 0 and result.errors >= 2
    assert all(reason.startswith("connect: ") for reason in result.failures)
    with pytest.raises(LoadError, match="connect: "):
        result.check()


def test_non_loopback_target_is_refused_before_any_traffic(monkeypatch):
    def no_traffic(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(asyncio.BaseEventLoop, "create_connection", no_traffic)
    with pytest.raises(KvbenchError, match="only loopback"):
        run_load(LoadConfig(host="192.0.2.1", port=80, duration_s=0.1))


@pytest.fixture
def main(monkeypatch):
    """`python -m kvbench` with only this command, whatever state the others are in."""
    monkeypatch.setattr(cli, "COMMANDS", {"loadgen": cli.COMMANDS["loadgen"]})
    return cli.main


def test_command_prints_json_and_saves_latencies(main, tmp_path, capsys):
    path = tmp_path / "latencies.npy"
    with serve_in_thread(CannedProtocol) as port:
        args = ["loadgen", "--port", str(port), "--duration", "0.3", "--warmup", "0"]
        code = main([*args, "--connections", "2", "--json", "--save-latencies", str(path)])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["errors"] == 0
    assert np.load(path).size == summary["requests"] > 0
    expected = {"throughput", "duration_s", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "p9999_ms"}
    assert expected <= summary.keys()


def test_command_fails_a_run_with_errors(main, capsys):
    code = main(["loadgen", "--port", str(free_port()), "--duration", "0.2", "--warmup", "0"])
    captured = capsys.readouterr()
    assert code == 2
    assert "0 requests" in captured.out and captured.err.startswith("error: ")
