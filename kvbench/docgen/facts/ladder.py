"""The ladder's facts: each rung's step, its share of the time saved, its prediction."""

from kvbench import KvbenchError
from kvbench.catalog.ladder import RUNGS
from kvbench.docgen import ladder as rungs
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.report import verdicts
from kvbench.report.formatting import pct, percent


def rung_share(sources: Sources, rung: str, metric: str) -> str:
    """A rung's share of the ladder's whole saving per request, or `~` where it is noise."""
    ladder = rungs.measured(sources)
    if rungs.unresolved(ladder, rung, metric):
        return "no share distinguishable from noise (`~`)"
    return pct(ladder.share(rung, metric)[0])


def step_verdict(sources: Sources, rung: str) -> str:
    """A rung's throughput against the rung before, as one of the ladder's steps."""
    found = rungs.step(rungs.measured(sources), rung)
    if found is None:
        raise KvbenchError(f"the ladder run recorded no paired throughput for {rung!r}")
    return verdicts.as_change(found)


def rungs_share(sources: Sources, first: str, last: str, metric: str) -> str:
    """The shares of the rungs from first to last, added up."""
    ladder = rungs.measured(sources)
    names = ladder.names
    span = names[names.index(ladder.previous(first)) + 1 : names.index(ladder.check(last)) + 1]
    if not span or span[0] != first:
        raise KvbenchError(f"{first!r} to {last!r} is not a run of rungs")
    return pct(sum(ladder.share(r, metric)[0] for r in span))


def largest_step(sources: Sources, metric: str) -> str:
    """The rung whose step changed the metric most."""
    return f"`{rungs.measured(sources).largest_step(metric)}`"


def rung_count(sources: Sources) -> str:
    """How many rungs the ladder has."""
    return str(len(RUNGS))


def step_count(sources: Sources) -> str:
    """How many changes the ladder makes, one per rung after the first."""
    return str(len(RUNGS) - 1)


def changes_to_optimized(sources: Sources) -> str:
    """How many rungs change the naive service into the optimized one (later rungs swap it)."""
    return str([rung.name for rung in RUNGS].index("optimized"))


def against_prediction(sources: Sources, rung: str) -> str:
    """A rung's paired change of time per request (a ladder step) against its prediction."""
    ladder = rungs.measured(sources)
    found, step = rungs.time_change(ladder, rung), rungs.step(ladder, rung)
    if found is None or step is None:
        raise KvbenchError(f"the ladder run recorded no paired throughput for {rung!r}")
    change, ci = found
    span = f"{step.level * 100:.3g}% CI {percent(ci[0])} to {percent(ci[1])}, " if ci else ""
    said = f"time per request {percent(change)} ({span}paired"  # the level says the family
    if rungs.unresolved(ladder, rung):
        said += f"): can't tell at n={step.n}"
    else:
        said += f", n={step.n}): {'faster' if change < 0 else 'slower'}"
    try:
        predicted, trimmed = rungs.predicted_share(sources, ladder, rung)
    except NotMeasured:  # no committed profile of the rung before: no prediction to meet
        predicted, trimmed = None, False
    if predicted is None or ci is None:
        return said
    if trimmed:  # the frames remain after the rung: their share predicts nothing
        held = pct(predicted)
        return f"{said}; its frames held {held} and remain after it (trimmed, not removed)"
    if -ci[1] > predicted:
        return f"{said}, more than the predicted {pct(predicted)}"
    if -ci[0] < predicted:
        return f"{said}, short of the predicted {pct(predicted)}"
    return f"{said}, its interval holds the predicted {pct(predicted)}"


def share_order(sources: Sources, metric: str, *names: str) -> str:
    """Rungs' shares of the time saved, with their steps' intervals, ranked where they separate."""
    ladder = rungs.measured(sources)
    shares = (rungs.step_share(ladder, r) if metric == "http_tps" else ladder.share(r, metric)
              for r in names)  # fmt: skip
    found = sorted(zip(shares, names, strict=True), key=lambda f: -f[0][0])
    said = ", ".join(f"`{r}` {pct(*share)}" for share, r in found)
    # Ranks from the top: a rung joins the rank above unless its whole interval lies below
    # every interval in that rank (a share without an interval joins it).
    ranks: list[list[tuple]] = []
    for share, name in found:
        below = ranks and share[1] and all(s[1] and share[1][1] < s[1][0] for s, _ in ranks[-1])
        if ranks and not below:
            ranks[-1].append((share, name))
        else:
            ranks.append([(share, name)])
    if len(ranks) == 1:
        return f"{said}; their intervals overlap, so this run does not rank them"
    shown = [" and ".join(f"`{n}`" for _, n in rank) for rank in ranks]
    tied = [" against ".join(f"`{n}`" for _, n in rank) for rank in ranks if len(rank) > 1]
    return f"{said}; the intervals rank {' above '.join(shown)}" + "".join(
        f", not {pair}" for pair in tied
    )
