"""A load run's tally: every latency in a preallocated array, every failure counted and named.

A wrong answer is named by what differs from the expected one, first the status, then the
content-type, then the body, with a sample of the bytes for the first few.
"""

from collections import Counter

import numpy as np

from kvbench.load.http1 import Head
from kvbench.load.workload import Probe

MAX_SAMPLES = 5


class Tally:
    """Latencies in a preallocated int64 array (grown by doubling, rarely) and failures."""

    def __init__(self, capacity: int) -> None:
        self.latencies = np.empty(max(capacity, 1024), dtype=np.int64)
        self.count = 0
        self.failures: Counter[str] = Counter()
        self.samples: list[str] = []
        self.non_2xx = self.bad_body = 0

    def add(self, latency_ns: int) -> None:
        if self.count == self.latencies.size:
            self.latencies = np.concatenate([self.latencies, np.empty_like(self.latencies)])
        self.latencies[self.count] = latency_ns
        self.count += 1

    def fail(self, reason: str, sample: str | None = None) -> None:
        self.failures[reason] += 1
        if sample and len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"{reason}: {sample}")

    def wrong_answer(self, probe: Probe, parsed: Head, head: bytes, body: bytes) -> None:
        status, _, content_type = parsed
        asked = f"GET {probe.target}"
        if not 200 <= status < 300:
            self.non_2xx += 1
            line = head.partition(b"\r\n")[0].decode("latin-1")
            self.fail(line.partition(" ")[2] or str(status), head[:300].decode("latin-1"))
        elif status != probe.status:
            self.fail(f"{status} instead of {probe.status}", f"{asked}: {head[:300]!r}")
        elif content_type != probe.content_type:
            self.bad_body += 1
            reason = f"content-type {content_type.decode('latin-1')!r} instead of "
            self.fail(reason + repr(probe.content_type.decode()), f"{asked}: {head[:300]!r}")
        else:
            self.bad_body += 1
            got = f"{body[:200]!r}" + (f" ({len(body)} bytes)" if len(body) > 200 else "")
            self.fail("a body other than the one for the key asked",
                      f"{asked} received {got}, expected {probe.body!r}")  # fmt: skip
