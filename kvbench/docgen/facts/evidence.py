"""The instrument's own evidence: the floor's and the checks' figures, per part."""

from kvbench import KvbenchError
from kvbench.docgen.sources import RESULT_SETS, Sources
from kvbench.measure import checks  # benchargs: the command's own estimate
from kvbench.report.formatting import number, pct, plain, quantity, ratio


def lowest_headroom(sources: Sources, part: str) -> str:
    """The lowest generator ceiling over the fastest service of any round."""
    return ratio(min(_headrooms(sources, part)))


def highest_headroom(sources: Sources, part: str) -> str:
    """The highest generator ceiling over the fastest service of any round."""
    return ratio(max(_headrooms(sources, part)))


def _headrooms(sources: Sources, part: str) -> list[float]:
    found = [r["headroom"] for r in sources.typed(part).rounds if "headroom" in r]
    if not found:
        raise KvbenchError("the run's rounds recorded no headroom")
    return found


def least_busy(sources: Sources, part: str) -> str:
    """The least busy server window of any round; the ceilings, exempt, are left out."""
    found = sources.typed(part)
    exempt = set(found.checks.get("exempt") or [])
    busy = [b for r in found.rounds for s, b in (r.get("busy") or {}).items() if s not in exempt]
    if not busy:
        raise KvbenchError("the run's rounds recorded no busy")
    return f"{number(min(busy) * 100)}%"


def busiest_generator(sources: Sources, part: str) -> str:
    """The highest share of its core the load generator used in any checked trial."""
    found = sources.typed(part)
    exempt = set(found.checks.get("exempt") or [])
    shares = [v for name, metrics in found.services.items()
              if name not in exempt and "loadgen_cpu_share" in metrics
              for v in metrics["loadgen_cpu_share"].values]  # fmt: skip
    if not shares:
        raise KvbenchError("the run's trials recorded no loadgen_cpu_share")
    return f"{number(max(shares) * 100)}%"


def check_bound(sources: Sources, name: str) -> str:
    """A bound the run's checks apply (`kvbench/measure/checks.py`), as a percentage."""
    bounds = {"min_busy": checks.MIN_BUSY, "max_loadgen_share": checks.MAX_LOADGEN_SHARE,
              "max_schedule_excess": checks.MAX_SCHEDULE_EXCESS}  # fmt: skip
    if name not in bounds:
        raise KvbenchError(f"no check bound {name!r}; one of {', '.join(bounds)}")
    return f"{plain(bounds[name] * 100)}%"


# Each check's list of the rounds or trials it failed (generator: trials the load generator
# held back).
FAILED = {"headroom": "rounds_below", "saturation": "trials_below", "schedule": "trials_late",
          "generator": "trials_above"}  # fmt: skip


def failed_count(sources: Sources, part: str, check: str) -> str:
    """How many rounds (headroom) or trials (saturation, schedule, generator) a check failed."""
    found = (sources.typed(part).checks or {}).get(check)
    if check not in FAILED or not isinstance(found, dict):
        raise KvbenchError(f"the run recorded no {check} check")
    return f"{len(found.get(FAILED[check]) or []):,}"


def sensitivity_ratio(sources: Sources, part: str) -> str:
    """The sensitivity check's throughput with the generator slowed over without, and its noise."""
    found = _sensitivity(sources, part)
    return f"{ratio(found['ratio'])} when slowed (noise {pct(found['noise'] * 100)})"


def sensitivity_share(sources: Sources, part: str) -> str:
    """The load generator's share of its core in the sensitivity check, normal then slowed."""
    found = _sensitivity(sources, part)
    normal, slowed = (max(found[f"{k}_loadgen_share"]) for k in ("normal", "slowed"))
    return f"at most {pct(normal * 100)} normally and {pct(slowed * 100)} slowed"


def _sensitivity(sources: Sources, part: str) -> dict:
    found = (sources.typed(part).checks or {}).get("sensitivity")
    if not isinstance(found, dict) or "ratio" not in found:
        raise KvbenchError(f"{part} recorded no sensitivity check")
    return found


def _outcomes(sources: Sources, part: str) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """A part's evidence checks (those with a status): the passed ones; each failed one with
    how many trials (or rounds) it failed in, 0 for a run-wide one (a headroom check "not
    run" counts as failed, as it always did); the undecided ones, neither passed nor failed."""
    found = sources.typed(part).checks or {}
    ran = {c: v["status"] for c, v in found.items() if isinstance(v, dict) and "status" in v}
    passed = [c for c, status in ran.items() if status == "ok"]
    undecided = [c for c, status in ran.items() if status == "undecided"]
    failed = [(c, len(found[c].get(FAILED.get(c, ""), []) or [])) for c in ran
              if c not in passed + undecided]  # fmt: skip
    return passed, failed, undecided


def checks_of(sources: Sources, part: str) -> str:
    """One part's evidence checks: passed, each failure with its trials, and any undecided."""
    passed, failed, undecided = _outcomes(sources, part)
    if not (passed or failed or undecided):
        raise KvbenchError(f"{part} recorded no checks")
    said = [f"{c} failed in {n} trial{'s' if n != 1 else ''}" if n else f"{c} failed"
            for c, n in failed]  # fmt: skip
    said += [f"{c} undecided (neither passed nor failed)" for c in undecided]
    head = f"{', '.join(passed)} passed" if passed else "none passed"
    return head + (f"; {'; '.join(said)}" if said else "")


def checks_by_part(sources: Sources) -> str:
    """The parts with evidence checks: which passed all, which were undecided, what failed."""
    passed: list[str] = []
    failed: list[str] = []
    undecided: list[str] = []  # parts with an undecided check and no failed one
    for name in ("run", *RESULT_SETS):
        try:
            ok, bad, open_ = _outcomes(sources, name)
        except KvbenchError:  # not committed (NotMeasured), or a part without a summary
            continue
        ran = ok + open_ + [c for c, _ in bad]
        if not ran or "headroom" in ran:  # measured before the evidence checks
            continue
        label = "main" if name == "run" else name
        named = [f"{c} ({n or 'once'})" for c, n in bad] + [f"{c} undecided" for c in open_]
        where = failed if bad else undecided if open_ else passed
        where.append(f"{label}: {', '.join(named)}" if named else label)
    parts = len(passed) + len(failed) + len(undecided)
    if not parts:
        raise KvbenchError("no committed part ran the evidence checks")
    said = f"{len(passed)} of {parts} parts passed every check"
    said += f" ({', '.join(passed)})" if passed else ""
    if undecided:
        said += f"; undecided (neither passed nor failed): {'; '.join(undecided)}"
    return said + (f"; failed: {'; '.join(failed)}" if failed else "")


def schedule_figure(sources: Sources, case: str, measure: str, stat: str) -> str:
    """One figure of the schedule check: a case (`rate_2000`), a measure, a statistic."""
    cases = sources.typed("schedule").extra.get("schedule") or {}
    try:
        found = cases[case][measure][stat]
    except (KeyError, TypeError):
        raise KvbenchError(f"the schedule check has no {case} {measure} {stat}") from None
    if measure.endswith("_ms") and isinstance(found, int | float):
        return f"{found:.3f} ms" if found < 10 else quantity(found, "ms")
    return f"{found:.1%}" if isinstance(found, float) and found <= 1 else str(found)
