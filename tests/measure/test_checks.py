import pytest

from kvbench.load import engine
from kvbench.load.canned import serve_in_thread
from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.workload import key_workload
from kvbench.measure.checks import checks
from kvbench.measure.sensitivity import slowed, summarize


def windows(tps: list[float], cost_us: float, busy: float = 0.99) -> list[dict]:
    """Closed windows at these rates, the generator spending `cost_us` per answer and the
    server's core `busy` (so its CPU per answer is busy / rate)."""
    return [
        {"http_tps": t, "loadgen_cpu_share": t * cost_us / 1e6, "server_busy": busy} for t in tps
    ]


def slowed_run(
    normal: list[float], slow: list[float], slowdown: float = 1.5, busy=(0.99, 0.99)
) -> dict:
    slowed_windows = windows(slow, 8.0 * slowdown, busy[1])
    return summarize("optimized", windows(normal, 8.0, busy[0]), slowed_windows, 4_000, 1)


def record(busy: float = 0.99, share: float = 0.55, p99: float = 1.0, sent: float = 0.98) -> dict:
    return {"busy": {"optimized": busy}, "loadgen_share": {"optimized": share},
            "p99_ms": {"optimized": p99}, "p99_from_sent_ms": {"optimized": sent}}  # fmt: skip


def test_every_check_with_evidence_that_the_server_was_the_limit_passes():
    sensitivity = slowed_run([40_000, 40_400, 39_800], [40_100, 39_900, 40_000])
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


NORMAL = [40_000, 40_400, 39_800]  # noise 1.5%: the tolerance is the 2% floor


def test_a_throughput_that_drops_with_the_generator_slowed_fails_sensitivity():
    # A record made before the server's side was measured: judged by throughput alone.
    for slow in ([27_000, 27_500, 26_800], [36_000, 36_400, 35_800]):  # 0.675x, 0.9x
        moved = slowed_run(NORMAL, slow)
        for key in ("normal_server_busy", "slowed_server_busy", "server_cpu_rise"):
            del moved[key]
        found = checks([record()], frozenset(), 1, moved)
        assert found["sensitivity"]["status"] == "failed" and not found["ok"]
        assert "the generator" in found["warnings"][0] and "set the pace" in found["warnings"][0]


def test_a_drop_as_deep_as_a_generator_at_its_limit_fails_however_busy_the_server():
    # 0.50x, worse than the third a generator at its limit loses, with the server saturated
    # and its CPU per answer doubled (as it must: CPU per answer is busy over throughput).
    halved = slowed_run(NORMAL, [20_000, 20_300, 19_900], busy=(0.99, 0.99))
    found = checks([record()], frozenset(), 1, halved)
    assert found["sensitivity"]["status"] == "failed" and not found["ok"]
    assert "reading" not in found["sensitivity"] and found["undecided"] == []
    assert found["warnings"] == [
        "with the generator slowed (its CPU per answer 1.50x), optimized's throughput moved to "
        "0.500x, beyond the noise (2.0%), within the noise of the 33% a generator at its limit "
        "loses, or further: the generator set the pace"
    ]


def test_the_depth_that_fails_whatever_the_server_says_is_the_third_less_the_noise():
    # 1 - 1/3 + 2% = 0.6867: just under fails, just over is the saturated server's undecided.
    for rate, status in ((27_400, "failed"), (27_600, "undecided")):
        run = slowed_run(NORMAL, [rate] * 3, busy=(0.99, 0.99))
        assert checks([record()], frozenset(), 1, run)["sensitivity"]["status"] == status, rate


def test_a_drop_while_the_server_idled_in_the_slowed_windows_is_the_generators():
    moved = slowed_run(NORMAL, [36_000, 36_400, 35_800], busy=(0.99, 0.70))
    found = checks([record()], frozenset(), 1, moved)
    assert found["sensitivity"]["status"] == "failed" and not found["ok"]
    assert found["warnings"] == [
        "with the generator slowed (its CPU per answer 1.50x), optimized's throughput moved to "
        "0.900x, beyond the noise (2.0%), and the server was busy 70.0% of its core in a slowed "
        "window, under 95%: the generator set the pace"
    ]


def test_a_shallow_drop_while_the_server_stayed_saturated_is_undecided():
    # 0.90x with the server saturated: its CPU per answer rose 11%, as busy / throughput
    # must, so that is no evidence that the server, not the generator's pace, set it.
    found = checks([record()], frozenset(), 1, slowed_run(NORMAL, [36_000, 36_400, 35_800]))
    sensitivity = found["sensitivity"]
    assert sensitivity["status"] == "undecided" and found["undecided"] == ["sensitivity"]
    assert not found["warnings"]  # not a failure
    assert sensitivity["reading"].endswith(
        "0.900x, beyond the noise (2.0%); the server stayed saturated (busy at least 99.0% of "
        "its core in every slowed window, its CPU per answer up 11%), but its throughput moved "
        "with the generator's pace: the arrival pattern, not the server's capacity, may set it"
    )


def test_the_committed_peers_runs_granian_rates_are_undecided_with_the_server_saturated():
    # The rates of the committed peers run's granian (0.897x, noise 6.5%); busy made up.
    dearer = slowed_run(
        [49_215, 50_868.5, 52_521.5], [44_960.5, 46_043.5, 45_606], busy=(0.99, 0.98)
    )
    found = checks([record()], frozenset(), 1, dearer)
    assert found["sensitivity"]["status"] == "undecided"
    assert abs(found["sensitivity"]["server_cpu_rise"] - 1.104) < 1e-3


def test_a_drop_the_servers_cpu_per_answer_does_not_account_for_is_the_generators():
    # Busy in the slowed windows, but it was not in the normal ones (0.60): more CPU per
    # answer than the drop explains, so the normal windows were held back by something else.
    odd = slowed_run(NORMAL, [36_000, 36_400, 35_800], busy=(0.60, 0.99))
    found = checks([record()], frozenset(), 1, odd)
    assert found["sensitivity"]["status"] == "failed" and "reading" not in found["sensitivity"]
    assert found["warnings"][0].endswith(": the generator, not the server, set the pace")


def test_an_undecided_check_is_neither_passed_nor_failed_in_the_whole():
    undecided = slowed_run(NORMAL, [36_000, 36_400, 35_800])
    beside_passed = checks([record()], frozenset(), 1, undecided)
    assert beside_passed["ok"] and beside_passed["undecided"] == ["sensitivity"]
    beside_failed = checks([record(busy=0.5)], frozenset(), 1, undecided)
    assert not beside_failed["ok"] and beside_failed["undecided"] == ["sensitivity"]
    alone = checks([], frozenset(), 1, undecided)  # nothing passed: no evidence
    assert set(alone) - {"exempt", "warnings", "undecided", "ok"} == {"sensitivity"}
    assert not alone["ok"] and alone["undecided"] == ["sensitivity"]


def test_the_sensitivity_record_holds_the_servers_busy_share_per_core_and_cpu_per_answer():
    normal = windows([40_000, 50_000], 8.0, busy=1.9)
    slow = windows([38_000], 12.0, busy=1.8)
    found = summarize("optimized", normal, slow, 4_000, 2)  # a server pinned to two cores
    assert found["normal_server_busy"] == [0.95, 0.95] and found["slowed_server_busy"] == [0.9]
    assert found["normal_server_cpu_us_per_req"] == pytest.approx([47.5, 38.0])
    assert found["slowed_server_cpu_us_per_req"] == pytest.approx([1.8 / 38_000 * 1e6])


def test_the_sensitivity_tolerance_is_the_normal_windows_own_range_with_a_floor():
    noisy = slowed_run([38_000, 40_000, 42_000], [37_000, 37_500, 38_000])
    assert abs(noisy["noise"] - 0.1) < 1e-9
    assert checks([record()], frozenset(), 1, noisy)["sensitivity"]["status"] == "ok"
    quiet = slowed_run([40_000, 40_000, 40_000], [39_400, 39_400, 39_400])
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
    assert "late beyond the floor (not recorded)" in beyond["warnings"][0]


def test_a_sensitivity_run_that_could_not_have_failed_fails():
    idle = slowed_run([40_000, 40_400, 39_800], [40_100, 39_900, 40_000], slowdown=1.2)
    found = checks([record()], frozenset(), 1, idle)
    assert (
        found["sensitivity"]["status"] == "failed" and "nothing was slowed" in found["warnings"][0]
    )
    noisy = slowed_run([30_000, 40_000, 46_000], [38_000, 39_000, 40_000])
    found = checks([record()], frozenset(), 1, noisy)
    assert found["sensitivity"]["status"] == "failed" and "too wide" in found["warnings"][0]


def test_the_slowdown_is_measured_from_the_windows_and_the_engine_is_restored():
    found = slowed_run([40_000, 40_000, 40_000], [40_000, 40_000, 40_000], slowdown=1.5)
    assert abs(found["slowdown"] - 1.5) < 1e-9 and found["extra_us_per_answer"] == 4.0
    original = engine.Run.completed
    with slowed(1_000):
        assert engine.Run.completed is not original
    assert engine.Run.completed is original


def test_the_slowdown_lands_on_every_answer_and_leaves_the_fast_path_in_use(monkeypatch):
    # 200 answers on one connection to 4 keys: after the first of each, the rest are known
    # by their bytes and never framed (the fast path). Slowed by 2 ms an answer they take at
    # least 0.4 s, where the canned server alone answers them in a few milliseconds; and the
    # slowed loop takes the same path as the normal one (a hook that hid `answered`'s result
    # turned learning off, so every answer was framed: a different loop, not a slowed one).
    framed = []
    answered = engine.Run.answered

    def counted(run, *args):
        framed.append(1)
        return answered(run, *args)

    monkeypatch.setattr(engine.Run, "answered", counted)
    with serve_in_thread() as port:
        config = LoadConfig(port=port, connections=1, duration_s=10, max_requests=200)
        with slowed(2_000_000):
            result = run_load(config, key_workload("127.0.0.1", port, keys=4))
    assert result.requests == 200 and result.errors == 0
    assert result.duration_s >= 0.4 and len(framed) < 20


def test_a_server_that_answers_faster_with_the_generator_slowed_passes():
    faster = slowed_run([40_000, 40_400, 39_800], [43_000, 42_800, 43_100], slowdown=1.37)
    assert checks([record()], frozenset(), 1, faster)["sensitivity"]["status"] == "ok"


def test_a_tail_shaped_by_lateness_no_worse_than_the_floors_passes_and_beyond_it_fails():
    # A few requests 2 ms late (a hypervisor stall) lift p99 by 38%; the floor's sender
    # was as late at p99.9, so the tail is the machine's, not a wait for a connection.
    floor = {"lateness_at_server_ms": {"p99": 0.03, "p999": 3.3}}
    stalled = record(p99=2.73, sent=1.99) | {"lag_p99_ms": {"optimized": 0.009},
                                             "lag_p999_ms": {"optimized": 2.03}}  # fmt: skip
    assert checks([stalled], frozenset(), 1, None, floor)["schedule"]["status"] == "ok"
    waited = stalled | {"lag_p999_ms": {"optimized": 9.0}}
    found = checks([waited], frozenset(), 1, None, floor)
    assert found["schedule"]["trials_late"][0]["lag_ms"]["p999"] == 9.0
    assert "late beyond the floor (0.009 ms at p99, 9.000 ms at p999)" in found["warnings"][0]
