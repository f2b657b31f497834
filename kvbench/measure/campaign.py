"""One interleaved HTTP campaign: the only place that decides how services are measured.

`bench`, `bench --ladder`, `peers` and every scaling curve run their services through
`run_campaign`: the load generator pinned away from the servers, a fresh server per
trial, the services alternating round after round so drift hits them alike, the load
generator's ceiling measured between rounds, and one open-loop rate common to all.
"""

import dataclasses
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from kvbench.measure.headroom import Headroom, headroom
from kvbench.measure.pinning import loadgen_pinned
from kvbench.measure.trials import TrialPlan, TrialResult, run_trial
from kvbench.results import files
from kvbench.results.summary import summaries
from kvbench.services import Service

LATENCY_LOAD = 0.5  # the common open-loop rate, as a share of the slowest service's throughput
CALIBRATED = "calibrated: half the slowest service's throughput in a short closed-loop trial"
LOADGENS = {
    "builtin": "kvbench built-in (uvloop, raw protocols, every response checked)",
    "wrk": "wrk -t1 for the closed loop (statuses checked, not bodies); built-in for the rest",
}


@dataclass(frozen=True)
class Campaign:
    services: list[Service]
    plan: TrialPlan
    trials: int
    rate: float | None = None  # the open-loop rate; None calibrates one
    headroom: bool = True  # measure the load generator's ceiling between rounds
    progress: Callable[[str], None] = field(default=lambda text: None, compare=False)


@dataclass
class CampaignResult:
    campaign: Campaign
    plan: TrialPlan  # the campaign's plan with the rate it used
    rounds: list[dict[str, TrialResult]]  # one per round: service -> its trial
    pinning: str
    headroom: dict = field(default_factory=dict)

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

    def environment(self) -> dict:
        """The settings summary.json records under environment."""
        plan, campaign = self.plan, self.campaign
        http = {
            "trials": campaign.trials,
            "interleaved": True,
            "concurrency": plan.connections,
            "warmup_s": plan.warmup_s,
            "duration_s": plan.duration_s,
            "latency_window_s": plan.latency_s,
            "offered_rate": plan.rate,
            "rate_source": "given" if campaign.rate else CALIBRATED,
            "loadgen": LOADGENS[plan.loadgen],
            "commands": {s.name: s.command("127.0.0.1", 0)[1:] for s in campaign.services},
        }
        found = {"pinning": self.pinning, "http": http}
        if self.headroom:
            found["loadgen_ceiling"] = self.headroom
        return found

    def write(self, out: Path) -> dict:
        """Per service, the trials as pyperf JSON and the open-loop latencies; the file names."""
        written: dict[str, dict[str, str]] = {}
        for service in self.campaign.services:
            name = service.name
            path = out / f"http-{name}.json"
            files.http_suite(self.samples(name)).dump(str(path), replace=True)
            written.setdefault("http", {})[name] = path.name
            chunks = [t.latencies_ns for t in self.trials(name) if t.latencies_ns is not None]
            if chunks:
                files.save_latencies(out / f"latency-{name}.npy", chunks)
                written.setdefault("latency", {})[name] = f"latency-{name}.npy"
        return written


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
        rounds = []
        for trial in range(campaign.trials):
            rounds.append(run_round(campaign, plan, trial))
            if canned:
                canned.window()
        return CampaignResult(campaign, plan, rounds, pinning, canned.summary() if canned else {})


def run_round(campaign: Campaign, plan: TrialPlan, trial: int) -> dict[str, TrialResult]:
    found = {}
    for service in campaign.services:
        campaign.progress(f"{service.name} trial {trial + 1}/{campaign.trials}")
        found[service.name] = run_trial(service, plan, f"-{trial}")
    return found


def common_rate(campaign: Campaign, plan: TrialPlan) -> float:
    """Half the slowest service's throughput, rounded: a rate every service sustains."""
    campaign.progress("calibrating the common open-loop rate")
    short = dataclasses.replace(plan, duration_s=min(plan.duration_s, 2.0), latency_s=0)
    tps = [run_trial(s, short, "-rate").metrics["http_tps"] for s in campaign.services]
    return float(f"{min(tps) * LATENCY_LOAD:.2g}")  # a round number to reuse with --rate
