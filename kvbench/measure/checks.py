"""Was the server, not the instrument, the limit? The evidence summary.json's "checks" hold.

A ceiling ratio (the generator's ceiling at least 2x the fastest service) is a rule of thumb
that fails in runs where the direct evidence says the server set the pace, and passes in
runs where a slow canned server hid the generator's own limit. So each check here reads a
measurement of the thing it judges:

- saturation: per trial, a pinned server's CPU share of its closed-loop window (a server
  that is the limit is busy the whole window);
- generator: per trial, the load generator's CPU share of its own core over that window
  (a generator that is the limit uses all of it);
- sensitivity: once per run, the generator deliberately slowed (a ballast takes a share of
  its core, `sensitivity.py`); if the server was the limit, its throughput does not move
  beyond the run's noise;
- schedule: per open-loop trial, p99 from the intended send against p99 from the actual
  send. The difference is the sender's lateness in the tail, or a wait for a free
  connection. Up to the generator's own lateness against a server that answers at once
  (the floor, `floor.py`, measured in the same run at the same rate with the same
  generator; on this 2-vCPU VM even a C sender is 0.5-1.4 ms late at p99) it is the
  floor's, and the latency tables mark such percentiles; beyond both that and
  MAX_SCHEDULE_EXCESS of the tail, waiting for a connection or a stall the floor did not
  see shaped the tail it reports.

A check that does not apply to a part (no pinned server, no open loop, no sensitivity run)
is absent from "checks", not "not run"; the whole is ok only when at least one check ran
and none failed.
"""

MIN_BUSY = 0.95  # the server's CPU share of its closed-loop window, per core it is pinned to
MAX_LOADGEN_SHARE = 0.9  # the generator's CPU share of its own core
MAX_SCHEDULE_EXCESS = 0.05  # p99 from the intended send over p99 from the actual send, - 1
MIN_NOISE = 0.02  # the sensitivity check's tolerance when the run's own spread is smaller
BALLAST_SHARE = 1 / 3  # the share of the generator's core the sensitivity ballast takes
MIN_BALLAST = 0.8  # below this share of BALLAST_SHARE the ballast did not slow anything


def checks(
    rounds: list[dict],
    exempt: frozenset[str],
    cpus: int | None,
    sensitivity: dict | None = None,
    floor: dict | None = None,
) -> dict:
    """summary.json's "checks" from the round records (`CampaignResult.round_records`)."""
    warnings: list[str] = []
    late_ms = ((floor or {}).get("lateness_at_server_ms") or {}).get("p99") or 0.0
    found = {
        "saturation": saturation_check(rounds, exempt, cpus, warnings),
        "generator": generator_check(rounds, exempt, warnings),
        "schedule": schedule_check(rounds, exempt, warnings, late_ms),
        "sensitivity": sensitivity_check(sensitivity, warnings),
    }
    ran = {name: check for name, check in found.items() if check is not None}
    ok = bool(ran) and all(check["status"] == "ok" for check in ran.values())
    return ran | {"exempt": sorted(exempt), "warnings": warnings, "ok": ok}


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
    rounds: list[dict], exempt: frozenset[str], warnings: list[str], floor_late_ms: float = 0.0
) -> dict | None:
    """Per open-loop trial: p99 from the intended send against p99 from the actual send,
    allowing the larger of MAX_SCHEDULE_EXCESS of the tail and the generator's lateness at
    the floor (against a server that answers at once, same rate, same run)."""
    sent = {(i, s): v for i, s, v in per_trial(rounds, "p99_from_sent_ms", exempt)}
    trials = [(i, s, v, sent[i, s]) for i, s, v in per_trial(rounds, "p99_ms", exempt)
              if (i, s) in sent and sent[i, s] > 0]  # fmt: skip
    if not trials:
        return None
    late = [{"round": i, "service": s, "p99_ms": v, "p99_from_sent_ms": w, "excess": v / w - 1}
            for i, s, v, w in trials
            if v - w > max(MAX_SCHEDULE_EXCESS * w, floor_late_ms)]  # fmt: skip
    for row in late:
        warnings.append(
            f"round {row['round']}: {row['service']}'s p99 from the intended send "
            f"({row['p99_ms']:.3f} ms) was {row['excess']:.0%} above its p99 from the actual "
            f"send ({row['p99_from_sent_ms']:.3f} ms), over {MAX_SCHEDULE_EXCESS:.0%} and "
            f"over the generator's lateness at the floor ({floor_late_ms:.3f} ms at p99): a "
            "wait for a free connection or a stall the floor did not see shaped that tail"
        )
    return {"max_excess": MAX_SCHEDULE_EXCESS, "floor_lateness_p99_ms": floor_late_ms,
            "trials": len(trials), "trials_late": late, "status": status(late)}  # fmt: skip


def sensitivity_check(found: dict | None, warnings: list[str]) -> dict | None:
    """The run's sensitivity measurement (`sensitivity.measure`), judged against its noise.

    It can only pass when it could have failed: the ballast took most of the share it was
    meant to, and the noise is under half that share (a generator slowed by a third that
    was the limit loses about a third of its throughput)."""
    if not found:
        return None
    tolerance = max(found["noise"], MIN_NOISE)
    why = ""
    if found["ballast_share"] < MIN_BALLAST * BALLAST_SHARE:
        why = (f"the ballast took {found['ballast_share']:.0%} of the generator's core, "
               f"under {MIN_BALLAST:.0%} of the {BALLAST_SHARE:.0%} it should: nothing was "
               "slowed")  # fmt: skip
    elif tolerance >= BALLAST_SHARE / 2:
        why = (f"the normal windows' own range ({tolerance:.0%}) is too wide to see the "
               "generator slowed by a third")  # fmt: skip
    elif abs(found["ratio"] - 1) > tolerance:
        why = (f"with the generator slowed ({found['ballast_share']:.0%} of its core taken), "
               f"{found['service']}'s throughput moved to {found['ratio']:.3f}x, beyond the "
               f"noise ({tolerance:.1%}): the generator, not the server, set the pace")  # fmt: skip
    if why:
        warnings.append(why)
    return found | {"tolerance": tolerance, "status": "failed" if why else "ok"}
