"""Every pyperf script and the allocation counter, run with tiny settings, as pyperf does."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kvbench.catalog.ladder import code_rungs
from kvbench.measure import suites
from kvbench.measure.suites import ns_per_op
from kvbench.processes import child_env
from kvbench.results.files import strip_machine_paths
from kvbench.results.metrics import METRICS
from kvbench.services import LADDER, Service

TINY_PYPERF = ["--processes", "1", "--values", "1", "--warmups", "0", "--min-time", "0.001"]


def run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, env=child_env()
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def micro(tmp_path_factory) -> Path:
    """One run of the micro suite, as pyperf writes it, for the tests that read it."""
    out = tmp_path_factory.mktemp("micro") / "micro.json"
    run("kvbench.workers.micro", *TINY_PYPERF, "-o", str(out))
    return out


@pytest.mark.slow
def test_micro_suite_names_each_service(micro):
    values = ns_per_op(micro)
    assert set(values) == {
        "micro_store_get[unoptimized]",
        "micro_store_get[optimized]",
        "micro_encode[unoptimized]",
        "micro_encode[orjson]",
        "micro_encode[optimized]",
    }
    assert all(v > 0 for series in values.values() for v in series)


@pytest.mark.slow
def test_asgi_suite_runs_each_app(tmp_path):
    out = tmp_path / "asgi.json"
    apps = ["--app=unoptimized=unoptimized.app:app", "--app=optimized=optimized.app:app"]
    run("kvbench.workers.asgi_bench", *TINY_PYPERF, *apps, "-o", str(out))
    assert set(ns_per_op(out)) == {"asgi[unoptimized]", "asgi[optimized]"}


@pytest.mark.slow
def test_asgi_suite_refuses_an_app_that_answers_wrong(tmp_path):
    out = tmp_path / "asgi.json"
    command = [sys.executable, "-m", "kvbench.workers.asgi_bench", *TINY_PYPERF, "-o", str(out)]
    command.append("--app=erroring=tests.apps.erroring:app")
    done = subprocess.run(command, capture_output=True, text=True, env=child_env())
    assert done.returncode != 0
    assert "failed with exit code" in done.stderr  # the worker's assertion stopped pyperf


@pytest.mark.slow
def test_allocations_are_counted_per_request():
    apps = ["--app=unoptimized=unoptimized.app:app", "--app=optimized=optimized.app:app"]
    done = run("kvbench.workers.allocs", "--requests", "100", "--repeat", "2", *apps)
    counts = json.loads(done.stdout)
    for name in ["unoptimized", "optimized"]:
        assert len(counts[name]["allocs_per_op"]) == 2
        assert counts[name]["allocs_per_op"][0] > 1
        assert counts[name]["bytes_per_op"][0] > counts[name]["allocs_per_op"][0]
    # The naive path builds a Request, a thread-pool hop and a fresh dict per request.
    assert counts["unoptimized"]["allocs_per_op"][0] > counts["optimized"]["allocs_per_op"][0]


@pytest.mark.slow
def test_committed_suites_carry_no_machine_paths(micro, tmp_path):
    out = tmp_path / "micro.json"
    shutil.copy(micro, out)  # stripped here, the shared run stays as pyperf wrote it
    assert sys.executable in out.read_text()  # pyperf records it...
    strip_machine_paths(out)
    assert sys.executable not in out.read_text()  # ...and the results folder does not
    assert ns_per_op(out)  # still a suite pyperf reads


@pytest.mark.slow
def test_gc_work_is_counted_per_app_in_a_subprocess(tmp_path):
    apps = [
        Service("cyclic", "tests.apps.garbage:cyclic"),
        Service("hoarding", "tests.apps.garbage:hoarding"),
    ]
    requests = tmp_path / "requests.toml"  # the test apps answer "ok", and every answer is checked
    requests.write_text(
        '[[request]]\npath = "/anything"\n[request.expect]\nstatus = 200\nbody = "ok"\n'
    )
    found = suites.gc_work(apps, requests)
    assert set(found) == {"cyclic", "hoarding"}
    assert set(found["cyclic"]) == {
        "gc_survivors_per_op",
        "gc_cycles_per_op",
        "gc_collections_per_kreq",
    }
    assert set(found["cyclic"]) <= set(METRICS)
    assert found["cyclic"]["gc_cycles_per_op"] > found["hoarding"]["gc_cycles_per_op"]


def test_in_process_layers_measure_each_piece_of_code_once(monkeypatch, tmp_path):
    seen: list[list[str]] = []
    monkeypatch.setattr(suites, "run_pyperf", lambda module, out, args, *rest: seen.append(args))

    def fake_run(command, **options):
        seen.append(command)
        return subprocess.CompletedProcess(command, 0, "{}", "")

    monkeypatch.setattr(suites.subprocess, "run", fake_run)
    rungs = [service for service, _ in LADDER]
    suites.asgi(tmp_path / "asgi.json", rungs, quick=True, cpu=None)
    suites.allocations(rungs, quick=True)
    suites.gc_work(rungs)
    assert len(seen) == 3
    for args in seen:
        apps = [word.removeprefix("--app=").partition("=")[0] for word in args if "--app=" in word]
        assert apps == code_rungs()
