"""The writepath table: writes per answer and the paired ratios, as the docs say them."""

from kvbench.report.writepath import gap_closed, table
from kvbench.results.model import Run


def paired(*values: float) -> dict:
    return {"vs": "gcfreeze", "metrics": {"http_tps": {"values": list(values)}}}


def run(**paired: dict) -> Run:
    return Run.from_json({"services": {}, "paired": paired})


def test_the_ratios_read_as_the_docs_say_them_and_the_gap_as_a_share():
    summary = run(optimized=paired(*[1.2] * 3 + [1.25] * 4 + [1.3] * 3),
                  granian=paired(*[1.5] * 10))  # fmt: skip
    syscalls = {"services": {"granian": {"writes_per_answer": 4, "socket_writes_per_answer": 1}}}
    lines = table(summary, syscalls).splitlines()
    assert lines[2] == "| gcfreeze | - | - | 1 (base) |"
    assert lines[3] == "| optimized | - | - | 1.25x (1.20 to 1.30), n=10 |"
    assert lines[4] == "| granian | 4.00 | 1.00 | 1.50x (1.50 to 1.50), n=10 |"
    assert gap_closed(summary).startswith("The one-write rung closes 50% of the gap")


def test_no_gap_is_closed_when_granians_interval_includes_no_change():
    summary = run(optimized=paired(*[1.06] * 10), granian=paired(*[0.99] * 5 + [1.05] * 5))
    assert gap_closed(summary).startswith("granian's interval against gcfreeze includes no change")


def test_no_share_is_told_when_the_rungs_own_interval_includes_no_change():
    summary = run(optimized=paired(*[0.98] * 3 + [1.01] * 4 + [1.12] * 3),
                  granian=paired(*[1.16] * 10))  # fmt: skip
    assert gap_closed(summary).startswith("The one-write rung's own interval against gcfreeze")
    slower = run(optimized=paired(*[0.9] * 10), granian=paired(*[1.16] * 10))
    assert "cannot tell" in gap_closed(slower)  # a rung that lost ground closes no share
    few = run(optimized=paired(*[1.1] * 5), granian=paired(*[1.16] * 10))
    assert "cannot tell" in gap_closed(few)  # no interval below 6 values: no share


def test_a_row_the_runs_own_sensitivity_check_flagged_is_marked_with_its_note():
    flagged = {"status": "undecided", "service": "granian", "ratio": 0.878, "noise": 0.02}
    summary = Run.from_json({"services": {}, "checks": {"sensitivity": flagged},
                             "paired": {"optimized": paired(*[1.2] * 10),
                                        "granian": paired(*[1.5] * 10)}})  # fmt: skip
    text = table(summary, None)
    assert "| granian | - | - | 1.50x (1.50 to 1.50), n=10 ‡ |" in text
    assert "‡: the sensitivity check on `granian` was undecided" in text and "†" not in text
