import pytest

from kvbench import KvbenchError
from kvbench.workers import allocs


async def not_found(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"nope"})


def test_an_app_answering_404_to_everything_is_not_counted(monkeypatch):
    monkeypatch.setattr(allocs, "load_app", lambda target: not_found)
    with pytest.raises(KvbenchError, match="status 404 expected 200"):
        allocs.measure("nowhere:app", 50, 1)


def test_the_services_allocations_are_counted():
    found = allocs.measure("optimized.app:app", 200, 1)
    assert found["allocs_per_op"][0] > 0
