"""`kvbench COMMAND`: serve, load, bench, compare, report, profile and document the services.

Each command is one module in `kvbench.commands` with `configure(parser)` and `run(args)`;
only the chosen command's module is imported, so `kvbench serve` starts without numpy.
Exit status: 0 done, 1 a failed run or a failed gate, 2 a usage error (a bad flag, or
options that cannot go together), 130 Ctrl-C; `compare --fail-on-regression` adds 3 (the
gate cannot tell) and 4 (it refuses its inputs).
"""

import argparse
import importlib
import sys
from importlib import metadata

from kvbench import KvbenchError, UsageError
from kvbench.measure import progress

# command name -> one-line help; the module is kvbench.commands.<name>.
COMMANDS = {
    "serve": "serve one service exactly as it is benchmarked",
    "loadgen": "put HTTP load on a loopback server, every answer checked",
    "bench": "benchmark the services: layers micro, asgi (time, allocs, GC), instructions, http",
    "peers": "the services next to their peers, ceilings and scaling curves",
    "pythons": "both services and the framework floor under every installed CPython, one run",
    "compare": "compare your run, or any two result sets, like benchstat; gate on regressions",
    "report": "write REPORT.md with tables and plots from a results folder",
    "profile": "CPU, blocking, line and allocation profiles; or attach",
    "docs": "regenerate or check docs/ from the committed results",
    "promote": "make a run of yours the committed reference (maintainers)",
    "gate": "fail when instructions or allocations per request grew since a git revision",
    "export": "a run's HTTP trials as a flat CSV table, one row per trial",
    "soak": "optimized for minutes or hours under load and faults; nothing lost, nothing growing",
    "hostile": "slow and oversized clients against each served configuration",
    "run": "measure one experiment of the catalogue into its part of a run (make bench-NAME)",
    "remeasure": "every committed experiment into one new run, then promoted (make remeasure)",
}


def version() -> str:
    try:
        return metadata.version("kvbench")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def module(name: str):
    return importlib.import_module(f"kvbench.commands.{name}")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Every command is listed; only the chosen one's module is imported for its options."""
    parser = argparse.ArgumentParser(prog="kvbench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kvbench {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module(name).configure(sub)
            if not any("--quiet" in action.option_strings for action in sub._actions):
                sub.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(chosen).parse_args(argv)
    progress.QUIET = bool(getattr(args, "quiet", False))
    try:
        return module(args.command).run(args) or 0
    except UsageError as exc:
        print(f"kvbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KvbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
