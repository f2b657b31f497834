"""`running_server` and its helpers: start, wait, stop, and never leave a process behind."""

import os
import signal
import socket
import subprocess
import sys

import psutil
import pytest

from kvbench import processes
from kvbench.processes import (
    RunningServer,
    ServerError,
    child_env,
    free_port,
    pin,
    running_server,
    stop,
    wait_until_ready,
)
from kvbench.services import Service, get_service, parse_variant

SLEEPER = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.{});"
    "print('ready', flush=True); time.sleep(60)"
)


def sleeper(on_term: str = "SIG_DFL") -> subprocess.Popen:
    """A process in its own group that does nothing, optionally deaf to SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLEEPER.format(on_term)],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stdout.readline() == b"ready\n"  # Its signal handler is in place.
    process.stdout.close()
    return process


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_running_server_cleans_up_after_an_exception(tmp_path):
    service = get_service("optimized")
    with (
        pytest.raises(RuntimeError, match="boom"),
        running_server(service, log_path=tmp_path / "log") as server,
    ):
        assert server.debug_vars()["pid"] == server.pid
        raise RuntimeError("boom")
    assert server.process.returncode is not None
    assert not psutil.pid_exists(server.pid)
    assert group_is_gone(server.pid)


def has_ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_debug_vars_are_read_on_the_admin_host_not_the_service_host(tmp_path):
    with running_server(get_service("optimized"), host="::1", log_path=tmp_path / "log") as server:
        assert server.admin_host == "127.0.0.1"
        assert server.debug_vars()["pid"] == server.pid
        with socket.create_connection(("::1", server.port), timeout=5):
            pass


@pytest.mark.slow
def test_service_that_cannot_start_raises_server_error_with_its_output(tmp_path):
    broken = parse_variant("broken=nonexistent.module:app")
    with pytest.raises(ServerError) as caught, running_server(broken, log_path=tmp_path / "log"):
        pytest.fail("a service that cannot import its app must not start")
    message = str(caught.value)
    assert message.startswith("broken exited with code ")
    assert "nonexistent" in message  # uvicorn's own words, from the server's output


@pytest.mark.slow
def test_wait_until_ready_gives_up_after_the_timeout():
    process = sleeper()
    service = Service("silent", "none:app")
    server = RunningServer(service, process, "127.0.0.1", free_port(), free_port(), [], None)
    try:
        with pytest.raises(ServerError, match="silent did not answer within"):
            wait_until_ready(server, timeout=0.3)
    finally:
        stop(process)


@pytest.mark.slow
def test_stop_kills_a_process_that_ignores_sigterm():
    process = sleeper("SIG_IGN")
    stop(process, grace=0.2)
    assert process.returncode == -signal.SIGKILL
    assert group_is_gone(process.pid)


@pytest.mark.slow
def test_stop_terminates_politely_first():
    process = sleeper()
    stop(process, grace=5)
    assert process.returncode == -signal.SIGTERM


@pytest.mark.slow
def test_stop_on_a_finished_process_is_harmless():
    process = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    process.wait()
    stop(process)
    assert process.returncode == 0


def test_free_port_is_bindable():
    port = free_port()
    assert 0 < port < 65536
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_pin_without_cpus_does_nothing():
    assert pin(os.getpid(), None) is False
    assert pin(os.getpid(), set()) is False


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_pin_sets_the_affinity():
    process = sleeper()
    try:
        cpu = min(os.sched_getaffinity(0))
        assert pin(process.pid, {cpu}) is True
        assert os.sched_getaffinity(process.pid) == {cpu}
    finally:
        stop(process)


def test_child_env_puts_the_app_folder_first_and_keeps_the_users_pythonpath(monkeypatch):
    from kvbench.processes import PROJECT_ROOT, child_env

    monkeypatch.setenv("PYTHONPATH", "/users/own")
    path = child_env(app_dirs=("/apps/mine",))["PYTHONPATH"].split(os.pathsep)
    assert path == ["/apps/mine", str(PROJECT_ROOT), "/users/own"]


def test_a_users_app_runs_in_its_own_folder():
    from kvbench.processes import PROJECT_ROOT, working_dir
    from kvbench.services import parse_app

    assert working_dir([get_service("optimized")]) == PROJECT_ROOT
    assert str(working_dir([parse_app("mine=app:app", "/apps/mine")])) == "/apps/mine"


@pytest.mark.slow
def test_a_port_taken_after_free_port_is_given_up_for_a_fresh_one(tmp_path, monkeypatch):
    # The race free_port leaves open, made certain: its first port is taken before the
    # server binds it. The server says so, exits, and is started again on fresh ports.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        ports = iter([taken.getsockname()[1]])
        monkeypatch.setattr(processes, "free_port", lambda host: next(ports, None) or free_port())
        with running_server(get_service("optimized"), log_path=tmp_path / "log") as server:
            assert server.port != taken.getsockname()[1]
            assert server.debug_vars()["pid"] == server.pid


@pytest.mark.slow
def test_a_server_dies_with_the_process_that_started_it():
    # SIGKILL runs no cleanup: the kernel's parent-death signal stops the server.
    command = [sys.executable, "-c", STARTER]
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "env": child_env()}
    with subprocess.Popen(command, **options) as starter:
        try:
            server_pid = int(starter.stdout.readline())
            starter.kill()
            starter.wait()
            psutil.Process(server_pid).wait(timeout=10)
        finally:
            stop(starter)
    assert not psutil.pid_exists(server_pid)


STARTER = (
    "import time\n"
    "from kvbench.processes import running_server\n"
    "from kvbench.services import get_service\n"
    "with running_server(get_service('optimized')) as server:\n"
    "    print(server.pid, flush=True)\n"
    "    time.sleep(60)\n"
)
