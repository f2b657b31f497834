import sys

import pytest

from kvbench import KvbenchError
from kvbench.processes import PROJECT_ROOT
from kvbench.profiling import artifacts


def test_scrub_removes_this_machines_paths():
    text = f"{PROJECT_ROOT}/unoptimized/app.py and {sys.base_prefix}/lib/python3/json/encoder.py"
    assert artifacts.scrub(text) == "unoptimized/app.py and <python>/lib/python3/json/encoder.py"
    assert artifacts.scrub(f'"filename":"{PROJECT_ROOT}"') == '"filename":"."'


def test_shown_makes_paths_relative_to_the_repository():
    assert (
        artifacts.shown(PROJECT_ROOT / "kvbench" / "workers" / "asgi_loop.py")
        == "kvbench/workers/asgi_loop.py"
    )
    assert artifacts.shown(PROJECT_ROOT) == "."
    assert artifacts.shown("/elsewhere/x.svg") == "/elsewhere/x.svg"


def test_short_path_names_files_from_their_package():
    site = f"{PROJECT_ROOT}/.venv/lib/python3.11/site-packages/starlette/routing.py"
    assert artifacts.short_path(site) == "starlette/routing.py"
    assert artifacts.short_path(f"{PROJECT_ROOT}/optimized/app.py") == "optimized/app.py"


def test_check_size_refuses_files_over_the_limit(tmp_path):
    big = tmp_path / "big.svg"
    with open(big, "wb") as f:
        f.truncate(artifacts.MAX_BYTES + 1)
    with pytest.raises(KvbenchError, match="over the 2 MB limit"):
        artifacts.check_size(big)
    big.write_bytes(b"small")
    artifacts.check_size(big)


def test_run_tool_reports_failure_in_one_line(tmp_path):
    command = [sys.executable, "-c", "import sys; sys.exit('boom')"]
    with pytest.raises(KvbenchError, match=r"^the thing failed \(1\): boom$"):
        artifacts.run_tool(command, "the thing", tmp_path)
