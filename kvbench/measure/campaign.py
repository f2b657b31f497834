"""One interleaved HTTP campaign: the only place that decides how services are measured.

`bench`, `bench --ladder`, `peers` and every scaling curve run their services through
`run_campaign`: the load generator pinned away from the servers, a fresh server per
trial, the services back to back in every round with their order reversed every other
round (A B, B A, A B, ...) so drift hits them alike and none always follows the ceiling
window, the load generator's ceiling measured after each round, and one open-loop rate
common to all. What it returns (`CampaignResult`) says, per round, how each service
compared with its base in that same round and whether the round's numbers can be trusted.
"""

import dataclasses
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kvbench.load.summary import join_records, save_records, trial_latencies_ns
from kvbench.measure import floor, sensitivity
from kvbench.measure.checks import MAX_LOADGEN_SHARE, MAX_SCHEDULE_EXCESS, MIN_BUSY, checks
from kvbench.measure.headroom import Headroom, headroom
from kvbench.measure.pinning import loadgen_pinned
from kvbench.measure.trials import TrialPlan, TrialResult, run_trial
from kvbench.results import files
from kvbench.results.latency import METHOD, pooled
from kvbench.results.ratios import paired_entry
from kvbench.results.summary import Summary, summaries
from kvbench.services import Service

LATENCY_LOAD = 0.5  # the common open-loop rate, as a share of the slowest service's throughput
CALIBRATED = "calibrated: half the slowest service's throughput in a short closed-loop trial"
ORDER = "ABBA: services back to back in each round, their order reversed every other round"
LOADGENS = {
    "builtin": "kvbench built-in (uvloop, raw protocols, every answer checked byte for byte)",
    "wrk": "wrk -t1 for the closed loop (statuses checked, not bodies); built-in for the rest",
    "both": "kvbench built-in, and a wrk -t1 closed window on the same server in every trial "
    "(their order alternating by round), as a cross-check",
}
# The metrics whose per-round ratio to the base means something (not GC counts or RSS).
PAIRED_METRICS = (
    "http_tps",
    "http_wrk_tps",
    "server_open_cpu_us_per_req",
    "http_trial_p50_ms",
    "http_trial_p99_ms",
)
Pairs = tuple[tuple[str, str], ...]  # (service, its base)
# Measured in the open-loop window, at the offered rate: they change with it.
AT_OFFERED_RATE = (
    "http_trial_p50_ms",
    "http_trial_p90_ms",
    "http_trial_p99_ms",
    "http_service_p50_ms",
    "http_service_p99_ms",
    "server_open_cpu_us_per_req",
    "redis_cpu_us_per_req",
    "redis_cmds_per_req",
)
PACER = (
    "constant-rate schedule (wrk2's); the pacer sleeps until 2 ms before a send is due, then "
    "spins through the event loop; latency counts from the intended send, the generator's "
    "lateness included"
)


@dataclass(frozen=True)
class Campaign:
    services: list[Service]
    plan: TrialPlan
    trials: int
    rate: float | None = None  # the open-loop rate; None calibrates one
    headroom: bool = True  # measure the load generator's ceiling after each round
    pairs: Pairs | None = None  # None: every service against the first
    check: bool = True  # check headroom and saturation (not for curves of low concurrency)
    exempt: frozenset[str] = frozenset()  # rows known to outrun the generator (ceilings)
    progress: Callable[[str], None] = field(default=lambda text: None, compare=False)

    @property
    def base_pairs(self) -> Pairs:
        if self.pairs is not None:
            return self.pairs
        first = self.services[0].name
        return tuple((s.name, first) for s in self.services[1:])


def round_order(services: list[Service], index: int) -> list[Service]:
    """A B in even rounds, B A in odd ones: no service always follows the ceiling window."""
    return list(services) if index % 2 == 0 else list(reversed(services))


@dataclass
class CampaignResult:
    campaign: Campaign
    plan: TrialPlan  # the campaign's plan with the rate it used
    rounds: list[dict[str, TrialResult]]  # one per round: service -> its trial
    pinning: str
    headroom: dict = field(default_factory=dict)
    orders: list[list[str]] = field(default_factory=list)  # who ran when, per round
    ceilings: list[float] = field(default_factory=list)  # the generator's ceiling, per round
    sensitivity: dict = field(default_factory=dict)  # the generator slowed on purpose, once
    floor: dict = field(default_factory=dict)  # this machine's latency floor at the run's rate

    def trials(self, service: str) -> list[TrialResult]:
        return [round_[service] for round_ in self.rounds]

    def samples(self, service: str) -> dict[str, list[float]]:
        """Every metric of a service, one value per trial (None values left out)."""
        found: dict[str, list[float]] = {}
        for trial in self.trials(service):
            for metric, value in trial.metrics.items():
                if value is not None:
                    found.setdefault(metric, []).append(value)
        return found

    def summaries(self) -> dict[str, dict[str, dict]]:
        """service -> metric -> the summary as summary.json stores it."""
        return {s.name: summaries(self.samples(s.name)) for s in self.campaign.services}

    def pairs(self, service: str, base: str) -> dict[str, list[tuple[float, float]]]:
        """metric -> (service, base) per round, for the metrics where a ratio means something."""
        found: dict[str, list[tuple[float, float]]] = {}
        for round_ in self.rounds:
            this, that = round_[service].metrics, round_[base].metrics
            for name in PAIRED_METRICS:
                if this.get(name) is not None and that.get(name):
                    found.setdefault(name, []).append((this[name], that[name]))
        return found

    def ratios(self, service: str, base: str) -> dict[str, list[float]]:
        """metric -> service / base in each round, for the metrics where a ratio means something."""
        return {name: [a / b for a, b in found]
                for name, found in self.pairs(service, base).items()}  # fmt: skip

    def paired(self) -> dict:
        """summary.json's "paired": per service and metric, the median of its per-round ratios
        to its base, the unpaired ratio of medians, their correlation (`ratios.paired_entry`)."""
        return {
            service: {"vs": base, "metrics": {name: paired_entry(found) for name, found
                                              in self.pairs(service, base).items()}}
            for service, base in self.campaign.base_pairs
        }  # fmt: skip

    def records(self, service: str) -> dict[str, np.ndarray] | None:
        """A service's open-loop requests over its trials, as `requests-*.npz` holds them
        (arrays `trial`, `intended_ns`, `sent_ns`, `answered_ns`); None without any."""
        found = [(t.open_loop, i) for i, t in enumerate(self.trials(service)) if t.open_loop]
        if not found:
            return None
        return join_records([result for result, _ in found], [i for _, i in found])

    def latency(self) -> dict:
        """summary.json's "latency": each service's open-loop requests pooled over its trials,
        each answered - intended (what `requests-*.npz` recomputes)."""
        found = {}
        for service in self.campaign.services:
            if (records := self.records(service.name)) is not None:
                found[service.name] = pooled(trial_latencies_ns(records), self.plan.rate)
        return found

    def round_records(self) -> list[dict]:
        """summary.json's "rounds": order, ceiling, the fastest service, each one's busy share."""
        records = []
        for i, round_ in enumerate(self.rounds):
            record: dict = {"order": self.orders[i] if i < len(self.orders) else list(round_)}
            tps = {s: t.metrics["http_tps"] for s, t in round_.items() if "http_tps" in t.metrics}
            checked = {s: v for s, v in tps.items() if s not in self.campaign.exempt}
            if i < len(self.ceilings) and checked:
                fastest = max(checked, key=checked.__getitem__)
                record |= {"ceiling_tps": self.ceilings[i], "fastest": fastest,
                           "fastest_tps": checked[fastest],
                           "headroom": self.ceilings[i] / checked[fastest]}  # fmt: skip
            evidence = {key: per_service(round_, metric) for key, metric in EVIDENCE.items()}
            records.append(record | {key: v for key, v in evidence.items() if v})
        return records

    def sections(self) -> dict:
        """Everything summary.json holds beside the services: latency, paired, rounds, checks."""
        rounds, paired = self.round_records(), self.paired()
        found: dict = {"latency": self.latency(), "paired": paired, "rounds": rounds}
        if self.campaign.check:
            cpus = len(self.plan.server_cpus) if self.plan.server_cpus else None
            found["checks"] = checks(
                rounds, self.campaign.exempt, cpus, self.sensitivity, self.floor
            )
        found["floor"] = self.floor
        if self.plan.loadgen == "both":
            found["cross_check"] = cross_check(paired)
        return {name: value for name, value in found.items() if value}

    def environment(self) -> dict:
        """The settings summary.json records under environment."""
        plan, campaign = self.plan, self.campaign
        http = {
            "trials": campaign.trials,
            "interleaved": True,
            "order": ORDER,
            "concurrency": plan.connections,
            "warmup_s": plan.warmup_s,
            "duration_s": plan.duration_s,
            "latency_window_s": plan.latency_s,
            "offered_rate": plan.rate,
            "rate_source": "given" if campaign.rate else CALIBRATED,
            "latency_method": METHOD,
            "loadgen": LOADGENS[plan.loadgen],
            "commands": {s.name: s.command("127.0.0.1", 0)[1:] for s in campaign.services},
        }
        found = {"pinning": self.pinning, "http": http}
        if self.headroom:
            found["loadgen_ceiling"] = self.headroom
        if campaign.check:
            http["min_busy"] = MIN_BUSY
            http["max_loadgen_share"] = MAX_LOADGEN_SHARE
            http["max_schedule_excess"] = MAX_SCHEDULE_EXCESS
        if plan.latency_s:
            http["pacer"] = PACER
            http["at_offered_rate"] = list(AT_OFFERED_RATE)
        return found

    def write(self, out: Path) -> dict:
        """Per service, every trial's metrics (`trials-*.json`) and every open-loop request's
        raw record (`requests-*.npz`); summary.json's "files": kind -> service -> file name."""
        written: dict[str, dict[str, str]] = {}
        for service in self.campaign.services:
            name = service.name
            trials = [t.metrics for t in self.trials(name)]
            path = files.write_trials(out, name, trials, self.plan.rate)
            written.setdefault("trials", {})[name] = path.name
            if (records := self.records(name)) is not None:
                save_records(out / f"requests-{name}.npz", records)
                written.setdefault("latency", {})[name] = f"requests-{name}.npz"
        return written


def per_service(round_: dict[str, TrialResult], name: str) -> dict[str, float]:
    return {s: t.metrics[name] for s, t in round_.items() if name in t.metrics}


# What a round record keeps of each trial for the checks (`checks.py`): key -> trial metric.
EVIDENCE = {
    "busy": "server_busy",
    "loadgen_share": "loadgen_cpu_share",
    "p99_ms": "http_trial_p99_ms",  # from the intended send
    "p99_from_sent_ms": "http_service_p99_ms",
    "lag_p99_ms": "http_send_lag_p99_ms",  # sent - intended: the sender's own lateness
    "lag_p999_ms": "http_send_lag_p999_ms",
}


def cross_check(paired: dict) -> dict:
    """The wrk cross-check: each service's ratio to its base by wrk and by the built-in
    generator, from the same servers and minutes, and how far apart the two are."""
    found = {}
    for service, entry in paired.items():
        metrics = entry["metrics"]
        if "http_tps" in metrics and "http_wrk_tps" in metrics:
            builtin = Summary.of(metrics["http_tps"]["values"]).median
            wrk = Summary.of(metrics["http_wrk_tps"]["values"]).median
            found[service] = {"vs": entry["vs"], "builtin_ratio": builtin, "wrk_ratio": wrk,
                              "wrk_over_builtin": wrk / builtin,
                              "within_10pct": abs(wrk / builtin - 1) <= 0.10}  # fmt: skip
    return found


def run_campaign(campaign: Campaign) -> CampaignResult:
    """Every trial of every service, round after round; the ceiling after each round."""
    with ExitStack() as stack:
        pinning = stack.enter_context(loadgen_pinned(campaign.plan.server_cpus))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kvbench-logs-")))
        plan = dataclasses.replace(campaign.plan, log_dir=logs)
        canned: Headroom | None = None
        if campaign.headroom:
            campaign.progress("starting the canned server for the load generator's ceiling")
            canned = stack.enter_context(headroom(plan))
        if plan.latency_s:
            plan = dataclasses.replace(plan, rate=campaign.rate or common_rate(campaign, plan))
        result = CampaignResult(campaign, plan, [], pinning)
        for trial in range(campaign.trials):
            order = round_order(campaign.services, trial)
            result.orders.append([s.name for s in order])
            result.rounds.append(run_round(campaign, plan, trial, order))
            if canned:
                result.ceilings.append(canned.window())
        result.headroom = canned.summary() if canned else {}
        if campaign.check:
            evidence(campaign, plan, result)
        return result


def evidence(campaign: Campaign, plan: TrialPlan, result: CampaignResult) -> None:
    """Once per run: the generator slowed on purpose against the fastest service, and the
    machine's latency floor at the run's rate (`sensitivity.py`, `floor.py`)."""
    fastest = fastest_service(campaign, result)
    if fastest is not None and plan.server_cpus:
        campaign.progress(f"sensitivity: {fastest.name} with the load generator slowed")
        result.sensitivity = sensitivity.measure(fastest, plan)
    if plan.latency_s and plan.rate:
        campaign.progress(f"the latency floor at {plan.rate:g} req/s")
        result.floor = floor.measure(plan.rate, plan.connections)


def fastest_service(campaign: Campaign, result: CampaignResult) -> Service | None:
    """The checked service with the highest median throughput (the likeliest to outrun us)."""
    medians = {
        s.name: float(np.median(tps))
        for s in campaign.services
        if s.name not in campaign.exempt and (tps := result.samples(s.name).get("http_tps"))
    }
    if not medians:
        return None
    best = max(medians, key=medians.__getitem__)
    return next(s for s in campaign.services if s.name == best)


def run_round(
    campaign: Campaign, plan: TrialPlan, trial: int, order: list[Service]
) -> dict[str, TrialResult]:
    # With wrk alongside, the two generators' windows swap places every other round too.
    plan = dataclasses.replace(plan, wrk_first=trial % 2 == 1)
    found = {}
    for service in order:
        campaign.progress(f"{service.name} trial {trial + 1}/{campaign.trials}")
        found[service.name] = run_trial(service, plan, f"-{trial}")
    return {s.name: found[s.name] for s in campaign.services}


def common_rate(campaign: Campaign, plan: TrialPlan) -> float:
    """Half the slowest service's throughput, rounded: a rate every service sustains."""
    campaign.progress("calibrating the common open-loop rate")
    short = dataclasses.replace(plan, duration_s=min(plan.duration_s, 2.0), latency_s=0)
    short = dataclasses.replace(
        short, loadgen="builtin" if plan.loadgen == "both" else plan.loadgen
    )
    tps = [run_trial(s, short, "-rate").metrics["http_tps"] for s in campaign.services]
    return float(f"{min(tps) * LATENCY_LOAD:.2g}")  # a round number to reuse with --rate
