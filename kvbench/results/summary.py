"""One metric's sample and what statistics says about it: the type every table and report reads.

Like benchstat's `benchmath.Summary`: the centre (median), its 95% confidence interval,
n, and the warnings that travel with the numbers instead of being recomputed at print
time. `summary.json` stores each one as `{"median", "ci_low", "ci_high", "n", "values"}`,
plus `"method"` when the values are not plain repeats (pyperf's per-process means).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from kvbench.results.stats import MIN_CI_SAMPLES, median, median_ci

NO_CI = f"need >= {MIN_CI_SAMPLES} values for a 95% confidence interval"


@dataclass(frozen=True)
class Summary:
    values: tuple[float, ...]
    unit: str = ""
    method: str = ""  # what one value is, when not one plain repeat (a process's mean, say)
    median: float = field(init=False)
    ci: tuple[float, float] | None = field(init=False)
    warnings: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a summary needs at least one value")
        object.__setattr__(self, "median", median(self.values))
        object.__setattr__(self, "ci", median_ci(self.values))
        object.__setattr__(self, "warnings", () if self.ci else (NO_CI,))

    @classmethod
    def of(cls, values: Iterable[float], unit: str = "", method: str = "") -> "Summary":
        return cls(tuple(float(v) for v in values), unit, method)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def spread_pct(self) -> float | None:
        """The wider side of the interval as a percentage of the median (benchstat's ±)."""
        if self.ci is None or self.median == 0:
            return None
        low, high = self.ci
        return max(self.median - low, high - self.median) / abs(self.median) * 100

    def to_json(self) -> dict:
        low, high = self.ci or (None, None)
        found = {
            "median": self.median,
            "ci_low": low,
            "ci_high": high,
            "n": self.n,
            "values": list(self.values),
        }
        return found | {"method": self.method} if self.method else found

    def with_unit(self, unit: str) -> "Summary":
        return Summary(self.values, unit, self.method).with_ci(self.ci)

    def with_ci(self, ci: tuple[float, float] | None) -> "Summary":
        """A copy whose interval was computed elsewhere (a bootstrap that carries more error)."""
        copy = Summary(self.values, self.unit, self.method)
        object.__setattr__(copy, "ci", ci)
        object.__setattr__(copy, "warnings", () if ci else (NO_CI,))
        return copy

    @classmethod
    def from_json(cls, entry: dict, unit: str = "") -> "Summary":
        """A summary as summary.json stores it (the values are what counts)."""
        return cls.of(entry["values"], unit, entry.get("method") or "")


def summaries(
    samples: dict[str, list[float]], methods: dict[str, str] | None = None
) -> dict[str, dict]:
    """Every non-empty sample as summary.json stores it, by metric name (`methods`: the
    method note of the metrics whose values are not plain repeats)."""
    methods = methods or {}
    return {
        name: Summary.of(values, method=methods.get(name, "")).to_json()
        for name, values in samples.items()
        if values
    }
