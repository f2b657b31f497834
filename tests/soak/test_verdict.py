from types import SimpleNamespace

from kvbench.soak import verdict
from kvbench.soak.faults import Fault


def stale_at(*seconds: float) -> SimpleNamespace:
    """An outcome with one Redis kill at 100 s and a stale 503 at each of `seconds`."""
    ticks = {int(t * 10): [0, 0, 1] for t in seconds}
    return SimpleNamespace(ticks=ticks, faults=[Fault("kill_redis", start=100.0, end=101.5)])


def test_stale_503s_soon_after_a_redis_restart_are_the_known_defect_not_a_failure():
    found = verdict._stale(stale_at(120.0, 140.0))
    assert found["ok"] is None and found["count"] == 2


def test_a_stale_503_long_after_any_restart_fails():
    assert verdict._stale(stale_at(120.0, 400.0))["ok"] is False
    assert verdict._stale(stale_at(50.0))["ok"] is False  # before the kill: not its fault
