import sys
from dataclasses import replace

import pytest

from kvbench import KvbenchError
from kvbench.catalog.ladder import code_rungs
from kvbench.services import (
    LADDER,
    MEMORY,
    NAIVE_UVICORN,
    PEERS,
    PRIVATE_REDIS,
    SERVICES,
    STORES,
    TUNED,
    TUNED_UVICORN,
    Service,
    Uvicorn,
    bare_variants,
    get_service,
    in_process_services,
    parse_app,
    parse_variant,
    same_in_process,
    why_same_in_process,
    with_store,
)


def test_parse_variant():
    service = parse_variant("fast=optimized.app:app --loop uvloop --http 'httptools'")
    assert service == Service(
        "fast", "optimized.app:app", ("--loop", "uvloop", "--http", "httptools"), debug_vars=False
    )


def test_parse_app_serves_the_app_tuned_unless_flags_are_given():
    app = parse_app("mine=myapp:app", "/somewhere")
    assert (app.server_args, app.app_dir, app.debug_vars) == (TUNED_UVICORN, "/somewhere", False)
    assert parse_app("mine=myapp:app --loop asyncio", "").server_args == ("--loop", "asyncio")
    with pytest.raises(KvbenchError, match="bad --app"):
        parse_app("mine", "")


def test_a_flagless_variant_beside_a_tuned_service_is_warned_about():
    services = [get_service("optimized"), parse_variant("bare=optimized.app:app")]
    assert bare_variants(services)[0].startswith("bare runs on bare uvicorn")
    assert bare_variants(services[1:]) == []


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


def test_uvicorn_settings_say_loop_and_parser_always_and_the_rest_only_when_off():
    assert Uvicorn().flags == ("--loop", "asyncio", "--http", "h11", "--access-log")
    assert Uvicorn().flags == NAIVE_UVICORN and TUNED.flags == TUNED_UVICORN
    assert TUNED_UVICORN[-2:] == ("--no-proxy-headers", "--no-server-header")


def test_each_piece_of_in_process_code_is_measured_once():
    rungs = [service for service, _ in LADDER]
    same = same_in_process(rungs)
    # The server rungs run the naive app; optimized and granian run hotpath's code.
    assert {name for name, twin in same.items() if twin == "unoptimized"} == {
        s.name for s in rungs[1:] if s.app == "unoptimized.app:app"
    }
    assert same["optimized"] == same["granian"] == "hotpath"
    measured = [s.name for s in in_process_services(rungs)]
    assert measured == code_rungs()
    assert in_process_services([SERVICES["optimized"]]) == [SERVICES["optimized"]]


def test_why_two_services_are_the_same_in_process():
    hotpath, optimized = get_service("hotpath"), get_service("optimized")
    assert "lifespan" in why_same_in_process(hotpath, optimized)
    assert "only the server differs" in why_same_in_process(optimized, get_service("granian"))
    naive, parser = get_service("unoptimized"), get_service("httptools")
    assert "settings" in why_same_in_process(naive, parser)


def test_more_than_one_worker_runs_uvicorns_command_under_the_supervisor():
    one = SERVICES["optimized"].command("127.0.0.1", 8000)
    two = replace(SERVICES["optimized"], workers=2).command("127.0.0.1", 8000)
    assert two[1:3] == ["-m", "kvbench.runtime.supervisor"]
    assert two[3:-2] == one[3:] and two[-2:] == ["--workers", "2"]
    granian = next(p.service for p in PEERS if p.service.name == "granian")
    with pytest.raises(KvbenchError, match="served by uvicorn"):
        replace(granian, workers=2).command("127.0.0.1", 8000)


def test_with_store_swaps_the_app_and_keeps_the_flags():
    optimized = SERVICES["optimized"]
    assert with_store(optimized, MEMORY) is optimized
    redis = with_store(optimized, PRIVATE_REDIS, batch=False)
    assert (redis.app, redis.store, redis.server_args) == (
        "optimized.redis_app:app",
        PRIVATE_REDIS,
        optimized.server_args,
    )
    assert ("KVBENCH_REDIS_BATCH", "0") in redis.env
    assert with_store(optimized, "redis://10.0.0.5:6379/2").store == "redis://10.0.0.5:6379/2"
    with pytest.raises(KvbenchError, match="no shared store"):
        with_store(SERVICES["unoptimized"], PRIVATE_REDIS)
    with pytest.raises(KvbenchError, match="--store takes"):
        with_store(optimized, "rediss://x")


def test_the_stores_variants_are_found_by_name():
    names = [service.name for service, _ in STORES]
    assert names == ["memory-1", "redis-1", "redis-mget-1", "memory-2", "redis-2", "redis-mget-2"]
    assert get_service("memory-1").command("h", 1) == SERVICES["optimized"].command("h", 1)
    assert get_service("redis-mget-2").workers == 2
