"""The soak's verdicts, from its records alone: nothing lost, no stray error, nothing growing.

Each check returns a dict with "ok" (True, False, or None when the data cannot decide and
the check is not enforced) and the numbers it decided on, so summary.json shows why.
"""

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from kvbench.results.resample import t975
from kvbench.soak.client import PutColumns, Puts, put_value
from kvbench.soak.faults import RECOVERY_S, Fault

HOUR_S = 3600.0
FLAT_BOUND_PCT = 1.0  # RSS and fds may grow at most 1% of their level per hour
# ... and fds at least this many per hour: 1% of a level of 8 or 40 descriptors is under one
# per hour, finer than a 15-minute fit of a count that moves by whole descriptors can resolve
# (a first, uncommitted 30-minute run: an interval 9 fds/h wide). Six per hour is one leaked
# every ten minutes, 144 a day. A count that stays constant through a short calm half reads
# as an interval of zero width: no growth seen, not a bound that fine (docs/08 says so).
FD_LEAST_PER_HOUR = 6.0
ENFORCE_FLAT_S = 1800.0  # shorter runs report their interval; from 30 minutes it must pass
P99_BOUND_PCT = 10.0  # per hour, of the median per-minute p99
MIN_MINUTES = 3
BIN_S = 60.0  # RSS and fds are fitted on means over this long, not on every second
# A condition number of the unit-scaled design above this: the columns are one line (to
# within rounding), and their coefficients are not told apart.
COLLINEAR = 1e6
# What a warm-up event may move the level by, as a share of the level: Redis's first AOF
# rewrite added 0.14 MB (1.1%) here and 0.17 to 0.20 MB (1.3 to 1.5%) in the committed
# 90-minute run; more is not warm-up, and the check fails.
WARM_STEP_PCT = 4.0
WARM_STEP_WINDOW_S = 60.0  # the level before and after the event: means over this long
FIT_SHARE = 0.5  # the fit must span at least this share of the calm end it was given


def slope_interval(
    x: Sequence[float],
    y: Sequence[float],
    segments: Sequence | None = None,
    covariate: Sequence[float] | None = None,
):
    """Least-squares slope of y on x with its 95% interval: (slope, low, high), or None.

    With `segments` (a label per point: the process a sample measured) each segment gets
    its own intercept and all share one slope: a restarted process starts from its own
    level, and only growth within each life counts. With a `covariate` (a value per point:
    Redis's connected clients) y moves with it too, at one shared rate, and the slope is
    growth the covariate does not explain.
    """
    found = coefficients(x, y, segments, covariate)
    return found[0] if found else None


def coefficients(
    x: Sequence[float],
    y: Sequence[float],
    segments: Sequence | None = None,
    covariate: Sequence[float] | None = None,
) -> list[tuple[float, float, float]] | None:
    """(estimate, low, high) at 95% for x's coefficient, then the covariate's if given and
    it moved within some segment (one that never moved explains nothing and is dropped);
    None with too few points, or when x and the covariate are one line (to within
    rounding)."""
    found = fit_lines(x, y, segments, covariate)
    return found[0] if found else None


def fit_lines(
    x: Sequence[float],
    y: Sequence[float],
    segments: Sequence | None = None,
    covariate: Sequence[float] | None = None,
) -> tuple[list[tuple[float, float, float]], float] | None:
    """`coefficients`, and the residuals' lag-1 autocorrelation within segments (points in
    time order). Minute means of RSS still hang together (a level that wanders for minutes
    at a time): with a positive autocorrelation r, each coefficient's variance is widened
    by (1 + r) / (1 - r), the AR(1) factor for a slope on time."""
    columns = [np.array(x, dtype=float)]
    ys = np.array(y, dtype=float)
    names = list(segments) if segments is not None else [0] * len(ys)
    codes = {name: code for code, name in enumerate(dict.fromkeys(names))}
    labels = np.array([codes[name] for name in names])
    if covariate is not None:
        held = np.array(covariate, dtype=float)
        # "Moved" is read off the raw values: centring a constant can leave rounding dust.
        if any(np.ptp(held[labels == code]) > 0 for code in codes.values()):
            columns.append(held)
    for code in codes.values():  # each segment its own intercept: centre within it
        mask = labels == code
        ys[mask] -= ys[mask].mean()
        for column in columns:
            column[mask] -= column[mask].mean()
    design = np.column_stack(columns)
    df = len(ys) - len(codes) - design.shape[1]
    # Collinearity judged on columns scaled to unit length, so hours against clients and
    # seconds against bytes are judged alike (a determinant's size depends on the units).
    norms = np.linalg.norm(design, axis=0)
    if df < 1 or not np.all(norms > 0) or np.linalg.cond(design / norms) > COLLINEAR:
        return None
    gram = design.T @ design
    beta = np.linalg.solve(gram, design.T @ ys)
    residual = ys - design @ beta
    r = lag1(residual, labels)
    variance = float((residual**2).sum()) / df * ((1 + r) / (1 - r) if r > 0 else 1.0)
    spread = np.diag(np.linalg.inv(gram))
    half = [t975(df) * math.sqrt(variance * float(v)) for v in spread]
    lines = [(float(b), float(b) - h, float(b) + h) for b, h in zip(beta, half, strict=True)]
    return lines, r


def lag1(residual: np.ndarray, labels: np.ndarray) -> float:
    """The lag-1 autocorrelation of residuals, over neighbours within one segment; 0 when
    there are none, at most 0.95 (a series that near one line has told little)."""
    same = labels[1:] == labels[:-1]
    total = float((residual**2).sum())
    if not same.any() or total == 0:
        return 0.0
    return min(0.95, float((residual[1:] * residual[:-1])[same].sum()) / total)


def flat(
    rows: list[dict],
    name: str,
    pid_name: str,
    warmup: float,
    enforce: bool,
    fit_from: float = 0.0,
    least: float = 0.0,
    diagnostic: bool = False,
    held: str | None = None,
    warm_after: str | None = None,
) -> dict:
    """Whether `name` (a column) stays flat after `warmup` seconds of each process's life,
    its slope fitted on the rows from `fit_from` on (the calm end of the run); the bound is
    FLAT_BOUND_PCT of the level per hour, and at least `least` per hour.

    A row's "stretch" (how many faults came before it; 0 when absent) starts a segment of
    its own: a level that steps at a fault (a pool that grew for a burst) is not growth
    within a stretch, and the levels of every stretch are listed so that a ratchet, a step
    up at every fault, shows. A `diagnostic` is fitted the same way and never judged: its
    "ok" is None whatever it reads, and its "why" says what it read.

    `held` names a column that moves the level at a rate of its own: Redis's connected
    clients, each a client struct and buffers in Redis (8 to 22 KB of RSS each, measured
    here), which the service's pools open as requests in flight reach a new high and then
    keep, up to their size (that bound is a check of its own, `clients_bounded`). The fit
    and the ratchet take it as a covariate, one cost per client shared by the whole run
    (recorded, with its interval, as `held_cost_per_unit`): the slope is growth the
    clients do not explain. Rows without the count are left out (`held_missing`).

    `warm_after` names a column that counts, within each process's life, an event whose
    first time pages in memory once: Redis's completed AOF rewrites (its first added 0.14
    MB to its RSS here, and six more added nothing). A process that had one is warm from the
    first row that counts it; before that its rows are its warm-up. What that forgives is
    recorded and bounded: the level just after the event less the level at the start of the
    rows it took out (`warm_forgiven`) may be at most WARM_STEP_PCT of the level; and the
    fit must still span FIT_SHARE of the calm end, or the check says the warm-up took it.
    """
    points = [r for r in rows if r.get(name) is not None and r.get(pid_name) is not None]
    born: dict = {}
    for row in points:
        born.setdefault(row[pid_name], row["t_s"])
    warm = warmed(points, pid_name, warm_after) if warm_after else {}
    kept = [
        r for r in points
        if r["t_s"] - born[r[pid_name]] >= warmup and r["t_s"] >= warm.get(r[pid_name], 0.0)
    ]  # fmt: skip
    missing = sum(1 for r in kept if held and r.get(held) is None and r["t_s"] >= fit_from)
    kept = [r for r in kept if not held or r.get(held) is not None]
    labels = [(r[pid_name], r.get("stretch", 0)) for r in kept]
    fit = [(r, label) for r, label in zip(kept, labels, strict=True) if r["t_s"] >= fit_from]
    times, values, bins = binned(
        [r["t_s"] for r, _ in fit], [r[name] for r, _ in fit], [label for _, label in fit]
    )
    counts = (
        binned([r["t_s"] for r, _ in fit], [r[held] for r, _ in fit], [b for _, b in fit])[1]
        if held
        else None
    )
    fitted = fit_lines([t / HOUR_S for t in times], values, bins, counts)
    lines, lines_r = fitted if fitted else (None, 0.0)
    found = lines[0] if lines else None
    check: dict = {"column": name, "samples": len(fit), "bound_pct_per_hour": FLAT_BOUND_PCT}
    check["fitted_from_s"] = round(fit_from, 1)
    check["fitted_points"] = f"{len(values)} means of up to {BIN_S:g} s"
    check["enforced"] = enforce and not diagnostic
    fit_times = [r["t_s"] for r, _ in fit]
    span = max(fit_times) - min(fit_times) if fit_times else 0.0
    calm = max((r["t_s"] for r in points), default=fit_from) - fit_from
    check["fitted_span_s"] = round(span, 1)
    forgiven: dict = {}
    if warm_after:
        check["warm_after"] = warm_after
        check["warm_recorded"] = any(r.get(warm_after) is not None for r in points)
        check["warm_from_s"] = {str(pid): round(t, 1) for pid, t in warm.items()}
        forgiven = warm_forgiven(points, pid_name, name, warm, born, warmup)
        check["warm_forgiven"] = {str(pid): round(v, 4) for pid, v in forgiven.items()}
    if held:
        found_held = [r[held] for r, _ in fit]
        check |= {"held": held, "held_missing": missing}
        check["held_range"] = [min(found_held), max(found_held)] if found_held else None
        if lines and len(lines) > 1:
            check["held_cost_per_unit"] = [round(v, 5) for v in lines[1]]
        elif lines:  # it never moved within a process's life: the plain fit
            check["held_dropped"] = "it did not move within any process's life"
    if diagnostic:
        check["diagnostic"] = True
    took = f" after the warm-up (the first {warm_after})" if warm else ""
    if found is None:
        few = len(values) < len(set(bins)) + 2 + (counts is not None)
        why = f"{held} moved in step with time: their parts cannot be told apart"
        return settle(check, False, f"too few samples{took}" if few else why)
    level = float(np.mean([r[name] for r, _ in fit]))
    bound = max(level * FLAT_BOUND_PCT / 100, least)
    slope, low, high = found
    check |= {"level": round(level, 3), "slope_per_hour": round(slope, 4)}
    check["residual_lag1"] = round(lines_r, 3)
    if forgiven and max(forgiven.values()) > level * WARM_STEP_PCT / 100:
        said = f"the first {warm_after} moved the level by more than {WARM_STEP_PCT:g}%"
        return settle(check, False, f"{said}: more than a warm-up")
    if span < FIT_SHARE * calm:
        said = f"the fit spans {span:.0f} s of the {calm:.0f} s calm end{took}"
        return settle(check, False, said)
    check["stretch_levels"] = segment_means([r[name] for r in kept], labels)
    check["bound_per_hour"] = bound
    ratchet = stretch_slope(
        [r["t_s"] for r in kept],
        [r[name] for r in kept],
        labels,
        [r[held] for r in kept] if held else None,
    )
    if ratchet is not None:  # a step up at every fault: growth the per-stretch fit forgives
        check["stretch_slope_per_hour"] = [round(v, 4) for v in ratchet]
        if ratchet[1] > bound:
            steps = "the level steps up from stretch to stretch (a step at each fault)"
            return settle(check, False, steps)
    check["interval_per_hour"] = [round(low, 4), round(high, 4)]
    if high < bound:
        return settle(check, True, "under the bound")
    return settle(check, False, "growth above the bound" if low > bound else "interval too wide "
                  "to decide")  # fmt: skip


def warm_forgiven(
    rows: list[dict], pid_name: str, name: str, warm: dict, born: dict, warmup: float
) -> dict:
    """For each process warm from an event: the mean level over WARM_STEP_WINDOW_S after
    it less the mean over the first WARM_STEP_WINDOW_S of the rows it took out (those past
    the process's plain warm-up): the step and any growth before it. Processes with none
    taken out are left out."""
    found = {}
    for pid, at in warm.items():
        mine = [r for r in rows if r[pid_name] == pid]
        taken = [r for r in mine if born[pid] + warmup <= r["t_s"] < at]
        after = [r[name] for r in mine if at <= r["t_s"] < at + WARM_STEP_WINDOW_S]
        if taken and after:
            start = taken[0]["t_s"]
            before = [r[name] for r in taken if r["t_s"] < start + WARM_STEP_WINDOW_S]
            found[pid] = float(np.mean(after)) - float(np.mean(before))
    return found


def warmed(rows: list[dict], pid_name: str, counter: str) -> dict:
    """When each process first counted one `counter` event: {pid: t_s}, for those that did."""
    first: dict = {}
    for row in rows:
        if (row.get(counter) or 0) > 0:
            first.setdefault(row[pid_name], row["t_s"])
    return first


def settle(check: dict, passed: bool, why: str) -> dict:
    """A flatness check's verdict from what it read: a diagnostic is shown, not judged; a
    check not enforced (a run under ENFORCE_FLAT_S) leaves a failure undecided."""
    if check.get("diagnostic"):
        return check | {"ok": None, "why": f"{why}; a diagnostic: shown, not judged"}
    if passed:
        return check | {"ok": True}
    if check["enforced"]:
        return check | {"ok": False, "why": why}
    return check | {"ok": None, "why": f"{why}; not enforced in a run under {ENFORCE_FLAT_S:g} s"}


def binned(times: Sequence[float], values: Sequence[float], labels: Sequence):
    """Means over BIN_S windows within each segment: one-second samples of RSS or fds hang
    together (each is most of the one before), and a line fitted through them claims an
    interval several times too narrow; minute means are closer to independent. The same
    times and labels give the same windows in the same order, whatever the values."""
    groups: dict = defaultdict(list)
    for t, value, label in zip(times, values, labels, strict=True):
        groups[(label, int(t // BIN_S))].append((t, value))
    means = [(float(np.mean([t for t, _ in g])), float(np.mean([v for _, v in g])), key[0])
             for key, g in groups.items()]  # fmt: skip
    return [m[0] for m in means], [m[1] for m in means], [m[2] for m in means]


def stretch_slope(
    times: Sequence[float],
    values: Sequence[float],
    labels: Sequence,
    covariate: Sequence[float] | None = None,
):
    """The slope per hour of each stretch's mean level against its mean time, each process
    its own intercept (and the stretch's mean `covariate` beside it): (slope, low, high),
    or None with too few stretches."""
    groups: dict = defaultdict(list)
    extra = covariate if covariate is not None else [0.0] * len(times)
    for t, value, label, c in zip(times, values, labels, extra, strict=True):
        groups[label].append((t, value, c))
    means = [[float(np.mean(column)) for column in zip(*g, strict=True)] for g in groups.values()]
    return slope_interval(
        [m[0] / HOUR_S for m in means],
        [m[1] for m in means],
        [label[0] for label in groups],
        [m[2] for m in means] if covariate is not None else None,
    )


def segment_means(values: Sequence[float], labels: Sequence) -> list[float]:
    """The mean of each segment, in the order the segments first appear."""
    segments: dict = defaultdict(list)
    for value, label in zip(values, labels, strict=True):
        segments[label].append(value)
    return [round(float(np.mean(found)), 3) for found in segments.values()]


def clients_bounded(rows: list[dict], name: str, bound: int) -> dict:
    """The most connected clients any second saw, against the most the pools may open:
    the flatness fit forgives each new count its own level, so the count itself is judged
    here (a connection opened outside a pool and never closed would climb past it)."""
    found = [r[name] for r in rows if r.get(name) is not None]
    check: dict = {"column": name, "bound": bound, "samples": len(found)}
    if not found:
        return check | {"ok": None, "why": "no second recorded the count"}
    return check | {"ok": max(found) <= bound, "most": max(found), "least": min(found)}


def p99_trend(minutes: list[tuple[int, float]], excluded: set[int]) -> dict:
    """Per-minute p99 (ms) outside the faults' minutes must not climb past the bound."""
    kept = [(m, p99) for m, p99 in minutes if m not in excluded]
    check: dict = {"minutes": len(kept), "bound_pct_per_hour": P99_BOUND_PCT}
    found = slope_interval([m / 60 for m, _ in kept], [p for _, p in kept])
    if len(kept) < MIN_MINUTES or found is None:
        return check | {"ok": None, "why": f"fewer than {MIN_MINUTES} minutes without faults"}
    level = float(np.median([p for _, p in kept]))
    slope, low, high = found
    check |= {"median_p99_ms": round(level, 3), "slope_ms_per_hour": round(slope, 3)}
    check["interval_ms_per_hour"] = [round(low, 3), round(high, 3)]
    bound = level * P99_BOUND_PCT / 100
    if high < bound:
        return check | {"ok": True}
    if low > bound:
        return check | {"ok": False}
    return check | {"ok": None, "why": "the interval straddles the bound: more minutes would tell"}


def allowed_values(
    puts: PutColumns, start: float = math.inf, end: float = math.inf
) -> tuple[set[str], bool]:
    """The values a key may read as (`puts`: that key's), read by a request sent at `start`
    and answered by `end` (monotonic seconds; the defaults: after every PUT), and whether it
    may be absent.

    A PUT sent before `end` may be the one read, unless an acknowledged PUT known done
    before `start` was sent after it was known done; an unknown PUT (503, timeout, lost
    connection) is never known done.
    """
    puts = puts.where(puts.sent < end)
    acked = puts.sent[puts.acknowledged & (puts.done < start)]
    last_sent = acked.max() if acked.size else -math.inf
    kept = ~puts.acknowledged | (puts.done >= last_sent)
    return {put_value(int(v)) for v in np.unique(puts.sequence[kept])}, not acked.size


def lost_writes(
    puts: Puts,
    reads: dict[str, list[str | None]],
    start: float = math.inf,
    end: float = math.inf,
) -> list[dict]:
    """Keys whose reads (a value, or None for absent, per connection) break the rule; the
    reads were sent at `start` and answered by `end` (the defaults: after every PUT)."""
    lost = []
    for key, key_puts in puts.columns().by_key():
        values, may_be_absent = allowed_values(key_puts, start, end)
        for read in reads.get(key, [None]):
            if not (read in values or (read is None and may_be_absent)):
                lost.append({"key": key, "read": read, "acknowledged_last": _last(key_puts, start)})
                break
    return lost


def _last(puts: PutColumns, before: float = math.inf) -> str | None:
    """The value of the acknowledged PUT known done before `before` that was sent last."""
    acked = puts.where(puts.acknowledged & (puts.done < before))
    return put_value(int(acked.sequence[acked.sent.argmax()])) if acked.sent.size else None


def stray_errors(
    ticks: dict[int, list[int]], tick_s: float, faults: list[Fault], kind: int = 1
) -> list:
    """The ticks (start, count) whose errors no fault's window covers; a tick is [ok,
    errors, stale-connection errors], `kind` picks the errors counted."""
    stray = []
    for tick, counts in sorted(ticks.items()):
        t = tick * tick_s
        # The tick [t, t + tick_s) is covered when it meets any window (with its allowance),
        # also a window that starts and ends inside it.
        meets = (f.start < t + tick_s and t <= f.end + RECOVERY_S for f in faults)
        if counts[kind] and not any(meets):
            stray.append([round(t, 1), counts[kind]])
    return stray


def recovery(
    fault: Fault, ticks: dict[int, list[int]], tick_s: float, until: float = math.inf
) -> dict:
    """Its errors, first to last, and when answers were right again, from the fault's start
    (and before `until`, the next fault's start). Stale-connection 503s, which come one by
    one as late as the store's pool reaches a dead connection, are counted apart."""
    first = int(fault.start / tick_s)
    last = max(ticks, default=first) + 1
    if until < math.inf:
        last = min(last, int(until / tick_s))
    counts = {i: ticks.get(i, [0, 0, 0]) for i in range(first, last)}
    window = [(i, c[0], c[1]) for i, c in counts.items()]
    # A tick counts when any of it, [i, i + 1) ticks, meets the window: a fault starts
    # between two ticks, and testing the tick's start alone dropped its first one.
    bad = [i for i, _, errors in window if errors and fault.meets(i * tick_s, (i + 1) * tick_s)]
    found: dict = {"kind": fault.kind, "at_s": round(fault.start, 1)}
    found |= {"window_s": round(fault.end - fault.start, 2), "errors": 0}
    found["stale_errors"] = sum(
        c[2] for i, c in counts.items() if fault.meets(i * tick_s, (i + 1) * tick_s)
    )
    if not bad:
        return found | {"first_error_s": None, "last_error_s": None, "outage_s": 0.0}
    found["errors"] = sum(counts[i][1] for i in bad)
    after = next((i for i, ok, errors in window if i > bad[-1] and ok and not errors), None)
    found |= {"first_error_s": round((bad[0] - first) * tick_s, 1)}
    found |= {"last_error_s": round((bad[-1] + 1 - first) * tick_s, 1)}
    found["outage_s"] = round((bad[-1] + 1 - bad[0]) * tick_s, 1)
    found["answering_s"] = round((after - first) * tick_s, 1) if after is not None else None
    return found
