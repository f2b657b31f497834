"""Does the open loop keep its schedule? Measured where the requests arrive, not where they leave.

    python -m kvbench.measure.schedule --rate 2000 --seconds 5 [--out FILE.json]

A tiny arrival-recording server (raw asyncio protocol on uvloop, one fixed answer) runs in
a child process pinned to CPU 0 and notes `time.perf_counter_ns()` as each request
arrives; the built-in generator runs its open loop from this process, pinned to CPU 1.
Both clocks are CLOCK_MONOTONIC of one machine, so the server's arrival time and the
generator's intended send time compare directly: arrival - intended is the generator's
lateness against its own schedule (plus the loopback hop), measured from outside it.
Beside it: the generator's own sent - intended, the hop (arrival - sent), the latency it
reports (answered - intended), and the gaps between arrivals (bursts show as many tiny
gaps and a few long ones). `--stall-ms 100` makes the server stall that long once a
second: a p99 near 90 ms then shows stalls are counted from the schedule.

On a shared machine both processes wait for their CPUs now and then: the report gives
each one's time spent runnable but not running during the load (Linux schedstat), so a
reader can tell the pacer's lateness from the machine's. The server's arrival time is
when its loop read the request, so its own waits land in the lateness at the server too.

Request n asks for /n/N; the measured requests are the last ones sent (the window ends
the sends), so the i-th of M measured records is request S - M + i of S sent.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np

from kvbench.load.config import LoadConfig
from kvbench.load.engine import run_load
from kvbench.load.summary import LoadResult, percentile_ms, qualifies
from kvbench.load.workload import path_probe
from kvbench.processes import free_port, stop

BODY = b"ok"
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
TARGET = re.compile(rb"GET /n/(\d+) HTTP/1\.1\r\n")
SERVER_CPU, GENERATOR_CPU = 0, 1


class Arrivals(asyncio.Protocol):
    """Answers every request at once, noting its number and arrival time first."""

    ids: list[int] = []
    times: list[int] = []
    stall_ns = 0  # stall the whole server this long once a second
    next_stall_ns = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        found = TARGET.findall(data)
        for number in found:
            self.ids.append(int(number))
            self.times.append(now)
        cls = type(self)
        if cls.stall_ns and now >= cls.next_stall_ns:
            cls.next_stall_ns = now + 1_000_000_000
            time.sleep(cls.stall_ns / 1e9)  # blocks the loop: every connection waits
        self.transport.write(ANSWER * len(found))


def serve(port: int, record: Path, stall_ms: float) -> None:
    """The child: serve until SIGTERM, then write the arrivals to `record` (.npz)."""
    from kvbench.runtime.net import new_loop

    Arrivals.stall_ns = int(stall_ms * 1e6)
    Arrivals.next_stall_ns = time.perf_counter_ns() + 1_000_000_000

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, done.set_result, None)
        server = await loop.create_server(Arrivals, "127.0.0.1", port)
        await done
        server.close()

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())
    np.savez(record, ids=np.array(Arrivals.ids, np.int64), times=np.array(Arrivals.times, np.int64))


@contextmanager
def arrival_server(port: int, stall_ms: float, cpus: set[int] | None) -> Iterator[dict]:
    """The arrival-recording server in a child; the yielded dict gets `ids` and `times`."""
    # Here, not at the top: this module is also the served child (`--serve`), which should
    # not import the harness's measurement code to answer requests.
    from kvbench.measure.headroom import wait_for_port
    from kvbench.processes import child_setup

    with tempfile.TemporaryDirectory(prefix="kvbench-schedule-") as folder:
        record = Path(folder) / "arrivals.npz"
        command = [sys.executable, "-m", "kvbench.measure.schedule", "--serve", str(port),
                   "--record", str(record), "--stall-ms", str(stall_ms)]  # fmt: skip
        setup = partial(child_setup, cpus)  # pinned, and ended with us
        process = subprocess.Popen(command, start_new_session=True, preexec_fn=setup)
        found: dict = {"pid": process.pid}
        try:
            wait_for_port(port, process)
            yield found
            process.send_signal(signal.SIGTERM)
            process.wait(10)
        finally:
            stop(process)
        with np.load(record) as data:
            found |= {"ids": data["ids"], "times": data["times"]}


def runqueue_wait_ns(pid: int) -> int | None:
    """How long the process's main thread has waited, runnable, for a CPU (Linux schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def difference(after: int | None, before: int | None) -> float | None:
    """after - before, in ms, where both were read."""
    return (after - before) / 1e6 if after is not None and before is not None else None


def spread(values_ns: np.ndarray) -> dict[str, float | None]:
    """p50, p99 and p99.9 (None without 10 values beyond them) and max, in ms."""
    n = values_ns.size
    p99 = percentile_ms(values_ns, "99") if qualifies(n, "99") else None
    p999 = percentile_ms(values_ns, "99.9") if qualifies(n, "99.9") else None
    return {"p50": percentile_ms(values_ns, "50"), "p99": p99, "p999": p999,
            "max": float(values_ns.max()) / 1e6}  # fmt: skip


def arrivals_of(result: LoadResult, ids: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each measured record's arrival time at the server (the last M of S requests sent)."""
    sent = int(ids.max()) + 1
    by_id = np.full(sent, -1, dtype=np.int64)
    by_id[ids] = times
    measured = result.intended_ns.size
    return by_id[sent - measured :]


def report(result: LoadResult, arrived: np.ndarray, rate: float) -> dict:
    """The figures: lateness at the server and in the generator's records, hop, gaps."""
    gaps = np.diff(np.sort(arrived))
    interval_ms = 1e3 / rate
    return {
        "requests": int(result.intended_ns.size),
        "lateness_at_server_ms": spread(arrived - result.intended_ns),
        "send_lag_ms": spread(result.send_lag_ns),
        "hop_ms": spread(arrived - result.sent_ns),
        "latency_ms": spread(result.latencies_ns),
        "service_ms": spread(result.service_ns),
        "arrival_gaps_ms": {
            "interval": interval_ms,
            "p10": percentile_ms(gaps, "10"),
            "p50": percentile_ms(gaps, "50"),
            "p90": percentile_ms(gaps, "90"),
            "max": float(gaps.max()) / 1e6,
            "under_0.1ms_share": float(np.mean(gaps < 100_000)),
            "over_2x_interval_share": float(np.mean(gaps > 2 * interval_ms * 1e6)),
        },
    }


def check(rate: float, seconds: float, connections: int = 16, warmup: float = 1.0,
          stall_ms: float = 0.0) -> dict:  # fmt: skip
    """Run the open loop against the arrival server; the figures of `report`, and the setup."""
    two = hasattr(os, "sched_getaffinity") and {SERVER_CPU, GENERATOR_CPU} <= os.sched_getaffinity(
        0
    )
    port = free_port()
    probes = [path_probe("127.0.0.1", port, f"/n/{n}", 200, BODY, b"text/plain")
              for n in range(int(rate * (seconds + warmup) * 1.2) + 1000)]  # fmt: skip
    config = LoadConfig(port=port, connections=connections, duration_s=seconds, warmup_s=warmup,
                        mode="open", rate=rate)  # fmt: skip
    before = os.sched_getaffinity(0) if two else None
    with arrival_server(port, stall_ms, {SERVER_CPU} if two else None) as arrivals:
        pids = {"generator": os.getpid(), "server": arrivals["pid"]}
        waits = {name: runqueue_wait_ns(pid) for name, pid in pids.items()}
        try:
            if two:
                os.sched_setaffinity(0, {GENERATOR_CPU})
            result = run_load(config, probes)
        finally:
            if before:
                os.sched_setaffinity(0, before)
        waited = {
            name: difference(runqueue_wait_ns(pid), waits[name]) for name, pid in pids.items()
        }
    result.check()
    pinned = {"server": SERVER_CPU, "generator": GENERATOR_CPU} if two else None
    setup = {"rate": rate, "seconds": seconds, "connections": connections, "warmup_s": warmup,
             "stall_ms_per_s": stall_ms, "pinned": pinned, "runqueue_wait_ms": waited}  # fmt: skip
    return setup | report(result, arrivals_of(result, arrivals["ids"], arrivals["times"]), rate)


def text(found: dict) -> str:
    lines = [f"open loop at {found['rate']:g} req/s for {found['seconds']:g} s, "
             f"{found['connections']} connections, {found['requests']:,} measured requests; "
             f"pinned: {found['pinned'] or 'no (fewer than two CPUs)'}"]  # fmt: skip
    for key in ("lateness_at_server_ms", "send_lag_ms", "hop_ms", "latency_ms", "service_ms"):
        cells = "  ".join(f"{n} {v:.3f}" for n, v in found[key].items() if v is not None)
        lines.append(f"{key.removesuffix('_ms').replace('_', ' ')} (ms): {cells}")
    gaps = found["arrival_gaps_ms"]
    lines.append("arrival gaps (ms): " + "  ".join(f"{n} {v:.3f}" for n, v in gaps.items()))
    waits = "  ".join(f"{n} {v:.1f}" for n, v in found["runqueue_wait_ms"].items() if v is not None)
    lines.append(f"waited for a CPU during the run (ms): {waits}")
    return "\n".join(lines)


# The cases a run's `schedule/` part holds: the open-loop rates the benchmarks use, and a
# server that stalls 100 ms once a second (its p99 must read about 90 ms, not hide it).
CASES = {"rate_2000": (2000.0, 0.0), "rate_4000": (4000.0, 0.0), "stall_100ms": (2000.0, 100.0)}


def write_part(out: Path, seconds: float) -> None:
    """Every case of CASES into `out/summary.json`, with the run's provenance."""
    from kvbench.results import files, provenance

    out.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, (rate, stall_ms) in CASES.items():
        print(f"schedule check {name}: {rate:g} req/s, {seconds:g} s", flush=True)
        found[name] = check(rate, seconds, stall_ms=stall_ms)
        print(text(found[name]), flush=True)
    header = provenance.header()
    files.write_json(
        out / "summary.json", header | {"files": {}, "services": {}, "schedule": found}
    )
    print(f"wrote {out / 'summary.json'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvbench.measure.schedule",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--rate", type=float, default=2000.0, help="offered requests/s")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stall-ms", type=float, default=0.0, help="server stall once a second")
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--part", type=Path, metavar="DIR",
                        help="the committed cases (2,000 and 4,000 req/s, and a 100 ms stall "
                        "once a second) into DIR/summary.json, with provenance")  # fmt: skip
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.record, args.stall_ms)
        return 0
    if args.part:
        write_part(args.part, args.seconds)
        return 0
    found = check(args.rate, args.seconds, args.connections, args.warmup, args.stall_ms)
    print(text(found))
    if args.out:
        args.out.write_text(json.dumps(found, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
