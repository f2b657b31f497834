import psutil
import pytest

from kvbench.measure.headroom import headroom
from kvbench.measure.trials import TrialPlan

pytestmark = pytest.mark.slow

PLAN = TrialPlan(connections=4, warmup_s=0.1, duration_s=0.3, latency_s=0)


def test_headroom_measures_one_window_per_call_and_stops_its_server():
    others = set(psutil.Process().children())  # session-scoped servers of other tests
    with headroom(PLAN) as canned:
        servers = set(psutil.Process().children()) - others
        canned.window()
        canned.window()
        summary = canned.summary()
    assert summary["n"] == 2 and summary["tps"] == summary["median"] > 0
    assert not [p for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
