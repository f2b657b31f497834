"""`python -m kvbench COMMAND`: one sub-command per module, each with `configure` and `run`."""

import argparse
import importlib
import sys

from kvbench import KvbenchError

# command name -> (module, one-line help); each module adds its own options in `configure`.
COMMANDS = {
    "serve": ("kvbench.serve", "serve one service exactly as it is benchmarked"),
    "compare": ("kvbench.compare", "compare two result sets like benchstat; gate on regressions"),
    "report": ("kvbench.report", "write REPORT.md with tables and plots from a results folder"),
    "bench": ("kvbench.bench", "benchmark the services: micro, in-process ASGI and HTTP layers"),
    "loadgen": ("kvbench.loadgen", "put HTTP load on a loopback server, every answer checked"),
    "profile": ("kvbench.profile", "CPU, blocking, line and allocation profiles; or attach"),
    "peers": ("kvbench.peers", "the services next to their peers, ceilings and scaling curves"),
    "docs": ("kvbench.docgen.command", "regenerate or check docs/ from the committed results"),
}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """Every command is listed; only the chosen one's module is imported for its options."""
    parser = argparse.ArgumentParser(prog="python -m kvbench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module)
        if name == chosen:
            importlib.import_module(module).configure(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(chosen).parse_args(argv)
    try:
        return importlib.import_module(args.module).run(args) or 0
    except KvbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
