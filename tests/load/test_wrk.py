import asyncio
import shutil

import pytest

from kvbench import KvbenchError
from kvbench.load.canned import serve_in_thread
from kvbench.load.summary import LoadError
from kvbench.load.wrk import parse_output, run_wrk, wrk_command

# What the done() hook prints, after wrk's own human-readable report.
OUTPUT = """Running 1s test @ http://127.0.0.1:8000/
  1 threads and 4 connections
{"kvbench_wrk":1,"requests":30145,"duration_us":1007049,"bytes":3165225,\
"errors":{"connect":0,"read":2,"write":0,"status":7,"timeout":1},\
"latency_us":{"p50":66.0,"p90":3518.0,"p99":9259.0,"p999":15079.0,"p9999":16032.0,\
"mean":1067.6,"max":16165.0}}
"""

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


class Failing(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"
        self.transport.write(answer * data.count(b"\r\n\r\n"))


def test_parse_output_reads_the_hook_line():
    summary = parse_output(OUTPUT, connections=4)
    assert summary.requests == 30145 and summary.duration_s == 1.007049
    assert summary.throughput == pytest.approx(30145 / 1.007049)
    latency = summary.latency_ms
    assert latency["p50"] == 0.066 and latency["p99"] == 9.259
    assert latency["p999"] == 15.079 and latency["max"] == 16.165
    assert summary.errors == 10 and summary.non_2xx == 7
    assert summary.raw_latencies is False and "no raw latencies" in summary.note


def test_parsed_errors_fail_the_check():
    with pytest.raises(LoadError, match="wrk status errors x7"):
        parse_output(OUTPUT, connections=4).check()


def test_output_without_the_hook_line_is_an_error():
    with pytest.raises(KvbenchError, match="no summary line"):
        parse_output("unable to connect to 127.0.0.1:1 Connection refused\n", connections=4)


def test_missing_wrk_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(KvbenchError, match="wrk is not installed"):
        wrk_command("http://127.0.0.1:1/", 4, 1, "summary.lua", [])


def test_non_loopback_target_is_refused():
    with pytest.raises(KvbenchError, match="only loopback"):
        run_wrk("192.0.2.1", 80, duration_s=1)


@needs_wrk
@pytest.mark.slow
def test_real_run_against_the_canned_server():
    with serve_in_thread() as port:
        summary = run_wrk("127.0.0.1", port, connections=2, duration_s=1)
    assert summary.requests > 0 and summary.errors == 0
    latency = summary.latency_ms
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    summary.check()


@needs_wrk
@pytest.mark.slow
def test_real_run_counts_non_2xx_as_errors():
    with serve_in_thread(Failing) as port:
        summary = run_wrk("127.0.0.1", port, connections=2, duration_s=1, path="/busy")
    assert summary.requests > 0 and summary.non_2xx == summary.requests
    with pytest.raises(LoadError, match="wrk status errors"):
        summary.check()
