"""kvbench/redis_server.py: a private redis-server, preloaded, measured, and never left behind."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from kvbench import KvbenchError, redis_server
from kvbench.processes import PROJECT_ROOT
from kvbench.runtime.contract import PRELOAD_COUNT
from kvbench.services import PRIVATE_REDIS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("redis_checked")]


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_private_redis_is_preloaded_measured_and_gone_afterwards():
    with redis_server.shared_store(PRIVATE_REDIS) as server:
        assert server.url.startswith("redis://127.0.0.1:") and server.pid
        with redis_server.client(server.url) as client:
            assert client.get(b"kvbench:key-0042") == b'{"key":"key-0042","value":"test-value"}'
            assert client.dbsize() == PRELOAD_COUNT + 1  # and the key count
            assert int(client.get(redis_server.KEY_COUNT)) == PRELOAD_COUNT
            assert client.config_get("save") == {"save": ""}
            assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        cpu, commands = redis_server.usage(server.url)
        assert cpu >= 0 and commands >= PRELOAD_COUNT
        process = server.process
    assert process.returncode is not None and not running(process.pid)


def test_preload_resets_the_namespace_to_the_contracts_keys():
    with redis_server.private_redis() as server, redis_server.client(server.url) as client:
        client.set(b"kvbench:left-over", b"x")
        client.set(b"someone-else", b"y")
        redis_server.preload(server.url)
        assert client.get(b"kvbench:left-over") is None
        assert client.get(b"someone-else") == b"y"
        assert int(client.get(redis_server.KEY_COUNT)) == PRELOAD_COUNT


def test_private_redis_is_stopped_when_the_block_fails():
    with pytest.raises(RuntimeError, match="boom"), redis_server.private_redis() as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert not running(pid)


def test_a_stopped_redis_server_is_stopped_all_the_same():
    with redis_server.private_redis() as server:
        os.kill(server.pid, signal.SIGSTOP)  # as the fault tests leave it, at worst
    assert not running(server.pid)


OWNER = """
import sys, time
from kvbench.redis_server import private_redis
with private_redis() as server:
    print(server.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_redis_server_outlives_the_harness(how):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    pid = int(owner.stdout.readline())
    owner.send_signal(how)  # SIGKILL: the kernel's PR_SET_PDEATHSIG does the stopping
    owner.wait(15)
    owner.stdout.close()
    deadline = time.monotonic() + 5
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(pid)


def test_an_unreachable_redis_is_one_clear_line():
    failed = pytest.raises(KvbenchError, match=r"Redis at redis://127.0.0.1:1/0: .*")
    with failed, redis_server.shared_store("redis://127.0.0.1:1/0"):
        pass


def test_a_missing_redis_server_says_how_to_get_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with (
        pytest.raises(KvbenchError, match="apt-get install redis-server"),
        redis_server.private_redis(),
    ):
        pass


def test_a_durable_redis_keeps_acknowledged_writes_through_kill_9(tmp_path):
    port = redis_server.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    process = redis_server.start(port, tmp_path, durable=True)
    try:
        with redis_server.client(url) as client:
            client.set("acknowledged", "before the kill")
        process.kill()  # SIGKILL: no shutdown, nothing flushed on the way out
        process.wait()
        process = redis_server.start(port, tmp_path, durable=True)
        with redis_server.client(url) as client:
            assert client.get("acknowledged") == b"before the kill"
    finally:
        redis_server.stop(process)


def test_the_benchmarks_redis_writes_nothing_to_disk(tmp_path):
    command = redis_server.server_command("redis-server", 6379, tmp_path)
    assert command[command.index("--appendonly") + 1] == "no"
    assert command[command.index("--save") + 1] == ""
    durable = redis_server.server_command("redis-server", 6379, tmp_path, durable=True)
    assert durable[durable.index("--appendfsync") + 1] == "always"
