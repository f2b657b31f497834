"""The ladder's figures: shares of the time saved per request, in-process code measured once."""

import json

import pytest

from kvbench import KvbenchError
from kvbench.results.ladder import Ladder, MissingRungs
from kvbench.results.resultset import read_results
from kvbench.services import LADDER
from tests.docgen.conftest import ladder_summary

RUNGS = [service.name for service, _ in LADDER]


@pytest.fixture
def ladder(tmp_path) -> Ladder:
    (tmp_path / "summary.json").write_text(json.dumps(ladder_summary()))
    return Ladder(read_results(tmp_path))


def test_shares_of_time_per_request_add_up_to_the_whole_saving(ladder):
    shares = {r: ladder.share(r, "http_tps") for r in RUNGS[1:]}
    assert sum(value for value, _ in shares.values()) == pytest.approx(100)
    # 1,000 -> 820 µs of the 900 µs saved; by requests per second it would read 2.5%
    value, bounds = shares["httptools"]
    assert value == pytest.approx(20, abs=0.1)
    assert bounds is not None and bounds[0] < value < bounds[1]


def test_a_rung_of_the_same_code_reads_the_in_process_figures_of_that_code(ladder):
    assert ladder.same_code("noaccesslog", "asgi_ns_per_op")
    assert not ladder.same_code("async", "asgi_ns_per_op")
    assert ladder.stat("noserverheader", "asgi_ns_per_op") == ladder.stat(
        "unoptimized", "asgi_ns_per_op"
    )
    assert ladder.largest_step("gc_collections") == "async"


def test_shares_of_a_metric_that_does_not_add_up_per_request_are_refused(ladder):
    with pytest.raises(KvbenchError, match="not a cost per request"):
        ladder.share("async", "gc_collections")
    with pytest.raises(KvbenchError, match="'server' is not a rung"):
        ladder.share("server", "http_tps")


def test_a_run_without_every_rung_is_refused_by_name(tmp_path):
    summary = ladder_summary()
    del summary["services"]["uvloop"]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(MissingRungs, match="has no `uvloop`"):
        Ladder(read_results(tmp_path))
