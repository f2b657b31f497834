"""The shared-store blocks: every variant's figures, and replicas sized from them."""

import json
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.docgen.generate import render_block, value
from kvbench.docgen.markers import Marked
from kvbench.docgen.sources import Sources
from kvbench.report import sizing
from kvbench.results.resultset import read_results
from kvbench.results.summary import Summary

# Server CPU per request (µs), Redis CPU per request (µs), Redis commands per request.
COSTS = {
    "memory-1": (40.0, None, None),
    "redis-1": (120.0, 15.0, 1.0),
    "redis-mget-1": (50.0, 2.0, 0.1),
    "memory-2": (45.0, None, None),
}


def stored(centre: float) -> dict:
    return Summary.of([centre * f for f in (0.98, 0.99, 1.0, 1.0, 1.01, 1.02)]).to_json()


def stores_summary() -> dict:
    services = {}
    for name, (server, redis, commands) in COSTS.items():
        metrics = {"http_tps": 1e6 / server, "http_p99_ms": 2.0, "server_cpu_us_per_req": server}
        if redis is not None:
            metrics |= {"redis_cpu_us_per_req": redis, "redis_cmds_per_req": commands}
        if name.endswith("-2"):
            metrics["worker_request_share_min"] = 0.48
        services[name] = {metric: stored(v) for metric, v in metrics.items()}
    env = {"http": {"offered_rate": 4000.0}}
    return {"schema": 1, "environment": env, "services": services}


@pytest.fixture
def sources(tmp_path) -> Sources:
    (tmp_path / "stores").mkdir()
    (tmp_path / "stores" / "summary.json").write_text(json.dumps(stores_summary()))
    return Sources(tmp_path, tmp_path)


def block(sources: Sources, spec: str) -> str:
    return render_block(Marked("block", spec, 1, ""), sources, Path(sources.root, "README.md"))


def test_stores_block_lists_each_measured_variant_with_its_costs(sources):
    text = block(sources, "results stores")
    assert "| p99 at 4,000 req/s |" in text.splitlines()[0]
    assert "| `memory-1` | answers in a dict of each worker | 1 | 25,000 req/s (" in text
    assert "| 120 µs (" in text and "| 15.0 µs | 1.00 | — |" in text
    assert "| `memory-2` |" in text and text.rstrip().endswith("| — | — | 0.480 |")
    assert "redis-mget-2" not in text  # not in this run: no row


def test_replicas_block_sizes_processes_and_redis_for_the_target(sources):
    text = block(sources, "results replicas 100000 0.5")
    # memory: 100,000 x 40 µs / 0.5 = 8 cores; Redis GET by GET: 24 and 100,000 commands/s.
    assert "| `memory-1` | 40.0 µs (" in text and ") | 8 | — | — | no: each process" in text
    assert ") | 24 | 100,000 | 1.50 | yes |" in text
    assert ") | 10 | 10,000 | 0.200 | yes |" in text
    assert "processes for 100,000 req/s at 50% CPU" in text
    assert "Assumptions: 100,000 req/s" in text


def test_replicas_block_refuses_a_utilization_above_one_or_a_word(sources):
    with pytest.raises(KvbenchError, match="utilization"):
        block(sources, "results replicas 1000 1.5")
    with pytest.raises(KvbenchError, match="expected up to two numbers, not 'many'"):
        block(sources, "results replicas many")


def test_the_stores_report_holds_the_blocks_tables(sources, tmp_path):
    folder = tmp_path / "stores"
    text = sizing.write_report(folder, read_results(folder)).read_text()
    assert block(sources, "results stores") in text
    assert block(sources, "results replicas") in text


def test_values_read_the_stores_run(sources):
    assert (
        value('median("stores", "redis-mget-1", "redis_cmds_per_req")', sources) == "0.100 cmds/req"
    )
    assert (
        value('median_ratio("stores", "redis-1", "memory-1", "server_cpu_us_per_req")', sources)
        == "3.00x"
    )


def test_without_a_stores_run_the_block_says_which_target_makes_it(tmp_path):
    text = block(Sources(tmp_path, tmp_path), "results replicas")
    assert "run `make bench-stores`" in text
