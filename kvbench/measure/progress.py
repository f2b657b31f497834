"""Progress for long runs: which step, how long so far, about how long is left.

A line per step, on a terminal or not (a CI log must not stay blank for minutes), and
while one step runs long, the same step again at least every `HEARTBEAT_S` seconds.
`kvbench --quiet` (QUIET) silences the steps; `say` always speaks.
"""

import sys
import threading
import time
from collections.abc import Callable

QUIET = False  # set by the command line's --quiet
HEARTBEAT_S = 10.0


class Progress:
    """Step lines on `stream`; `clock` is injectable so tests need not sleep.

    The heartbeat is a daemon thread started with the first step, only when writing to
    the real stderr (`stream` not given); tests call `tick()` themselves.
    """

    def __init__(
        self,
        total_s: float,
        stream=None,
        clock: Callable[[], float] = time.monotonic,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.total_s = total_s
        self.stream = stream or sys.stderr
        self.clock = clock
        self.heartbeat_s = heartbeat_s
        self.started = self.last_line = clock()
        self.current = ""
        self.quiet = QUIET
        self._lock = threading.Lock()
        self._beating = stream is not None  # True: no thread
        self._closed = threading.Event()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the heartbeat: a command that returns (a test, say) leaves no thread printing."""
        self._closed.set()

    def elapsed_s(self) -> float:
        return self.clock() - self.started

    def say(self, text: str) -> None:
        with self._lock:
            print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        self.current = text
        self._line(text)
        if not self._beating:
            self._beating = True
            threading.Thread(target=self._beat, name="progress", daemon=True).start()

    def tick(self) -> None:
        """Repeat the current step when nothing was printed for `heartbeat_s`."""
        if self.current and self.clock() - self.last_line >= self.heartbeat_s:
            self._line(f"{self.current} (still running)")

    def _beat(self) -> None:
        while not self._closed.wait(1.0):
            self.tick()

    def _line(self, text: str) -> None:
        if self.quiet or self._closed.is_set():
            return
        now = self.clock()
        elapsed = now - self.started
        left = max(self.total_s - elapsed, 0)
        with self._lock:
            self.last_line = now
            print(f"[{clock_text(elapsed)}, ~{clock_text(left)} left] {text}",
                  file=self.stream, flush=True)  # fmt: skip


def clock_text(seconds: float) -> str:
    """`1m05s`: what a CI log reader scans for."""
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def minutes(seconds: float) -> str:
    """An estimate as the commands say it and the docs quote it: `7 min`."""
    return f"{max(1, round(seconds / 60))} min"
