"""The settings of one load run, checked before any connection is opened."""

from dataclasses import dataclass
from typing import Literal

from kvbench import KvbenchError
from kvbench.runtime.net import is_loopback

Mode = Literal["closed", "open"]


@dataclass(frozen=True)
class LoadConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    connections: int = 64
    duration_s: float = 5.0
    warmup_s: float = 0.0
    max_requests: int | None = None
    mode: Mode = "closed"
    rate: float | None = None  # offered requests/s, open loop only
    timeout_s: float = 5.0  # a request unanswered this long fails

    def validate(self) -> None:
        if not is_loopback(self.host):
            raise KvbenchError(f"refusing to load {self.host}: only loopback targets are allowed")
        if self.connections < 1 or self.duration_s <= 0 or self.warmup_s < 0:
            raise KvbenchError("need connections >= 1, duration > 0 and warm-up >= 0")
        if self.max_requests is not None and self.max_requests < 1:
            raise KvbenchError("--max-requests must be at least 1")
        if self.mode == "open" and not (self.rate and self.rate > 0):
            raise KvbenchError("open loop needs an offered --rate > 0 (requests/s)")
        if self.mode == "closed" and self.rate is not None:
            raise KvbenchError("--rate applies to the open loop only (--mode open)")
