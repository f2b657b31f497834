"""Which processes count as the server's core when a trial reads its busy share."""

from types import SimpleNamespace

from kvbench.measure.trials import core_pids


def test_a_pinned_private_redis_counts_beside_the_server():
    private = SimpleNamespace(pid=41, store=SimpleNamespace(pid=42))
    assert core_pids(private, pinned=True) == (41, 42)  # pinned with the server, on its core
    assert core_pids(private, pinned=False) == (41,)  # unpinned, it may run on any CPU


def test_a_store_that_is_not_ours_or_no_store_leaves_the_server_alone():
    assert core_pids(SimpleNamespace(pid=41, store=SimpleNamespace(pid=None)), True) == (41,)
    assert core_pids(SimpleNamespace(pid=41, store=None), True) == (41,)
