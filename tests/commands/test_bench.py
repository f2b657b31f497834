import json
import os
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # beyond run()'s own 240 s
ROOT = Path(__file__).resolve().parents[2]

TINY = ["--trials", "2", "--warmup", "0.2", "--duration", "0.8", "--latency-window", "0.5"]
NO_LATENCY = ["--latency-window", "0"]  # for a test that reads no latency: no open loop, no floor

# valgrind, natively: the counted child runs as it is, uncounted, and the cachegrind file
# says FIXED + PER_REQUEST x requests. Every step of the instructions layer (the native
# prime, the N, 2N and 3N children, their answers checked, the fit) runs in seconds instead
# of valgrind's minutes; tests/measure/test_instructions.py and the real gate count with
# the real valgrind.
NATIVE_VALGRIND = """\
#!{python}
import subprocess, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("valgrind-native")
    sys.exit(0)
out = next(a for a in args if a.startswith("--cachegrind-out-file=")).partition("=")[2]
child = args[next(i for i, a in enumerate(args) if not a.startswith("-")) :]
requests = int(child[child.index("--requests") + 1])
code = subprocess.run(child).returncode
with open(out, "w") as f:
    f.write("events: Ir\\nsummary: %d\\n" % (300_000_000 + {per} * requests))
sys.exit(code)
"""
PER_REQUEST = 12_345


def bench(*args: str, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kvbench", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, **options)


@pytest.fixture(scope="module")
def native_valgrind(tmp_path_factory) -> dict[str, str]:
    """An environment whose `valgrind` is NATIVE_VALGRIND."""
    folder = tmp_path_factory.mktemp("native-valgrind")
    tool = folder / "valgrind"
    tool.write_text(NATIVE_VALGRIND.format(python=sys.executable, per=PER_REQUEST))
    tool.chmod(0o755)
    return dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


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


def test_an_undecided_check_is_said_but_does_not_fail_a_strict_run(capsys):
    undecided = {"ok": True, "warnings": [], "undecided": ["sensitivity"],
                 "sensitivity": {"status": "undecided", "reading": "it moved"}}  # fmt: skip
    assert verdict(undecided, strict=True) == 0
    assert "undecided: sensitivity (neither passed nor failed): it moved" in capsys.readouterr().err


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
    assert done.stderr.strip().startswith("kvbench bench: error: --layers takes")
    assert "Traceback" not in done.stderr
    done = bench("--services", "nginx", "--out", str(tmp_path))
    assert done.returncode == 2 and "unknown service 'nginx'" in done.stderr
    done = bench("--stores", "--layers", "asgi,http", "--out", str(tmp_path))
    assert done.returncode == 2 and "--stores measures the HTTP layer only" in done.stderr


def test_a_quick_run_writes_its_run_folder_and_nothing_else(tmp_path, native_valgrind):
    """In a copy of the checkout, `kvbench bench --quick` changes bench-results/runs/ only,
    and every layer's results are in it, in files every tool can read."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "runs", "*.egg-info")
    for name in ["kvbench", "unoptimized", "optimized", "ladder", "peers", "bench-results"]:
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    before, repository = tree(checkout), git_status()
    done = bench("--quick", *TINY, cwd=checkout, env=native_valgrind)  # imports the copy
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
        for name in ["http_tps", "server_busy", "server_open_cpu_us_per_req", "server_rss_mb"]:
            assert name in METRICS
            assert metrics[name]["n"] == 2
            assert metrics[name]["median"] > 0
        for name in ["asgi_ns_per_op", "asgi_allocs_per_op"]:
            assert name in METRICS
            assert metrics[name]["median"] > 0
    env = summary["environment"]
    assert env["http"]["offered_rate"] > 0
    assert env["loadgen_ceiling"]["tps"] > 0
    assert summary["latency"]["optimized"]["n"] > 0
    assert summary["paired"]["optimized"]["metrics"]["http_tps"]["n"] == 2
    assert len(summary["rounds"]) == 2 and "ok" in summary["checks"]
    for name, path in summary["files"]["trials"].items():
        trials = json.loads((run / path).read_text())["trials"]
        assert all("http_tps" in trial["metrics"] for trial in trials), name
    assert (run / summary["files"]["latency"]["optimized"]).exists()
    assert {"micro.json", "asgi.json"} <= {p.name for p in run.iterdir()}
    # the instructions layer, counted by NATIVE_VALGRIND: each app's slope, three repeats
    assert env["instructions"]["valgrind"] == "valgrind-native"
    for metrics in summary["services"].values():
        counted = metrics["asgi_instructions_per_op"]["values"]
        assert counted == pytest.approx([PER_REQUEST] * 3)


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


APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

NAME = "item"


async def item(request):
    item_id = request.path_params["item_id"]
    return JSONResponse({"id": item_id, "name": f"{NAME} {item_id}"})


async def stream(request):
    async def parts():
        yield b"hello, "
        yield b"world"

    return StreamingResponse(parts(), media_type="text/plain")


app = Starlette(routes=[Route("/items/{item_id:int}", item), Route("/stream", stream)])
"""

REQUESTS = """
[[request]]
method = "GET"
path = "/items/7"
[request.expect]
status = 200
body = '{"id":7,"name":"item 7"}'

[[request]]
path = "/stream"
[request.expect]
status = 200
body = "hello, world"
headers = { content-type = "text/plain; charset=utf-8" }
"""

APP_TINY = ["--quick", *TINY, "--trials", "1"]


def own_app(tmp_path: Path, source: str = APP, requests: str = REQUESTS) -> Path:
    """A one-route app (and a streamed route) outside the repository's packages."""
    folder = tmp_path / "myapp"
    folder.mkdir()
    (folder / "myapp.py").write_text(source)
    (folder / "requests.toml").write_text(requests)
    return folder


def test_your_own_app_is_benchmarked_into_a_run_folder(tmp_path):
    folder = own_app(tmp_path)
    out = tmp_path / "run"
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "asgi,http"]
    done = bench(*args, *APP_TINY, "--out", str(out), cwd=folder)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "partial" not in summary
    metrics = summary["services"]["mine"]
    for name in ["http_tps", "http_trial_p50_ms", "asgi_ns_per_op", "asgi_allocs_per_op"]:
        assert metrics[name]["median"] > 0, name
    assert "gc_pause_max_ms" not in metrics  # no /debug/vars: not measured, and said so
    assert metrics["server_rss_mb"]["median"] > 0  # from /proc
    env = summary["environment"]
    assert env["workload"]["requests"] == ["GET /items/7", "GET /stream"]
    assert "GC collections" in env["workload"]["no_debug_vars"]
    assert "--no-access-log" in env["http"]["commands"]["mine"]
    assert (out / summary["files"]["latency"]["mine"]).exists()


def test_a_wrong_expected_body_fails_the_run_with_the_mismatch(tmp_path):
    folder = own_app(tmp_path, requests=REQUESTS.replace('"name":"item 7"', '"name":"thing 7"'))
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "http"]
    done = bench(*args, *APP_TINY, "--out", str(tmp_path / "run"), cwd=folder)
    assert done.returncode == 1
    said = """body b'{"id":7,"name":"item 7"}' expected b'{"id":7,"name":"thing 7"}'"""
    assert said in done.stderr


def test_a_wrong_answer_in_process_fails_with_one_line(tmp_path):
    folder = own_app(tmp_path, requests=REQUESTS.replace("status = 200", "status = 201", 1))
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "asgi"]
    done = bench(*args, *APP_TINY, "--out", str(tmp_path / "run"), cwd=folder)
    assert done.returncode == 1
    assert "GET /items/7: status 200 expected 201" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_app_that_cannot_be_imported_fails_within_seconds(tmp_path):
    folder = own_app(tmp_path, source="import no_such_module\n")
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "http"]
    started = time.monotonic()
    done = bench(*args, *APP_TINY, "--out", str(tmp_path / "run"), cwd=folder)
    assert done.returncode == 1
    assert time.monotonic() - started < 20  # not the services' 30 s wait for /debug/vars
    assert "mine exited with code" in done.stderr
    assert "No module named 'no_such_module'" in done.stderr


def test_two_versions_of_an_app_compare(tmp_path):
    folder = own_app(tmp_path)
    (folder / "myapp2.py").write_text(APP)
    args = ["--app", "v1=myapp:app", "--app", "v2=myapp2:app", "--requests", "requests.toml"]
    out = tmp_path / "run"
    args += ["--layers", "http", *APP_TINY, *NO_LATENCY]
    done = bench(*args, "--out", str(out), cwd=folder)
    assert done.returncode == 0, done.stderr
    assert f"kvbench compare {out} --old v1 --new v2" in done.stderr + done.stdout
    command = [sys.executable, "-m", "kvbench", "compare", str(out), "--old", "v1", "--new", "v2"]
    compared = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert compared.returncode == 0, compared.stderr
    assert "http_tps" in compared.stdout


SERVED_WRONG = APP.replace(
    'return JSONResponse({"id": item_id, "name": f"{NAME} {item_id}"})',
    'name = NAME if request.client.port == 50000 else "served"  # in-process: port 50000\n'
    '    return JSONResponse({"id": item_id, "name": f"{name} {item_id}"})',
)


def test_a_run_failing_late_keeps_what_it_measured(tmp_path):
    folder = own_app(tmp_path, source=SERVED_WRONG)
    out = tmp_path / "run"
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "asgi,http"]
    done = bench(*args, *APP_TINY, "--out", str(out), cwd=folder)
    assert done.returncode == 1 and "mine answered wrong" in done.stderr
    assert "the layers before are kept" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True and summary["layers_done"] == ["asgi"]
    assert summary["services"]["mine"]["asgi_ns_per_op"]["median"] > 0


def test_a_variant_without_flags_is_warned_about(tmp_path):
    args = ["--services", "optimized", "--variant", "bare=optimized.app:app", "--layers", "http"]
    done = bench(*args, *APP_TINY, *NO_LATENCY, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "warning: bare runs on bare uvicorn" in done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["environment"]["service_warnings"][0].startswith("bare runs on bare uvicorn")
    assert summary["environment"]["http"]["commands"]["bare"][:2] == ["-m", "uvicorn"]


def test_the_documented_example_runs_and_debug_vars_add_the_gc_figures(tmp_path):
    folder = ROOT / "examples" / "myapp"
    args = ["--app", "myapp=app:app", "--app", "withvars=app_debugvars:app"]
    out = tmp_path / "run"
    done = bench(*args, "--requests", "requests.toml", "--layers", "http", *APP_TINY,
                 *NO_LATENCY, "--out", str(out), cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    services = json.loads((out / "summary.json").read_text())["services"]
    assert "gc_collections" in services["withvars"]
    assert "gc_collections" not in services["myapp"]
    assert services["myapp"]["http_tps"]["median"] > 0


def test_instructions_per_request_of_your_own_app(tmp_path, native_valgrind):
    one = REQUESTS.split("[[request]]")[1]  # GET /items/7 alone: one count per request
    folder = own_app(tmp_path, requests=f"[[request]]{one}")
    out = tmp_path / "run"
    args = ["--app", "mine=myapp:app", "--requests", "requests.toml", "--layers", "instructions"]
    done = bench(*args, "--quick", "--out", str(out), cwd=folder, env=native_valgrind)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    # the app's GET answered right in every counted child (the layer checks each one's report)
    counted = summary["services"]["mine"]["asgi_instructions_per_op"]["values"]
    assert counted == pytest.approx([PER_REQUEST] * 3)
    assert list(summary["environment"]["instructions"]["services"]) == ["mine GET /items/7"]
