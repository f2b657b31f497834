import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyperf
import pytest

from kvbench.results.metrics import METRICS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

TINY = ["--trials", "2", "--warmup", "0.2", "--duration", "0.5", "--latency-window", "0.3"]


def bench(*args: str, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kvbench", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, **options)


def test_http_layer_writes_a_summary_every_tool_can_read(tmp_path):
    done = bench("--layers", "http", "--quick", *TINY, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema"] == 1
    assert set(summary["services"]) == {"unoptimized", "optimized"}
    for metrics in summary["services"].values():
        for name in ["http_tps", "http_p99_ms", "server_cpu_us_per_req", "server_rss_mb"]:
            assert name in METRICS
            assert metrics[name]["n"] == 2
            assert metrics[name]["median"] > 0
    env = summary["environment"]
    assert env["http"]["offered_rate"] > 0
    assert env["loadgen_ceiling"]["tps"] > 0
    for name, path in summary["files"]["http"].items():
        suite = pyperf.BenchmarkSuite.load(str(tmp_path / path))
        assert "http_tps" in suite.get_benchmark_names(), name
    assert (tmp_path / summary["files"]["latency"]["optimized"]).exists()


def test_ctrl_c_stops_the_run_and_every_server(tmp_path):
    command = [sys.executable, "-m", "kvbench", "bench", "--layers", "http", "--out", str(tmp_path)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    spawned: set[int] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not spawned:
        spawned = {p.pid for p in psutil.Process(process.pid).children(recursive=True)}
        time.sleep(0.1)
    assert spawned, "the bench started no server"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert not [pid for pid in spawned if psutil.pid_exists(pid)]


def test_bad_arguments_get_one_clear_line(tmp_path):
    done = bench("--layers", "gpu", "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --layers takes")
    assert "Traceback" not in done.stderr
    done = bench("--services", "nginx", "--out", str(tmp_path))
    assert done.returncode == 2 and "unknown service 'nginx'" in done.stderr


def tree(root) -> dict[str, tuple[int, int]]:
    """Every file under root but bytecode: size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_a_run_writes_into_its_run_folder_and_nowhere_else(tmp_path):
    """A copy of the checkout: after `kvbench bench --quick`, only bench-results/runs/ changed."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "runs", "*.egg-info")
    for name in ["kvbench", "unoptimized", "optimized", "ladder", "peers", "bench-results"]:
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    before, repository = tree(checkout), git_status()
    done = bench("--quick", *TINY, cwd=checkout)  # `-m kvbench` imports the copy
    assert done.returncode == 0, done.stderr
    after = tree(checkout)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    latest = checkout / "bench-results" / "runs" / "latest"
    run = latest.resolve().relative_to(checkout)
    assert changed and all(Path(p).is_relative_to(run) for p in changed), changed
    assert {"summary.json", "micro.json", "asgi.json"} <= {Path(p).name for p in changed}
    assert f"your run: {run}/" in done.stderr and "make compare" in done.stderr
    assert git_status() == repository  # the real checkout is untouched


def git_status() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True
    )
    return "\n".join(line for line in done.stdout.splitlines() if "__pycache__" not in line)
