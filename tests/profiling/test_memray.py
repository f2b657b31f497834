import json
from collections import Counter

import memray as memray_lib
import pytest

from kvbench.processes import PROJECT_ROOT
from kvbench.profiling import memray
from kvbench.services import get_service


def test_per_request_divides_and_keeps_the_top():
    counts = Counter({f"line {i}": 100 * i for i in range(1, 13)})
    top = memray.per_request(counts, 50)
    assert len(top) == memray.TOP
    assert top[0] == {"where": "line 12", "per_request": 24.0}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unoptimized", "optimized"])
def test_capture_counts_allocations_per_request(name, tmp_path):
    service = get_service(name)
    path = tmp_path / "allocs.memray.bin"
    memray.capture(service, path, 200)
    reader = memray_lib.FileReader(path)
    assert reader.metadata.total_allocations > 0
    assert reader.metadata.trace_python_allocators
    counts = memray.count(path, 200, f"{name}/app.py")
    assert counts["allocations_per_request"] > 0
    assert counts["top_locations"] and counts["top_service_lines"]
    assert all(f"({name}/app.py:" in row["where"] for row in counts["top_service_lines"])


@pytest.mark.slow
def test_alloc_profile_keeps_json_and_page_but_not_the_capture(tmp_path):
    memray.alloc_profile(get_service("optimized"), tmp_path, 200)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["allocs.memray.html", "allocs.memray.json"]
    counts = json.loads((tmp_path / "allocs.memray.json").read_text())
    assert counts["requests"] == 200
    page = (tmp_path / "allocs.memray.html").read_text()
    assert "--memray allocs.memray.bin" in page and str(PROJECT_ROOT) not in page
