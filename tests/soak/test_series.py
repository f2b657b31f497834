"""kvbench/soak/series.py: what a row pairs with what."""

import os
from types import SimpleNamespace

from kvbench.soak import series


class Redis:
    """A stand-in DurableRedis: this process plays Redis's process; INFO comes from `answers`."""

    def __init__(self, *answers: dict) -> None:
        self.pid, self.answers = os.getpid(), list(answers)

    def memory(self) -> dict:
        return self.answers.pop(0)


def columns(redis: Redis) -> dict:
    return series.process_columns(SimpleNamespace(processes=list), redis)


def test_redis_memory_is_read_with_its_process_and_only_from_that_redis():
    row = columns(Redis({"pid": os.getpid(), "used_mb": 2.5, "used_peak_mb": 2.5, "clients": 3}))
    assert row["redis_pid"] == os.getpid() and row["redis_used_mb"] == 2.5
    assert row["redis_clients"] == 3
    # Killed and restarted between the two reads: the new Redis's memory is not this row's.
    row = columns(
        Redis({"pid": os.getpid() + 1, "used_mb": 9.0, "used_peak_mb": 9.0, "clients": 5})
    )
    assert row["redis_pid"] == os.getpid() and "redis_used_mb" not in row
    assert "redis_clients" not in row
    assert "redis_used_mb" not in columns(Redis({}))  # no answer in time


def test_redis_peak_memory_is_a_column_so_a_burst_between_samples_shows(tmp_path):
    row = columns(Redis({"pid": os.getpid(), "used_mb": 2.5, "used_peak_mb": 40.0, "clients": 3}))
    assert row["redis_used_peak_mb"] == 40.0
    series.write_csv([row | {"t_s": 1.0}], tmp_path / "series.csv")
    assert series.read_csv(tmp_path / "series.csv")[0]["redis_used_peak_mb"] == 40.0


def test_a_rewrite_redis_has_begun_is_not_counted_until_it_is_done():
    from kvbench.soak.stack import completed_rewrites

    assert completed_rewrites({"aof_rewrites": 3, "aof_rewrite_in_progress": 1}) == 2
    assert completed_rewrites({"aof_rewrites": 3, "aof_rewrite_in_progress": 0}) == 3
    assert completed_rewrites({"used_memory": 1}) is None  # a Redis before 7
