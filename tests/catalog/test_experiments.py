"""The experiments: one entry per part, and every list of parts derived from them."""

import importlib.util

from kvbench import PROJECT_ROOT, cli
from kvbench.catalog import experiments
from kvbench.catalog.experiments import EXPERIMENTS
from kvbench.docgen import sources
from kvbench.results import runs


def test_names_are_unique_and_main_writes_the_top_of_a_run():
    names = [item.name for item in EXPERIMENTS]
    assert len(names) == len(set(names))
    assert experiments.MAIN.folder == "" and experiments.MAIN.path == "summary.json"


def test_the_parts_of_a_run_and_of_the_docs_are_the_catalogues():
    folders = {item.folder for item in EXPERIMENTS if item.folder}
    assert set(runs.PARTS) == folders
    assert set(sources.PARTS) == {item.name for item in EXPERIMENTS if item.folder}
    assert set(sources.RESULT_SETS) <= set(sources.PARTS)
    assert sources.PARTS["ladder"] == ("ladder/summary.json", "make bench-ladder", "Ladder")


def test_every_step_is_a_kvbench_command_or_a_module_that_exists():
    for item in EXPERIMENTS:
        for step in item.steps:
            if step[0] == "python":
                assert step[1] == "-m" and importlib.util.find_spec(step[2]), step
            else:
                assert step[0] in cli.COMMANDS, step


def test_every_target_is_in_the_makefile():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    for item in EXPERIMENTS:
        assert f"\n{item.target}: " in makefile, item.target


def test_bench_parts_are_the_parts_kvbench_bench_writes_alone():
    for name in experiments.bench_parts():
        (step,) = experiments.BY_NAME[name].steps[:1]
        assert step[:3] == ("bench", "--part", name)
