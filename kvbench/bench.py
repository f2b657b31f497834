"""`python -m kvbench bench`: micro, in-process ASGI and HTTP layers, written to one folder.

The HTTP layer pins each server to one CPU and this process, the load generator, to
another; services alternate trial by trial; every response is checked.
"""

import argparse
import dataclasses
import tempfile
from pathlib import Path

from kvbench import KvbenchError, results, suites
from kvbench.ceiling import SERVER_CPU, can_pin, ceiling, common_rate, pin_loadgen
from kvbench.progress import Progress
from kvbench.services import LADDER, Service, get_service, parse_variant
from kvbench.trials import TrialPlan, TrialResult, interleave

DEFAULT_OUT = Path("bench-results")
LAYERS = ("micro", "asgi", "http")
LOADGENS = {
    "builtin": "kvbench built-in (uvloop, raw protocols, every response checked)",
    "wrk": "wrk -t1 for the closed loop (statuses checked, not bodies); built-in for the rest",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="results folder (default bench-results/)")
    parser.add_argument("--quick", action="store_true", help="few short trials, into quick/")
    parser.add_argument("--trials", type=int, help="HTTP trials per service (default 10)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections (default 64)")
    parser.add_argument("--sweep", help="also measure these concurrencies, e.g. 1,8,64,256")
    parser.add_argument("--rate", type=float, help="open-loop offered rate (default: calibrated)")
    parser.add_argument("--services", default="unoptimized,optimized", help="comma-separated")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME=module:app [flags]",
        help="also benchmark an app with these uvicorn flags (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--loadgen", choices=["builtin", "wrk"], default="builtin",
        help="closed-loop load from the built-in generator or, as a cross-check, wrk",
    )  # fmt: skip
    parser.add_argument("--ladder", action="store_true", help="every rung of docs/04's ladder")
    parser.add_argument("--layers", default=",".join(LAYERS), help="any of micro,asgi,http")
    parser.add_argument("--warmup", type=float, help="unrecorded seconds before each window")
    parser.add_argument("--duration", type=float, help="closed-loop seconds per trial")
    parser.add_argument(
        "--latency-window", type=float, help="open-loop seconds per trial (0 skips latency)"
    )


def run(args: argparse.Namespace) -> int:
    layers = set(args.layers.split(","))
    if not layers <= set(LAYERS):
        raise KvbenchError(f"--layers takes {','.join(LAYERS)}; got {args.layers}")
    out = args.out or (DEFAULT_OUT / "quick" if args.quick else DEFAULT_OUT)
    runner = Runner(out, chosen_services(args), args)
    runner.progress.say(
        f"benchmarking {', '.join(s.name for s in runner.services)} into {out}/: "
        f"about {runner.progress.total_s / 60:.0f} min"
    )
    out.mkdir(parents=True, exist_ok=True)
    results.write_json(out / "summary.json", runner.run(layers))
    runner.progress.say(f"done in {runner.progress.elapsed_s() / 60:.1f} min: {out}/summary.json")
    return 0


def chosen_services(args: argparse.Namespace) -> list[Service]:
    names = (
        [s.name for s, _ in LADDER] if args.ladder else [n for n in args.services.split(",") if n]
    )
    services = [get_service(n) for n in names] + [parse_variant(v) for v in args.variant]
    if len({s.name for s in services}) != len(services):
        raise KvbenchError("two services or variants share a name")
    return services


def plan_for(args: argparse.Namespace) -> tuple[TrialPlan, int]:
    trials = args.trials or (4 if args.quick else 10)
    if trials < 1 or args.concurrency < 1:
        raise KvbenchError("--trials and --concurrency must be at least 1")
    timing = dict(warmup_s=0.5, duration_s=1.5, latency_s=1.0) if args.quick else {}
    given = {"warmup_s": args.warmup, "duration_s": args.duration, "latency_s": args.latency_window}
    timing.update({k: v for k, v in given.items() if v is not None})
    if timing.get("duration_s", 1) <= 0 or timing.get("warmup_s", 0) < 0:
        raise KvbenchError("--duration must be positive and --warmup not negative")
    cpus = frozenset({SERVER_CPU}) if can_pin() else None
    plan = TrialPlan(connections=args.concurrency, server_cpus=cpus, loadgen=args.loadgen, **timing)
    return plan, trials


def estimate_s(plan: TrialPlan, trials: int, services: int, layers: set[str], sweep: int) -> float:
    """Seconds the run should take; said up front, and the basis of "time left"."""
    start_and_warm = 1.5 + 1.5 * plan.warmup_s  # the primer takes half the warm-up again
    per_trial = start_and_warm + plan.duration_s + plan.latency_s
    total = 0.0
    if "http" in layers:
        total += per_trial * trials * services + plan.duration_s * trials  # + ceiling windows
        total += (start_and_warm + 2) * services * bool(plan.latency_s)  # calibration
        total += (start_and_warm + plan.duration_s) * max(3, trials // 3) * services * sweep
    quick = plan.duration_s < 4
    total += (20 if quick else 60) * ("micro" in layers)
    total += (30 if quick else 80) * ("asgi" in layers)
    return total


class Runner:
    """Runs the chosen layers and gathers every sample into one summary."""

    def __init__(self, out: Path, services: list[Service], args: argparse.Namespace) -> None:
        self.out, self.services, self.args = out, services, args
        self.plan, self.trials = plan_for(args)
        layers = set(args.layers.split(","))
        sweep = len(args.sweep.split(",")) if args.sweep else 0
        self.progress = Progress(estimate_s(self.plan, self.trials, len(services), layers, sweep))
        self.samples: dict[str, dict[str, list[float]]] = {s.name: {} for s in services}
        self.summary: dict = {"schema": 1, "environment": results.environment(), "files": {}}

    @property
    def env(self) -> dict:
        return self.summary["environment"]

    def run(self, layers: set[str]) -> dict:
        for layer in LAYERS:
            if layer in layers:
                getattr(self, layer)()
        services = {name: results.summarize_all(s) for name, s in self.samples.items()}
        return {**self.summary, "services": services}

    def micro(self) -> None:
        self.progress.step("micro suite (pyperf)")
        suites.micro(self.out / "micro.json", self.args.quick, SERVER_CPU)
        self.summary["files"]["micro"] = "micro.json"
        for name, values in suites.ns_per_op(self.out / "micro.json").items():
            family, _, service = name.rstrip("]").partition("[")
            if service in self.samples:
                self.samples[service][f"{family}_ns_per_op"] = values

    def asgi(self) -> None:
        self.progress.step("in-process ASGI suite (pyperf)")
        suites.asgi(self.out / "asgi.json", self.services, self.args.quick, SERVER_CPU)
        self.summary["files"]["asgi"] = "asgi.json"
        for name, values in suites.ns_per_op(self.out / "asgi.json").items():
            self.samples[name.rstrip("]").partition("[")[2]]["asgi_ns_per_op"] = values
        self.progress.step("allocations per request (memray)")
        for service, counts in suites.allocations(self.services, self.args.quick).items():
            self.samples[service]["asgi_allocs_per_op"] = counts["allocs_per_op"]
            self.samples[service]["asgi_bytes_per_op"] = counts["bytes_per_op"]
        quick = self.args.quick
        self.env["pyperf_args"] = suites.pyperf_args(quick)
        self.env["pyperf_rounds"] = suites.rounds(quick)
        self.env["allocations"] = suites.ALLOCATION_METHOD

    def http(self) -> None:
        self.env["pinning"] = pin_loadgen()
        self.progress.step("starting the canned server for the load generator's ceiling")
        with ceiling(self.plan) as canned, tempfile.TemporaryDirectory() as logs:
            plan = dataclasses.replace(self.plan, log_dir=Path(logs))
            if plan.latency_s:
                rate = self.args.rate or common_rate(self.services, plan, self.progress.step)
                plan = dataclasses.replace(plan, rate=rate)
            self.env["http"] = {
                "trials": self.trials, "interleaved": True, "concurrency": plan.connections,
                "warmup_s": plan.warmup_s, "duration_s": plan.duration_s,
                "latency_window_s": plan.latency_s, "offered_rate": plan.rate,
                "loadgen": LOADGENS[plan.loadgen],
                "commands": {s.name: s.command("127.0.0.1", 0)[1:] for s in self.services},
            }  # fmt: skip
            by_service = interleave(
                self.services, plan, self.trials, self.progress.step, after_round=canned.window
            )
            self.env["loadgen_ceiling"] = canned.summary()
            self.record(by_service)
            if self.args.sweep:
                self.sweep(plan)

    def record(self, by_service: dict[str, list[TrialResult]]) -> None:
        files = self.summary["files"]
        for name, trials in by_service.items():
            samples = self.samples[name]
            for trial in trials:
                for metric, value in trial.metrics.items():
                    samples.setdefault(metric, []).append(value)
            http_metrics = {k: samples[k] for k in trials[0].metrics}
            results.http_suite(http_metrics).dump(str(self.out / f"http-{name}.json"), replace=True)
            files.setdefault("http", {})[name] = f"http-{name}.json"
            chunks = [t.latencies_ns for t in trials if t.latencies_ns is not None]
            if chunks:
                results.save_latencies(self.out / f"latency-{name}.npy", chunks)
                files.setdefault("latency", {})[name] = f"latency-{name}.npy"

    def sweep(self, plan: TrialPlan) -> None:
        levels = [int(c) for c in self.args.sweep.split(",") if c]
        sweep: dict[str, dict] = {s.name: {} for s in self.services}
        trials = max(3, self.trials // 3)
        for level in levels:
            level_plan = dataclasses.replace(plan, connections=level, latency_s=0)
            by_service = interleave(self.services, level_plan, trials, self.progress.step)
            for name, runs in by_service.items():
                sweep[name][str(level)] = results.summarize_all(
                    {m: [r.metrics[m] for r in runs] for m in ("http_tps", "http_closed_p99_ms")}
                )
        self.summary["sweep"] = sweep
        self.env["sweep"] = {"concurrency": levels, "trials": trials}
