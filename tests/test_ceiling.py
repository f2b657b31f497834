import psutil
import pytest

from kvbench.ceiling import ceiling, common_rate
from kvbench.services import SERVICES
from kvbench.trials import TrialPlan

pytestmark = pytest.mark.slow

PLAN = TrialPlan(connections=4, warmup_s=0.1, duration_s=0.3, latency_s=0)


def test_ceiling_measures_one_window_per_call_and_stops_its_server():
    others = set(psutil.Process().children())  # session-scoped servers of other tests
    with ceiling(PLAN) as canned:
        servers = set(psutil.Process().children()) - others
        canned.window()
        canned.window()
        summary = canned.summary()
    assert summary["n"] == 2 and summary["tps"] > 0 and summary["interleaved"]
    assert not [p for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_common_rate_is_a_round_share_of_the_slowest_service():
    steps = []
    rate = common_rate([SERVICES["optimized"]], PLAN, steps.append)
    assert rate > 0
    assert float(f"{rate:.2g}") == rate
    assert steps == ["calibrating the common open-loop rate"]
