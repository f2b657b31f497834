"""A load run's tally: a raw record of every measured request, every failure counted and named.

A record is three int64 clock readings (`time.perf_counter_ns`, CLOCK_MONOTONIC on Linux):
when the request was due by the schedule (`intended`), when it was written (`sent`) and
when its answer was complete (`answered`, -1 until then). Failures before the measured
window (the warm-up) are counted apart from those of the window, so that the window's
errors and its requests are counted over the same span.

A wrong answer is named by what differs from the expected one, first the status, then the
content-type, then the body, with a sample of the bytes for the first few.
"""

from array import array
from collections import Counter

import numpy as np

from kvbench.load.http1 import Head
from kvbench.load.workload import Probe

MAX_SAMPLES = 5
UNANSWERED = -1


def numpy_copy(records: array, n: int) -> np.ndarray:
    return np.frombuffer(records, dtype=np.int64, count=n).copy()


class Tally:
    """Records in int64 `array.array`s, and failures.

    Storing into an `array` costs a fraction of an item assignment to a numpy array (which
    boxes and checks the index), and the arrays become numpy arrays in one copy once the run
    is over. The open loop's are preallocated for the run (and grown by doubling, rarely):
    growing them in the window would copy them between two sends, a late send. The closed
    loop's are appended to, as only its throughput counts.
    """

    def __init__(self, capacity: int = 0, closed: bool = False) -> None:
        self.closed_loop = closed  # intended is sent: not kept apart (see `closed`)
        size = 0 if closed else capacity
        self.intended, self.sent, self.answered = (array("q", bytes(8 * size)) for _ in range(3))
        self.count = 0  # records
        self.answers = 0  # records answered
        self.measuring = False  # failures count as the window's from now on, not the warm-up's
        self.failures: Counter[str] = Counter()
        self.warmup_failures: Counter[str] = Counter()
        self.samples: list[str] = []
        self.non_2xx = self.bad_body = 0

    def record(self, intended_ns: int, sent_ns: int, answered_ns: int = UNANSWERED) -> int:
        """Add a measured request; its index, for `answer` once its answer is in."""
        index = self.count
        if index == len(self.sent):
            for records in (self.intended, self.sent, self.answered):
                records.frombytes(bytes(8 * max(index, 1024)))
        self.intended[index], self.sent[index], self.answered[index] = (
            intended_ns, sent_ns, answered_ns)  # fmt: skip
        self.count += 1
        self.answers += answered_ns != UNANSWERED
        return index

    def closed(self, sent_ns: int, answered_ns: int) -> int:
        """Add a closed loop's answered request (due when sent); how many records there are."""
        self.sent.append(sent_ns)
        self.answered.append(answered_ns)
        self.answers += 1
        self.count += 1
        return self.count

    def answer(self, index: int, answered_ns: int) -> None:
        self.answered[index] = answered_ns
        self.answers += 1

    def records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three records as numpy arrays (copies), cut to the records made."""
        n = self.count
        sent, answered = numpy_copy(self.sent, n), numpy_copy(self.answered, n)
        if self.closed_loop:
            return sent.copy(), sent, answered
        return numpy_copy(self.intended, n), sent, answered

    def fail(self, reason: str, sample: str | None = None) -> None:
        (self.failures if self.measuring else self.warmup_failures)[reason] += 1
        if sample and len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"{reason}: {sample}")

    def wrong_answer(self, probe: Probe, parsed: Head, head: bytes, body: bytes) -> None:
        status, _, content_type = parsed
        asked = f"GET {probe.target}"
        counted = self.measuring  # the window's counts, as its errors are
        if not 200 <= status < 300:
            self.non_2xx += counted
            line = head.partition(b"\r\n")[0].decode("latin-1")
            self.fail(line.partition(" ")[2] or str(status), head[:300].decode("latin-1"))
        elif status != probe.status:
            self.fail(f"{status} instead of {probe.status}", f"{asked}: {head[:300]!r}")
        elif content_type != probe.content_type:
            self.bad_body += counted
            reason = f"content-type {content_type.decode('latin-1')!r} instead of "
            self.fail(reason + repr(probe.content_type.decode()), f"{asked}: {head[:300]!r}")
        else:
            self.bad_body += counted
            got = f"{body[:200]!r}" + (f" ({len(body)} bytes)" if len(body) > 200 else "")
            self.fail("a body other than the one for the key asked",
                      f"{asked} received {got}, expected {probe.body!r}")  # fmt: skip
