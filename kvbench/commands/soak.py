"""`kvbench soak`: the optimized service for a long time under load and faults, checked."""

import argparse
import asyncio
import signal
from pathlib import Path

from kvbench import UsageError
from kvbench.measure.progress import minutes
from kvbench.results import runs


def duration(text: str) -> float:
    """Seconds from `90`, `90s`, `10m` or `1h`."""
    units = {"s": 1, "m": 60, "h": 3600}
    scale = units.get(text[-1:].lower(), 0)
    number = text[:-1] if scale else text
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration like 90s, 10m or 1h, not {text!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the duration must be positive")
    return seconds


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=duration, default=600.0,
                        help="seconds of load (90s, 10m, 1h; default 10m)")  # fmt: skip
    parser.add_argument("--fraction", type=float, default=0.8,
                        help="the open loop's rate: this fraction of the capacity")  # fmt: skip
    parser.add_argument("--capacity-window", type=duration, default=10.0,
                        help="seconds of the closed-loop capacity window (default 10)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=0,
                        help="rounds of every fault kind (default 1 per 10 minutes)")  # fmt: skip
    parser.add_argument("--run", default=runs.LATEST,
                        help="the run to write soak/ into: new, latest or a name")  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write into DIR instead of the run's soak/ folder")  # fmt: skip
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="only rewrite REPORT.md and the plots of the soak in DIR")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from kvbench.soak import report
    from kvbench.soak.run import Settings, Soak, estimate_s, say
    from kvbench.soak.verdict import verdicts

    if args.report:
        report.rewrite(args.report)
        print(f"wrote {args.report / 'REPORT.md'}")
        return 0
    if not 0 < args.fraction <= 1:
        raise UsageError("--fraction must be in (0, 1]")
    settings = Settings(args.duration, args.fraction, args.capacity_window, args.rounds)
    folder = args.out or runs.start(args.run) / "soak"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"soak: about {minutes(estimate_s(settings))} (load {args.duration:g} s); into {folder}")
    signal.signal(signal.SIGTERM, _interrupt)
    outcome = asyncio.run(Soak(settings, folder).run())
    found = verdicts(outcome)
    report.write(outcome, found, folder)
    for name, check in found.items():
        if name != "ok":
            say(f"check {name}: {({True: 'pass', False: 'FAIL', None: 'undecided'})[check['ok']]}")
    say(f"wrote {folder}/summary.json, series.csv, REPORT.md, plots/soak.png")
    return 0 if found["ok"] else 1


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
