"""The ladder's blocks, from `bench-results/ladder/`: the overview, the story, each rung, with
the figures of kvbench/results/ladder.py."""

import dataclasses

from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.profiling import samples
from kvbench.profiling.targets import ADDED, TARGETS
from kvbench.report.checks import flag_notes, flagged
from kvbench.report.formatting import number, pct, percent, quantity, with_range
from kvbench.report.tables import context_for, md_row, render
from kvbench.report.verdicts import ALPHA, Verdict, paired
from kvbench.results.compare import compare_sets
from kvbench.results.ladder import INSTRUCTIONS, Ladder, MissingRungs
from kvbench.services import why_same_in_process

FAMILY_NOTE = (
    "the median of the per-round ratios to the rung before, its interval at {level}% (one "
    "of the ladder's {k} steps: Bonferroni, so all {k} together name a change that is not "
    "there at most one time in twenty), `~` where it holds no change"
)
SAME_CODE = (
    " Instructions: in-process, exact; `same code` where a rung changes only the server, its "
    "settings or the lifespan, which the in-process layers do not run."
)


def measured(sources: Sources) -> Ladder:
    """The committed ladder; NotMeasured when it lacks a rung added since it was measured."""
    try:
        return Ladder(sources.results_set("ladder"))
    except MissingRungs as missing:
        raise NotMeasured("ladder", f"the committed {missing}") from None


def steps(ladder: Ladder) -> int:
    """The ladder's family of comparisons: one step per rung after the first."""
    return len(ladder.names) - 1


def step(ladder: Ladder, rung: str) -> Verdict | None:
    """A rung's throughput against the rung before, judged as one of the ladder's steps (the
    paired interval widened for the family: docs/05's rule); None where the run did not pair."""
    found = ladder.run.paired_ratios(rung, ladder.previous(rung)).get("http_tps")
    return None if found is None else paired(found, "http_tps", steps(ladder))


def unresolved(ladder: Ladder, rung: str, name: str = "http_tps") -> bool:
    """Whether this run can't tell the rung from the one before in `name`: throughput by its
    step's interval, an exact count against its repeats (`kvbench compare`'s rule)."""
    if name != "http_tps":
        return ladder.noise(rung, name)
    found = step(ladder, rung)
    return found is None or not found.named


def step_share(ladder: Ladder, rung: str) -> tuple[float, tuple[float, float] | None]:
    """A rung's share of the time saved per request (%), the point from the rungs' medians
    (the points add up to 100%), the bounds from its step's family interval: the time per
    request of the rung before, cut by the lowest and the highest ratio the step allows. So
    a share's interval holds no share exactly where its step holds no change."""
    point = ladder.share(rung, "http_tps")[0]
    found = step(ladder, rung)
    if found is None or found.ci is None:
        return point, None
    time = [ladder.cost(name, "http_tps")[0] for name in (ladder.names[0], ladder.names[-1])]
    before = ladder.cost(ladder.previous(rung), "http_tps")[0]
    low, high = (before * (1 - 1 / ratio) / (time[0] - time[1]) * 100 for ratio in found.ci)
    return point, (low, high)


def _versus(ladder: Ladder, rung: str) -> str:
    """A rung's throughput change from the one before, with its family-wide interval."""
    found = step(ladder, rung)
    if found is None:
        return "? (not paired)"
    if found.ci is None:  # order statistics give no interval this wide from so few rounds
        return f"~ (no {_level(ladder)}% interval from n={found.n})"
    change = percent((found.value - 1) * 100) if found.named else "~"
    low, high = (percent((bound - 1) * 100) for bound in found.ci)
    return f"{change} ({low} to {high}, n={found.n})"


def overview(sources: Sources) -> str:
    """`ladder overview`: every rung: throughput, its step and share, GC, instructions."""
    ladder = measured(sources)
    counted = INSTRUCTIONS in ladder.metrics
    head = ["rung", "what changed", "throughput (95% CI)", "vs previous rung",
            "share of the time saved per request",
            f"GC collections per {ladder.window()}"]  # fmt: skip
    head += ["instructions per request", "share of the instructions saved"] if counted else []
    lines = [md_row(head), md_row(["---"] * 2 + ["---:"] * (len(head) - 2))]  # fmt: skip
    checks = sources.typed("ladder").checks
    _, slowed = flagged(checks)  # the table shows no tail: a ‡ only
    for rung in ladder.names:
        tps = ladder.stat(rung, "http_tps")
        mark = " ‡" if rung in slowed else ""
        cells = [f"`{rung}`{mark}", ladder.services[rung][1], with_range(tps)]
        if rung == ladder.names[0]:
            cells += ["baseline", "—"]
        else:
            share = "~" if unresolved(ladder, rung) else pct(*step_share(ladder, rung))
            cells += [_versus(ladder, rung), share]
        cells.append(quantity(ladder.stat(rung, "gc_collections").median, "count"))
        if counted:
            same = ladder.same_code(rung, INSTRUCTIONS)
            instr = quantity(ladder.stat(rung, INSTRUCTIONS).median, "count")
            saved = "—" if rung == ladder.names[0] else pct(*ladder.share(rung, INSTRUCTIONS))
            cells += ["same code"] * 2 if same else [instr, saved]
        lines.append(md_row(cells))
    noise = [r for r in ladder.names[1:] if unresolved(ladder, r)]
    held = sum(ladder.share(r, "http_tps")[0] for r in noise)
    return "\n".join(lines) + (
        f"\n\nMedians of {ladder.stat(ladder.names[0], 'http_tps').n} trials per rung; "
        "throughput ranges are 95% intervals of the median. vs previous: "
        f"{FAMILY_NOTE.format(k=steps(ladder), level=_level(ladder))} (its share is noise and "
        "not shown"
        + (f"; the `~` rungs together {pct(held)}" if noise else "")
        + "). Share of the time saved: the rung's part of the whole fall in time per request "
        "(1/throughput) from the first rung to the last, from the rungs' medians (they add up "
        "to 100%); its range is the step's interval read as a share, at the same "
        f"{_level(ladder)}%, so a share is shown exactly where its step is named."
        + (SAME_CODE if counted else "")
        + (f" {notes}" if (notes := flag_notes(checks, tails=False).strip()) else "")
    )


def story(sources: Sources) -> str:
    """`ladder story`: per rung, what the profile showed, what it predicted, what was measured."""
    ladder = measured(sources)
    head = ["rung", "the profile before it showed", "predicted: their share of the samples",
            "measured: time per request (paired)", "instructions per request"]  # fmt: skip
    lines = [md_row(head), md_row(["---", "---", "---:", "---:", "---:"])]
    for rung in ladder.names[1:]:
        wanted, prev = TARGETS.get(rung, "not named: no target frames"), ladder.previous(rung)
        if isinstance(wanted, str):
            shown, predicted = "no frame: " + wanted.split(":")[0], "—"
        else:
            shown = "; ".join(t.label for t in removed_targets(rung))
            try:
                share, trimmed = predicted_share(sources, ladder, rung)
                predicted = ("trimmed: " if trimmed else "") + pct(share or 0.0)
            except NotMeasured:  # the rung before has no committed profile (make profile-ladder)
                shown, predicted = "not profiled", "—"
        instr = "—"
        if INSTRUCTIONS in ladder.metrics:
            row = ladder.row(prev, rung, INSTRUCTIONS)
            same = ladder.same_code(rung, INSTRUCTIONS)
            instr = "same code" if same else percent(row.delta_pct or 0.0)
        lines.append(md_row([f"`{rung}`", shown, predicted, _paired(ladder, rung), instr]))
    return "\n".join(lines) + (
        "\n\nProfile: py-spy `--gil` samples of the rung before (GIL-held wall-clock samples, "
        "start-up left out), a sample counted once if any removed frame is on it; `trimmed` "
        "where those frames still hold samples after the rung, which trims them rather than "
        "removing them, so their share predicts nothing. Measured: time per request "
        "(1/throughput), "
        f"{FAMILY_NOTE.format(k=steps(ladder), level=_level(ladder))}. Instructions: "
        "in-process, exact."
    )


def removed_targets(rung: str) -> tuple:
    """The target frames a rung removes (none for a rung with no frame to target)."""
    wanted = TARGETS.get(rung, "")
    return () if isinstance(wanted, str) else tuple(t for t in wanted if t.key not in ADDED)


# A rung whose target frames still hold this part of their former share after it trimmed
# them rather than removed them (noserverheader still writes a head, optimized still
# writes): their share before predicts nothing (neither what it saves nor a bound on it,
# as rungs that fell more than their share show).
TRIMMED = 0.25


def predicted_share(sources: Sources, ladder: Ladder, rung: str) -> tuple[float | None, bool]:
    """The share (%) of the rung before's samples with a removed frame on them, the predicted
    fall in time per request (None for a rung with no frame to target), and whether the rung
    only trimmed its frames (they survive it)."""
    removed = removed_targets(rung)
    if not removed:
        return None, False
    before = samples.any_share(cpu(sources, ladder.previous(rung)), removed)
    try:
        after = samples.any_share(cpu(sources, rung), removed)
    except NotMeasured:  # no profile of the rung itself: its frames' fate is unknown
        return before, False
    return before, after >= TRIMMED * before


def _level(ladder: Ladder) -> str:
    return f"{(1 - ALPHA / steps(ladder)) * 100:.3g}"


def time_change(ladder: Ladder, rung: str) -> tuple[float, tuple[float, float] | None] | None:
    """The paired change of time per request (1/throughput) from the rung before, in %, with
    its interval as one of the ladder's steps."""
    found = step(ladder, rung)
    if found is None:
        return None
    ci = ((1 / found.ci[1] - 1) * 100, (1 / found.ci[0] - 1) * 100) if found.ci else None
    return (1 / found.value - 1) * 100, ci


def _paired(ladder: Ladder, rung: str) -> str:
    found = time_change(ladder, rung)
    if found is None:
        return "not paired"
    text = percent(found[0])
    if found[1]:
        low, high = found[1]
        text += f" ({number(low, 2)} to {number(high, 2)}%)"
    return text + (" ~" if unresolved(ladder, rung) else "")


def rung(sources: Sources, name: str) -> str:
    """`ladder rung NAME`: the rung against the one before as `kvbench compare` prints it,
    but with its paired rows worded as one of the ladder's steps (their intervals widened for
    the family), in-process code measured once; then its target frames before and after."""
    ladder = measured(sources)
    prev = ladder.previous(name)
    shown = [m for m in ladder.metrics if not ladder.same_code(name, m)]
    old, new = ({m: ladder.stat(r, m) for m in shown} for r in (prev, name))
    family = dataclasses.replace(context_for(ladder.run, prev, name), family=steps(ladder))
    text = render(compare_sets(old, new), "md", (prev, name), family).strip()
    if len(shown) < len(ladder.metrics):
        before, this = (s for s, _ in (ladder.services[prev], ladder.services[name]))
        text += f"\n\nIn-process: the same code as `{prev}` ({why_same_in_process(before, this)})."
    try:
        return text + "\n\n" + frames_table(sources, prev, name)
    except NotMeasured as missing:  # the table above stands without the profiles
        return text + f"\n\n_Target frames: {missing}._"


def cpu(sources: Sources, service: str) -> dict:
    return sources.profile(service, "cpu.speedscope.json")


def frames_table(sources: Sources, prev: str, name: str) -> str:
    """The target frames' shares of the GIL-held samples before and after the rung."""
    wanted = TARGETS.get(name, "no target frames are named for it in kvbench/profiling/targets.py")
    if isinstance(wanted, str):
        return f"No profile evidence for this rung: {wanted}."
    (before, n_before), (after, n_after) = (
        samples.frame_shares(cpu(sources, s), wanted) for s in (prev, name)
    )
    lines = [md_row(["frames it targets", "counted", f"`{prev}`", f"`{name}`", "change, points"]),
             md_row(["---", "---", "---:", "---:", "---:"])]  # fmt: skip
    for t in wanted:
        change = after[t.key] - before[t.key]
        lines.append(md_row([t.label, t.counted, pct(before[t.key]), pct(after[t.key]),
                            f"{change:+.1f}"]))  # fmt: skip
    said = f"{n_before:,} of `{prev}`, {n_after:,} of `{name}`"
    return "\n".join(lines) + f"\n\nShares of each profile's GIL-held samples ({said})."
