"""The docs' side of the one verdict rule (`kvbench.report.verdicts`, docs/05): the verdicts
on the figures the committed results hold, found by part and service.
"""

import dataclasses

from kvbench import KvbenchError
from kvbench.docgen.sources import Sources
from kvbench.report.verdicts import PERCENTILE, WORDS, Verdict, floor_word, paired, unpaired, words
from kvbench.results.compare import compare_samples
from kvbench.results.metrics import metric


def ratio_of(sources: Sources, part: str, new: str, old: str, name: str) -> Verdict:
    """The verdict on one metric of `new` against `old` in one part of the results."""
    if metric(name).exact:
        return _exact(sources, part, new, old, name)
    found = sources.typed(part).ratio(new, old, name)
    if found is not None:
        judged = paired(found.ratios, name)
    else:
        judged = unpaired(sources.stat(part, new, name), sources.stat(part, old, name), name)
    floor = _floor(sources, part, new, old, PERCENTILE.get(name), name)
    return dataclasses.replace(judged, words=floor) if floor else judged


def tail_of(sources: Sources, part: str, new: str, old: str, percentile: str) -> Verdict:
    """The verdict on a pooled percentile (`p99`): whole rounds resampled, both sides together."""
    found = sources.results_set(part)
    pair = found.latency_ratios(old, new, (percentile,)).get(percentile)
    if pair is None:
        raise KvbenchError(f"{part} holds no pooled {percentile} of both {new!r} and {old!r}")
    value, ci = pair
    n = len(found.trial_latencies(new) or [])
    floor = _floor(sources, part, new, old, percentile, None)
    return Verdict(value, ci, "rounds resampled", n, floor or words("ms", value, ci, n, unit="ms"))


def _exact(sources: Sources, part: str, new: str, old: str, name: str) -> Verdict:
    top, bottom = sources.stat(part, new, name), sources.stat(part, old, name)
    row = compare_samples(bottom, top, 0.05, "", name)
    better, worse = WORDS.get(metric(name).unit, ("lower", "higher"))
    said = {"better": better, "worse": worse}.get(row.verdict, "no change beyond its repeats")
    return Verdict(top.median / bottom.median, None, "exact", min(top.n, bottom.n), said)


def _floor(sources: Sources, part: str, new: str, old: str, percentile, name) -> str:
    """The floor's words when either side's percentile is at the run's floor; "" otherwise."""
    floor = sources.typed(part).extra.get("floor")
    if not percentile or not floor:
        return ""
    if name:
        sides = [sources.stat(part, s, name).median for s in (new, old)]
    else:
        latency = sources.results_set(part).latency
        sides = [latency[s][percentile]["ms"] for s in (new, old)]
    return floor_word(sides, floor, percentile)
