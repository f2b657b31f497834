"""The compare gate (`kvbench compare --fail-on-regression PCT`): three answers, or a refusal.

Each gated metric gets an answer, and the worst one is the gate's:

- *regression* (exit 1): the change is worse than PCT with the stated confidence: its 95%
  interval lies wholly past the threshold and its p (Mann-Whitney U between two runs; the
  bootstrap's sign p for a `--relative-to` row, each side's ratio to its own base), Holm-
  adjusted over the timed metrics gated together, is at most alpha (so that gating several
  metrics at once does not multiply the false alarms);
- *no regression* (exit 0): the interval of the change excludes a regression beyond PCT;
- *inconclusive* (exit 3): neither; the reason says how many trials a side would decide it
  at the spread measured.

The change is new / old, and its interval is the project's own (`resample.unpaired_ratio`:
each side's trials resampled alone), or the bootstrap interval a relative row already
carries. Exact counts (instructions, allocations) are compared by their medians, no test.
What the gate cannot judge it refuses (exit 4): a gated metric missing on a side, a unit
clash, a value of 0 where a ratio is taken, or inputs that do not measure the same thing
(see `load_refusals`).
"""

import math
from dataclasses import dataclass, field

from kvbench.results.compare import BOOTSTRAP, EXACT_FLOOR_PCT, Comparison
from kvbench.results.metrics import metric
from kvbench.results.resample import unpaired_ratio
from kvbench.results.resultset import ResultSet
from kvbench.results.stats import MIN_CI_SAMPLES, holm

# Throughput, the open-loop p50 and p99 (medians of the per-trial percentiles, timed from
# the intended send), the server's CPU per request at the offered rate, and the two counts.
DEFAULT_METRICS = (
    "http_tps",
    "http_trial_p50_ms",
    "http_trial_p99_ms",
    "server_open_cpu_us_per_req",
    "asgi_instructions_per_op",
    "asgi_allocs_per_op",
)
REGRESSION, NO_REGRESSION, INCONCLUSIVE, REFUSED = (
    "regression", "no regression", "inconclusive", "refused")  # fmt: skip
EXIT = {NO_REGRESSION: 0, REGRESSION: 1, INCONCLUSIVE: 3, REFUSED: 4}
MOST_TRIALS = 1_000  # past this, "more than" is all an estimate from one run can say


@dataclass(frozen=True)
class Judgement:
    """One gated metric's answer and its one-line reason."""

    row: Comparison
    answer: str
    reason: str

    @property
    def line(self) -> str:
        return f"{self.answer}: {where(self.row)}: {self.reason}"


@dataclass
class Gate:
    pct: float
    alpha: float
    judged: list[Judgement] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    @property
    def answer(self) -> str:
        if self.refusals:
            return REFUSED
        found = {j.answer for j in self.judged}
        return next(a for a in (REGRESSION, INCONCLUSIVE, NO_REGRESSION) if a in found)

    @property
    def exit_code(self) -> int:
        return EXIT[self.answer]

    def of(self, answer: str) -> list[Judgement]:
        return [j for j in self.judged if j.answer == answer]

    def lines(self) -> list[str]:
        """What the gate prints: each metric's answer, each refusal, then its own answer."""
        found = [j.line for j in self.judged] + [f"gate refused: {r}" for r in self.refusals]
        return [*found, f"gate: {self.answer} (exit {self.exit_code}): {self.reason}"]

    @property
    def reason(self) -> str:
        pct, total = f"{self.pct:g}%", len(self.judged)
        if self.refusals:
            return f"{len(self.refusals)} input(s) it cannot judge, named above; nothing gated"
        if found := self.of(REGRESSION):
            names = ", ".join(where(j.row) for j in found)
            return f"{len(found)} of {total} gated metrics worse by more than {pct}: {names}"
        if found := self.of(INCONCLUSIVE):
            names = ", ".join(where(j.row) for j in found)
            return (f"{len(found)} of {total} gated metrics neither shown worse by more than "
                    f"{pct} nor shown not to be: {names}; more trials would tell")  # fmt: skip
        return (f"each of {total} gated metrics excludes a regression beyond {pct} (95% "
                "intervals; exact counts by their medians)")  # fmt: skip


def where(row: Comparison) -> str:
    return f"{row.metric} [{row.group}]" if row.group else row.metric


def gate(
    rows: list[Comparison], pct: float, alpha: float = 0.05, names: list[str] | None = None
) -> Gate:
    """Judge the rows of the named metrics (default `DEFAULT_METRICS`) against `pct` percent."""
    wanted = list(names or DEFAULT_METRICS)
    decision = Gate(pct, alpha, refusals=missing(rows, wanted))
    gated = [r for r in rows if r.metric in wanted and r.old and r.new]
    decision.refusals += [reason for r in gated if (reason := unusable(r))]
    if decision.refusals:
        return decision
    timed = [r for r in gated if not r.exact]
    for r, adjusted in zip(timed, holm([r.p if r.p is not None else 1.0 for r in timed]),
                           strict=True):  # fmt: skip
        r.p_adjusted = adjusted
    decision.judged = [judge_exact(r, pct) if r.exact else judge_timed(r, pct, alpha, len(timed))
                       for r in gated]  # fmt: skip
    return decision


def missing(rows: list[Comparison], wanted: list[str]) -> list[str]:
    """A refusal for each named metric that some compared pair lacks on a side, or at all."""
    groups = list(dict.fromkeys(r.group for r in rows)) or [""]
    found = {(r.group, r.metric): r for r in rows}
    reasons = []
    for group in groups:
        for name in wanted:
            row = found.get((group, name))
            label = f"{name} [{group}]" if group else name
            if row is None:
                reasons.append(f"{label}: in neither result set")
            elif row.old is None or row.new is None:
                reasons.append(f"{label}: {row.note or 'missing on a side'}")
    return reasons


def unusable(row: Comparison) -> str:
    assert row.old and row.new
    if metric(row.metric).diagnostic:
        return f"{where(row)}: a diagnostic (shown, never judged), not a metric to gate on"
    if row.exact:
        return ""  # a count may be 0, and 0 -> 1 is worse
    if min(*row.old.values, *row.new.values) <= 0:
        return f"{where(row)}: a value of 0 or less; a ratio of it is not defined"
    return ""


def limit(better: str, pct: float) -> float:
    """The ratio new / old past which a change is a regression of more than `pct` percent."""
    return 1 + pct / 100 if better == "lower" else 1 - pct / 100


def worse_than(ratio: float, better: str, pct: float) -> bool:
    bound = limit(better, pct)
    return ratio > bound if better == "lower" else ratio < bound


def judge_exact(row: Comparison, pct: float) -> Judgement:
    """A count compared by its medians: worse by more than the threshold is a regression.

    The threshold is `pct`, raised to what the tables call a change of an exact count (the
    spread of either side's repeats, and EXACT_FLOOR_PCT: the memory layout alone moves an
    instruction count about 0.3% between two states of the code), so that the gate never
    fails a change that the comparison table itself prints as none."""
    assert row.old and row.new
    old, new = row.old.median, row.new.median
    pct = max(pct, EXACT_FLOOR_PCT, *(spread_pct(side) for side in (row.old, row.new)))
    if old == 0:
        grew = new != 0 and worse_than(math.inf if new > 0 else 0.0, row.better, pct)
        change = "from 0" if new else "0 -> 0"
        answer = REGRESSION if grew else NO_REGRESSION
        return Judgement(row, answer, f"{change} (exact count, no test)")
    answer = REGRESSION if worse_than(new / old, row.better, pct) else NO_REGRESSION
    return Judgement(row, answer, f"{_pct(new / old)} (exact count, no test), "
                                  f"threshold {pct:.3g}%")  # fmt: skip


def spread_pct(side) -> float:
    """A side's repeats, highest less lowest, in percent of their median."""
    values = side.values
    return (max(values) - min(values)) / abs(side.median) * 100 if side.median else 0.0


def judge_timed(row: Comparison, pct: float, alpha: float, tested: int) -> Judgement:
    """Regression, no regression or inconclusive from the 95% interval of new / old."""
    assert row.old and row.new
    units = min(row.old.n, row.new.n)
    estimate, ci = change_interval(row)
    if ci is None:
        return Judgement(row, INCONCLUSIVE, f"{row.old.n} and {row.new.n} values: an interval "
                                            f"needs >= {MIN_CI_SAMPLES} a side")  # fmt: skip
    said = f"{_pct(estimate)}, 95% interval {_pct(ci[0])} to {_pct(ci[1])}"
    if all(worse_than(end, row.better, pct) for end in ci):
        past = f"{said}: wholly past the {pct:g}% threshold"
        p = row.p_adjusted if row.p_adjusted is not None else 1.0
        if p <= alpha:
            return Judgement(row, REGRESSION, f"{past} (Holm-adjusted p={p:.3g})")
        over = f", Holm-adjusted over {tested} timed metrics," if tested > 1 else ""
        return Judgement(row, INCONCLUSIVE, f"{past}, but the U test's p{over} is {p:.3g} > "
                                            f"{alpha:g}: more trials would tell")  # fmt: skip
    if not any(worse_than(end, row.better, pct) for end in ci):
        return Judgement(row, NO_REGRESSION, f"{said}: excludes a regression beyond {pct:g}%")
    need = trials_needed(estimate, ci, limit(row.better, pct), units)
    return Judgement(row, INCONCLUSIVE, f"{said}: straddles the {pct:g}% threshold; {need}")


def change_interval(row: Comparison) -> tuple[float, tuple[float, float] | None]:
    """new / old of the medians and its 95% interval: the row's own (a relative row's
    bootstrap carries its base's error), else each side's trials resampled alone."""
    assert row.old and row.new
    estimate = row.new.median / row.old.median
    if row.change_ci is not None or row.basis == BOOTSTRAP:
        # A relative row without its own interval had too few base trials: its values are
        # divided by a base median that is itself uncertain, so no interval stands in.
        return estimate, row.change_ci
    return estimate, unpaired_ratio(row.new.values, row.old.values)[1]


def trials_needed(estimate: float, ci: tuple[float, float], bound: float, units: int) -> str:
    """How many trials a side would put the interval on one side of `bound`, at this spread.

    The interval's half-width on the side facing the threshold (log scale) shrinks as
    1/sqrt(n); the Student's t factor shrinks too, so this errs towards more trials.
    """
    distance = abs(math.log(estimate) - math.log(bound)) if bound > 0 else math.inf
    if distance == 0:
        return "the change sits on the threshold: no number of trials decides it"
    half = math.log(estimate / ci[0]) if bound < estimate else math.log(ci[1] / estimate)
    # Never fewer than an interval needs, nor than were run: the estimate itself may move.
    need = max(math.ceil(units * (half / distance) ** 2), units + 1, MIN_CI_SAMPLES)
    if need > MOST_TRIALS:
        return f"more than {MOST_TRIALS:,} trials a side would be needed at this spread"
    return f"about {need} trials a side would decide it at this spread (has {units})"


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.2f}%"


# Measured over HTTP: each moves with the connections the load kept open. Those taken at the
# offered rate (a run lists them in `environment.http.at_offered_rate`) move with the rate too.
UNDER_LOAD = ("http_", "server_", "redis_", "gc_pause_", "loadgen_")
# (`http_p`: schema 1's http_p99_ms and the like, open-loop too.)
AT_RATE = ("http_trial_", "http_service_", "http_send_lag_", "http_open_", "server_open_",
           "redis_", "http_p")  # fmt: skip

Pair = tuple[str, str, str]  # the group a row is shown in, the old side's service, the new's


def load_refusals(old: ResultSet, new: ResultSet, pairs: list[Pair], names: list[str]) -> list:
    """A refusal for each gated metric measured under load that the two sides measured under
    different load: other connections, or (at the offered rate) another rate, or unrecorded."""
    reasons = []
    for group, old_service, new_service in pairs:
        for name in names:
            label = f"{name} [{group}]" if group else name
            if name.startswith(UNDER_LOAD) or name == "gc_collections":
                sides = (connections(old), connections(new))
                reasons += _differ(label, "connections", sides)
            if name.startswith(AT_RATE) or name in _listed(old) | _listed(new):
                sides = (offered_rate(old, old_service), offered_rate(new, new_service))
                reasons += _differ(label, "offered rate (req/s)", sides)
    return list(dict.fromkeys(reasons))


def _differ(label: str, what: str, sides: tuple[float | None, float | None]) -> list[str]:
    if None in sides:
        side = "either side" if sides == (None, None) else ("old", "new")[sides.index(None)]
        return [f"{label}: the {what} is not recorded in the {side} results; it depends on it"]
    if sides[0] != sides[1]:
        return [f"{label}: measured at {what} {sides[0]:g} (old) and {sides[1]:g} (new); "
                "it depends on it, so the two do not compare"]  # fmt: skip
    return []


def _http(results: ResultSet) -> dict:
    environment = results.run.environment if results.run else {}
    found = environment.get("http")
    return found if isinstance(found, dict) else {}


def _listed(results: ResultSet) -> set[str]:
    return set(_http(results).get("at_offered_rate") or ())


def connections(results: ResultSet) -> float | None:
    value = _http(results).get("concurrency")
    return float(value) if isinstance(value, int | float) else None


def offered_rate(results: ResultSet, service: str) -> float | None:
    """The rate the service's open loop was offered: its own pooled latency's, else the run's."""
    latency = results.run.latency.get(service) if results.run else None
    if latency is not None and latency.offered_rate is not None:
        return latency.offered_rate
    value = _http(results).get("offered_rate")
    return float(value) if isinstance(value, int | float) else None
