"""Inline values that come from the tool rather than the results: the time estimate."""

from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.commands import bench
from kvbench.docgen.sources import Sources
from kvbench.docgen.values import value
from kvbench.measure.progress import minutes

NOWHERE = Sources(Path("no-results"), Path("."))  # an estimate reads no results


def test_the_estimate_is_what_the_command_says_at_its_start():
    seconds = bench.estimate(["--trials", "2"])
    assert minutes(seconds) == value("estimate bench --trials 2", NOWHERE)


def test_the_estimate_follows_the_settings():
    short, full = (bench.estimate(argv) for argv in (["--trials", "2"], []))
    assert short < full
    assert bench.estimate(["--layers", "http"]) < full
    assert value("estimate bench --quick --layers http --trials 1", NOWHERE) == "1 min"


def test_an_estimate_of_options_the_command_refuses_is_an_error():
    with pytest.raises(KvbenchError, match="does not take '--trails 2'"):
        bench.estimate(["--trails", "2"])
    with pytest.raises(KvbenchError, match="--trials and --concurrency"):
        value("estimate bench --concurrency 0", NOWHERE)
