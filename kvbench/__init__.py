"""kvbench: serve, load, measure, compare, profile and report the two key-value services."""


class KvbenchError(Exception):
    """An error the command line reports in one clear line, without a traceback."""
