import pytest

from kvbench.measure import syscalls
from kvbench.measure.syscalls import READS, WRITES, Counts, parse

# strace -f -c's summary table, as strace 6.1 prints it (an errors column only when some failed).
TABLE = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 61.20    0.021000          10      2000           write
 30.00    0.010000           5      2000           read
  8.80    0.003000           1       500        12 recvfrom
------ ----------- ----------- --------- --------- ----------------
100.00    0.034000           7      4500        12 total
"""


def test_the_calls_column_is_read_by_syscall_without_the_total():
    assert parse(TABLE) == {"write": 2000, "read": 2000, "recvfrom": 500}


def test_an_empty_table_counts_nothing():
    assert parse("% time     seconds  usecs/call     calls    errors syscall\n") == {}


def test_writes_per_answer_adds_every_write_call():
    counts = Counts(1000, {"write": 1500, "writev": 500, "sendto": 0, "read": 1000})
    assert counts.per_answer(WRITES) == 2.0 and counts.per_answer(READS) == 1.0
    assert counts.to_json()["writes_per_answer"] == 2.0


@pytest.mark.slow
@pytest.mark.skipif(syscalls.strace() is None, reason=syscalls.INSTALL_HINT)
def test_uvicorn_writes_twice_per_answer_and_the_optimized_service_once():
    assert syscalls.writes_per_answer("gcfreeze", requests=300) == 2.0
    assert syscalls.writes_per_answer("optimized", requests=300) == 1.0
