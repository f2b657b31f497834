"""Progress for long runs: which step, how long so far, about how long is left.

Steps show only on a terminal; CI and redirected runs stay quiet but for `say`.
"""

import sys
import time


class Progress:
    def __init__(self, total_s: float, stream=None) -> None:
        self.total_s = total_s
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.live = self.stream.isatty()

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def step(self, text: str) -> None:
        if not self.live:
            return
        elapsed = self.elapsed_s()
        left = max(self.total_s - elapsed, 0)
        print(
            f"[{elapsed / 60:4.1f} min, ~{left / 60:.1f} left] {text}", file=self.stream, flush=True
        )


def minutes(seconds: float) -> str:
    """An estimate as the commands say it and the docs quote it: `7 min`."""
    return f"{max(1, round(seconds / 60))} min"
