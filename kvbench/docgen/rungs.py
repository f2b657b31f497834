"""docs/04's ladder, from `bench-results/ladder/summary.json`: per rung, the change and its share.

For a rung r after rung p, with the first rung f and the last rung l of the ladder, and a
metric's cost per request c (the metric itself where lower is better; for throughput its
reciprocal, the time per request, which on a saturated pinned core is the server's time):
    cumulative = r / f (higher-better) or f / r ("x less", lower-better)
    share      = (c(p) - c(r)) / (c(f) - c(l)), the rung's part of the whole saving
Shares are additive: over all rungs they add up to 100%. Ranges are conservative bounds
from the 95% intervals of the medians involved, at their opposite extremes (a share divides
by the whole saving of the medians); a Pair is a value with those bounds, or None. A rung
that runs its predecessor's code in-process (`kvbench.services.same_in_process`) has no
in-process numbers of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass

from kvbench import KvbenchError
from kvbench.docgen.evidence import ADDED, removed_share, targets
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.report.formatting import counted, number, pct, percent, quantity, with_range
from kvbench.results.compare import Comparison, compare_samples
from kvbench.results.metrics import metric
from kvbench.results.summary import Summary
from kvbench.services import LADDER, Service, same_in_process, why_same_in_process

# Server CPU per request: schema 1 read it over the saturated closed loop (1/throughput);
# schema 2 reads it in the open loop, below saturation, when the run has one.
SERVER_METRICS = (
    "http_tps",
    "server_cpu_us_per_req",
    "server_open_cpu_us_per_req",
    "gc_collections",
    "gc_pause_max_ms",
)
IN_PROCESS_METRICS = ("asgi_ns_per_op", "asgi_allocs_per_op", "asgi_instructions_per_op")
# Costs per request add up along the ladder; collections and pauses per window do not.
PER_REQUEST = (
    "http_tps",
    "server_cpu_us_per_req",
    "server_open_cpu_us_per_req",
    *IN_PROCESS_METRICS,
)
TITLES = {
    "gc_collections": "GC collections per closed-loop window",
    "gc_pause_max_ms": "Longest GC pause in the window",
    "asgi_instructions_per_op": "Instructions per request (in-process)",
}
SAID = {
    "http_tps": "throughput",
    "asgi_ns_per_op": "in-process cost per request",
    "asgi_allocs_per_op": "allocations per request",
    "asgi_instructions_per_op": "instructions per request",
}
SAME_CODE = "same code in-process"
NO_RANGE = "no range: fewer than 6 trials"


Pair = tuple[float, tuple[float, float] | None]


def bounds(low: float, high: float) -> tuple[float, float]:
    return (low, high) if low <= high else (high, low)


def cumulative(first: Summary, this: Summary, better: str) -> Pair | str:
    """How many times better than the first rung, with bounds from both intervals.

    A cost that fell to zero, or grew from zero, has no ratio: it is said in words.
    """
    top, bottom = (this, first) if better == "higher" else (first, this)
    if top.median == bottom.median == 0:
        return "0 at both"
    if bottom.median == 0:
        return "to 0" if better == "lower" else "from 0"
    if top.median == 0:
        return "from 0" if better == "lower" else "to 0"
    value = top.median / bottom.median
    if top.ci and bottom.ci and bottom.ci[0] > 0:
        return value, bounds(top.ci[0] / bottom.ci[1], top.ci[1] / bottom.ci[0])
    return value, None


def cost(stat: Summary, better: str) -> Pair:
    """The cost per request a metric stands for: itself, or 1/x where higher is better."""
    if better == "lower":
        return stat.median, stat.ci
    low, high = stat.ci or (0.0, 0.0)
    return 1 / stat.median, (1 / high, 1 / low) if stat.ci and low > 0 else None


def share(prev: Pair, this: Pair, saving: float) -> Pair:
    """The part of the whole saving (first cost - last cost) this rung made, in percent."""
    value = (prev[0] - this[0]) / saving * 100
    if prev[1] and this[1]:
        low = (prev[1][0] - this[1][1]) / saving * 100
        high = (prev[1][1] - this[1][0]) / saving * 100
        return value, bounds(low, high)
    return value, None


def times(pair: Pair | str, better: str) -> str:
    """`2.5x`, `2.5x less`, or for a cost that grew, `1.4x more` rather than `0.714x less`."""
    if isinstance(pair, str):
        return pair  # to or from zero
    value, rng = pair
    word = "" if better == "higher" else " less"
    if better == "lower" and value < 1:
        inverted = bounds(1 / rng[0], 1 / rng[1]) if rng and rng[0] > 0 else None
        value, rng, word = 1 / value, inverted, " more"
    return f"{number(value)}x{word}" + (f" ({number(rng[0])} to {number(rng[1])})" if rng else "")


@dataclass(frozen=True)
class Rung:
    name: str
    description: str
    service: Service


def versus(row: Comparison) -> str:
    """The benchstat verdict of a rung against the one before it."""
    n = f"n={row.old.n}" if row.old and row.new and row.old.n == row.new.n else "n differs"
    if row.warnings:
        return f"? ({n}, too few trials to test)"
    if row.verdict == "same":
        return f"~ ({row.evidence}, {n})"
    return f"{percent(row.delta_pct or 0.0)} ({row.evidence}, {n})"


class Ladder:
    """The measured ladder and the comparisons the docs print from it.

    Every rung of LADDER must be in the committed run: a rung compared with anything but
    its own predecessor would credit it with the changes of the rungs left out.
    """

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        measured = sources.results_set("ladder").services
        self.rungs = [Rung(s.name, text, s) for s, text in LADDER]
        missing = [f"`{r.name}`" for r in self.rungs if r.name not in measured]
        if missing:
            raise NotMeasured("ladder", f"the committed ladder run has no {', '.join(missing)}")
        self.same = same_in_process([r.service for r in self.rungs])
        first = measured[self.rungs[0].name]
        self.metrics = [m for m in (*SERVER_METRICS, *IN_PROCESS_METRICS) if m in first]

    def names(self) -> list[str]:
        return [r.name for r in self.rungs]

    def rung(self, name: str) -> Rung:
        if name not in self.names():
            raise KvbenchError(f"{name!r} is not a rung of the ladder; one of {self.names()}")
        return self.rungs[self.names().index(name)]

    def previous(self, rung: str) -> str:
        return self.names()[self.names().index(rung) - 1]

    def code(self, rung: str) -> str:
        """The rung whose in-process measurements stand for this rung's code."""
        return self.same.get(rung, rung)

    def same_code(self, rung: str, name: str) -> bool:
        """An in-process metric of a rung that runs its predecessor's code in-process."""
        if name not in IN_PROCESS_METRICS or rung == self.rungs[0].name:
            return False
        return self.code(rung) == self.code(self.previous(rung))

    def why_same(self, rung: str) -> str:
        before = self.rung(self.previous(rung)).service
        return why_same_in_process(before, self.rung(rung).service)

    def stat(self, rung: str, name: str) -> Summary:
        if name in IN_PROCESS_METRICS:
            rung = self.code(rung)
        return self.sources.stat("ladder", rung, name)

    def row(self, old: str, new: str, name: str) -> Comparison:
        return compare_samples(self.stat(old, name), self.stat(new, name), 0.05, "", name)

    def cost(self, rung: str, name: str) -> Pair:
        return cost(self.stat(rung, name), metric(name).better)

    def share(self, rung: str, name: str) -> Pair:
        """The rung's part of the whole saving in `name`'s cost per request, in percent."""
        if name not in PER_REQUEST:
            raise KvbenchError(f"{name} is not a cost per request; shares of it do not add up")
        if rung not in self.names()[1:]:
            raise KvbenchError(f"{rung!r} is not a measured rung after the first")
        first, last = self.cost(self.rungs[0].name, name), self.cost(self.rungs[-1].name, name)
        saving = first[0] - last[0]
        if not saving:
            raise KvbenchError(f"the ladder saved nothing in {name}; no shares to give")
        return share(self.cost(self.previous(rung), name), self.cost(rung, name), saving)

    def step(self, rung: str, name: str) -> str:
        """The change from the rung before, in percent."""
        return percent(self.row(self.previous(rung), rung, name).delta_pct or 0.0)

    def largest_step(self, name: str) -> str:
        """The rung that cut `name`'s cost the most (throughput: its time per request)."""
        steps = {
            r: self.cost(self.previous(r), name)[0] - self.cost(r, name)[0]
            for r in self.names()[1:]
        }
        return max(steps, key=lambda r: steps[r])

    def cells(self, rung: str, name: str) -> tuple[str, str, str]:
        """vs previous, cumulative and share of the saving, for one rung and metric."""
        if rung == self.rungs[0].name:
            return "baseline", "1x", "—"
        better = metric(name).better
        first, this = self.stat(self.rungs[0].name, name), self.stat(rung, name)
        row = self.row(self.previous(rung), rung, name)
        noise = row.verdict == "same"  # a share inside the noise is not a finding
        said = "—" if name not in PER_REQUEST else "~" if noise else pct(*self.share(rung, name))
        return versus(row), times(cumulative(first, this, better), better), said

    def window(self) -> str:
        """The closed-loop window the GC columns count over, as the run recorded it."""
        http = self.sources.environment("ladder").get("http") or {}
        seconds = http.get("duration_s")
        return f"{seconds:g} s window" if seconds else "closed-loop window"


def overview(sources: Sources) -> str:
    """`ladder`: every rung in one table: throughput, its steps and shares, GC, in-process."""
    ladder = Ladder(sources)
    gc = [m for m in ("gc_collections", "gc_pause_max_ms") if m in ladder.metrics]
    inproc = [m for m in IN_PROCESS_METRICS if m in ladder.metrics]
    instructions = "asgi_instructions_per_op" in inproc
    head = ["rung", "what changed", "throughput, req/s (95% CI)", "vs previous rung",
            "cumulative", "share of the time saved per request", *(_head(m, ladder) for m in gc),
            *(_head(m, ladder) for m in inproc)]  # fmt: skip
    head += ["share of the instructions saved"] if instructions else []
    lines = [_line(head), _line(["---"] * 2 + ["---:"] * (len(head) - 2))]
    for rung in ladder.rungs:
        tps = ladder.stat(rung.name, "http_tps")
        tps_text = number(tps.median) + (
            f" ({number(tps.ci[0])} to {number(tps.ci[1])})" if tps.ci else ""
        )
        cells = [f"`{rung.name}`", rung.description, tps_text, *ladder.cells(rung.name, "http_tps")]
        cells += [_short(ladder, rung.name, m) for m in gc + inproc]
        if instructions:
            cells.append(_unless_same(ladder, rung.name, lambda r, m: ladder.cells(r, m)[2]))
        lines.append(_line(cells))
    return "\n".join(lines) + "\n\n" + _footnote(ladder)


def _head(name: str, ladder: Ladder) -> str:
    return {
        "gc_collections": f"GC collections per {ladder.window()}",
        "gc_pause_max_ms": "longest GC pause",
        "asgi_ns_per_op": "ASGI per request",
        "asgi_allocs_per_op": "allocs per request",
        "asgi_instructions_per_op": "instructions per request",
    }[name]


def _short(ladder: Ladder, rung: str, name: str) -> str:
    if ladder.same_code(rung, name):
        return "same code"
    stat = ladder.stat(rung, name)
    return quantity(stat.median, metric(name).unit).removesuffix(" allocs")


def _unless_same(ladder: Ladder, rung: str, text: Callable[[str, str], str]) -> str:
    """An instructions cell of a rung: `same code` where it runs the code before it."""
    name = "asgi_instructions_per_op"
    if name not in ladder.metrics:
        return "—"
    return "same code" if ladder.same_code(rung, name) else text(rung, name)


def _footnote(ladder: Ladder) -> str:
    tps = ladder.stat(ladder.rungs[0].name, "http_tps")
    trials = f"{tps.n} trials per rung" + ("" if tps.ci else f" ({NO_RANGE})")
    noise = [r.name for r in ladder.rungs[1:] if ladder.row(ladder.previous(r.name), r.name,
             "http_tps").verdict == "same"]  # fmt: skip
    held = sum(ladder.share(r, "http_tps")[0] for r in noise)
    parts = [
        f"Medians of {trials}. Ranges in parentheses, here and in every rung's table, are "
        "95% intervals of the median, or for derived columns conservative bounds from those "
        "intervals. `~`: not distinguishable from the previous rung (two-sided Mann-Whitney "
        "U, alpha 0.05); a `~` rung's share is noise and is not shown.",
        "Share of the time saved: the rung's part of the whole fall in time per request "
        "(1/throughput; on the pinned, saturated server core, the server's time per request) "
        "from the first rung to the last. Time adds up where requests per second do not: the "
        "shares of all rungs make 100%"
        + (f", the `~` rungs together {pct(held)}." if noise else "."),
        f"GC: collections during the {ladder.window()} and the longest pause in it, medians "
        "of the trials.",
    ]
    if "asgi_instructions_per_op" in ladder.metrics:
        parts.append(
            "Share of the instructions saved: the same, on instructions per request counted "
            "in-process, where the app runs without a server: the server rungs save none there."
        )
    if ladder.same:
        parts.append(
            "same code: in-process this rung runs the code of the rung before it (only the "
            "server, its settings or the lifespan changed, none of which the in-process "
            "layers run), so they did not measure it again."
        )
    return " ".join(parts)


def rung_table(sources: Sources, name: str, *options: str) -> str:
    """`rung NAME [details]`: one rung against the one before it; `details` folds the table."""
    if set(options) - {"details"}:
        raise KvbenchError(
            f"rung takes a rung name and optionally `details`, not {' '.join(options)!r}"
        )
    if name not in [service.name for service, _ in LADDER]:
        raise KvbenchError(f"{name!r} is not a rung of the ladder (kvbench/services.py)")
    ladder = Ladder(sources)
    if name == ladder.rungs[0].name:
        return _baseline(ladder, name)
    prev = ladder.previous(name)
    head = ["measure", f"`{prev}`", f"`{name}`", "change (p, n)", "cumulative vs first rung",
            "share of the saving per request"]  # fmt: skip
    lines = [_line(head), _line(["---"] + ["---:"] * 5)]
    for m in ladder.metrics:
        if not ladder.same_code(name, m):
            cells = [with_range(ladder.stat(r, m)) for r in (prev, name)]
            lines.append(_line([_title(m), *cells, *ladder.cells(name, m)]))
    if any(ladder.same_code(name, m) for m in ladder.metrics):
        lines.append(_line(["In-process layers", SAME_CODE, SAME_CODE, "—", "—", "—"]))
    table = "\n".join(lines)
    if "details" in options:
        summary = f"All measurements: `{name}` against `{prev}`"
        table = f"<details><summary>{summary}</summary>\n\n{table}\n\n</details>"
    return table + "\n\n" + verdict(ladder, name)


def _baseline(ladder: Ladder, name: str) -> str:
    lines = [_line(["measure", f"`{name}`"]), _line(["---", "---:"])]
    lines += [_line([_title(m), with_range(ladder.stat(name, m))]) for m in ladder.metrics]
    return "\n".join(lines) + "\n\nThe baseline every later rung is measured against."


def verdict(ladder: Ladder, name: str) -> str:
    """One generated sentence: did this rung measurably change throughput and in-process cost?"""
    prev = ladder.previous(name)
    said = [_said(ladder.row(prev, name, "http_tps"), "http_tps")]
    paired = ladder.sources.results_set("ladder").paired_ratios(name, prev).get("http_tps")
    if paired is not None and paired.ci:  # the same two rungs, round by round: drift cancels
        low, high = paired.ci
        said[0] += (
            f"; round by round, paired: {number(paired.median)}x "
            f"(95% CI {number(low)} to {number(high)}, n={paired.n})"
        )
    inproc = [m for m in IN_PROCESS_METRICS if m in ladder.metrics]
    if inproc and ladder.same_code(name, inproc[0]):
        said.append(f"in-process the same code ({ladder.why_same(name)})")
    else:
        said += [_said(ladder.row(prev, name, m), m) for m in inproc if m != "asgi_bytes_per_op"]
    return f"**Measured against `{prev}`:** {'; '.join(said)}."


def gc_step(sources: Sources) -> str:
    """`gc-step`: one sentence naming the rung where GC collections fell most, and by how much."""
    ladder = Ladder(sources)
    if "gc_collections" not in ladder.metrics:
        raise KvbenchError("the ladder run recorded no gc_collections")
    rung = ladder.largest_step("gc_collections")
    prev, what = ladder.previous(rung), ladder.rung(rung).description
    step = [ladder.stat(r, "gc_collections").median for r in (prev, rung)]
    text = (
        f"GC collections per {ladder.window()} fell most at rung `{rung}` ({what}): from "
        f"{counted(step[0], 'count')} to {counted(step[1], 'count')}"
    )
    if "gc_pause_max_ms" in ladder.metrics:
        pause = [quantity(ladder.stat(r, "gc_pause_max_ms").median, "ms") for r in (prev, rung)]
        text += f", and the longest pause from {pause[0]} to {pause[1]}"
    return text + "."


def _said(row: Comparison, name: str) -> str:
    what = SAID.get(name, name)
    if row.warnings:
        return f"{what} not tested (too few trials)"
    if row.verdict == "same":
        return f"no measurable change in {what} ({row.evidence})"
    return f"{what} {percent(row.delta_pct or 0.0)}, {row.verdict} ({row.evidence})"


def _title(name: str) -> str:
    if name in TITLES:
        return TITLES[name]
    m = metric(name)
    return f"{m.title[:1].upper()}{m.title[1:]}"


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def story(sources: Sources) -> str:
    """`story`: per rung, what the profile showed, the saving it predicts, what was measured."""
    ladder = Ladder(sources)
    paired = sources.results_set("ladder").paired_ratios
    head = ["rung", "the profile before it showed", "predicted: their share of the samples",
            "measured: time per request (paired)", "instructions per request"]  # fmt: skip
    lines = [_line(head), _line(["---", "---", "---:", "---:", "---:"])]
    for rung in ladder.rungs[1:]:
        name, prev = rung.name, ladder.previous(rung.name)
        wanted = targets(name)
        shown = (
            ("no frame: " + wanted.split(":")[0])
            if isinstance(wanted, str)
            else ("; ".join(t.label for t in wanted if t.key not in ADDED))
        )
        try:
            share = removed_share(sources, name)
        except NotMeasured:  # the rung before has no committed profile (make profile-ladder)
            share, shown = None, "not profiled"
        predicted = "—" if share is None else pct(share)
        lines.append(_line([f"`{name}`", shown, predicted, _measured(ladder, paired, name, prev),
                            _unless_same(ladder, name, ladder.step)]))  # fmt: skip
    return "\n".join(lines) + "\n\n" + STORY_NOTE


STORY_NOTE = (
    "Profile: py-spy `--gil` samples of the rung before (GIL-held wall-clock samples, "
    "start-up left out), a sample counted once if any removed frame is on it. Measured: "
    "median of the per-round ratios of time per request (1/throughput), 95% interval; `~` "
    "where the unpaired Mann-Whitney test cannot tell the rungs apart. Instructions: "
    "in-process, exact."
)


def _measured(ladder: Ladder, paired, name: str, prev: str) -> str:
    ratio_stat = paired(name, prev).get("http_tps")
    noise = ladder.row(prev, name, "http_tps").verdict == "same"
    if ratio_stat is None:
        return "not paired"
    text = percent((1 / ratio_stat.median - 1) * 100)
    if ratio_stat.ci:
        low, high = (1 / ratio_stat.ci[1] - 1) * 100, (1 / ratio_stat.ci[0] - 1) * 100
        text += f" ({number(low, 2)} to {number(high, 2)}%)"
    return text + (" ~" if noise else "")
