import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from kvbench.commands.bench import verdict
from kvbench.results.metrics import METRICS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

TINY = ["--trials", "2", "--warmup", "0.2", "--duration", "0.8", "--latency-window", "0.5"]


def bench(*args: str, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kvbench", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, **options)


def test_http_layer_writes_a_summary_every_tool_can_read(tmp_path):
    done = bench("--layers", "http", "--quick", *TINY, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema"] == 3
    assert set(summary["services"]) == {"unoptimized", "optimized"}
    for metrics in summary["services"].values():
        for name in ["http_tps", "server_busy", "server_open_cpu_us_per_req", "server_rss_mb"]:
            assert name in METRICS
            assert metrics[name]["n"] == 2
            assert metrics[name]["median"] > 0
    env = summary["environment"]
    assert env["http"]["offered_rate"] > 0
    assert env["loadgen_ceiling"]["tps"] > 0
    assert summary["latency"]["optimized"]["n"] > 0
    assert summary["paired"]["optimized"]["metrics"]["http_tps"]["n"] == 2
    assert len(summary["rounds"]) == 2 and "ok" in summary["checks"]
    for name, path in summary["files"]["trials"].items():
        trials = json.loads((tmp_path / path).read_text())["trials"]
        assert all("http_tps" in trial["metrics"] for trial in trials), name
    assert (tmp_path / summary["files"]["latency"]["optimized"]).exists()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_wrk_cross_check_records_both_ratios(tmp_path):
    done = bench("--layers", "http", "--loadgen", "both", *TINY, "--duration", "1",
                 "--latency-window", "0", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["services"]["optimized"]["http_wrk_tps"]["n"] == 2
    check = summary["cross_check"]["optimized"]
    assert check["vs"] == "unoptimized" and check["wrk_ratio"] > 0 and check["builtin_ratio"] > 0
    assert check["wrk_over_builtin"] == check["wrk_ratio"] / check["builtin_ratio"]


def test_strict_fails_a_run_whose_checks_failed_and_says_why(capsys):
    failed = {"ok": False, "warnings": ["round 3: the ceiling was 1.5x"]}
    assert verdict(failed, strict=False) == 0
    assert verdict(failed, strict=True) == 1
    err = capsys.readouterr().err
    assert err.count("warning: round 3: the ceiling was 1.5x") == 2 and "--strict" in err
    assert verdict({"ok": True, "warnings": []}, strict=True) == 0


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
    done = bench("--stores", "--layers", "asgi,http", "--out", str(tmp_path))
    assert done.returncode == 2 and "--stores measures the HTTP layer only" in done.stderr


def test_a_quick_run_writes_its_run_folder_and_nothing_else(tmp_path):
    """In a copy of the checkout, `kvbench bench --quick` changes bench-results/runs/ only."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "runs", "*.egg-info")
    for name in ["kvbench", "unoptimized", "optimized", "ladder", "peers", "bench-results"]:
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    before, repository = tree(checkout), git_status()
    done = bench("--quick", *TINY, cwd=checkout)  # `-m kvbench` imports the copy
    assert done.returncode == 0, done.stderr
    after = tree(checkout)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    run = (checkout / "bench-results" / "runs" / "latest").resolve()
    assert changed and all((checkout / p).is_relative_to(run) for p in changed), changed
    assert f"your run: {run.relative_to(checkout)}/" in done.stderr
    assert "make compare" in done.stderr
    assert git_status() == repository  # the real checkout is untouched
    every_tool_can_read(run)


def every_tool_can_read(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    assert summary["schema"] == 3
    assert set(summary["services"]) == {"unoptimized", "optimized"}
    for metrics in summary["services"].values():
        for name in ["http_tps", "server_open_cpu_us_per_req", "asgi_ns_per_op"]:
            assert name in METRICS
            assert metrics[name]["median"] > 0
        assert metrics["http_tps"]["n"] == 2
    env = summary["environment"]
    assert env["http"]["offered_rate"] > 0
    assert env["loadgen_ceiling"]["tps"] > 0
    for name, path in summary["files"]["trials"].items():
        trials = json.loads((run / path).read_text())["trials"]
        assert all("http_tps" in trial["metrics"] for trial in trials), name
    assert (run / summary["files"]["latency"]["optimized"]).exists()
    assert {"micro.json", "asgi.json"} <= {p.name for p in run.iterdir()}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root but bytecode: size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def git_status() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True
    )
    return "\n".join(line for line in done.stdout.splitlines() if "__pycache__" not in line)
