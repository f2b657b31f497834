import json

import pytest

from kvbench.processes import PROJECT_ROOT
from kvbench.profiling import scalene
from kvbench.profiling.artifacts import MAX_BYTES
from kvbench.services import get_service


def test_compact_keeps_only_python_frames():
    profile = {"combined_stacks": [[[{"kind": "py"}, {"kind": "native"}], 3]]}
    assert scalene.compact(profile)["combined_stacks"] == [[[{"kind": "py"}], 3]]


def test_loop_report_reads_the_last_json_line():
    stdout = 'Scalene: profile saved\n{"asgi_loop": {"requests": 40, "seconds": 1.0}}\n'
    assert scalene.loop_report(stdout) == {"requests": 40, "seconds": 1.0}


def test_run_command_profiles_the_whole_project_from_the_loop():
    command = scalene.run_command(get_service("optimized"), PROJECT_ROOT / "x.json", 100, 1.0)
    assert command[command.index("--program-path") + 1] == str(PROJECT_ROOT)
    assert command[command.index("---") + 1 :][:2] == ["--app", "optimized.app:app"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unoptimized", "optimized"])
def test_line_profile_writes_json_and_a_standalone_page(name, tmp_path):
    json_artifact, html_artifact = scalene.line_profile(get_service(name), tmp_path, 200, 2.0)
    profile = json.loads(json_artifact.path.read_text())
    assert "kvbench/workers/inprocess.py" in profile["files"]  # paths are repository-relative
    assert json_artifact.details["requests"] >= 200
    page = html_artifact.path.read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and len(page) < MAX_BYTES


def test_the_page_keeps_only_the_lines_with_samples():
    lines = [
        {"lineno": 1, "n_cpu_percent_python": 0.0, "n_mallocs": 0, "memory_samples": []},
        {"lineno": 2, "n_cpu_percent_c": 1.5, "n_mallocs": 0},
        {"lineno": 3, "n_mallocs": 4},
        {"lineno": 4, "memory_samples": [[1, 2]]},
    ]
    profile = scalene.reduced({"files": {"app.py": {"lines": lines}}})
    assert [line["lineno"] for line in profile["files"]["app.py"]["lines"]] == [2, 3, 4]


def test_every_committed_profile_file_is_within_the_limit():
    for path in (PROJECT_ROOT / "bench-results" / "profiles").rglob("*"):
        assert not path.is_file() or path.stat().st_size <= MAX_BYTES, path
