"""The floor under every latency a run reports: this machine's, measured in the same run.

On a 2-vCPU virtual machine a sender written in C is 0.5-1.4 ms late at p99 (the
hypervisor takes the CPU away now and then), so a p99 near a millisecond can measure the
machine, not the server. Each run that reports latency therefore measures, at its own
offered rate and connections and in its own minutes, the generator's open loop against a
server that answers at once (`schedule.check`: a raw-protocol server that notes when each
request arrives). Two figures come out of it:

- the round-trip floor: the latency the harness reports for a server that does nothing
  (answered - intended), the lowest any service could show at that percentile here;
- the sender's lateness where requests arrive (arrival - intended), measured outside the
  generator.

A service's percentile within AT_FLOOR_FACTOR of the floor's same percentile is "at the
floor": it is shown, and no comparison calls it better or worse.
"""

from kvbench.measure.schedule import check

AT_FLOOR_FACTOR = 2.0
PERCENTILES = ("p50", "p99", "p999")
SECONDS = 10.0  # at 2,000 req/s, 20,000 requests: a p99.9 from 20 of them


def measure(rate: float, connections: int, seconds: float = SECONDS) -> dict:
    """summary.json's "floor": the round trip and the lateness at the server, in ms."""
    found = check(rate, seconds, connections)
    return {
        "rate": rate,
        "connections": connections,
        "seconds": seconds,
        "requests": found["requests"],
        "round_trip_ms": pick(found["latency_ms"]),
        "lateness_at_server_ms": pick(found["lateness_at_server_ms"]),
        "server": "kvbench.measure.schedule (raw asyncio protocol, one fixed answer)",
        "at_floor_factor": AT_FLOOR_FACTOR,
    }


def pick(spread: dict) -> dict:
    return {name: spread.get(name) for name in PERCENTILES}


def at_floor(value_ms: float, floor: dict | None, percentile: str) -> bool:
    """Is a percentile within AT_FLOOR_FACTOR of the floor's round trip at that percentile?"""
    if not floor:
        return False
    reference = floor.get("round_trip_ms", {}).get(percentile)
    return reference is not None and value_ms <= floor.get("at_floor_factor", 2.0) * reference
