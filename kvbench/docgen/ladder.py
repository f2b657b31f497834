"""The ladder's blocks, from `bench-results/ladder/`: the overview, the story, each rung.

A rung's share of a metric whose cost adds up per request (time, instructions) is its part
of the whole saving from the first rung to the last: (c(prev) - c(rung)) / (c(first) -
c(last)), where c is the metric itself or, for throughput, its reciprocal, the time per
request of the pinned, saturated server core. Shares of all rungs add up to 100%; a share's
bounds come from the 95% intervals of the two medians, taken at opposite extremes. A rung
that runs its predecessor's code in-process (`kvbench.services.same_in_process`) has no
in-process numbers of its own.
"""

from kvbench import KvbenchError
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.profiling import samples
from kvbench.profiling.targets import ADDED, TARGETS, frames
from kvbench.report.formatting import number, pct, percent, quantity, with_range
from kvbench.report.tables import context_for, render
from kvbench.results.compare import Comparison, compare_samples, compare_sets
from kvbench.results.metrics import metric
from kvbench.results.summary import Summary
from kvbench.services import LADDER, same_in_process, why_same_in_process

SERVER_METRICS = ("http_tps", "server_cpu_us_per_req", "gc_collections", "gc_pause_max_ms")
IN_PROCESS_METRICS = ("asgi_ns_per_op", "asgi_allocs_per_op", "asgi_instructions_per_op")
# Costs per request add up along the ladder; collections and pauses per window do not.
PER_REQUEST = ("http_tps", "server_cpu_us_per_req", *IN_PROCESS_METRICS)
INSTRUCTIONS = "asgi_instructions_per_op"
Pair = tuple[float, tuple[float, float] | None]
SAME_CODE = (
    " Instructions: in-process, exact; `same code` where a rung changes only the server, its "
    "settings or the lifespan, which the in-process layers do not run."
)


def cost(stat: Summary, better: str) -> Pair:
    """The cost per request a metric stands for: itself, or 1/x where higher is better."""
    if better == "lower":
        return stat.median, stat.ci
    low, high = stat.ci or (0.0, 0.0)
    return 1 / stat.median, (1 / high, 1 / low) if stat.ci and low > 0 else None


def share(prev: Pair, this: Pair, saving: float) -> Pair:
    """The part of the whole saving (first cost - last cost) this rung made, in percent."""
    value = (prev[0] - this[0]) / saving * 100
    if not (prev[1] and this[1]):
        return value, None
    low, high = ((prev[1][i] - this[1][1 - i]) / saving * 100 for i in (0, 1))
    return value, (min(low, high), max(low, high))


class Ladder:
    """The measured ladder. Every rung of LADDER must be in the committed run: a rung
    compared with anything but its own predecessor would be credited with the changes of
    the rungs left out."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.run = sources.results_set("ladder")
        self.services = {s.name: (s, text) for s, text in LADDER}
        self.names = list(self.services)
        missing = [f"`{name}`" for name in self.names if name not in self.run.services]
        if missing:
            raise NotMeasured("ladder", f"the committed ladder run has no {', '.join(missing)}")
        self.same = same_in_process([s for s, _ in LADDER])
        first = self.run.services[self.names[0]]
        self.metrics = [m for m in (*SERVER_METRICS, *IN_PROCESS_METRICS) if m in first]

    def check(self, rung: str, first: bool = True) -> str:
        if rung not in self.names[0 if first else 1 :]:
            raise KvbenchError(f"{rung!r} is not a rung of the ladder (kvbench/services.py)")
        return rung

    def previous(self, rung: str) -> str:
        return self.names[self.names.index(self.check(rung, first=False)) - 1]

    def same_code(self, rung: str, name: str) -> bool:
        """An in-process metric of a rung that runs its predecessor's code in-process."""
        if name not in IN_PROCESS_METRICS or rung == self.names[0]:
            return False
        return self.same.get(rung, rung) == self.same.get(self.previous(rung), self.previous(rung))

    def stat(self, rung: str, name: str) -> Summary:
        if name in IN_PROCESS_METRICS:
            rung = self.same.get(rung, rung)
        return self.sources.stat("ladder", rung, name)

    def row(self, old: str, new: str, name: str) -> Comparison:
        return compare_samples(self.stat(old, name), self.stat(new, name), 0.05, "", name)

    def noise(self, rung: str, name: str = "http_tps") -> bool:
        return self.row(self.previous(rung), rung, name).verdict == "same"

    def cost(self, rung: str, name: str) -> Pair:
        return cost(self.stat(rung, name), metric(name).better)

    def share(self, rung: str, name: str) -> Pair:
        """The rung's part of the whole saving in `name`'s cost per request, in percent."""
        if name not in PER_REQUEST:
            raise KvbenchError(f"{name} is not a cost per request; shares of it do not add up")
        saving = self.cost(self.names[0], name)[0] - self.cost(self.names[-1], name)[0]
        if not saving:
            raise KvbenchError(f"the ladder saved nothing in {name}; no shares to give")
        return share(self.cost(self.previous(rung), name), self.cost(rung, name), saving)

    def largest_step(self, name: str) -> str:
        """The rung that cut `name`'s cost the most (throughput: its time per request)."""
        step = {r: self.cost(self.previous(r), name)[0] - self.cost(r, name)[0]
                for r in self.names[1:]}  # fmt: skip
        return max(step, key=lambda r: step[r])

    def window(self) -> str:
        seconds = (self.sources.typed("ladder").environment.get("http") or {}).get("duration_s")
        return f"{seconds:g} s window" if seconds else "closed-loop window"


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _versus(row: Comparison) -> str:
    """The benchstat verdict of a rung against the one before it."""
    if row.warnings:
        return "? (too few trials to test)"
    change = "~" if row.verdict == "same" else percent(row.delta_pct or 0.0)
    return f"{change} ({row.evidence}, n={row.new.n if row.new else 0})"


def overview(sources: Sources) -> str:
    """`ladder overview`: every rung: throughput, its step and share, GC, instructions."""
    ladder = Ladder(sources)
    counted = INSTRUCTIONS in ladder.metrics
    head = [
        "rung",
        "what changed",
        "throughput (95% CI)",
        "vs previous rung",
        "share of the time saved per request",
        f"GC collections per {ladder.window()}",
    ]
    head += ["instructions per request", "share of the instructions saved"] if counted else []
    lines = [_line(head), _line(["---"] * 2 + ["---:"] * (len(head) - 2))]  # fmt: skip
    for rung in ladder.names:
        tps = ladder.stat(rung, "http_tps")
        cells = [f"`{rung}`", ladder.services[rung][1], with_range(tps)]
        cells = [*cells, *(["baseline", "—"] if rung == ladder.names[0] else [
            _versus(ladder.row(ladder.previous(rung), rung, "http_tps")),
            "~" if ladder.noise(rung) else pct(*ladder.share(rung, "http_tps"))])]  # fmt: skip
        cells.append(quantity(ladder.stat(rung, "gc_collections").median, "count"))
        if counted:
            same = ladder.same_code(rung, INSTRUCTIONS)
            instr = quantity(ladder.stat(rung, INSTRUCTIONS).median, "count")
            saved = "—" if rung == ladder.names[0] else pct(*ladder.share(rung, INSTRUCTIONS))
            cells += ["same code"] * 2 if same else [instr, saved]
        lines.append(_line(cells))
    noise = [r for r in ladder.names[1:] if ladder.noise(r)]
    held = sum(ladder.share(r, "http_tps")[0] for r in noise)
    return "\n".join(lines) + (
        f"\n\nMedians of {ladder.stat(ladder.names[0], 'http_tps').n} trials per rung; ranges "
        "are 95% intervals of the median, or for shares bounds from those intervals. vs "
        "previous: the change of the medians, two-sided Mann-Whitney U, `~` where alpha 0.05 "
        "cannot tell the rungs apart (its share is noise and not shown"
        + (f"; the `~` rungs together {pct(held)}" if noise else "")
        + "). Share of the time saved: the rung's part of the whole fall in time per request "
        "(1/throughput) from the first rung to the last; the shares add up to 100%."
        + (SAME_CODE if counted else "")
    )


def story(sources: Sources) -> str:
    """`ladder story`: per rung, what the profile showed, what it predicted, what was measured."""
    ladder = Ladder(sources)
    head = ["rung", "the profile before it showed", "predicted: their share of the samples",
            "measured: time per request (paired)", "instructions per request"]  # fmt: skip
    lines = [_line(head), _line(["---", "---", "---:", "---:", "---:"])]
    for rung in ladder.names[1:]:
        wanted, prev = TARGETS[rung], ladder.previous(rung)
        if isinstance(wanted, str):
            shown, predicted = "no frame: " + wanted.split(":")[0], "—"
        else:
            removed = tuple(t for t in wanted if t.key not in ADDED)
            shown = "; ".join(t.label for t in removed)
            try:
                predicted = pct(samples.any_share(cpu(sources, prev), removed))
            except NotMeasured:  # the rung before has no committed profile (make profile-ladder)
                shown, predicted = "not profiled", "—"
        instr = "—"
        if INSTRUCTIONS in ladder.metrics:
            row = ladder.row(prev, rung, INSTRUCTIONS)
            same = ladder.same_code(rung, INSTRUCTIONS)
            instr = "same code" if same else percent(row.delta_pct or 0.0)
        lines.append(_line([f"`{rung}`", shown, predicted, _paired(ladder, rung), instr]))
    return "\n".join(lines) + (
        "\n\nProfile: py-spy `--gil` samples of the rung before (GIL-held wall-clock samples, "
        "start-up left out), a sample counted once if any removed frame is on it. Measured: "
        "median of the per-round ratios of time per request (1/throughput), 95% interval; `~` "
        "where the unpaired Mann-Whitney test cannot tell the rungs apart. Instructions: "
        "in-process, exact."
    )


def _paired(ladder: Ladder, rung: str) -> str:
    found = ladder.run.paired_ratios(rung, ladder.previous(rung)).get("http_tps")
    if found is None:
        return "not paired"
    text = percent((1 / found.median - 1) * 100)
    if found.ci:
        low, high = ((1 / v - 1) * 100 for v in reversed(found.ci))
        text += f" ({number(low, 2)} to {number(high, 2)}%)"
    return text + (" ~" if ladder.noise(rung) else "")


def rung(sources: Sources, name: str) -> str:
    """`ladder rung NAME`: what `kvbench compare` prints for the rung against the one before,
    in-process code measured once, then its target frames before and after."""
    ladder = Ladder(sources)
    prev = ladder.previous(name)
    shown = [m for m in ladder.metrics if not ladder.same_code(name, m)]
    old, new = ({m: ladder.stat(r, m) for m in shown} for r in (prev, name))
    rows = compare_sets(old, new)
    text = render(rows, "md", (prev, name), context_for(ladder.run, prev, name)).strip()
    if len(shown) < len(ladder.metrics):
        before, this = (s for s, _ in (ladder.services[prev], ladder.services[name]))
        text += f"\n\nIn-process: the same code as `{prev}` ({why_same_in_process(before, this)})."
    try:
        return text + "\n\n" + frames_table(sources, prev, name)
    except NotMeasured as missing:  # the table above stands without the profiles
        return text + f"\n\n_Target frames: {missing}._"


def cpu(sources: Sources, service: str) -> dict:
    return sources.profile(service, "cpu.speedscope.json", "CPU profile")


def frames_table(sources: Sources, prev: str, name: str) -> str:
    """The target frames' shares of the GIL-held samples before and after the rung."""
    wanted = TARGETS[name]
    if isinstance(wanted, str):
        return f"No profile evidence for this rung: {wanted}."
    (before, n_before), (after, n_after) = (
        samples.frame_shares(cpu(sources, s), wanted) for s in (prev, name)
    )
    lines = [_line(["frames it targets", "counted", f"`{prev}`", f"`{name}`", "change, points"]),
             _line(["---", "---", "---:", "---:", "---:"])]  # fmt: skip
    for t in wanted:
        change = after[t.key] - before[t.key]
        lines.append(_line([t.label, t.counted, pct(before[t.key]), pct(after[t.key]),
                            f"{change:+.1f}"]))  # fmt: skip
    said = f"{n_before:,} of `{prev}`, {n_after:,} of `{name}`"
    return "\n".join(lines) + f"\n\nShares of each profile's GIL-held samples ({said})."


def frame_share(sources: Sources, service: str, key: str) -> str:
    """One target's share of a service's GIL-held samples (`profile SERVICE frames KEY`)."""
    found = frames(key)
    if found is None:
        raise KvbenchError(f"no frames {key!r} in kvbench/profiling/targets.py")
    return pct(samples.frame_shares(cpu(sources, service), (found,))[0][key])
