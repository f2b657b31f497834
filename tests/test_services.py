import sys

import pytest

from kvbench import KvbenchError
from kvbench.services import LADDER, PEERS, SERVICES, Service, get_service, parse_variant


def test_parse_variant():
    service = parse_variant("fast=optimized.app:app --loop uvloop --http 'httptools'")
    assert service == Service(
        "fast", "optimized.app:app", ("--loop", "uvloop", "--http", "httptools")
    )


@pytest.mark.parametrize(
    "text",
    ["", "name", "name=", "=optimized.app:app", "name=optimized.app", "name=  ", "name=--loop x"],
)
def test_parse_variant_rejects_bad_specs(text):
    with pytest.raises(KvbenchError, match="bad --variant"):
        parse_variant(text)


def test_parse_variant_rejects_unbalanced_quotes():
    with pytest.raises(KvbenchError, match="bad --variant"):
        parse_variant("name=optimized.app:app --loop 'uvloop")


def test_every_rung_and_service_is_found_by_name():
    for rung, _ in LADDER:
        assert get_service(rung.name) == rung
    with pytest.raises(KvbenchError, match="unknown service 'nope'"):
        get_service("nope")


def test_commands_say_which_server_runs_the_app():
    optimized = SERVICES["optimized"].command("127.0.0.1", 8000)
    assert optimized[:4] == [sys.executable, "-m", "uvicorn", "optimized.app:app"]
    assert "--no-access-log" in optimized and optimized[-2:] != ["--port", "8000"]
    peers = {peer.service.name: peer.service for peer in PEERS}
    granian = peers["granian"].command("127.0.0.1", 8000)
    assert granian[1:3] == ["-m", "granian"] and granian[-1] == "optimized.app:app"
    raw = peers["raw-protocol"].command("::1", 9)
    assert raw == [sys.executable, "-m", "peers.raw_protocol", "--host", "::1", "--port", "9"]
