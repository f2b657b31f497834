import signal
import socket
import subprocess
import sys

import pytest

from kvbench.load.canned import MISSING, RESPONSES, main, serve_in_thread
from kvbench.processes import PROJECT_ROOT

REQUEST = b"GET /get?key=key-0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
RESPONSE = RESPONSES[b"/get?key=key-0001"]


def exchange(port: int, chunks: list[bytes], expected: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
        received = b""
        while len(received) < expected:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            received += data
        return received


def request(key: str) -> bytes:
    return f"GET /get?key={key} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def test_each_key_gets_its_own_body_as_the_services_answer_it():
    assert len(RESPONSES) == 1000
    body = b'{"key":"key-0001","value":"test-value"}'
    assert RESPONSE.endswith(b"content-length: 39\r\n\r\n" + body)
    assert b"\r\ncontent-type: application/json\r\n" in RESPONSE
    assert RESPONSES[b"/get?key=key-0999"].endswith(b'{"key":"key-0999","value":"test-value"}')


def test_answers_each_key_in_order_and_an_unknown_one_with_404():
    keys = ["key-0042", "key-0000", "key-9999", "key-0042"]
    expected = [RESPONSES.get(f"/get?key={k}".encode(), MISSING) for k in keys]
    with serve_in_thread() as port:
        got = exchange(port, [b"".join(request(k) for k in keys)], sum(map(len, expected)))
    assert got == b"".join(expected)
    assert MISSING.startswith(b"HTTP/1.1 404 ")


def test_answers_each_request_on_one_keep_alive_connection():
    with serve_in_thread() as port:
        assert exchange(port, [REQUEST] * 3, 3 * len(RESPONSE)) == RESPONSE * 3


def test_answers_pipelined_and_split_requests_in_order():
    stream = REQUEST * 4
    chunks = [stream[:30], stream[30:101], stream[101:102], stream[102:]]
    with serve_in_thread() as port:
        assert exchange(port, chunks, 4 * len(RESPONSE)) == RESPONSE * 4


def test_refuses_a_non_loopback_address(capsys):
    assert main(["--host", "192.0.2.1", "--port", "0"]) == 2
    assert "loopback only" in capsys.readouterr().err


@pytest.mark.slow
def test_module_announces_its_port_and_stops_on_sigterm():
    command = [sys.executable, "-m", "kvbench.load.canned", "--port", "0"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("canned server listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert exchange(port, [REQUEST], len(RESPONSE)) == RESPONSE
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
