"""kvbench: serve, load, measure, compare, profile and report the two key-value services."""

from pathlib import Path

# The checkout: the services are imported from it and bench-results/ lives in it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class KvbenchError(Exception):
    """An error the command line reports in one clear line, without a traceback (exit 1)."""


class UsageError(KvbenchError):
    """A command asked for something it cannot do as given: exit 2, like argparse's errors."""
