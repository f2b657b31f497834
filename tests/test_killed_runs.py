"""A test run stopped from outside (a CI timeout's SIGTERM) leaves no process behind."""

import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from kvbench.processes import child_env

# The suite's own hooks (tests/conftest.py), around a test that starts a real server and,
# beside it, a process it would never stop (as a test interrupted mid-way leaves one).
CONFTEST = "from tests.conftest import pytest_configure, pytest_unconfigure  # noqa: F401\n"
HANGING_TEST = textwrap.dedent("""
    import subprocess, time
    from kvbench.processes import running_server
    from kvbench.services import get_service

    def test_hangs():
        leaked = subprocess.Popen(["sleep", "60"], start_new_session=True)
        with running_server(get_service("optimized")) as server:
            print("pids", server.pid, leaked.pid, flush=True)
            time.sleep(60)
""")


@pytest.mark.slow
def test_a_run_stopped_by_sigterm_stops_its_servers_and_leftovers(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_hang.py").write_text(HANGING_TEST)
    env = child_env()
    command = [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "test_hang.py"]
    options = {"cwd": tmp_path, "env": env, "stdout": subprocess.PIPE, "text": True}
    with subprocess.Popen(command, stderr=subprocess.DEVNULL, **options) as run:
        line = next(line for line in run.stdout if line.startswith("pids "))
        started = [psutil.Process(int(pid)) for pid in line.split()[1:]]
        run.send_signal(signal.SIGTERM)
        rest = run.communicate(timeout=30)[0]
    _, alive = psutil.wait_procs(started, timeout=5)
    assert not alive, f"left running: {alive}"
    assert run.returncode != 0
    assert "SIGTERM: stopped 2 processes" in rest
