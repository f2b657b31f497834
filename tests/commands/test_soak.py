"""`kvbench soak`'s options (the run itself: tests/soak/test_soak.py)."""

import argparse

import pytest

from kvbench.commands.soak import duration


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600)])
def test_a_duration_reads_seconds_minutes_or_hours(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "-5m", "ten", "5x"])
def test_a_bad_duration_says_what_it_takes(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)
