"""The peers: every row of `kvbench peers`, with packages the locks pin."""

import re

from kvbench import PROJECT_ROOT
from kvbench.catalog import peers
from kvbench.services import NGINX, PEERS


def test_every_row_once_nginx_last():
    assert [p.service for p in peers.ALL] == [p.service for p in (*PEERS, NGINX)]
    assert len(set(peers.NAMES)) == len(peers.NAMES)


def test_packages_and_bounds_belong_to_peers_that_exist():
    assert set(peers.PACKAGES) <= set(peers.NAMES)
    assert set(peers.STORE_BOUNDS) <= {p.app for p in peers.ALL}
    assert peers.packages() == tuple(dict.fromkeys(peers.packages()))  # each once


def test_every_peer_package_is_pinned_by_the_lock():
    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    assert set(peers.packages()) <= pinned
