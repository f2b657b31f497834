import json

import numpy as np
import psutil
import pytest

from kvbench.load.summary import LoadResult
from kvbench.measure import schedule
from kvbench.measure.schedule import arrivals_of, main, report


def test_arrivals_are_matched_to_the_measured_requests_the_last_ones_sent():
    # 10 sent; the last 4 measured. The server saw them out of order.
    ids = np.array([0, 1, 2, 3, 4, 5, 7, 6, 9, 8])
    times = np.arange(10, dtype=np.int64) * 1000 + 100
    intended = np.array([6000, 7000, 8000, 9000])
    result = LoadResult("open", 2, 0, 1, 4, 0, 0, 0, {}, [], intended, intended + 10,
                        intended + 500)  # fmt: skip
    arrived = arrivals_of(result, ids, times)
    assert arrived.tolist() == [7100, 6100, 9100, 8100]
    found = report(result, arrived, rate=1000)
    assert found["requests"] == 4 and found["send_lag_ms"]["max"] == 0.00001
    assert found["arrival_gaps_ms"]["interval"] == 1.0


@pytest.mark.slow
def test_the_schedule_check_runs_end_to_end_and_leaves_no_process(tmp_path, capsys):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    out = tmp_path / "schedule.json"
    assert main(["--rate", "500", "--seconds", "0.5", "--warmup", "0.2", "--out", str(out)]) == 0
    found = json.loads(out.read_text())
    assert found["requests"] == 250
    # Every request arrives after it was sent: lateness at the server is at least the lag.
    assert found["lateness_at_server_ms"]["p50"] >= found["send_lag_ms"]["p50"]
    assert found["latency_ms"]["max"] >= found["lateness_at_server_ms"]["max"]
    assert "lateness at server (ms): p50 " in capsys.readouterr().out
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_the_part_holds_every_case_with_provenance(tmp_path, monkeypatch):
    calls = []

    def fake_check(rate, seconds, stall_ms=0.0):
        calls.append((rate, stall_ms))
        return {"rate": rate, "stall_ms_per_s": stall_ms}

    monkeypatch.setattr(schedule, "check", fake_check)
    monkeypatch.setattr(schedule, "text", lambda found: "")
    schedule.write_part(tmp_path / "schedule", 0.1)
    written = json.loads((tmp_path / "schedule" / "summary.json").read_text())
    assert calls == list(schedule.CASES.values())
    assert set(written["schedule"]) == set(schedule.CASES)
    assert written["provenance"]["sources"] and written["schema"] == 3
