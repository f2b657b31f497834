"""kvbench/soak/client.py: what the soak's own load keeps of each request."""

import gc

from kvbench.soak.client import PUT_KEYS, Client, Puts, put_key


def test_the_put_outcomes_leave_no_object_for_the_gc_to_walk():
    # A 30-minute soak keeps 2.4 million PUT outcomes; one GC-tracked object each made
    # every full collection stall the sender for about a second.
    client = Client("127.0.0.1", 1)
    gc.collect()
    before = len(gc.get_objects())
    for i in range(20_000):
        request = client.next_request(float(i))
        client.finish(request, None if i % 3 else "timeout")
    gc.collect()
    assert len(client.puts) > 1_000
    assert len(gc.get_objects()) - before < 100


def test_put_outcomes_kept_in_columns_read_back_as_written():
    puts = Puts()
    puts.add("soak-0042", "v7", 1.0, 2.0, True)
    puts.add(put_key(PUT_KEYS - 1), "v9", 3.0, 4.5, False)
    puts.add("soak-0042", "v12", 5.0, 6.0, True)
    assert len(puts) == 3 and puts.keys() == ["soak-0042", "soak-1999"]
    assert puts.acknowledged_before() == 2 and puts.acknowledged_before(5.0) == 1
    (key, first), (_, second) = puts.columns().by_key()
    assert key == "soak-0042" and first.sequence.tolist() == [7, 12]
    assert second.done.tolist() == [4.5] and second.acknowledged.tolist() == [False]


def test_no_put_kept_reads_as_no_key_written():
    assert Puts().columns().by_key() == [] and Puts().keys() == []
    assert Puts().acknowledged_before() == 0
