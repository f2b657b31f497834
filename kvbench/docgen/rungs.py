"""docs/04's ladder, from `bench-results/ladder/summary.json`: per rung, the change and its share.

For a rung r after rung p, with the first rung f and the last rung l of the ladder:
    cumulative = r / f (higher-better) or f / r ("x less", lower-better)
    share      = (r - p) / (l - f), the rung's part of the whole gain, either direction
Their ranges are conservative bounds from the 95% intervals of the medians involved.
"""

from dataclasses import dataclass

from kvbench import KvbenchError
from kvbench.docgen.formatting import number, percent, quantity, with_range
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.results.compare import Comparison, compare_samples
from kvbench.results.metrics import metric
from kvbench.results.summary import Summary
from kvbench.services import LADDER, Service

# Each rung table shows those of these the ladder run recorded (schema 1 recorded the closed
# loop's CPU per request, 1/throughput; schema 2 measures it in the open loop, if asked).
RUNG_METRICS = (
    "http_tps",
    "server_cpu_us_per_req",
    "server_open_cpu_us_per_req",
    "asgi_ns_per_op",
    "asgi_allocs_per_op",
)
NO_RANGE = "no range: fewer than 6 trials"


@dataclass(frozen=True)
class Rung:
    name: str
    description: str
    service: Service


def measured_rungs(sources: Sources) -> list[Rung]:
    """The rungs of LADDER that the committed ladder results hold, in ladder order."""
    measured = sources.results_set("ladder").services
    return [Rung(s.name, text, s) for s, text in LADDER if s.name in measured]


def bounds(low: float, high: float) -> tuple[float, float]:
    return (low, high) if low <= high else (high, low)


def cumulative(first: Summary, this: Summary, better: str) -> tuple[float, tuple | None]:
    """How many times better than the first rung, with bounds from both intervals."""
    if better == "higher":
        value = this.median / first.median
        if first.ci and this.ci:
            return value, bounds(this.ci[0] / first.ci[1], this.ci[1] / first.ci[0])
        return value, None
    value = first.median / this.median
    if first.ci and this.ci:
        return value, bounds(first.ci[0] / this.ci[1], first.ci[1] / this.ci[0])
    return value, None


def share(prev: Summary, this: Summary, gain: float) -> tuple[float, tuple | None]:
    """The part of the whole gain (last - first) this rung made, in percent, with bounds."""
    value = (this.median - prev.median) / gain * 100
    if prev.ci and this.ci:
        low = (this.ci[0] - prev.ci[1]) / gain * 100
        high = (this.ci[1] - prev.ci[0]) / gain * 100
        return value, bounds(low, high)
    return value, None


def times(pair: tuple[float, tuple | None], better: str) -> str:
    value, rng = pair
    text = f"{number(value)}x" + (" less" if better == "lower" else "")
    return text + (f" ({number(rng[0])} to {number(rng[1])})" if rng else "")


def part(pair: tuple[float, tuple | None]) -> str:
    value, rng = pair
    text = f"{number(value, 2)}%"
    return text + (f" ({number(rng[0], 2)} to {number(rng[1], 2)}%)" if rng else "")


def versus(row: Comparison) -> str:
    """The benchstat verdict of a rung against the one before it."""
    n = f"n={row.old.n}" if row.old and row.new and row.old.n == row.new.n else "n differs"
    if row.warnings:
        return f"? ({n}, too few trials to test)"
    if row.verdict == "same":
        return f"~ (p={row.p:.3f}, {n})"
    return f"{percent(row.delta_pct or 0.0)} (p={row.p:.3f}, {n})"


class Ladder:
    """The measured ladder and the comparisons the docs print from it."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.rungs = measured_rungs(sources)
        if len(self.rungs) < 2:
            raise NotMeasured("ladder")

    def stat(self, rung: str, name: str) -> Summary:
        return self.sources.stat("ladder", rung, name)

    def measured(self, names: tuple[str, ...]) -> list[str]:
        """The metrics every rung recorded (schema 2 no longer calls 1/throughput CPU)."""
        services = self.sources.results_set("ladder").services
        return [m for m in names if all(m in services[r.name] for r in self.rungs)]

    def previous(self, rung: str) -> str:
        names = [r.name for r in self.rungs]
        return names[names.index(rung) - 1]

    def row(self, old: str, new: str, name: str) -> Comparison:
        stat = self.sources.stat
        return compare_samples(stat("ladder", old, name), stat("ladder", new, name), 0.05, "", name)

    def gain(self, name: str) -> float:
        return (
            self.stat(self.rungs[-1].name, name).median - self.stat(self.rungs[0].name, name).median
        )

    def share(self, rung: str, name: str) -> tuple[float, tuple | None]:
        """The rung's part of the whole gain in `name`, in percent, with bounds."""
        if rung not in [r.name for r in self.rungs[1:]]:
            raise KvbenchError(f"{rung!r} is not a measured rung after the first")
        prev, this = self.stat(self.previous(rung), name), self.stat(rung, name)
        return share(prev, this, self.gain(name))

    def cells(self, rung: str, name: str) -> tuple[str, str, str]:
        """vs previous, cumulative and share of the gain, for one rung and metric."""
        if rung == self.rungs[0].name:
            return "baseline", "1x", "—"
        better = metric(name).better
        first, this = self.stat(self.rungs[0].name, name), self.stat(rung, name)
        return (
            versus(self.row(self.previous(rung), rung, name)),
            times(cumulative(first, this, better), better),
            part(self.share(rung, name)),
        )


def overview(sources: Sources) -> str:
    """Every rung in one table: throughput, its change, cumulative, share; ASGI cost."""
    ladder = Ladder(sources)
    head = ["rung", "what changed", "throughput, req/s (95% CI)", "vs previous rung", "cumulative",
            "share of the whole gain", "ASGI per request", "allocs per request"]  # fmt: skip
    lines = [_line(head), _line(["---"] * 2 + ["---:"] * 6)]
    for rung in ladder.rungs:
        tps = ladder.stat(rung.name, "http_tps")
        tps_text = f"{number(tps.median)}" + (
            f" ({number(tps.ci[0])} to {number(tps.ci[1])})" if tps.ci else ""
        )
        asgi = [quantity(ladder.stat(rung.name, m).median, metric(m).unit).removesuffix(" allocs")
                for m in ("asgi_ns_per_op", "asgi_allocs_per_op")]  # fmt: skip
        cells = [f"`{rung.name}`", rung.description, tps_text, *ladder.cells(rung.name, "http_tps")]
        lines.append(_line([*cells, *asgi]))
    return "\n".join(lines) + "\n\n" + _footnote(ladder)


def _footnote(ladder: Ladder) -> str:
    tps = ladder.stat(ladder.rungs[0].name, "http_tps")
    trials = f"{tps.n} trials per rung" if tps.ci else f"{tps.n} trials per rung ({NO_RANGE})"
    return (
        f"Medians of {trials}; ranges in parentheses are 95% intervals (of the median for "
        "throughput, conservative bounds from those intervals for the derived columns). "
        "`~` means the rung's throughput is not distinguishable from the previous rung's "
        "(two-sided Mann-Whitney U, alpha 0.05)."
    )


def rung_table(sources: Sources, name: str) -> str:
    """One rung against the one before it, on throughput, server CPU and in-process cost."""
    ladder = Ladder(sources)
    if name not in [r.name for r in ladder.rungs]:
        raise NotMeasured("ladder")
    if name == ladder.rungs[0].name:
        return _baseline(ladder, name)
    prev = ladder.previous(name)
    head = ["measure", f"`{prev}`", f"`{name}`", "change (p, n)", "cumulative vs first rung",
            "share of the whole gain"]  # fmt: skip
    lines = [_line(head), _line(["---"] + ["---:"] * 5)]
    for m in ladder.measured(RUNG_METRICS):
        cells = [with_range(ladder.stat(r, m)) for r in (prev, name)]
        lines.append(_line([_title(m), *cells, *ladder.cells(name, m)]))
    return "\n".join(lines) + "\n\n" + verdict(ladder, name)


def _baseline(ladder: Ladder, name: str) -> str:
    lines = [_line(["measure", f"`{name}`"]), _line(["---", "---:"])]
    found = ladder.measured(RUNG_METRICS)
    lines += [_line([_title(m), with_range(ladder.stat(name, m))]) for m in found]
    return "\n".join(lines) + "\n\nThe baseline every later rung is measured against."


def verdict(ladder: Ladder, name: str) -> str:
    """One generated sentence: did this rung measurably change throughput and in-process cost?"""
    prev = ladder.previous(name)
    names = ("http_tps", "asgi_ns_per_op", "asgi_allocs_per_op")
    said = [_said(ladder.row(prev, name, m), m) for m in names]
    return f"**Measured against `{prev}`:** {'; '.join(said)}."


def _said(row: Comparison, name: str) -> str:
    what = {"http_tps": "throughput", "asgi_ns_per_op": "in-process cost per request"}.get(
        name, "allocations per request"
    )
    if row.warnings:
        return f"{what} not tested (too few trials)"
    if row.verdict == "same":
        return f"no measurable change in {what} (p={row.p:.2f})"
    return f"{what} {percent(row.delta_pct or 0.0)}, {row.verdict} (p={row.p:.3f})"


def _title(name: str) -> str:
    m = metric(name)
    return f"{m.title[:1].upper()}{m.title[1:]}"


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
