"""`kvbench peers`: the two services next to their peers and ceilings, then scaling curves."""

import argparse
from pathlib import Path

from kvbench import KvbenchError, UsageError
from kvbench.commands.bench import verdict
from kvbench.measure import curves
from kvbench.measure.options import connections_option
from kvbench.measure.peers import Settings, estimate_s, measure, rows
from kvbench.measure.progress import Progress, minutes
from kvbench.results import files, runs


def configure(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--run", metavar="RUN", help="the run folder under bench-results/runs/ that gets "
        "peers/: latest (the default), new or a run's name")  # fmt: skip
    add("--out", type=Path, help="write here instead of the run folder's peers/")
    add("--quick", action="store_true", help="1 trial, 0.5 s windows (a smoke run)")
    add("--trials", type=int, help="trials per row (default 10)")
    add("--curve-trials", type=int, help="trials per curve point (default 3)")
    connections_option(parser, 64, "connections for the rows (default 64)")
    add("--rate", type=float, help="open-loop offered rate (default: calibrated)")
    add("--curves", default=",".join(curves.CURVES), help="any of concurrency,keys,workers")
    add("--levels", help="concurrency curve, e.g. 1,8,64,256,1024")
    add("--keys", help="key-count curve, e.g. 1000,100000,1000000")
    add("--workers", help="worker-count curve (default 1 to the CPU count)")
    add("--strict", action="store_true", help="exit 1 when a headroom or saturation check fails")


def settings_from(args: argparse.Namespace) -> Settings:
    quick = dict(duration_s=0.5, latency_s=0.5) if args.quick else {}
    settings = Settings(
        trials=_given(args.trials, 1 if args.quick else Settings.trials),
        curve_trials=_given(args.curve_trials, 1 if args.quick else Settings.curve_trials),
        connections=args.concurrency,
        rate=args.rate,
        curves=curves.curves_from(args.curves, args.levels, args.keys, args.workers),
        **quick,
    )
    if min(settings.trials, settings.curve_trials, settings.connections) < 1:
        raise UsageError("--trials, --curve-trials and --connections must be at least 1")
    if settings.rate is not None and settings.rate <= 0:
        raise UsageError("--rate must be above 0 requests/s")
    return settings


def _given(value: int | None, default: int) -> int:
    return default if value is None else value  # 0 is given, and refused above


def estimate(argv: list[str]) -> float:
    """Seconds `kvbench peers ARGV` should take with the rows this machine can run."""
    parser = argparse.ArgumentParser(prog="kvbench peers")
    configure(parser)
    return estimate_s(settings_from(parser.parse_args(argv)), len(rows()[0]))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    chosen, skipped = rows()
    out = args.out or runs.start(args.run or runs.LATEST) / "peers"
    progress = Steps(estimate_s(settings, len(chosen)))
    progress.say(
        f"peers: {len(chosen)} rows x {settings.trials} trials, then "
        f"{', '.join(settings.curves.names) or 'no'} curves ({settings.curve_trials} trials "
        f"a point) into {runs.shown(out)}/: about {minutes(progress.total_s)}"
    )
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = measure(settings, chosen, skipped, out, progress)
    except KvbenchError as exc:  # say which server and trial it was
        raise KvbenchError(f"{progress.last}: {exc}") from None
    files.write_json(out / "summary.json", summary)
    from kvbench.report.peers import write_report  # matplotlib only once there is data

    report = write_report(out, summary)
    done = f"{runs.shown(out)}/summary.json, {runs.shown(report)}"
    progress.say(f"done in {progress.elapsed_s() / 60:.1f} min: {done}")
    reference = runs.shown(runs.REFERENCE / "peers")
    progress.say(f"compare it with the reference: kvbench compare {reference} {runs.shown(out)}")
    return verdict(summary.get("checks") or {}, args.strict)


class Steps(Progress):
    """Progress that remembers its last step, to name it when something fails."""

    last = "before the first trial"

    def step(self, text: str) -> None:
        self.last = text
        super().step(text)
