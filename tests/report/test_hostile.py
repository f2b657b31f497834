"""The hostile-clients table: its figures in the formats the docs use."""

from kvbench.report.hostile import PROBES, table


def test_a_row_says_connections_held_the_get_in_ms_and_the_peak_rss():
    probe = {"opened": 3000, "still_open": 3000, "get_status": 200, "get_ms": 0.8412}
    big = {"statuses": [413], "peak_rss_before": 33.81e6, "peak_rss": 33.9e6}
    found = {"name": "optimized", "probes": dict.fromkeys(PROBES, probe), "big_bodies": big}
    settings = {"wait_s": 12.0, "big_clients": 4, "big_mb": 256}
    text = table({"settings": settings, "configurations": [found]})
    assert "| slow head: still open after 12 s | GET meanwhile |" in text
    row = text.splitlines()[-1]
    assert row.startswith("| `optimized` | 3,000 of 3,000 | 200 in 0.841 ms |")
    assert row.endswith("| 413; 33.8 -> 33.9 MB |")
