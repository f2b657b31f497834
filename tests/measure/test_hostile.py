"""The hostile-client probes and their command, run with tiny settings."""

import json
import subprocess
import sys

import pytest

from kvbench.measure import hostile
from kvbench.processes import PROJECT_ROOT, child_env, running_server
from kvbench.services import SERVICES


def test_status_of_reads_the_first_status_line_only():
    assert hostile.status_of(b"HTTP/1.1 413 Content Too Large\r\n\r\n") == 413
    assert hostile.status_of(b"") is None and hostile.status_of(b"garbage") is None


@pytest.mark.slow
def test_probes_against_a_real_server():
    with running_server(SERVICES["optimized"]) as server:
        held = hostile.hold(server.host, server.port, 20, 0.2)
        assert (held.opened, held.still_open, held.get_status) == (20, 20, 200)
        big = hostile.big_body(server.host, server.port, 8 << 20)
        assert big.status == 413 and big.sent_bytes < 8 << 20


@pytest.mark.slow
@pytest.mark.timeout(180)  # beyond the command's own 120 s
def test_the_command_keeps_one_row_per_configuration(tmp_path):
    command = [sys.executable, "-m", "kvbench", "hostile", "--services", "optimized"]
    command += ["--connections", "10", "--wait", "0.2", "--big-mb", "1", "--out", str(tmp_path)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (found,) = json.loads((tmp_path / "summary.json").read_text())["configurations"]
    assert found["name"] == "optimized" and found["big_bodies"]["statuses"] == [413]
    assert found["probes"]["slow head"]["opened"] == 10
    rows = done.stdout.splitlines()  # the same table the docs show
    assert len(rows) == 3 and rows[2].startswith("| `optimized` | 10 of 10 | 200 in ")
    assert rows[2].endswith("MB |") and "413;" in rows[2]
