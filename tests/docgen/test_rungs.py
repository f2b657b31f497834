"""docs/04's ladder tables: time-based shares, GC columns, in-process code measured once."""

import json

import pytest

from kvbench import KvbenchError
from kvbench.docgen import rungs
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.docgen.values import value
from kvbench.results.summary import Summary
from kvbench.services import LADDER

RUNGS = [service.name for service, _ in LADDER]


@pytest.fixture
def sources(tmp_path, write_ladder) -> Sources:
    write_ladder(tmp_path)
    return Sources(tmp_path, tmp_path)


def row(text: str, rung: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| `{rung}` |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_shares_are_of_time_per_request_and_add_up_to_the_whole_saving(sources):
    ladder = rungs.Ladder(sources)
    shares = {r: ladder.share(r, "http_tps")[0] for r in RUNGS[1:]}
    assert sum(shares.values()) == pytest.approx(100)
    # 1,000 -> 820 µs of 900 µs saved; by requests per second it would be 2.5%.
    assert shares["httptools"] == pytest.approx(20, abs=0.1)
    assert shares["async"] == pytest.approx(35, abs=0.1)
    assert value("ladder async http_tps share", sources) == "35%"


def test_overview_shows_gc_columns_and_no_in_process_numbers_for_identical_code(sources):
    text = rungs.overview(sources)
    assert "GC collections per 4 s window" in text.splitlines()[0]
    assert row(text, "noserverheader")[-4:] == ["500", "18.0 ms", "same code", "same code"]
    assert row(text, "async")[-4:] == ["3", "0.120 ms", "23.0 µs", "173"]
    assert row(text, "optimized")[-2:] == row(text, "granian")[-2:] == ["same code"] * 2
    assert row(text, "noproxyheaders")[5] == "~"  # a share inside the noise is not shown
    assert "the `~` rungs together 0%" in text


def test_rung_table_folds_into_details_and_says_same_code_once(sources):
    text = rungs.rung_table(sources, "gcfreeze", "details")
    assert text.startswith("<details><summary>All measurements: `gcfreeze` against `hotpath`")
    assert "| In-process layers | same code in-process | same code in-process |" in text
    assert "In-process ASGI" not in text
    table, said = text.split("</details>")
    assert "in-process the same code (the apps differ only in their lifespan" in said
    code_rung = rungs.rung_table(sources, "async")
    assert "| In-process ASGI request | 100 µs" in code_rung and "<details>" not in code_rung


def test_noise_shares_read_as_a_tilde_and_costs_that_grew_as_more(sources):
    text = rungs.rung_table(sources, "noproxyheaders")
    assert "| ~ (p=1.000, n=10) | 1.46x (1.45 to 1.47) | ~ |" in text
    assert rungs.times((0.5, (0.4, 0.6)), "lower") == "2.00x more (1.67 to 2.50)"
    # said inline, a noise step's share is the table's `~`, not a number
    assert value("ladder noproxyheaders http_tps share", sources).startswith("no share")


def test_a_cost_that_fell_to_zero_or_grew_from_zero_is_said_in_words():
    # granian's closed-loop windows count no collections at all: there is no "x less" of 0
    some, none, mixed = Summary.of([3, 4, 3, 5, 4, 3]), Summary.of([0] * 6), Summary.of([0, 1] * 3)
    assert rungs.times(rungs.cumulative(some, none, "lower"), "lower") == "to 0"
    assert rungs.times(rungs.cumulative(none, some, "lower"), "lower") == "from 0"
    assert rungs.times(rungs.cumulative(none, none, "lower"), "lower") == "0 at both"
    said = rungs.times(rungs.cumulative(some, mixed, "lower"), "lower")
    assert said.startswith("7.00x less") and "(" not in said  # no bound divides by zero


def test_gc_step_names_the_rung_where_collections_fell_most(sources):
    assert value("ladder largest-step gc_collections", sources) == "`async`"
    said = rungs.gc_step(sources)
    assert said.startswith("GC collections per 4 s window fell most at rung `async`")
    assert "from 500 to 3, and the longest pause from 18.0 ms to 0.120 ms." in said


def test_a_ladder_run_without_every_rung_is_not_measured_yet(sources, tmp_path):
    path = tmp_path / "ladder" / "summary.json"
    summary = json.loads(path.read_text())
    del summary["services"]["uvloop"], summary["services"]["granian"]
    path.write_text(json.dumps(summary))
    with pytest.raises(NotMeasured, match="has no `uvloop`, `granian`; run `make bench-ladder`"):
        rungs.overview(Sources(tmp_path, tmp_path))


def test_a_rung_that_is_not_in_the_ladder_is_an_error(sources):
    with pytest.raises(KvbenchError, match="'server' is not a rung"):
        rungs.rung_table(sources, "server")
    with pytest.raises(KvbenchError, match="optionally `details`, not 'folded'"):
        rungs.rung_table(sources, "async", "folded")


def test_instructions_get_their_own_share_column_when_the_run_has_them(sources, tmp_path):
    path = tmp_path / "ladder" / "summary.json"
    summary = json.loads(path.read_text())
    for metrics in summary["services"].values():
        if "asgi_ns_per_op" in metrics:  # 10 instructions per in-process ns, exactly
            values = [v * 10 for v in metrics["asgi_ns_per_op"]["values"]]
            metrics["asgi_instructions_per_op"] = {"values": values}
    path.write_text(json.dumps(summary))
    ladder = rungs.Ladder(Sources(tmp_path, tmp_path))
    shares = [ladder.share(r, "asgi_instructions_per_op")[0] for r in RUNGS[1:]]
    assert sum(shares) == pytest.approx(100)
    text = rungs.overview(Sources(tmp_path, tmp_path))
    assert text.splitlines()[0].endswith("| share of the instructions saved |")
    assert row(text, "httptools")[-1] == "same code"
    assert row(text, "async")[-1].startswith("79%")  # 100 -> 23 of the 97 µs saved in-process


def test_instructions_as_the_valgrind_layer_records_them_render(sources, tmp_path):
    # Three repeats per piece of in-process code, equal to the instruction but for the
    # naive app's thread pool: what `kvbench bench --layers instructions` writes.
    path = tmp_path / "ladder" / "summary.json"
    summary = json.loads(path.read_text())
    for metrics in summary["services"].values():
        if "asgi_ns_per_op" in metrics:
            count = round(metrics["asgi_ns_per_op"]["median"] * 3)
            metrics["asgi_instructions_per_op"] = {"values": [count, count, count + 700]}
    path.write_text(json.dumps(summary))
    text = rungs.overview(Sources(tmp_path, tmp_path))
    assert row(text, "async")[-2:] == ["69,000 instr/op", "79%"]
    assert row(text, "optimized")[-2:] == ["same code", "same code"]
    said = rungs.rung_table(Sources(tmp_path, tmp_path), "async")
    assert "| Instructions per request (in-process) | 300,000 instr/op | 69,000 instr/op |" in said


def test_a_rung_says_its_paired_ratio_beside_the_unpaired_test(tmp_path, write_ladder):
    path = write_ladder(tmp_path)
    summary = json.loads(path.read_text())
    ratios = [1.01, 1.05, 1.03, 1.04, 1.06, 1.02, 1.04, 1.05, 1.03, 1.04]
    summary["paired"] = {
        "uvloop": {
            "vs": "noaccesslog",
            "metrics": {
                "http_tps": {
                    "median": 1.04,
                    "ci_low": 1.02,
                    "ci_high": 1.05,
                    "n": 10,
                    "values": ratios,
                }
            },
        }
    }
    path.write_text(json.dumps(summary))
    said = rungs.verdict(rungs.Ladder(Sources(tmp_path, tmp_path)), "uvloop")
    stat = Summary.of(ratios)
    assert stat.ci is not None
    expected = f"paired: {stat.median:.2f}x (95% CI {stat.ci[0]:.2f} to {stat.ci[1]:.2f}, n=10)"
    assert expected in said
    # a rung without stored pairs says only the test
    assert "paired" not in rungs.verdict(rungs.Ladder(Sources(tmp_path, tmp_path)), "async")


def test_story_has_a_row_per_step_and_says_when_a_rung_was_not_profiled(sources):
    text = rungs.story(sources)
    rows = [line for line in text.split("\n") if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == RUNGS[1:]
    profiled = [r for r in rows if "no frame:" not in r]
    assert profiled and all("| not profiled | — |" in r for r in profiled)
    assert "GIL-held" in text
