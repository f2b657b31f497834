import asyncio
import json
import re
import time

import numpy as np
import pytest

from kvbench import KvbenchError, cli
from kvbench.load.canned import RESPONSES, CannedProtocol, response, serve_in_thread
from kvbench.load.config import LoadConfig
from kvbench.load.engine import Run, run_load
from kvbench.load.summary import LoadError, LoadResult
from kvbench.load.workload import key_body, key_workload
from kvbench.processes import free_port

ERROR_500 = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n\r\noops!"
TARGET = re.compile(rb"GET (\S+) HTTP/1.1\r\n")


class Scripted(asyncio.Protocol):
    """A test server: request n (from 0) gets `answer(n, target)` after `delay_s`."""

    served = 0
    delay_s = 0.0
    stall_at: int | None = None  # this request blocks the whole server for stall_s
    stall_s = 0.3

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for target in TARGET.findall(data):
            n = type(self).served
            type(self).served += 1
            if n == self.stall_at:
                time.sleep(self.stall_s)  # blocks this server's loop: every connection waits
            if self.delay_s:
                asyncio.get_running_loop().call_later(self.delay_s, self.reply, n, target)
            else:
                self.reply(n, target)

    def reply(self, n: int, target: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.answer(n, target))

    def answer(self, n: int, target: bytes) -> bytes:
        return RESPONSES[target]


def scripted(**attributes) -> type[Scripted]:
    return type("Server", (Scripted,), {"served": 0, **attributes})


def serve(factory):
    # The plain asyncio loop times call_later finely; uvloop rounds to whole milliseconds.
    return serve_in_thread(factory, loop_factory=asyncio.new_event_loop)


def canned_load(port: int, probes=None, **options):
    probes = probes or key_workload("127.0.0.1", port)
    return run_load(LoadConfig(port=port, **options), probes)


def test_key_workload_cycles_the_preloaded_keys():
    probes = key_workload("127.0.0.1", 8000)
    assert len(probes) == 1000
    assert probes[0].raw == b"GET /get?key=key-0000 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
    assert probes[999].raw.startswith(b"GET /get?key=key-0999 ")
    assert probes[42].body == b'{"key":"key-0042","value":"test-value"}'
    assert {(p.status, len(p.body), p.content_type) for p in probes} == {
        (200, 39, b"application/json")
    }
    assert key_workload("::1", 80, keys=12_346)[12_345].body == key_body("key-12345")


def closed_result(latencies: np.ndarray) -> LoadResult:
    sent = np.arange(latencies.size, dtype=np.int64) * 10**9
    n = latencies.size
    return LoadResult("closed", 4, 0.0, 2.0, n, 0, 0, 0, {}, [], sent, sent, sent + latencies)


def test_result_summary_uses_nearest_rank_percentiles():
    latencies = np.arange(1, 101, dtype=np.int64) * 1_000_000
    result = closed_result(latencies)
    summary = result.summary().to_dict()
    assert summary["p50_ms"] == 50 and summary["p90_ms"] == 90
    # p99 of 100 requests has 1 beyond it: too few to say anything, so it is not reported.
    assert summary["p99_ms"] is None and summary["p9999_ms"] is None
    assert summary["mean_ms"] == 50.5 and summary["max_ms"] == 100
    assert summary["throughput"] == 50 and summary["offered_rate"] is None
    assert json.loads(json.dumps(summary)) == summary


def test_empty_result_has_no_percentiles_and_fails_the_check():
    empty = np.empty(0, np.int64)
    result = LoadResult("open", 4, 0.0, 1.0, 0, 0, 0, 0, {}, [], empty, empty, empty, 100.0)
    assert result.summary().latency_ms["p99"] is None and result.percentile_ms("50") is None
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
    # Closed loop: at most one request per connection every 20 ms, over exactly the window.
    assert result.duration_s == 0.5
    assert result.requests <= 4 * (result.duration_s / 0.02 + 1)
    assert result.throughput == result.requests / 0.5
    result.check()


@pytest.mark.timing
def test_closed_loop_counts_answers_inside_the_window_and_waits_for_none_after_it():
    # Each answer takes 0.2 s: two arrive in the 0.3 s window; the two sent at 0.2 s would
    # arrive at 0.4 s, after it ends, and are cut off rather than stretching the window.
    began = time.monotonic()
    with serve(scripted(delay_s=0.2)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.requests == 2 and result.duration_s == 0.3 and result.errors == 0
    assert time.monotonic() - began < 0.38


def test_the_window_hook_fires_at_start_and_end_once_each():
    calls: list[tuple[str, int]] = []
    with serve_in_thread() as port:
        config = LoadConfig(port=port, connections=2, duration_s=0.2)
        hook = lambda event: calls.append((event, time.perf_counter_ns()))  # noqa: E731
        result = run_load(config, key_workload("127.0.0.1", port), hook)
    assert [event for event, _ in calls] == ["start", "end"]
    assert calls[1][1] - calls[0][1] >= 0.2e9 and result.requests > 0


def test_max_requests_stops_at_exactly_that_many():
    with serve_in_thread() as port:
        result = canned_load(port, connections=4, duration_s=10, max_requests=100)
        opened = canned_load(port, connections=4, duration_s=10, max_requests=50, mode="open",
                             rate=1000)  # fmt: skip
    assert result.requests == 100 and result.errors == 0
    assert result.duration_s < 10
    assert opened.requests == 50 and opened.errors == 0 and opened.duration_s < 1


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
    assert result.percentile_ms("90") >= 100  # ~40 of 200 requests were due during the stall
    # Timed from the actual sends, at most one request per connection could see the stall;
    # timed from the intended ones, every request due while it lasted shows its wait.
    assert (result.latencies_ns >= 250_000_000).sum() > 2 * 2


class Recorder:
    """Stands in for a Connection: keeps what `send` was given."""

    def send(self, probe, intended_ns, sent_ns, record) -> None:
        self.intended_ns, self.sent_ns, self.record = intended_ns, sent_ns, record

    @property
    def measured(self) -> bool:
        return self.record >= 0


def test_open_loop_latency_counts_from_the_intended_send_even_when_sent_late():
    loop = asyncio.new_event_loop()
    try:
        run = Run(LoadConfig(port=1, mode="open", rate=1000), key_workload("127.0.0.1", 1), loop)
        run.start_ns = 0  # measuring: the window began long ago
        conn = Recorder()
        run.send_next(conn, 1_000)  # due at 1 us on perf_counter_ns: sent much later
        record = conn.record
        run.answered(conn, run.probes[0], run.probes[0].head, b"", run.probes[0].body,
                     conn.sent_ns + 5_000)  # fmt: skip
    finally:
        loop.close()
    assert conn.intended_ns == 1_000 and conn.sent_ns > 1_000 and record == 0
    result = run.result()
    assert result.intended_ns.tolist() == [1_000] and result.sent_ns.tolist() == [conn.sent_ns]
    assert result.latencies_ns.tolist() == [conn.sent_ns + 5_000 - 1_000]  # lateness included
    assert result.service_ns.tolist() == [5_000]


def test_server_errors_fail_the_check_by_name():
    server = scripted(answer=lambda self, n, target: RESPONSES[target] if n % 2 else ERROR_500)
    with serve(server) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.non_2xx > 0 and result.errors >= result.non_2xx
    with pytest.raises(LoadError, match="500 Internal Server Error x"):
        result.check()


def stale(self, n: int, target: bytes) -> bytes:
    """The right status, content-type and length, but key-0000's body for every key."""
    return RESPONSES[b"/get?key=key-0000"]


def turns_stale(self, n: int, target: bytes) -> bytes:
    """Right answers first, then key-0000's body (the right length) for every key."""
    return RESPONSES[target] if n < 200 else stale(self, n, target)


def test_a_wrong_answer_after_right_ones_of_the_same_bytes_length_still_fails():
    # the right answers' bytes are remembered; the wrong ones must not pass as known
    with serve(scripted(answer=turns_stale)) as port:
        probes = key_workload("127.0.0.1", port, keys=10)
        result = canned_load(port, probes, connections=4, duration_s=0.3, warmup_s=0.2)
    # every answer in the window is key-0000's, right only for one request in ten
    assert result.requests > 0 and result.bad_body == result.errors
    assert result.errors >= 0.85 * result.requests


class Split(Scripted):
    """Every answer in two writes, the second a millisecond later: two reads to frame."""

    def reply(self, n: int, target: bytes) -> None:
        answer = self.answer(n, target)
        if not self.transport.is_closing():
            self.transport.write(answer[:20])
            asyncio.get_running_loop().call_later(0.001, self.transport.write, answer[20:])


def test_answers_split_over_reads_are_framed_and_checked():
    with serve(type("Server", (Split,), {"served": 0})) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.requests > 0 and result.errors == 0
    with serve(type("Server", (Split,), {"served": 0, "answer": stale})) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.requests > 0 and result.bad_body == result.errors > 0


def test_the_wrong_keys_body_of_the_right_length_fails_naming_the_key_and_the_bytes():
    with serve(scripted(answer=stale)) as port:
        result = canned_load(port, connections=1, duration_s=0.3)
    assert result.bad_body == result.errors > 0 and result.requests > 0
    with pytest.raises(LoadError) as failed:
        result.check()
    message = str(failed.value)
    assert "a body other than the one for the key asked x" in message
    assert "GET /get?key=key-0001 received " in message  # key-0000 is the only right answer
    assert """b'{"key":"key-0000","value":"test-value"}'""" in message
    assert """expected b'{"key":"key-0001","value":"test-value"}'""" in message


def test_a_wrong_content_type_fails_the_check():
    def text(self, n: int, target: bytes) -> bytes:
        return response(b"200 OK", b"text/html", RESPONSES[target].partition(b"\r\n\r\n")[2])

    with serve(scripted(answer=text)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.bad_body == result.errors > 0
    with pytest.raises(LoadError, match="content-type 'text/html' instead of 'application/json'"):
        result.check()


def test_a_short_body_fails_the_check():
    def short(self, n: int, target: bytes) -> bytes:
        return response(b"200 OK", b"application/json", b"{}")

    with serve(scripted(answer=short)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    with pytest.raises(LoadError, match=r"received b'\{\}', expected"):
        result.check()


def test_unframed_answers_are_errors_and_the_run_goes_on():
    unframed = b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"

    def answer(self, n: int, target: bytes) -> bytes:
        return unframed if n == 3 else RESPONSES[target]

    with serve(scripted(answer=answer)) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    assert result.failures == {"200 with a transfer-encoding other than chunked": 1}
    assert result.requests > 10


class Resetting(Scripted):
    def reply(self, n: int, target: bytes) -> None:
        if n == 5:
            self.transport.abort()  # a reset mid-run, with a request in flight
        else:
            super().reply(n, target)


def test_a_connection_reset_mid_run_is_an_error_and_the_run_goes_on():
    with serve(type("Server", (Resetting,), {"served": 0})) as port:
        result = canned_load(port, connections=2, duration_s=0.3)
    [(reason, count)] = result.failures.items()
    assert reason.startswith("connection lost: ") and count == 1
    assert result.requests > 10


@pytest.mark.timing
def test_unanswered_requests_time_out():
    def answer(self, n: int, target: bytes) -> bytes:
        return b"" if n == 0 else RESPONSES[target]

    with serve(scripted(answer=answer)) as port:
        result = canned_load(port, connections=2, duration_s=0.6, timeout_s=0.2)
    assert result.failures == {"timeout: no answer in 0.2 s": 1}
    assert result.requests > 0


class SlowFirst(Scripted):
    """Answers the very first request (sent before the measured window) only after 0.5 s."""

    def data_received(self, data: bytes) -> None:
        for target in TARGET.findall(data):
            n = type(self).served
            type(self).served += 1
            asyncio.get_running_loop().call_later(0.5 if n == 0 else 0, self.reply, n, target)


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
    assert code == 1  # a failed run, not a usage error
    # no throughput printed for a failed window: the error says why
    assert captured.out == "" and captured.err.startswith("error: ")


def test_the_open_loop_sends_rate_times_window_requests_each_with_a_record():
    with serve_in_thread() as port:
        result = canned_load(port, connections=4, duration_s=0.5, warmup_s=0.1, mode="open",
                             rate=1000)  # fmt: skip
    assert result.errors == 0
    # Request k is due at t0 + k ms: exactly 500 fall in a window of 500 ms.
    assert result.intended_ns.size == result.requests == 500
    assert (np.diff(result.intended_ns) == 1_000_000).all()
    assert (result.sent_ns >= result.intended_ns).all()
    # answered - intended >= sent - intended for every record: latency includes the lag.
    assert (result.answered_ns - result.intended_ns >= result.sent_ns - result.intended_ns).all()
    assert (result.latencies_ns == result.answered_ns - result.intended_ns).all()
    summary = result.summary()
    assert set(summary.send_lag_ms) == {"p50", "p99", "max"}  # p99: too few beyond it, None
    assert summary.answered_in_window is not None and summary.answered_in_window <= 500


def test_the_closed_loop_records_intended_as_sent():
    with serve_in_thread() as port:
        result = canned_load(port, connections=2, duration_s=0.2)
    assert result.requests == result.intended_ns.size > 0
    assert (result.intended_ns == result.sent_ns).all() and (result.answered_ns > 0).all()
    assert result.summary().answered_in_window is None


@pytest.mark.parametrize(("due_in_ns", "timer"), [(10_000_000, True), (1_000_000, False)])
def test_the_pacer_sleeps_on_a_timer_until_close_then_spins(due_in_ns, timer):
    loop = asyncio.new_event_loop()
    try:
        run = Run(LoadConfig(port=1, mode="open", rate=1000), key_workload("127.0.0.1", 1), loop)
        run.wake_for(due_in_ns, 0)
        assert isinstance(run.timer, asyncio.TimerHandle) == timer and run.timer is not None
        run.timer.cancel()
    finally:
        loop.close()


def test_warmup_failures_are_counted_apart_from_the_windows_and_still_fail():
    def answer(self, n: int, target: bytes) -> bytes:
        return ERROR_500 if n < 3 else RESPONSES[target]  # the first three: warm-up

    with serve(scripted(answer=answer)) as port:
        result = canned_load(port, connections=1, duration_s=0.2, warmup_s=0.2)
    summary = result.summary()
    assert summary.errors == summary.non_2xx == 0 and summary.requests > 0
    assert summary.warmup_errors == 3
    assert summary.to_dict()["warmup_failures"] == {"500 Internal Server Error": 3}
    with pytest.raises(LoadError, match="3 requests failed in the warm-up"):
        summary.check()
