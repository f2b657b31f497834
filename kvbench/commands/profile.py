"""`kvbench profile`: CPU, blocking, line and allocation profiles of each service.

Profiles go to the run folder's profiles/ (`kvbench.results.runs`), never into the reference.
"""

import argparse
import sys
from pathlib import Path

from kvbench import UsageError
from kvbench.catalog.ladder import RUNGS
from kvbench.profiling import memray, pyspy, scalene
from kvbench.profiling.artifacts import Artifact, shown
from kvbench.profiling.index import run_meta, write_manifest, write_readme
from kvbench.results import runs
from kvbench.services import Service, get_service

DEFAULT_SERVICES = ("unoptimized", "optimized")
LOAD_SECONDS = 10.0
LIVE_SECONDS = 30
STEPS = ("cpu", "native", "blocking", "lines", "allocs")
# What docs/03 and docs/04 show of every rung: the CPU view (flamegraph and speedscope).
LADDER_STEPS = ("cpu",)

EPILOG = """\
live profiling of a running service (one started by `kvbench serve`; the uvicorn pid
is "pid" in its /debug/vars):
  kvbench profile --pid PID --seconds 30   attach, write a flamegraph, print a dump
  py-spy top --pid PID                      a live, top-like view of the same process

Attaching to a running process needs ptrace: run as root or with CAP_SYS_PTRACE, or set
/proc/sys/kernel/yama/ptrace_scope to 0; on Kubernetes add the capability with
securityContext.capabilities.add: [SYS_PTRACE]. The live recording uses --nonblocking, so
the service is never paused. Profiling by service name needs none of this: the server
runs as py-spy's child.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    default = " ".join(DEFAULT_SERVICES)
    add = parser.add_argument
    add("services", nargs="*", metavar="SERVICE", help=f"what to profile (default: {default})")
    add("--run", metavar="RUN", help="the run folder under bench-results/runs/ that gets "
        "profiles/: latest (the default), new or a run's name")  # fmt: skip
    add("--out", type=Path, help="write here instead of the run folder's profiles/")
    add("--seconds", type=float, help=f"measured load per py-spy run (default {LOAD_SECONDS:g}); "
        f"with --pid, how long to record (default {LIVE_SECONDS})")  # fmt: skip
    add("--rate", type=int, default=100, help="py-spy samples per second (default %(default)s)")
    add("--connections", type=int, default=64, help="load connections (default %(default)s)")
    add("--requests", type=int, default=2000,
        help="measured in-process requests for memray, batch size for scalene")  # fmt: skip
    add("--only", action="append", choices=STEPS, help="only these profiles (repeatable)")
    add("--ladder", action="store_true", help="every rung of docs/04, CPU view only by default")
    add("--pid", type=int, help="attach to this running process instead")


def note(message: str) -> None:
    """Progress on a terminal only: a long run stays quiet when its output is captured."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def check(args: argparse.Namespace) -> None:
    if args.rate <= 0 or args.connections <= 0 or args.requests <= 0:
        raise UsageError("--rate, --connections and --requests must be positive")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    if args.ladder and (args.services or args.pid is not None):
        raise UsageError("--ladder profiles every rung: name no services and no --pid")


def run(args: argparse.Namespace) -> int:
    check(args)
    if args.pid is not None:
        return live(args)
    if args.ladder:
        services = [rung.service for rung in RUNGS]
        args.only = args.only or list(LADDER_STEPS)
    else:
        services = [get_service(name) for name in args.services or DEFAULT_SERVICES]
    out = args.out or runs.start(args.run or runs.LATEST) / "profiles"
    refused = [profile_service(service, out, args) for service in services]
    readme = write_readme(out)
    print(f"wrote {shown(readme)} and {', '.join(shown(out / s.name) for s in services)}")
    return 1 if any(refused) else 0


def profile_service(service: Service, out: Path, args: argparse.Namespace) -> bool:
    """Make every asked-for profile of one service; True if py-spy was refused."""
    service_dir = out / service.name
    service_dir.mkdir(parents=True, exist_ok=True)
    meta, artifacts, refused = run_meta(), [], False
    for step in args.only or STEPS:
        note(f"{service.name}: {step} ...")
        try:
            artifacts += make(step, service, service_dir, args)
        except pyspy.PtraceRefused as exc:
            print(f"warning: {service.name} {step} skipped: {exc}", file=sys.stderr)
            refused = True
    write_manifest(service_dir, service.name, artifacts, meta)
    return refused


def make(step: str, service: Service, out: Path, args: argparse.Namespace) -> list[Artifact]:
    seconds = args.seconds or LOAD_SECONDS
    if step == "lines":
        return scalene.line_profile(service, out, args.requests)
    if step == "allocs":
        return memray.alloc_profile(service, out, args.requests)
    views = {
        "cpu": (pyspy.CPU_SVG, pyspy.CPU_SPEEDSCOPE),
        "native": (pyspy.NATIVE_SPEEDSCOPE,),
        "blocking": (pyspy.BLOCKING_SVG,),
    }[step]
    return [pyspy.record(service, v, out, args.rate, seconds, args.connections) for v in views]


def live(args: argparse.Namespace) -> int:
    """Attach to a running process: print one dump, then record a flamegraph."""
    seconds = max(1, round(args.seconds or LIVE_SECONDS))  # py-spy takes whole seconds
    print(pyspy.dump(args.pid), flush=True)
    out_dir = args.out or runs.start(args.run or runs.LATEST) / "profiles" / "live"
    out_dir.mkdir(parents=True, exist_ok=True)
    note(f"recording pid {args.pid} for {seconds} s at {args.rate} Hz ...")
    out = out_dir / f"live-{args.pid}.pyspy.svg"
    pyspy.attach(args.pid, seconds, out, args.rate)
    print(f"wrote {shown(out)}")
    return 0
