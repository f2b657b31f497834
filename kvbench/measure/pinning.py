"""Which CPU runs what: the server on one, the load generator (this process) on the other."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from kvbench.processes import pin

SERVER_CPU, LOADGEN_CPU = 0, 1


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def server_cpus() -> frozenset[int] | None:
    """The server's CPU where pinning works, else None (no pinning)."""
    return frozenset({SERVER_CPU}) if can_pin() else None


@contextmanager
def loadgen_pinned(server: frozenset[int] | None) -> Iterator[str]:
    """Pin this process, the load generator, for a block; yields what was done, for the results.

    With the server pinned, the generator takes the other CPU; with the server unpinned
    (the workers curve) both share every CPU. The old affinity comes back afterwards.
    """
    if not hasattr(os, "sched_getaffinity"):
        yield "none: no sched_setaffinity on this OS"
        return
    before = os.sched_getaffinity(0)
    if server and can_pin():
        pin(os.getpid(), {LOADGEN_CPU})
        said = f"server on CPU {SERVER_CPU}, load generator on CPU {LOADGEN_CPU}"
    elif server is None:
        said = "none: servers and the load generator share all CPUs"
    else:
        said = "none: fewer than two CPUs"
    try:
        yield said
    finally:
        pin(os.getpid(), before)
