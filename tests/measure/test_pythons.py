import stat
import sys
from pathlib import Path

from kvbench.measure import pythons
from kvbench.measure.pythons import Interpreter
from kvbench.report.pythons import table

THIS = f"{sys.version_info[0]}.{sys.version_info[1]}"


def fake_pyenv(root: Path, version: str, target: str) -> None:
    """A pyenv tree whose python3.X runs `target` (a real interpreter)."""
    minor = ".".join(version.split(".")[:2])
    folder = root / "versions" / version / "bin"
    folder.mkdir(parents=True)
    script = folder / f"python{minor}"
    script.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_a_missing_python_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    notes: list[str] = []
    found = pythons.discover(["3.99"], tmp_path, say=notes.append)
    assert found == [] and notes == [
        "note: Python 3.99 is not installed (not on PATH, not under pyenv); skipped"
    ]


def test_an_interpreter_under_pyenv_is_found_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fake_pyenv(tmp_path, f"{THIS}.99", sys.executable)
    fake_pyenv(tmp_path, "3.99.1", sys.executable)  # says it is THIS: refused as 3.99
    fake_pyenv(tmp_path, f"{THIS}.0t", "/nonexistent")  # a free-threaded build: not looked at
    found = pythons.discover([THIS, "3.99"], tmp_path, say=lambda text: None)
    assert [minor for minor, _ in found] == [THIS]  # 3.99's candidate says it is THIS
    assert pythons.describe(found[0][1])["version_info"][:2] == list(sys.version_info[:2])


def test_describe_says_version_build_and_gil():
    said = pythons.describe(sys.executable)
    assert said is not None
    assert said["version_info"][:2] == list(sys.version_info[:2])
    assert said["version"] == sys.version and len(said["build"]) == 2
    assert said["gil_disabled"] in (False, True)


def test_services_are_named_after_their_python_and_started_by_its_venv():
    old = Interpreter("3.11", "python3.11", "/v311/bin/python")
    new = Interpreter("3.13", "python3.13", "/v313/bin/python")
    services = pythons.services([old, new])
    assert [s.name for s in services] == [
        "unoptimized@3.11", "optimized@3.11", "bare-asgi@3.11",
        "unoptimized@3.13", "optimized@3.13", "bare-asgi@3.13",
    ]  # fmt: skip
    assert services[4].command("127.0.0.1", 8000)[:3] == ["/v313/bin/python", "-m", "uvicorn"]
    assert pythons.pairs([old, new]) == (
        ("unoptimized@3.13", "unoptimized@3.11"),
        ("optimized@3.13", "optimized@3.11"),
        ("bare-asgi@3.13", "bare-asgi@3.11"),
    )


def test_the_table_has_a_column_per_python_and_the_paired_ratio():
    median = {"median": 2.0, "ci_low": None, "ci_high": None, "n": 1, "values": [2.0]}
    summary = {
        "environment": {"pythons": {"3.11": {}, "3.13": {}}},
        "services": {
            "optimized@3.11": {"asgi_instructions_per_op": {**median, "values": [22900]}},
            "optimized@3.13": {
                "asgi_instructions_per_op": {**median, "values": [21000]},
                "asgi_ns_per_op": {"unit": "ns/op", "values": [2400, 2300, 2500, 2600, 2200, 2400]},
            },
        },
        "paired": {"optimized@3.13": {"vs": "optimized@3.11", "metrics": {"http_tps": median}}},
    }
    text = table(summary)
    assert "| service | measure | 3.11 | 3.13 |" in text
    assert "| optimized | instructions / request (exact) | 22,900 | 21,000 |" in text
    assert (
        "| optimized | HTTP paired ratio to the base Python (95% CI) | 1 (base) | 2.00x (n=1) |"
        in (text)
    )
    # A timed figure carries its interval; a count, exact, has none to carry.
    timed = next(line for line in text.splitlines() if "in-process time" in line)
    assert timed.endswith("| - | 2.40 µs (2.20 to 2.60, n=6) |")
    summary["services"]["optimized@3.13"]["asgi_ns_per_op"]["values"] = [2400, 2300, 2500]
    timed = next(line for line in table(summary).splitlines() if "in-process time" in line)
    assert timed.endswith("| - | 2.40 µs (n=3, range 2.30 to 2.50) |")  # too few for a CI
