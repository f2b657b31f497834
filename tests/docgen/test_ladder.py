"""The ladder's blocks: time-based shares, GC columns, in-process code measured once."""

import json

import pytest

from kvbench import KvbenchError
from kvbench.docgen import ladder as rungs
from kvbench.docgen.generate import value
from kvbench.docgen.sources import NotMeasured, Sources
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
    ladder = rungs.measured(sources)
    shares = {r: ladder.share(r, "http_tps")[0] for r in RUNGS[1:]}
    assert sum(shares.values()) == pytest.approx(100)
    # 1,000 -> 820 µs of 900 µs saved; by requests per second it would be 2.5%.
    assert shares["httptools"] == pytest.approx(20, abs=0.1)
    assert shares["async"] == pytest.approx(35, abs=0.1)
    assert value('rung_share("async", "http_tps")', sources) == "35%"


def test_overview_shows_gc_counts_and_no_in_process_numbers_for_identical_code(sources):
    text = rungs.overview(sources)
    assert "GC collections per 4 s window" in text.splitlines()[0]
    assert row(text, "noserverheader")[-1] == "500"
    assert row(text, "async")[-1] == "3"
    assert row(text, "noproxyheaders")[4] == "~"  # a share inside the noise is not shown
    assert row(text, "httptools")[3].startswith("+22%")  # 1,000 -> 820 µs: 1.22x the requests
    assert "the `~` rungs together 0%" in text


def test_a_row_the_runs_own_checks_flagged_is_marked_with_the_checks_note(sources, tmp_path):
    assert "‡" not in rungs.overview(sources)  # a run whose checks flag nothing marks nothing
    path = tmp_path / "ladder" / "summary.json"
    data = json.loads(path.read_text())
    moved = {"status": "undecided", "service": "granian", "ratio": 0.902, "tolerance": 0.02}
    path.write_text(json.dumps(data | {"checks": {"sensitivity": moved}}))
    text = rungs.overview(Sources(tmp_path, tmp_path))
    assert next(line for line in text.splitlines() if "`granian`" in line).startswith(
        "| `granian` ‡ |"
    )
    assert "‡: the sensitivity check on `granian` was undecided" in text


def test_a_rung_is_the_compare_table_with_in_process_code_measured_once(sources):
    server_only = rungs.rung(sources, "gcfreeze")
    assert server_only.startswith("| metric | unit (↑ higher / ↓ lower is better) | hotpath |")
    assert "| http_tps |" in server_only and "asgi_ns_per_op" not in server_only
    assert "In-process: the same code as `hotpath` (the apps differ only in their lifespan" in (
        server_only
    )
    # async's code is measured, against the code its predecessor runs (the naive app's)
    code = rungs.rung(sources, "async")
    assert "| asgi_ns_per_op | ns/op ↓ | 100.0k ± 0% | 23.00k ± 0% |" in code
    assert "In-process: the same code" not in code
    assert "_Target frames: not measured yet: no cpu.speedscope.json of `noserverheader`" in code


def test_noise_shares_read_as_a_tilde(sources):
    assert value('rung_share("noproxyheaders", "http_tps")', sources).startswith("no share")
    assert value('rungs_share("httptools", "uvloop", "http_tps")', sources) == "35%"
    assert value('largest_step("gc_collections")', sources) == "`async`"


def test_a_ladder_run_without_every_rung_is_not_measured_yet(sources, tmp_path):
    path = tmp_path / "ladder" / "summary.json"
    summary = json.loads(path.read_text())
    del summary["services"]["uvloop"], summary["services"]["granian"]
    path.write_text(json.dumps(summary))
    with pytest.raises(NotMeasured, match="has no `uvloop`, `granian`; run `make bench-ladder`"):
        rungs.overview(Sources(tmp_path, tmp_path))


def test_a_rung_that_is_not_in_the_ladder_is_an_error(sources):
    with pytest.raises(KvbenchError, match="'server' is not a rung"):
        rungs.rung(sources, "server")
    with pytest.raises(KvbenchError, match="'unoptimized' is not a rung"):
        rungs.rung(sources, "unoptimized")  # the first rung has none before it


def test_instructions_get_their_own_share_column_when_the_run_has_them(
    sources, tmp_path, quiet_step
):
    path = tmp_path / "ladder" / "summary.json"
    summary = json.loads(path.read_text())
    for metrics in summary["services"].values():
        if "asgi_ns_per_op" in metrics:  # 10 instructions per in-process ns, exactly
            values = [v * 10 for v in metrics["asgi_ns_per_op"]["values"]]
            metrics["asgi_instructions_per_op"] = {"values": values}
    path.write_text(json.dumps(summary))
    ladder = rungs.measured(Sources(tmp_path, tmp_path))
    shares = [ladder.share(r, "asgi_instructions_per_op")[0] for r in RUNGS[1:]]
    assert sum(shares) == pytest.approx(100)
    text = rungs.overview(Sources(tmp_path, tmp_path))
    assert text.splitlines()[0].endswith("| share of the instructions saved |")
    assert row(text, "httptools")[-2:] == ["same code"] * 2
    assert row(text, "async")[-1].startswith("79%")  # 100 -> 23 of the 97 µs saved in-process
    # a step that is noise in throughput is not noise in instructions: its share is said
    sources = Sources(tmp_path, tmp_path)
    quiet = quiet_step  # 2,000 of the 97,000 ns saved in-process
    assert value(f'rung_share("{quiet}", "http_tps")', sources).startswith("no share")
    assert value(f'rung_share("{quiet}", "asgi_instructions_per_op")', sources) == "2.1%"


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
    assert row(text, "async")[-2][:6] == "69,000" and row(text, "async")[-1].startswith("79%")
    assert row(text, "optimized")[-2:] == ["same code", "same code"]
    said = rungs.rung(Sources(tmp_path, tmp_path), "async")
    assert "| asgi_instructions_per_op | instr/op ↓ | 300.0k ± ∞ ⁴ | 69.00k ± ∞ ⁴ |" in said
    # a paired row's word is the ladder's step rule (its family interval), and says so
    assert "+85.14% (+84.4% to +85.9%, p=0.000 n=10) better ¹ |" in said
    assert "¹ the word: the change's 99.6% interval (paired, one of 14 comparisons" in said


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
    said = rungs.rung(Sources(tmp_path, tmp_path), "uvloop")
    assert "| paired, uvloop / noaccesslog per round |" in said
    assert "| http_tps | 1.04 |" in said
    # a rung without stored pairs has no paired table, and its words come from unpaired ones
    alone = rungs.rung(Sources(tmp_path, tmp_path), "async")
    assert "| paired," not in alone and "interval (unpaired)" in alone


def test_story_has_a_row_per_step_and_says_when_a_rung_was_not_profiled(sources):
    text = rungs.story(sources)
    rows = [line for line in text.split("\n") if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == RUNGS[1:]
    profiled = [r for r in rows if "no frame:" not in r]
    assert profiled and all("| not profiled | — |" in r for r in profiled)
    assert "GIL-held" in text


def test_a_step_from_too_few_rounds_for_the_family_interval_says_so(tmp_path, write_ladder):
    # Nine rounds cannot bound a median at 1 - 0.05/14 by order statistics: no interval,
    # so no step is named, and the cell says why instead of "not paired".
    path = write_ladder(tmp_path)
    summary = json.loads(path.read_text())
    summary["paired"]["async"]["metrics"]["http_tps"] = Summary.of([2.0] * 9).to_json()
    path.write_text(json.dumps(summary))
    text = rungs.overview(Sources(tmp_path, tmp_path))
    assert row(text, "async")[3].startswith("~ (no 99.6% interval from n=9)")
    assert row(text, "async")[4] == "~"  # and no share is claimed for it
