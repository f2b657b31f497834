"""Command-line options shared by the measuring commands (argparse only: cheap to import)."""

import argparse


def connections_option(parser: argparse.ArgumentParser, default: int, help_text: str) -> None:
    """`--connections N`, the one spelling; `--concurrency` is still read, unlisted."""
    parser.add_argument("--connections", dest="concurrency", type=int, default=default,
                        metavar="N", help=help_text)  # fmt: skip
    parser.add_argument("--concurrency", dest="concurrency", type=int,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # fmt: skip
