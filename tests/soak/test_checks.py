"""kvbench/soak/checks.py on synthetic records: slopes, the read-back rule, fault windows."""

import random

import numpy as np
import pytest

from kvbench.results.resample import t975
from kvbench.soak import checks
from kvbench.soak.client import Puts
from kvbench.soak.faults import RECOVERY_S, Fault, calm_tail, schedule


@pytest.mark.parametrize(("df", "table"), [(1, 12.706), (5, 2.5706), (10, 2.2281), (30, 2.0423)])
def test_the_slopes_t_quantile_is_the_tables_even_at_one_degree_of_freedom(df, table):
    assert t975(df) == pytest.approx(table, rel=0.001)


def test_a_level_that_steps_up_at_every_fault_is_growth_not_flat():
    # One process, 10 stretches of 3 minutes each 2 MB above the last: flat within each.
    rows = [{"t_s": float(t), "rss": 100.0 + 2.0 * (t // 180), "pid": 1, "stretch": t // 180}
            for t in range(0, 1800, 5)]  # fmt: skip
    found = checks.flat(rows, "rss", "pid", warmup=0.0, enforce=True)
    assert found["ok"] is False and "steps up from stretch to stretch" in found["why"]


def test_slope_interval_holds_the_true_slope():
    rng = random.Random(3)
    x = [i / 10 for i in range(200)]
    y = [2.0 * v + rng.gauss(0, 0.5) for v in x]
    slope, low, high = checks.slope_interval(x, y)
    assert low < 2.0 < high
    assert high - low < 0.2


def test_segments_keep_a_restart_from_reading_as_a_trend():
    # Two lives of a process, each flat, the second at a lower level: pooled, a slope.
    x = list(range(100))
    y = [100.0 + (i % 3) * 0.1 if i < 50 else 60.0 + (i % 3) * 0.1 for i in x]
    pooled = checks.slope_interval(x, y)
    within = checks.slope_interval(x, y, ["a" if i < 50 else "b" for i in x])
    assert pooled is not None and pooled[2] < 0
    assert within is not None and within[1] < 0 < within[2]


def test_slope_interval_needs_points():
    assert checks.slope_interval([1.0, 2.0], [1.0, 2.0]) is None


def rows(values, pid=1, step_s=60.0):
    return [{"t_s": i * step_s, "rss": v, "pid": pid} for i, v in enumerate(values)]


def test_flat_passes_a_flat_series_and_fails_a_growing_one_when_enforced():
    flat_rows = rows([100.0 + (i % 2) * 0.01 for i in range(60)])
    growing = rows([100.0 + i * 0.5 for i in range(60)])  # 30% an hour
    assert checks.flat(flat_rows, "rss", "pid", warmup=0, enforce=True)["ok"] is True
    assert checks.flat(growing, "rss", "pid", warmup=0, enforce=True)["ok"] is False


def test_a_count_of_descriptors_is_judged_against_its_least_bound_not_1_percent_alone():
    # 40 fds moving by whole descriptors over 15 minutes: no interval gets under 0.4 an hour.
    rng = random.Random(5)
    noisy = rows([40.0 + rng.choice((0, 1, 2, 3)) for _ in range(15)])
    assert checks.flat(noisy, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    found = checks.flat(noisy, "rss", "pid", warmup=0, enforce=True, least=60.0)
    assert found["ok"] is True and found["bound_per_hour"] == 60.0
    leaking = rows([40.0 + i for i in range(15)])  # one a minute, 60 an hour
    assert checks.flat(leaking, "rss", "pid", warmup=0, enforce=True, least=6.0)["ok"] is False


def test_flat_leaves_a_short_undecided_run_undecided_unless_enforced():
    rng = random.Random(1)
    short = rows([100.0 + rng.gauss(0, 1) for _ in range(20)], step_s=1.0)
    assert checks.flat(short, "rss", "pid", warmup=0, enforce=False)["ok"] is None
    assert checks.flat(short, "rss", "pid", warmup=0, enforce=True)["ok"] is False


def test_flat_skips_each_process_warmup():
    # A fresh process climbs for its first 100 s, then holds; so does its successor.
    climb = [50.0 + min(t, 100) * 0.5 for t in range(0, 300, 5)]
    series = rows(climb, pid=1, step_s=5.0) + [
        r | {"t_s": r["t_s"] + 300} for r in rows(climb, pid=2, step_s=5.0)
    ]
    assert checks.flat(series, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    assert checks.flat(series, "rss", "pid", warmup=100, enforce=True)["ok"] is True


def put(value, sent, done, acknowledged=True, key="soak-0001"):
    return key, value, sent, done, acknowledged


def kept(*rows) -> Puts:
    """PUT outcomes as the client keeps them, from (key, value, sent, done, acknowledged)."""
    puts = Puts()
    for row in rows:
        puts.add(*row)
    return puts


def test_the_last_acknowledged_value_reads_back():
    puts = kept(put("v1", 1, 2), put("v2", 3, 4))
    assert checks.lost_writes(puts, {"soak-0001": ["v2", "v2"]}) == []
    lost = checks.lost_writes(puts, {"soak-0001": ["v2", "v1"]})
    assert lost == [{"key": "soak-0001", "read": "v1", "acknowledged_last": "v2"}]


def test_an_unknown_write_may_or_may_not_have_landed():
    puts = kept(put("v1", 1, 2), put("v2", 3, 4, acknowledged=False))
    assert checks.lost_writes(puts, {"soak-0001": ["v1", "v2"]}) == []


def test_concurrent_acknowledged_writes_may_land_in_either_order():
    puts = kept(put("v1", 1, 3), put("v2", 2, 2.5))  # v1 was sent first, answered last
    assert checks.lost_writes(puts, {"soak-0001": ["v1"]}) == []
    assert checks.lost_writes(puts, {"soak-0001": ["v2"]}) == []


def test_an_absent_key_is_lost_only_when_a_write_was_acknowledged():
    unknown = kept(put("v1", 1, 2, acknowledged=False))
    assert checks.lost_writes(unknown, {"soak-0001": [None]}) == []
    acked = kept(put("v1", 1, 2))
    assert checks.lost_writes(acked, {"soak-0001": [None]})[0]["read"] is None
    assert checks.lost_writes(acked, {})[0]["key"] == "soak-0001"  # never read: lost


def test_a_read_mid_run_judges_only_the_writes_known_before_it():
    # A restarted Redis read at 10 s (answered at 10.1 s): v2, acknowledged at 6 s, must be
    # there; v3 was sent during the read and may have landed or not; v4 came after it.
    puts = kept(put("v1", 1, 2), put("v2", 5, 6), put("v3", 10.05, 10.2), put("v4", 11, 12))
    assert checks.lost_writes(puts, {"soak-0001": ["v2"]}, 10.0, 10.1) == []
    assert checks.lost_writes(puts, {"soak-0001": ["v3"]}, 10.0, 10.1) == []
    lost = checks.lost_writes(puts, {"soak-0001": ["v1"]}, 10.0, 10.1)
    assert lost == [{"key": "soak-0001", "read": "v1", "acknowledged_last": "v2"}]
    assert checks.lost_writes(puts, {"soak-0001": ["v4"]}, 10.0, 10.1)  # not yet sent
    assert checks.lost_writes(puts, {"soak-0001": [None]}, 10.0, 10.1)  # v1, v2 were acked
    assert checks.lost_writes(puts, {"soak-0001": [None]}, 1.5, 1.6) == []  # before any ack


def test_errors_count_only_outside_a_fault_window_and_its_allowance():
    fault = Fault("kill_redis", start=10.0, end=12.0)
    ticks = {
        50: [0, 3, 0],  # 5.0 s: before the fault
        110: [0, 7, 0],  # 11.0 s: inside
        165: [0, 2, 0],  # 16.5 s: inside the allowance (12 + 5)
        180: [0, 1, 4],  # 18.0 s: after it; 4 stale-connection errors too
    }
    assert RECOVERY_S == 5.0
    assert checks.stray_errors(ticks, 0.1, [fault]) == [[5.0, 3], [18.0, 1]]
    assert checks.stray_errors(ticks, 0.1, [fault], kind=2) == [[18.0, 4]]


def test_recovery_measures_the_errors_from_the_fault_start():
    fault = Fault("kill_worker", start=10.0, end=11.0)
    ticks = {i: [5, 0, 0] for i in range(90, 200)}
    for i in range(102, 115):  # errors from 10.2 s to 11.5 s, no answers in between
        ticks[i] = [0, 4, 0]
    found = checks.recovery(fault, ticks, 0.1)
    assert found["errors"] == 13 * 4
    assert found["first_error_s"] == pytest.approx(0.2)
    assert found["last_error_s"] == pytest.approx(1.5)
    assert found["outage_s"] == pytest.approx(1.3)
    assert found["answering_s"] == pytest.approx(1.5)


def test_recovery_counts_the_tick_a_fault_starts_in():
    # A fault starts between two ticks (at 165.0004 s); the tick it starts in, [165.0,
    # 165.1), holds its first errors (an outside read found every kill's first 0.1 s missing).
    fault = Fault("kill_redis", start=165.0004, end=166.29)
    ticks = {1650: [0, 1000, 37], 1651: [0, 1000, 0], 1652: [50, 0, 0]}
    found = checks.recovery(fault, ticks, 0.1)
    assert found["errors"] == 2000 and found["stale_errors"] == 37
    assert found["first_error_s"] == pytest.approx(0.0)
    assert found["outage_s"] == pytest.approx(0.2)


def test_recovery_stops_at_the_next_fault():
    fault = Fault("slow_clients", start=10.0, end=11.0)
    ticks = {i: [5, 0, 0] for i in range(100, 200)} | {150: [0, 9, 0], 160: [5, 0, 2]}
    assert checks.recovery(fault, ticks, 0.1, until=14.0)["errors"] == 0
    assert checks.recovery(fault, ticks, 0.1)["errors"] == 9
    assert checks.recovery(fault, ticks, 0.1)["stale_errors"] == 2


def test_schedule_spreads_every_kind_over_the_load():
    plan = schedule(90.0, rounds=2, warmup=10.0, tail=10.0)
    kinds = [kind for _, kind in plan]
    assert sorted(set(kinds)) == sorted(kinds[:4]) and len(kinds) == 8
    times = [at for at, _ in plan]
    assert times == sorted(times) and times[0] > 10.0 and times[-1] < 80.0


def test_a_step_at_a_fault_is_not_growth_but_its_levels_are_listed():
    # One process: flat at 100 MB, a fault, then flat at 104 MB (a pool that grew).
    series = [
        {"t_s": t * 10.0, "rss": 100.0 + 4.0 * (t >= 30) + (t % 2) * 0.01, "pid": 1}
        for t in range(60)
    ]
    assert checks.flat(series, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    stretched = [r | {"stretch": int(r["t_s"] >= 300)} for r in series]
    found = checks.flat(stretched, "rss", "pid", warmup=0, enforce=True)
    assert found["ok"] is True
    assert found["stretch_levels"] == [pytest.approx(100.005), pytest.approx(104.005)]


def test_the_slope_is_fitted_from_the_calm_end_and_a_climb_before_it_is_left_out():
    # A process that climbs while faults come, then holds for the calm half of the run.
    series = rows([50.0 + min(t, 150) * 0.2 for t in range(0, 3000, 10)], step_s=10.0)
    assert checks.flat(series, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    found = checks.flat(series, "rss", "pid", warmup=0, enforce=True, fit_from=1500.0)
    assert found["ok"] is True and found["fitted_from_s"] == 1500.0
    assert found["samples"] == 150  # the rows from 1,500 s on, every 10 s


def test_a_long_run_keeps_its_last_half_free_of_faults_and_a_short_one_its_warmup():
    assert calm_tail(1800.0, warmup=60.0) == 900.0
    plan = schedule(1800.0, rounds=3, warmup=60.0, tail=calm_tail(1800.0, 60.0))
    assert len(plan) == 12 and max(at for at, _ in plan) < 900.0
    assert calm_tail(90.0, warmup=13.5) == 13.5


def test_a_diagnostic_is_shown_not_judged_whatever_the_runs_length():
    # redis_used_mb's fit in an 1,800 s run said "not enforced in a run under 1800 s".
    growing = rows([100.0 + i * 0.5 for i in range(60)])
    for enforce in (True, False):
        found = checks.flat(growing, "rss", "pid", warmup=0, enforce=enforce, diagnostic=True)
        assert found["ok"] is None and found["diagnostic"] is True
        assert found["why"] == "growth above the bound; a diagnostic: shown, not judged"
        assert found["enforced"] is False
    flat_rows = rows([100.0 + (i % 2) * 0.01 for i in range(60)])
    found = checks.flat(flat_rows, "rss", "pid", warmup=0, enforce=True, diagnostic=True)
    assert found["ok"] is None and found["why"].startswith("under the bound")
    judged = checks.flat(growing, "rss", "pid", warmup=0, enforce=False)
    assert judged["why"] == "growth above the bound; not enforced in a run under 1800 s"


def test_growth_the_clients_explain_is_not_growth_when_told_which_column_counts_them():
    # A pool that opens a connection every 5 minutes, each 0.05 MB in Redis: steps that
    # follow the count. Redis leaking 1 MB an hour besides is still growth.
    def series(leak_per_s: float) -> list[dict]:
        return [{"t_s": float(t), "pid": 1, "clients": 30 + t // 300,
                 "rss": 13.0 + 0.05 * (t // 300) + leak_per_s * t + (t % 2) * 0.001}
                for t in range(0, 3600, 5)]  # fmt: skip

    stepping = series(0.0)
    assert checks.flat(stepping, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    found = checks.flat(stepping, "rss", "pid", warmup=0, enforce=True, held="clients")
    assert found["ok"] is True and found["held_range"] == [30, 41]
    cost, low, high = found["held_cost_per_unit"]
    assert low <= 0.05 <= high and cost == pytest.approx(0.05, abs=0.002)
    leaking = checks.flat(series(1 / 3600), "rss", "pid", warmup=0, enforce=True, held="clients")
    assert leaking["ok"] is False and leaking["why"] == "growth above the bound"


def test_rows_without_the_count_are_left_out_and_a_count_that_never_moves_explains_nothing():
    # Each minute: 50 s with the count, 10 s unread; the count constant: a plain fit.
    rows = [{"t_s": float(t), "pid": 1, "rss": 13.0 + (t % 3) * 0.001,
             "clients": None if t % 60 >= 50 else 30}
            for t in range(0, 3600)]  # fmt: skip
    found = checks.flat(rows, "rss", "pid", warmup=0, enforce=True, held="clients")
    assert found["held_missing"] == 600 and found["held_range"] == [30, 30]
    assert found["ok"] is True and "held_cost_per_unit" not in found and "held_dropped" in found
    late = checks.flat(rows, "rss", "pid", warmup=0, enforce=True, fit_from=1800.0, held="clients")
    assert late["held_missing"] == 300  # only the rows of the fitted end count
    growing = [r | {"rss": r["rss"] + r["t_s"] / 3600} for r in rows]  # 1 MB an hour
    assert checks.flat(growing, "rss", "pid", warmup=0, enforce=True, held="clients")["ok"] is False


def test_a_covariate_takes_the_part_of_the_slope_it_explains():
    rng = random.Random(7)
    x = [i / 60 for i in range(120)]
    c = [30 + (i // 10) for i in range(120)]  # steps, not a line: the two can be told apart
    y = [0.02 * v + 0.05 * k + rng.gauss(0, 0.001) for v, k in zip(x, c, strict=True)]
    (slope, low, high), (cost, c_low, c_high) = checks.coefficients(x, y, covariate=c)
    assert low < 0.02 < high and c_low < 0.05 < c_high
    plain = checks.slope_interval(x, y)
    assert plain is not None and plain[1] > 0.2  # without it, the clients read as growth


def test_the_covariates_fit_does_not_depend_on_its_units_and_refuses_a_copy_of_x():
    rng = random.Random(3)
    x = [i / 60 for i in range(120)]
    c = [30 + (i // 10) for i in range(120)]
    y = [0.05 * k + rng.gauss(0, 0.001) for k in c]
    for scale in (1e-6, 1.0, 1e6):  # a determinant test once read 1e-6 as collinear
        found = checks.coefficients(x, y, covariate=[k * scale for k in c])
        assert found is not None and found[1][0] * scale == pytest.approx(0.05, rel=0.01)
    assert checks.coefficients(x, y, covariate=[2 * v + 1 for v in x]) is None


def test_a_constant_covariate_is_dropped_even_when_centring_leaves_rounding_dust():
    x = [i / 60 for i in range(120)]
    y = [0.01 * v + (i % 2) * 0.001 for i, v in enumerate(x)]
    found = checks.coefficients(x, y, segments=[i // 7 for i in range(120)], covariate=[0.1] * 120)
    assert found is not None and len(found) == 1


def test_a_process_is_warm_from_the_first_row_that_counts_its_event():
    # Redis: 0.14 MB more from its first AOF rewrite at 900 s, none at the later ones.
    def series(leak_per_s: float) -> list[dict]:
        return [{"t_s": float(t), "pid": 1, "rewrites": t // 900,
                 "rss": 13.0 + (0.14 if t >= 900 else 0.0) + leak_per_s * t + (t % 2) * 0.001}
                for t in range(0, 3600, 5)]  # fmt: skip

    stepping = series(0.0)
    assert checks.flat(stepping, "rss", "pid", warmup=0, enforce=True)["ok"] is False
    found = checks.flat(stepping, "rss", "pid", warmup=0, enforce=True, warm_after="rewrites")
    assert found["ok"] is True and found["warm_from_s"] == {"1": 900.0}
    assert found["samples"] == (3600 - 900) // 5
    leaking = series(1 / 3600)  # 1 MB an hour besides is still growth
    assert (
        checks.flat(leaking, "rss", "pid", warmup=0, enforce=True, warm_after="rewrites")["ok"]
        is False
    )
    never = [r | {"rewrites": 0} for r in stepping[:180]]  # no rewrite: every row kept
    found = checks.flat(never, "rss", "pid", warmup=0, enforce=True, warm_after="rewrites")
    assert found["samples"] == 180 and found["warm_from_s"] == {}


def test_what_a_warm_up_event_forgives_is_recorded_and_bounded():
    def series(step: float, at: int = 900) -> list[dict]:
        return [{"t_s": float(t), "pid": 1, "rewrites": int(t >= at),
                 "rss": 13.0 + (step if t >= at else 0.0) + (t % 2) * 0.001}
                for t in range(0, 3600, 5)]  # fmt: skip

    found = checks.flat(series(0.14), "rss", "pid", warmup=0, enforce=True, warm_after="rewrites")
    assert found["ok"] is True and found["warm_forgiven"]["1"] == pytest.approx(0.14, abs=0.002)
    # 2 MB at the "rewrite" (15% of the level) is not a warm-up: it fails, and says why.
    big = checks.flat(series(2.0), "rss", "pid", warmup=0, enforce=True, warm_after="rewrites")
    assert big["ok"] is False and "more than a warm-up" in big["why"]
    # A first rewrite late in the calm end leaves too little to fit: it fails, and says so.
    late = checks.flat(
        series(0.14, at=3000), "rss", "pid", warmup=0, enforce=True, warm_after="rewrites"
    )
    assert late["ok"] is False and "after the warm-up" in late["why"]
    assert late["fitted_span_s"] < 0.5 * 3595


def test_an_interval_on_a_wandering_series_is_widened_to_cover_no_trend():
    # AR(1) noise (r = 0.8) with no trend, 60 minute means: a plain OLS interval covers the
    # true slope, zero, about half the time (0.52 with this seed); widened by (1 + r) /
    # (1 - r) with r estimated from the residuals (which reads r low at this length), 0.88.
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(400):
        noise = np.zeros(60)
        for i in range(1, 60):
            noise[i] = 0.8 * noise[i - 1] + rng.normal()
        _, low, high = checks.slope_interval(list(range(60)), list(noise))
        covered += low <= 0 <= high
    assert covered / 400 > 0.85


def test_the_client_count_is_judged_against_the_pools_bound():
    rows = [{"t_s": float(t), "clients": 30 + t // 60} for t in range(600)]
    assert checks.clients_bounded(rows, "clients", 130) | {"samples": 0} == {
        "column": "clients", "bound": 130, "samples": 0, "ok": True, "most": 39, "least": 30
    }  # fmt: skip
    assert checks.clients_bounded(rows, "clients", 35)["ok"] is False
    assert checks.clients_bounded([{"t_s": 1.0}], "clients", 35)["ok"] is None


def test_the_client_bound_is_the_services_own_pools_full():
    from kvbench.soak.stack import WORKERS
    from kvbench.soak.verdict import CLIENTS_BOUND
    from optimized.redis_store import POOL_SIZE

    assert CLIENTS_BOUND == WORKERS * POOL_SIZE + 2
