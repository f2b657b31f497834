from types import SimpleNamespace

from kvbench.soak import verdict
from kvbench.soak.client import KINDS, STALE, Puts
from kvbench.soak.faults import Fault, Snapshot


def stale_at(*seconds: float) -> SimpleNamespace:
    """An outcome with one Redis kill at 100 s and a stale 503 at each of `seconds`."""
    ticks = {int(t * 10): [0, 0, 1] for t in seconds}
    return SimpleNamespace(ticks=ticks, faults=[Fault("kill_redis", start=100.0, end=101.5)])


def test_a_stale_503_outside_the_faults_fails_even_after_a_redis_restart():
    # The pool checks each connection as it hands it out: a restart costs nothing past
    # its fault's window, so a stale 503 there is a defect wherever it falls.
    found = verdict._stale(stale_at(120.0, 950.0))
    assert found["ok"] is False and found["count"] == 2


def test_no_stale_503_passes():
    assert verdict._stale(stale_at())["ok"] is True


def test_a_read_or_a_write_on_a_connection_the_old_redis_closed_reads_as_stale():
    closed = (
        b"store unavailable: Connection closed by server.",
        b"store unavailable: Error UNKNOWN while writing to socket. Connection lost.",
    )
    assert all(STALE.search(body) for body in closed)
    assert not STALE.search(b"store unavailable: Timeout reading from 127.0.0.1:6379")
    assert not STALE.search(b"store unavailable: Redis is loading the dataset in memory")


def test_a_row_whose_processes_were_read_after_a_fault_began_is_not_a_steady_state():
    # A committed run's "ratchet" in Redis's fds was such rows (two past the warm-up): each
    # counted the second before a Redis kill (here at 165.0008 s) but read Redis after it.
    kill = Fault("kill_redis", start=165.0008, end=166.4)
    assert kill.meets(*verdict.sampling_window({"t_s": 165.0, "sampled_s": 165.004}))
    assert not kill.meets(*verdict.sampling_window({"t_s": 165.0, "sampled_s": 165.0002}))
    # Read from just before the kill to after it began: not steady either.
    read = {"t_s": 165.0, "sampled_s": 165.0002, "sampled_end_s": 165.012}
    assert kill.meets(*verdict.sampling_window(read))
    assert kill.meets(*verdict.sampling_window({"t_s": 171.0}))  # within its recovery allowance
    assert not kill.meets(*verdict.sampling_window({"t_s": 172.0}))


def row(t_s: float, sampled_s: float, timeouts: int) -> dict:
    errors = {f"err_{kind}": 0 for kind in KINDS} | {"err_timeout": timeouts}
    return {"t_s": t_s, "sampled_s": sampled_s, "sampled_end_s": sampled_s + 0.01} | errors


def test_a_rows_errors_are_judged_by_its_second_not_by_when_its_processes_were_read():
    # Timeouts in [199, 200) s, before a fault at 200.1 s that held the sampler up until
    # 200.4 s: they are stray. Errors in [212, 213) s, read at 213.0 s: inside the
    # fault's window with its allowance (until 212.5 s), not stray.
    pause = Fault("pause_redis", start=200.1, end=207.5)
    rows = [row(200.0, 200.4, 3), row(213.0, 213.0, 5), row(230.0, 230.0, 0)]
    outcome = SimpleNamespace(rows=rows, faults=[pause])
    assert verdict.stray_kinds(outcome) == {"timeout": 3}


def test_a_write_acknowledged_before_a_redis_kill_and_missing_after_it_is_lost():
    puts = Puts()
    puts.add("soak-0001", "v1", sent=100.0, done=100.01, acknowledged=True)
    outcome = SimpleNamespace(puts=puts)
    kept = Snapshot(at_s=50.0, start=101.0, end=101.02, reads={"soak-0001": ["v1"]})
    gone = Snapshot(at_s=50.0, start=101.0, end=101.02, reads={"soak-0001": [None]})
    assert verdict.restart_check(outcome, kept)["lost"] == 0
    found = verdict.restart_check(outcome, gone)
    assert found["lost"] == 1 and found["acknowledged_before"] == 1


def test_a_restart_that_could_not_be_read_fails_the_check_and_says_which_and_why():
    read = Snapshot(at_s=50.0, start=101.0, end=101.02, reads={}, after_ping_s=0.027)
    unread = Snapshot(at_s=90.0, start=141.0, end=141.3, reads={}, error="KeyError: 'value'")
    outcome = SimpleNamespace(puts=Puts())
    restarts = [verdict.restart_check(outcome, s) for s in (read, unread)]
    assert restarts[0]["after_ping_ms"] == 27.0 and restarts[1]["error"] == "KeyError: 'value'"
    found = verdict.unread(restarts, kills=3)
    assert found["why"] == (
        "the restart read at 90 s failed (KeyError: 'value'); "
        "1 of 3 Redis kills have no read of the restart"
    )
    assert verdict.unread(restarts[:1], kills=1) == {}


def test_the_p99_trend_reads_the_calm_half_not_the_warm_up_minute():
    minutes = [(0, 50.0), (5, 9.0), (16, 8.0), (17, 8.5), (18, 9.0)]
    assert verdict.calm_minutes(minutes, fit_from=933.0) == [(16, 8.0), (17, 8.5), (18, 9.0)]
