"""The child that valgrind counts: the answer it reports and the hits the app saw."""

import asyncio

from kvbench.measure.instructions import HOT_GET
from kvbench.workers.instructions import count

RIGHT = (200, '{"key":"key-0042","value":"test-value"}', "application/json")


def answer(report: dict) -> tuple:
    return report["status"], report["body"], dict(report["headers"])["content-type"]


def counted(app: str, warmup: int, requests: int) -> dict:
    """The child's report for the hot GET, as the instructions layer asks for it."""
    return asyncio.run(count(app, HOT_GET.scope, HOT_GET.body, warmup, requests, ""))


def test_the_report_carries_the_last_answer_and_the_hits_of_the_counted_requests():
    report = counted("tests.apps.counted:app", warmup=5, requests=20)
    assert answer(report) == RIGHT
    assert report["hits_in_window"] == 20
    assert len(report["gc_collections_in_window"]) == 3


def test_the_naive_services_hits_are_read_through_its_snapshot():
    report = counted("unoptimized.app:app", warmup=2, requests=7)
    assert answer(report) == RIGHT and report["hits_in_window"] == 7


def test_the_optimized_counters_are_read_as_attributes_not_through_a_snapshot(monkeypatch):
    from optimized.store import Counters

    def refuse(self) -> dict:  # a snapshot that called vars() would slow every later hit
        raise AssertionError("snapshot() called")

    monkeypatch.setattr(Counters, "snapshot", refuse)
    report = counted("optimized.app:app", warmup=0, requests=3)
    assert answer(report) == RIGHT and report["hits_in_window"] == 3
