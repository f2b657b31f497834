from kvbench.measure.checks import checks
from kvbench.measure.sensitivity import summarize
from kvbench.report.checks import checks_section


def windows(tps: list[float], cost_us: float, busy: float) -> list[dict]:
    return [
        {"http_tps": t, "loadgen_cpu_share": t * cost_us / 1e6, "server_busy": busy} for t in tps
    ]


def sensitivity(slow: list[float], busy: float) -> dict:
    normal = windows([40_000, 40_400, 39_800], 8.0, 0.99)
    return summarize("optimized", normal, windows(slow, 12.0, busy), 4_000, 1)


def test_a_passed_sensitivity_check_says_within_the_noise_or_the_servers_reading():
    rounds = [{"busy": {"optimized": 0.99}, "loadgen_share": {"optimized": 0.5}}]
    within = checks_section({"checks": checks(rounds, frozenset(), 1, sensitivity([40_000], 0.99))})
    assert "optimized's throughput moved to 1.000x, within the noise (2%)" in within
    dearer = checks(rounds, frozenset(), 1, sensitivity([36_000], 0.99))
    said = checks_section({"checks": dearer})
    assert said.startswith("## Checks\n\nEvery check passed: ")
    assert "moved to 0.900x, beyond the noise (2.0%), but the server stayed saturated" in said
