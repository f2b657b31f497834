"""One metric's sample and what statistics says about it: the type every table and report reads.

Like benchstat's `benchmath.Summary`: the centre (median), its 95% confidence interval,
n, and the warnings that travel with the numbers instead of being recomputed at print
time. `summary.json` stores each one as `{"median", "ci_low", "ci_high", "n", "values"}`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from kvbench.results.stats import MIN_CI_SAMPLES, median, median_ci

NO_CI = f"need >= {MIN_CI_SAMPLES} values for a 95% confidence interval"


@dataclass(frozen=True)
class Summary:
    values: tuple[float, ...]
    unit: str = ""
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
    def of(cls, values: Iterable[float], unit: str = "") -> "Summary":
        return cls(tuple(float(v) for v in values), unit)

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
        return {
            "median": self.median,
            "ci_low": low,
            "ci_high": high,
            "n": self.n,
            "values": list(self.values),
        }

    def with_unit(self, unit: str) -> "Summary":
        return Summary(self.values, unit).with_ci(self.ci)

    def with_ci(self, ci: tuple[float, float] | None) -> "Summary":
        """A copy whose interval was computed elsewhere (a bootstrap that carries more error)."""
        copy = Summary(self.values, self.unit)
        object.__setattr__(copy, "ci", ci)
        object.__setattr__(copy, "warnings", () if ci else (NO_CI,))
        return copy

    @classmethod
    def from_json(cls, entry: dict, unit: str = "") -> "Summary":
        """A summary as summary.json stores it (the values are what counts)."""
        return cls.of(entry["values"], unit)


def summaries(samples: dict[str, list[float]]) -> dict[str, dict]:
    """Every non-empty sample as summary.json stores it, by metric name."""
    return {name: Summary.of(values).to_json() for name, values in samples.items() if values}
