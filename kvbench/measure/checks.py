"""Was the server, not the instrument, the limit? The evidence summary.json's "checks" hold.

A ceiling ratio (the generator's ceiling at least 2x the fastest service) is a rule of thumb
that fails in runs where the direct evidence says the server set the pace, and passes in
runs where a slow canned server hid the generator's own limit. So each check here reads a
measurement of the thing it judges:

- saturation: per trial, a pinned server's CPU share of its closed-loop window (a server
  that is the limit is busy the whole window);
- generator: per trial, the load generator's CPU share of its own core over that window
  (a generator that is the limit uses all of it);
- sensitivity: once per run, the generator deliberately slowed (extra work on every answer
  takes a third of its capacity, `sensitivity.py`); if the server was the limit, its
  throughput does not move beyond the run's noise. A fall short of the third, with the
  server saturated throughout, is undecided: the arrival pattern may set its pace;
- schedule: per open-loop trial, p99 from the intended send against p99 from the actual
  send. The difference is the sender's lateness in the tail, or a wait for a free
  connection. Up to the generator's own lateness against a server that answers at once
  (the floor, `floor.py`, measured in the same run at the same rate with the same
  generator; on this 2-vCPU VM even a C sender is 0.5-1.4 ms late at p99) it is the
  floor's, and the latency tables mark such percentiles; beyond both that and
  MAX_SCHEDULE_EXCESS of the tail, waiting for a connection or a stall the floor did not
  see shaped the tail it reports.

A check that does not apply to a part (no pinned server, no open loop, no sensitivity run)
is absent from "checks", not "not run". A check's status is "ok", "failed" or "undecided"
(the evidence supports neither reading). The whole is ok when at least one check passed
and none failed: an undecided check counts as neither passed nor failed, so it does not
make ok false, and "undecided" names it beside ok; the report, the docs and `kvbench
bench` say it wherever they say the checks.
"""

from kvbench.measure.floor import AT_FLOOR_FACTOR

MIN_BUSY = 0.95  # the server's CPU share of its closed-loop window, per core it is pinned to
MAX_LOADGEN_SHARE = 0.9  # the generator's CPU share of its own core
MAX_SCHEDULE_EXCESS = 0.05  # p99 from the intended send over p99 from the actual send, - 1
FLOOR_SLACK_MS = 0.05  # added to the floor's lateness before a sender counts as beyond it
MIN_NOISE = 0.02  # the sensitivity check's tolerance when the run's own spread is smaller
SLOWDOWN = 0.5  # extra generator CPU per answer in the slowed windows, of its own: 2/3 capacity
# Measured CPU per answer, slowed over normal, below this: nothing was slowed. Not the full
# 1 + SLOWDOWN: a slowed generator reads more answers per wake-up, so its own cost per answer
# falls (first runs here: 1.37x with 1.5x added, the added work all accounted for).
MIN_SLOWDOWN = 1 + SLOWDOWN / 2
LOST = 1 - 1 / (1 + SLOWDOWN)  # the throughput a generator at its limit loses slowed: a third


def checks(
    rounds: list[dict],
    exempt: frozenset[str],
    cpus: int | None,
    sensitivity: dict | None = None,
    floor: dict | None = None,
) -> dict:
    """summary.json's "checks" from the round records (`CampaignResult.round_records`)."""
    warnings: list[str] = []
    found = {
        "saturation": saturation_check(rounds, exempt, cpus, warnings),
        "generator": generator_check(rounds, exempt, warnings),
        "schedule": schedule_check(rounds, exempt, warnings, floor),
        "sensitivity": sensitivity_check(sensitivity, warnings),
    }
    ran = {name: check for name, check in found.items() if check is not None}
    said = {name: check["status"] for name, check in ran.items()}
    ok = "ok" in said.values() and "failed" not in said.values()
    undecided = [name for name, status in said.items() if status == "undecided"]
    return ran | {"exempt": sorted(exempt), "warnings": warnings, "undecided": undecided, "ok": ok}


def status(failed: list) -> str:
    return "failed" if failed else "ok"


def per_trial(rounds: list[dict], key: str, exempt: frozenset[str]):
    """(round number, service, value) for every trial that recorded `key`."""
    for i, record in enumerate(rounds, 1):
        for service, value in record.get(key, {}).items():
            if service not in exempt:
                yield i, service, value


def saturation_check(
    rounds: list[dict], exempt: frozenset[str], cpus: int | None, warnings: list[str]
) -> dict | None:
    trials = list(per_trial(rounds, "busy", exempt))
    if not cpus or not trials:
        return None  # an unpinned server's share of the machine says nothing about its core
    below = [{"round": i, "service": s, "busy": b} for i, s, b in trials if b < MIN_BUSY * cpus]
    for row in below:
        warnings.append(
            f"round {row['round']}: {row['service']}'s server was busy "
            f"{row['busy'] / cpus:.1%} of its closed-loop window, under {MIN_BUSY:.0%}: "
            "not saturated, so something else (the generator, another process) held it back"
        )
    return {"min_busy": MIN_BUSY, "trials": len(trials), "trials_below": below,
            "status": status(below)}  # fmt: skip


def generator_check(rounds: list[dict], exempt: frozenset[str], warnings: list[str]) -> dict | None:
    trials = list(per_trial(rounds, "loadgen_share", exempt))
    if not trials:
        return None
    above = [{"round": i, "service": s, "share": v} for i, s, v in trials if v > MAX_LOADGEN_SHARE]
    for row in above:
        warnings.append(
            f"round {row['round']}: the load generator used {row['share']:.0%} of its core "
            f"while loading {row['service']}, over {MAX_LOADGEN_SHARE:.0%}: it may have been "
            "the limit"
        )
    return {"max_share": MAX_LOADGEN_SHARE, "trials": len(trials), "trials_above": above,
            "highest": max(v for _, _, v in trials), "status": status(above)}  # fmt: skip


def schedule_check(
    rounds: list[dict], exempt: frozenset[str], warnings: list[str], floor: dict | None = None
) -> dict | None:
    """Per open-loop trial: p99 from the intended send against p99 from the actual send.

    Their difference is the sender's lateness (sent - intended), which holds both a wait for
    a free connection and a stall of the generator. A trial fails only when the difference
    is over MAX_SCHEDULE_EXCESS of the tail and over the floor's lateness at p99, and its
    own lateness at p99 or p99.9 is beyond the floor's (AT_FLOOR_FACTOR times it, plus
    FLOOR_SLACK_MS): a sender no later than the machine lets any sender be (the hypervisor
    takes the CPU away for a millisecond or more now and then: rare, so it moves p99.9
    first, and a p99 over a few thousand requests) did not shape the tail beyond the floor."""
    lateness = (floor or {}).get("lateness_at_server_ms") or {}
    allowed = {q: AT_FLOOR_FACTOR * (lateness.get(q) or 0.0) + FLOOR_SLACK_MS
               for q in ("p99", "p999")}  # fmt: skip
    sent = {(i, s): v for i, s, v in per_trial(rounds, "p99_from_sent_ms", exempt)}
    lags = {q: {(i, s): v for i, s, v in per_trial(rounds, f"lag_{q}_ms", exempt)}
            for q in allowed}  # fmt: skip
    trials = [(i, s, v, sent[i, s]) for i, s, v in per_trial(rounds, "p99_ms", exempt)
              if (i, s) in sent and sent[i, s] > 0]  # fmt: skip
    if not trials:
        return None
    floor_late_ms = lateness.get("p99") or 0.0

    def beyond_floor(key: tuple[int, str]) -> bool:  # unrecorded lateness: no excuse
        return any(lags[q].get(key, float("inf")) > allowed[q] for q in allowed)

    late = [{"round": i, "service": s, "p99_ms": v, "p99_from_sent_ms": w, "excess": v / w - 1,
             "lag_ms": {q: lags[q].get((i, s)) for q in allowed}}
            for i, s, v, w in trials
            if v - w > max(MAX_SCHEDULE_EXCESS * w, floor_late_ms)
            and beyond_floor((i, s))]  # fmt: skip
    for row in late:
        lag = ", ".join(f"{v:.3f} ms at {q}" for q, v in row["lag_ms"].items() if v is not None)
        warnings.append(
            f"round {row['round']}: {row['service']}'s p99 from the intended send "
            f"({row['p99_ms']:.3f} ms) was {row['excess']:.0%} above its p99 from the actual "
            f"send ({row['p99_from_sent_ms']:.3f} ms), and the sender was late beyond the "
            f"floor ({lag or 'not recorded'}): a wait for a free connection or a stall the "
            "floor did not see shaped that tail"
        )
    return {"max_excess": MAX_SCHEDULE_EXCESS, "floor_lateness_p99_ms": floor_late_ms,
            "allowed_lateness_ms": allowed, "trials": len(trials), "trials_late": late,
            "status": status(late)}  # fmt: skip


def sensitivity_check(found: dict | None, warnings: list[str]) -> dict | None:
    """The run's sensitivity measurement (`sensitivity.measure`), judged against its noise.

    It can only pass when it could have failed: the generator's measured CPU per answer grew
    by most of what was added, and the noise is under half of the third a generator that
    was the limit would lose. One-sided: a server that answers faster when the answers are
    read more slowly (it finds more requests waiting per wake-up, as the optimized service
    did on the first runs here, 1.07x) was not held back by the generator. Slower, see
    `slower`."""
    if not found:
        return None
    tolerance = max(found["noise"], MIN_NOISE)
    status, said = "ok", untestable(found, tolerance)
    if said:
        status = "failed"
    elif found["ratio"] < 1 - tolerance:
        status, said = slower(found, tolerance)
    if status == "failed":
        warnings.append(said)
    reading = {"reading": said} if status == "undecided" else {}
    return found | reading | {"tolerance": tolerance, "status": status}


def untestable(found: dict, tolerance: float) -> str:
    """Why this measurement could not have failed, or ""."""
    if found["slowdown"] < MIN_SLOWDOWN:
        return (
            f"the slowed generator's CPU per answer grew {found['slowdown']:.2f}x, under "
            f"the {MIN_SLOWDOWN:.2f}x it must to test anything: nothing was slowed"
        )
    if tolerance >= LOST / 2:
        return (
            f"the normal windows' own range ({tolerance:.0%}) is too wide to see the "
            "generator slowed by a third"
        )
    return ""


def slower(found: dict, tolerance: float) -> tuple[str, str]:
    """A throughput that fell beyond the noise with the generator slowed: failed or undecided.

    Failed when it fell to within the noise of the third a generator at its limit loses, or
    further, whatever the server's side says; or when the server was busy under MIN_BUSY
    of its core in a slowed window. Otherwise undecided when the server was saturated in
    every slowed window and its CPU per answer rose about as much as its throughput fell:
    that agreement is nearly automatic (CPU per answer is busy over throughput), and busy
    is weak evidence (a server woken more often by sparser arrivals reads busy while its
    throughput follows the generator's pace), so it shows neither reading."""
    moved = (f"with the generator slowed (its CPU per answer {found['slowdown']:.2f}x), "
             f"{found['service']}'s throughput moved to {found['ratio']:.3f}x, beyond the "
             f"noise ({tolerance:.1%})")  # fmt: skip
    server = found.get("slowed_server_busy")  # absent from records made before it was
    busy, rise = min(server or [0.0]), found.get("server_cpu_rise", 0.0)
    if found["ratio"] < 1 - LOST + tolerance:
        return "failed", (
            f"{moved}, within the noise of the {LOST:.0%} a generator at its limit loses, or "
            "further: the generator set the pace"
        )
    if server and busy < MIN_BUSY:
        return "failed", (
            f"{moved}, and the server was busy {busy:.1%} of its core in a slowed window, "
            f"under {MIN_BUSY:.0%}: the generator set the pace"
        )
    if server and abs(rise * found["ratio"] - 1) <= max(tolerance, 1 - MIN_BUSY):
        return "undecided", (
            f"{moved}; the server stayed saturated (busy at least {busy:.1%} of its core in "
            f"every slowed window, its CPU per answer up {rise - 1:.0%}), but its throughput "
            "moved with the generator's pace: the arrival pattern, not the server's capacity, "
            "may set it"
        )
    return "failed", f"{moved}: the generator, not the server, set the pace"
