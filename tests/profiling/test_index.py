import json

from kvbench.profiling import index
from kvbench.profiling.artifacts import Artifact

META = {"date": "2026-01-01 00:00 UTC", "machine": {"cpus": 2}, "versions": {"py-spy": "0.4"}}


def cpu_artifact(path) -> Artifact:
    load = {"requests": 900, "errors": 0, "throughput": 450.0, "warmup_s": 1.0}
    details = {"rate_hz": 100, "load_s": 2.0, "connections": 64, "load": load, "served": 1200,
               "samples": 300, "pinned": True}  # fmt: skip
    return Artifact(path, "py-spy", "CPU", ["py-spy record --gil -- python -m uvicorn"], details)


def test_readme_lists_each_file_with_rate_duration_and_commands(tmp_path):
    service_dir = tmp_path / "unoptimized"
    service_dir.mkdir()
    artifact = cpu_artifact(service_dir / "cpu.pyspy.svg")
    index.write_manifest(service_dir, "unoptimized", [artifact], META)
    readme = index.write_readme(tmp_path).read_text()
    assert "[cpu.pyspy.svg](unoptimized/cpu.pyspy.svg)" in readme
    assert "100 Hz, 2 s of load, 300 samples" in readme
    assert "900 requests answered" in readme and "64 connections" in readme
    assert "py-spy record --gil -- python -m uvicorn" in readme


def test_manifest_keeps_files_a_partial_run_did_not_remake(tmp_path):
    first = cpu_artifact(tmp_path / "cpu.pyspy.svg")
    second = Artifact(tmp_path / "allocs.memray.json", "memray", "allocs", ["x"],
                      {"requests": 10, "per_request": 5.0})  # fmt: skip
    index.write_manifest(tmp_path, "optimized", [first], META)
    index.write_manifest(tmp_path, "optimized", [second], META)
    manifest = json.loads((tmp_path / index.MANIFEST).read_text())
    assert [f["name"] for f in manifest["files"]] == ["cpu.pyspy.svg", "allocs.memray.json"]
    assert "path" not in manifest["files"][0]  # no machine paths in the committed manifest
