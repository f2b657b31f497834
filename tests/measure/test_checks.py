from kvbench.measure.checks import checks
from kvbench.measure.sensitivity import summarize


def record(busy: float = 0.99, share: float = 0.55, p99: float = 1.0, sent: float = 0.98) -> dict:
    return {"busy": {"optimized": busy}, "loadgen_share": {"optimized": share},
            "p99_ms": {"optimized": p99}, "p99_from_sent_ms": {"optimized": sent}}  # fmt: skip


def test_every_check_with_evidence_that_the_server_was_the_limit_passes():
    sensitivity = summarize("optimized", [40_000, 40_400, 39_800], [40_100, 39_900, 40_000], [0.33])
    found = checks([record(), record()], frozenset(), 1, sensitivity)
    assert {
        k: found[k]["status"] for k in ("saturation", "generator", "schedule", "sensitivity")
    } == dict.fromkeys(("saturation", "generator", "schedule", "sensitivity"), "ok")
    assert found["ok"] and not found["warnings"]


def test_a_server_that_was_not_saturated_fails_saturation():
    found = checks([record(), record(busy=0.93)], frozenset(), 1)
    assert found["saturation"]["trials_below"] == [
        {"round": 2, "service": "optimized", "busy": 0.93}
    ]
    assert not found["ok"] and "93.0% of its closed-loop window" in found["warnings"][0]


def test_a_generator_that_used_its_whole_core_fails_the_generator_check():
    found = checks([record(share=0.97)], frozenset(), 1)
    assert found["generator"]["status"] == "failed" and not found["ok"]
    assert "used 97% of its core" in found["warnings"][0]


def test_a_tail_from_the_schedule_more_than_5_percent_above_the_tail_from_the_send_fails():
    # 8-13% above, as the committed trials the old rule passed: the generator shaped the tail.
    found = checks([record(p99=1.10, sent=1.0), record(p99=1.04, sent=1.0)], frozenset(), 1)
    [late] = found["schedule"]["trials_late"]
    assert late["round"] == 1 and abs(late["excess"] - 0.10) < 1e-9
    assert not found["ok"]


def test_a_throughput_that_drops_with_the_generator_slowed_fails_sensitivity():
    moved = summarize("optimized", [40_000, 40_400, 39_800], [27_000, 27_500, 26_800], [0.33])
    found = checks([record()], frozenset(), 1, moved)
    assert found["sensitivity"]["status"] == "failed" and not found["ok"]
    assert "the generator, not the server, set the pace" in found["warnings"][0]


def test_the_sensitivity_tolerance_is_the_normal_windows_own_range_with_a_floor():
    noisy = summarize("optimized", [38_000, 40_000, 42_000], [37_000, 37_500, 38_000], [0.3])
    assert abs(noisy["noise"] - 0.1) < 1e-9
    assert checks([record()], frozenset(), 1, noisy)["sensitivity"]["status"] == "ok"
    quiet = summarize("optimized", [40_000, 40_000, 40_000], [39_400, 39_400, 39_400], [0.3])
    assert checks([record()], frozenset(), 1, quiet)["sensitivity"]["tolerance"] == 0.02


def test_checks_that_do_not_apply_are_absent_and_exempt_rows_are_not_judged():
    rows = [{"busy": {"raw-protocol": 0.6}, "loadgen_share": {"raw-protocol": 0.99}}]
    found = checks(rows, frozenset({"raw-protocol"}), 1)
    assert not {"saturation", "generator", "schedule", "sensitivity"} & set(found)
    assert not found["ok"]  # nothing ran: no evidence is not evidence
    unpinned = checks([record()], frozenset(), None)
    assert "saturation" not in unpinned and unpinned["generator"]["status"] == "ok"


def test_a_schedule_excess_within_the_machines_own_lateness_is_the_floor_not_the_generator():
    # 0.3 ms above a 1 ms tail is 30%, but a C sender here is 0.5 ms late at p99 too.
    rounds = [record(p99=1.3, sent=1.0)]
    floor = {"lateness_at_server_ms": {"p99": 0.5}}
    assert checks(rounds, frozenset(), 1, None, floor)["schedule"]["status"] == "ok"
    beyond = checks([record(p99=1.6, sent=1.0)], frozenset(), 1, None, floor)
    assert beyond["schedule"]["status"] == "failed"
    assert "over the generator's lateness at the floor (0.500 ms at p99)" in beyond["warnings"][0]


def test_a_sensitivity_run_that_could_not_have_failed_fails():
    idle = summarize("optimized", [40_000, 40_400, 39_800], [40_100, 39_900, 40_000], [0.05])
    found = checks([record()], frozenset(), 1, idle)
    assert (
        found["sensitivity"]["status"] == "failed" and "nothing was slowed" in found["warnings"][0]
    )
    noisy = summarize("optimized", [30_000, 40_000, 46_000], [38_000, 39_000, 40_000], [0.33])
    found = checks([record()], frozenset(), 1, noisy)
    assert found["sensitivity"]["status"] == "failed" and "too wide" in found["warnings"][0]
