"""The rows of `kvbench peers`: each peer of `services.PEERS` with the packages it brings.

A peer's service and its one-line description are still declared in kvbench/services.py
(hashed by the committed results); what else a peer carries is here: the packages whose
versions its results record, and where its app keeps the bound on new keys.
"""

from dataclasses import dataclass

from kvbench.catalog.entry import Served
from kvbench.services import FRAMEWORK_FLOOR, NGINX, PEERS, PYTHON_CEILING, Service

# The packages a peer needs beyond the services' own, recorded with the peers' results.
PACKAGES = {
    "granian": ("granian",),
    "fastapi": ("fastapi", "pydantic"),
    PYTHON_CEILING: ("httptools", "uvloop"),
    "optimized": ("orjson",),
}
# Where each peer app that accepts PUT keeps its bound on new keys (module, attribute).
STORE_BOUNDS = {
    "peers.bare_asgi:app": ("peers.bare_asgi", "key_bound"),
    "peers.fastapi_app:app": ("peers.fastapi_app", "key_bound"),
}


@dataclass(frozen=True)
class PeerEntry(Served):
    """One row: its service, what it is, its packages, its store's bound."""

    service: Service
    what: str
    packages: tuple[str, ...]
    store_bound: tuple[str, str] | None


ALL = tuple(
    PeerEntry(p.service, p.what, PACKAGES.get(p.service.name, ()), STORE_BOUNDS.get(p.service.app))
    for p in (*PEERS, NGINX)
)
NAMES = tuple(peer.name for peer in ALL)
# Rows built to outrun the Python services: the load generator may be their limit.
CEILINGS = (PYTHON_CEILING, NGINX.service.name)
FLOOR = FRAMEWORK_FLOOR


def packages() -> tuple[str, ...]:
    """Every peer's packages, once each, in the order of the rows."""
    return tuple(dict.fromkeys(name for peer in ALL for name in peer.packages))
