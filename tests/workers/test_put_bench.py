"""The in-process PUT benchmark runs, with tiny settings, and checks its answers first."""

import asyncio
import json
import subprocess
import sys

import pytest

from kvbench.processes import PROJECT_ROOT, child_env
from kvbench.results.files import MACHINE_METADATA
from kvbench.workers import put_bench


@pytest.mark.parametrize("how", put_bench.READS)
@pytest.mark.parametrize("pieces", [1, 16])
def test_both_reads_return_the_value(how, pieces):
    value = b"v" * 4096
    read = put_bench.READS[how]
    assert asyncio.run(put_bench.read_many(read, value, pieces, 3)) == value.decode()


@pytest.mark.slow
@pytest.mark.timeout(360)  # beyond the command's own 300 s
def test_the_benchmark_runs_every_family(tmp_path):
    out = tmp_path / "put.json"
    command = [sys.executable, "-m", "kvbench.workers.put_bench", "-p", "1", "-w", "0", "-n", "1"]
    command += ["--min-time", "0.001", "--quiet", "-o", str(out)]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    names = {bench["metadata"]["name"] for bench in written["benchmarks"]}
    # the file gets committed: no path of this machine in it (pyperf records its python's)
    assert all(key not in written["metadata"] for key in MACHINE_METADATA)
    assert sys.executable not in out.read_text()
    assert {"put[unoptimized]", "put[optimized]", "body-10b[running-limit]"} <= names
    assert "body-64kib-16-chunks[whole-then-check]" in names
