"""A profile's files as tables: self time, blocking threads, scalene lines, memray allocations."""

from kvbench.report import profiles as views

FRAMES = [
    {"name": "serve", "file": ".venv/lib/python3.11/site-packages/uvicorn/server.py"},
    {"name": "dumps", "file": "<python>/lib/python3.11/json/encoder.py"},
    {"name": "get", "file": "optimized/app.py"},
]


def speedscope(stacks: list[list[int]]) -> dict:
    profile = {"samples": stacks, "weights": [0.5] * len(stacks)}
    return {"shared": {"frames": FRAMES}, "profiles": [profile]}


def test_cpu_counts_self_time_by_component_and_function():
    # two samples end in json, one in the app, one in uvicorn itself
    text = views.cpu(speedscope([[0, 1], [0, 1], [0, 2], [0]]), top=8)
    assert "| `json` | 50% |" in text and "| `uvicorn` | 25% |" in text
    assert "| `dumps` | `<python>/lib/python3.11/json/encoder.py` | 50% |" in text
    assert "2.00 s of wall-clock samples (py-spy `--gil`)" in text
    assert "(py-spy `--gil --native`)" in views.cpu(speedscope([[0]]), top=1, native=True)


def test_cpu_keeps_only_the_top_rows():
    text = views.cpu(speedscope([[0, 1], [0, 1], [0, 2], [0]]), top=1)
    assert "`json`" in text and "`uvicorn`" not in text


SVG = (
    "<title>thread (1): MainThread (300 samples, 30.00%)</title>"
    "<title>thread (2): AnyIO worker thread (350 samples, 35.00%)</title>"
    "<title>thread (3): AnyIO worker thread (350 samples, 35.00%)</title>"
    "<title>Condition.wait (threading.py:327) (280 samples, 28.00%)</title>"
    "<title>Condition.wait (threading.py:327) (280 samples, 28.00%)</title>"
)


def test_blocking_counts_threads_and_the_pools_waiting():
    assert views.threads(SVG) == {"MainThread": [1, 300, 0], "AnyIO worker thread": [2, 700, 560]}
    text = views.blocking(SVG)
    assert text.splitlines()[2] == "| AnyIO worker thread | 2 | 70% |"
    assert "spent 80% of their samples in `Condition.wait`" in text


def test_lines_rank_scalene_lines_and_unescape_their_code():
    line = {"lineno": 7, "line": "if n \\u003e 0:", "n_cpu_percent_python": 30.0,
            "n_cpu_percent_c": 10.0, "n_sys_percent": 5.0}  # fmt: skip
    idle = {"lineno": 8, "line": "pass", "n_cpu_percent_python": 0.0}
    data = {"files": {"optimized/app.py": {"lines": [idle, line]}}, "elapsed_time_sec": 3.2}
    text = views.lines(data, top=8)
    assert "| `optimized/app.py:7` | 30% | 10% | 5.0% | `if n > 0:` |" in text
    assert "app.py:8" not in text
    assert "over 3.20 s" in text


def test_allocs_say_the_counts_per_request_and_where():
    data = {"requests": 2000, "allocations_per_request": 33.931, "bytes_per_request": 4042.4,
            "top_service_lines": [{"where": "__call__ (optimized/app.py:38)", "per_request": 16}],
            "top_locations": []}  # fmt: skip
    text = views.allocs(data, top=8)
    assert text.startswith("33.9 allocations and 4,040 bytes per request, over 2,000")
    assert "| `__call__ (optimized/app.py:38)` | 16.0 |" in text
    assert "innermost frame" not in text  # no rows, no table
