from types import SimpleNamespace

from kvbench.soak import verdict
from kvbench.soak.client import STALE
from kvbench.soak.faults import Fault


def stale_at(*seconds: float) -> SimpleNamespace:
    """An outcome with one Redis kill at 100 s and a stale 503 at each of `seconds`."""
    ticks = {int(t * 10): [0, 0, 1] for t in seconds}
    return SimpleNamespace(ticks=ticks, faults=[Fault("kill_redis", start=100.0, end=101.5)])


def test_stale_503s_after_a_redis_restart_are_the_known_defect_not_a_failure():
    # An idle pooled connection is reached when the next burst needs it: in a first,
    # uncommitted run up to 224 s after its Redis was killed.
    found = verdict._stale(stale_at(120.0, 400.0), calm_from=900.0)
    assert found["ok"] is None and found["count"] == 2


def test_a_stale_503_in_the_calm_half_fails():
    # The calm half's faults are over: a dead pooled connection there is no longer excused.
    assert verdict._stale(stale_at(120.0, 950.0), calm_from=900.0)["ok"] is False


def test_a_stale_503_with_no_redis_restart_before_it_fails():
    assert verdict._stale(stale_at(50.0))["ok"] is False  # before the kill: not its fault


def test_a_read_or_a_write_on_a_connection_the_old_redis_closed_reads_as_stale():
    closed = (
        b"store unavailable: Connection closed by server.",
        b"store unavailable: Error UNKNOWN while writing to socket. Connection lost.",
    )
    assert all(STALE.search(body) for body in closed)
    assert not STALE.search(b"store unavailable: Timeout reading from 127.0.0.1:6379")
    assert not STALE.search(b"store unavailable: Redis is loading the dataset in memory")
