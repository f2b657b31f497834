"""The layers of `kvbench bench` (micro, in-process ASGI, instructions, HTTP) into one summary.

Micro and ASGI run as pyperf suites in child processes pinned to the server's CPU;
instructions are counted by valgrind (`kvbench.measure.instructions`); the HTTP layer is
one campaign (`kvbench.measure.campaign`).
"""

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kvbench.load.requests import load_requests
from kvbench.measure import floor, instructions, sensitivity, suites
from kvbench.measure.campaign import Campaign, run_campaign
from kvbench.measure.pinning import SERVER_CPU
from kvbench.measure.progress import Progress
from kvbench.measure.trials import TrialPlan
from kvbench.processes import PROJECT_ROOT, app_dirs
from kvbench.results import provenance
from kvbench.results.resample import PER_PROCESS
from kvbench.results.summary import summaries
from kvbench.services import Service, in_process_services

LAYERS = ("micro", "asgi", "instructions", "http")


@dataclass(frozen=True)
class BenchPlan:
    """What one `kvbench bench` run measures, from the command line."""

    services: list[Service]
    layers: frozenset[str]
    plan: TrialPlan
    trials: int
    quick: bool = False
    rate: float | None = None
    ladder: bool = False  # pair each rung with the one before it, not with the first
    request_file: Path | None = None  # a user's requests; None: the services' own workload

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        names = [s.name for s in self.services]
        if self.ladder:
            return tuple(zip(names[1:], names[:-1], strict=True))
        return tuple((name, names[0]) for name in names[1:])


def estimate_s(bench: BenchPlan) -> float:
    """Seconds the run should take; said up front, and the basis of "time left"."""
    plan, services = bench.plan, len(bench.services)
    start_and_warm = 1.5 + 1.5 * plan.warmup_s  # the primer takes half the warm-up again
    wrk = (max(1, round(plan.duration_s)) + 0.5) * (plan.loadgen == "both")
    per_trial = start_and_warm + plan.duration_s + plan.latency_s + wrk
    total = 0.0
    if "http" in bench.layers:
        total += per_trial * bench.trials * services + plan.duration_s * bench.trials  # ceiling
        total += (start_and_warm + 2) * services * bool(plan.latency_s)  # calibration
        total += start_and_warm + 2 * sensitivity.PAIRS * (plan.duration_s + 0.5)
        total += (floor.SECONDS + 2) * bool(plan.latency_s)
    total += (20 if bench.quick else 60) * ("micro" in bench.layers)
    total += (30 if bench.quick else 80) * ("asgi" in bench.layers)
    requests = len(load_requests(bench.request_file)) if bench.request_file else 1
    total += instructions.estimate_s(bench.services) * requests * ("instructions" in bench.layers)
    return total


class Layers:
    """Runs the chosen layers into `out` and gathers every sample into one summary."""

    def __init__(
        self, bench: BenchPlan, out: Path, progress: Progress,
        save: Callable[[dict], None] | None = None,
    ) -> None:  # fmt: skip
        self.bench, self.out, self.progress, self.save = bench, out, progress, save
        self.samples: dict[str, dict[str, list[float]]] = {s.name: {} for s in bench.services}
        self.methods: dict[str, dict[str, str]] = {s.name: {} for s in bench.services}
        self.summary: dict = provenance.header() | {"files": {}}

    def run(self) -> dict:
        """Every chosen layer; after each, `save` gets the summary so far, marked partial,
        so that a run failing late keeps what its earlier layers measured."""
        chosen = [layer for layer in LAYERS if layer in self.bench.layers]
        for i, layer in enumerate(chosen):
            getattr(self, layer)()
            if self.save and i < len(chosen) - 1:
                self.save(self.so_far() | {"partial": True, "layers_done": chosen[: i + 1]})
        return self.so_far()

    def so_far(self) -> dict:
        services = {name: summaries(samples, self.methods.get(name))
                    for name, samples in self.samples.items()}  # fmt: skip
        # taken again now: the provenance lists what the layers so far have imported
        provenance_now = {"provenance": provenance.collect().to_json()}
        return {**self.summary, **provenance_now, "services": services}

    def micro(self) -> None:
        self.progress.step("micro suite (pyperf)")
        suites.micro(self.out / "micro.json", self.bench.quick, SERVER_CPU)
        self.summary["files"]["micro"] = "micro.json"
        for name, values in suites.ns_per_op(self.out / "micro.json").items():
            family, _, service = name.rstrip("]").partition("[")
            if service in self.samples:
                self.samples[service][f"{family}_ns_per_op"] = values
                self.methods[service][f"{family}_ns_per_op"] = PER_PROCESS

    def asgi(self) -> None:
        quick, services = self.bench.quick, self.bench.services
        self.progress.step("in-process ASGI suite (pyperf)")
        request_file = self.bench.request_file
        suites.asgi(self.out / "asgi.json", services, quick, SERVER_CPU, request_file)
        self.summary["files"]["asgi"] = "asgi.json"
        for name, values in suites.ns_per_op(self.out / "asgi.json").items():
            service = name.rstrip("]").partition("[")[2]
            self.samples[service]["asgi_ns_per_op"] = values
            self.methods[service]["asgi_ns_per_op"] = PER_PROCESS
        self.progress.step("allocations per request (memray)")
        for service, counts in suites.allocations(services, quick, request_file).items():
            self.samples[service]["asgi_allocs_per_op"] = counts["allocs_per_op"]
            self.samples[service]["asgi_bytes_per_op"] = counts["bytes_per_op"]
        self.progress.step("what requests leave for the GC (gc module)")
        for service, found in suites.gc_work(services, request_file).items():
            for name, value in found.items():
                self.samples[service][name] = [value]
        env = self.summary["environment"]
        env["pyperf_args"] = suites.pyperf_args(quick)
        env["pyperf_rounds"] = suites.rounds(quick)
        env["allocations"] = suites.ALLOCATION_METHOD

    def instructions(self) -> None:
        env = self.summary["environment"]
        tool = instructions.valgrind()
        if tool is None:  # the rest of the run goes on; the summary says why this layer is absent
            self.progress.say(f"instructions layer skipped: {instructions.INSTALL_HINT}")
            env["instructions"] = {"skipped": instructions.INSTALL_HINT}
            return
        self.progress.step("instructions per request (valgrind)")
        if self.bench.request_file is not None:
            self.instructions_of_requests(tool, self.bench.request_file)
            return
        results = instructions.measure_services(tool, self.bench.services)
        for service, result in results.items():
            self.samples[service]["asgi_instructions_per_op"] = result.values
        env["instructions"] = instructions.environment(tool, results)

    def instructions_of_requests(self, tool: str, request_file: Path) -> None:
        """Each request of the file counted on its own; an app's figure is their mean per
        repeat (the mix the in-process loops send, one of each in turn)."""
        specs = load_requests(request_file)
        by_request: dict[str, instructions.Result] = {}
        for service in in_process_services(self.bench.services):
            path = (*[Path(d) for d in app_dirs([service])], PROJECT_ROOT)
            results = [
                instructions.measure(tool, instructions.Target(
                    service.app, instructions.from_spec(spec), path))
                for spec in specs
            ]  # fmt: skip
            for spec, result in zip(specs, results, strict=True):
                by_request[f"{service.name} {spec.name}"] = result
            repeats = zip(*(result.values for result in results), strict=True)
            self.samples[service.name]["asgi_instructions_per_op"] = [
                statistics.fmean(values) for values in repeats
            ]
        self.summary["environment"]["instructions"] = instructions.environment(tool, by_request) | {
            "per_app": "the mean of the requests' slopes, per repeat"
        }

    def http(self) -> None:
        bench = self.bench
        campaign = Campaign(
            bench.services,
            bench.plan,
            bench.trials,
            rate=bench.rate,
            pairs=bench.pairs,
            progress=self.progress.step,
        )
        result = run_campaign(campaign)
        self.summary["environment"].update(result.environment())
        self.summary.update(result.sections())
        for files_kind, by_service in result.write(self.out).items():
            self.summary["files"][files_kind] = by_service
        for name in self.samples:
            self.samples[name].update(result.samples(name))
