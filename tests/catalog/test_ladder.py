"""The rungs: every service of the ladder once, in order, with its frames and its store's bound."""

from kvbench.catalog import ladder
from kvbench.services import LADDER, in_process_services


def test_the_rungs_are_the_ladders_services_in_order():
    assert [rung.service for rung in ladder.RUNGS] == [service for service, _ in LADDER]
    assert [rung.change for rung in ladder.RUNGS] == [change for _, change in LADDER]
    assert tuple(rung.name for rung in ladder.RUNGS) == ladder.NAMES


def test_only_the_first_rung_has_no_target_and_no_target_names_a_missing_rung():
    assert set(ladder.TARGETS) <= set(ladder.NAMES)
    without = [rung.name for rung in ladder.RUNGS if rung.targets is None]
    assert without == [ladder.NAMES[0]]


def test_every_rung_says_where_its_store_keeps_its_bound():
    assert all(rung.store_bound for rung in ladder.RUNGS)
    assert set(ladder.STORE_BOUNDS) == {rung.app for rung in ladder.RUNGS}  # none left over


def test_the_code_rungs_are_those_the_in_process_layers_measure():
    rungs = [rung.service for rung in ladder.RUNGS]
    assert ladder.code_rungs() == [service.name for service in in_process_services(rungs)]
    assert ladder.code_rungs()[0] == ladder.NAMES[0]


def test_a_rung_is_found_by_name():
    first = ladder.RUNGS[0]
    assert ladder.rung(first.name) is first
