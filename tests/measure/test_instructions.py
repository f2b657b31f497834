"""Instructions per request: the arithmetic and checks with a fake valgrind, then real counts."""

import io
import json
import sys
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.catalog.ladder import code_rungs
from kvbench.measure import instructions
from kvbench.measure.instructions import (
    INSTALL_HINT,
    Result,
    Target,
    check,
    fit,
    measure,
    parse_total,
)
from kvbench.measure.layers import BenchPlan, Layers
from kvbench.measure.progress import Progress
from kvbench.measure.trials import TrialPlan
from kvbench.services import LADDER, SERVICES

BODY, TYPE = '{"key":"key-0042","value":"test-value"}', "application/json"
RIGHT = {"status": 200, "body": BODY, "headers": [["content-type", TYPE]], "last_status": 200,
         "hits_in_window": 1000, "gc_collections_in_window": [0, 0, 0]}  # fmt: skip
APP = Target("app")
COUNTED = "tests.apps.counted"

# A stand-in for valgrind: writes a cachegrind file whose total is FIXED + PER x requests
# and prints the child's report; records its argv, environment and cwd in `folder`.
FAKE = """\
#!{python}
import json, os, sys
if "--version" in sys.argv:
    print("valgrind-fake")
    sys.exit(0)
out = next(a for a in sys.argv if a.startswith("--cachegrind-out-file=")).split("=", 1)[1]
requests = int(sys.argv[sys.argv.index("--requests") + 1])
with open(out, "w") as f:
    f.write("events: Ir\\nsummary: %d\\n" % ({fixed} + {per} * requests))
seen = {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
with open(os.path.join({record!r}, "%09d.json" % requests), "w") as f:
    json.dump(seen, f)
print(json.dumps(dict({report}, hits_in_window=requests)))
"""


def fake_valgrind(folder: Path, fixed: int = 300_000_000, per: int = 22_000, **report) -> str:
    path = folder / "valgrind"
    answer = {**RIGHT, **report}
    answer.pop("hits_in_window")
    text = FAKE.format(
        python=sys.executable, fixed=fixed, per=per, report=repr(answer), record=str(folder)
    )
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def test_per_request_is_the_slope_of_the_line_through_three_counts():
    result = Result(1000, ((500_000_000, 522_000_000, 544_000_000),
                           (500_000_300, 522_000_600, 544_000_900)))  # fmt: skip
    assert result.sizes == [1000, 2000, 3000]
    assert result.values == pytest.approx([22_000.0, 22_000.3])
    assert result.intercepts == pytest.approx([478_000_000, 478_000_000])
    assert result.spread_pct == pytest.approx(0.3 / 22_000.15 * 100)
    assert result.residual_pct == pytest.approx(0, abs=1e-9)  # on the line exactly
    assert result.fixed_cost_spread == 0


def test_the_residual_is_the_largest_miss_as_a_share_of_the_requests_part():
    # 2N is 440 instructions above the line through N and 3N: a bend, e.g. a GC collection
    result = Result(1000, ((500_000_000, 522_000_660, 544_000_000),))
    slope, intercept = fit(result.sizes, list(result.totals[0]))
    assert slope == pytest.approx(22_000.0)
    assert intercept == pytest.approx(478_000_220)
    # the middle count misses by 440, the outer ones by 220: 440 / (22,000 x 2,000)
    assert result.residual_pct == pytest.approx(440 / (22_000 * 2000) * 100)
    assert result.to_json()["residual_pct"] == round(result.residual_pct, 4)


def test_fixed_cost_spread_shows_a_start_up_that_changed_between_repeats():
    result = Result(1000, ((500_000_000, 522_000_000, 544_000_000),
                           (500_004_000, 522_004_000, 544_004_000)))  # fmt: skip
    assert result.values == pytest.approx([22_000.0, 22_000.0])  # the slope cannot see it...
    assert result.fixed_cost_spread == 4_000  # ...the intercept does
    assert result.to_json()["totals"][1] == [500_004_000, 522_004_000, 544_004_000]


def test_the_total_is_the_summary_line_of_the_cachegrind_file():
    text = "desc: I1 cache: ...\ncmd: python\nevents: Ir\nfl=x\n0 12\nsummary: 523206321\n"
    assert parse_total(text) == 523_206_321
    with pytest.raises(KvbenchError, match="no `summary:` line"):
        parse_total("events: Ir\n")


def test_a_right_answer_passes_and_an_app_without_a_hit_counter_is_not_held_to_one():
    check(RIGHT, 1000, APP)
    check({**RIGHT, "hits_in_window": None}, 1000, APP)


def test_collections_in_the_window_are_counted_not_refused():
    check({**RIGHT, "gc_collections_in_window": [1, 0, 0]}, 1000, APP)


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        ({"body": BODY.replace("0042", "0041")}, "wrong answer"),
        ({"status": 404}, "wrong answer"),
        ({"headers": [["content-type", "text/plain"]]}, "wrong answer"),
        ({"last_status": 500}, "status 500 in the counted requests"),
        ({"hits_in_window": 999}, "counted 999 hits for 1000 requests"),
    ],
)
def test_a_counted_window_that_went_wrong_fails(wrong, said):
    with pytest.raises(KvbenchError, match=said):
        check({**RIGHT, **wrong}, 1000, APP)


@pytest.mark.slow
def test_measure_with_a_fake_valgrind_gives_the_per_request_count(tmp_path):
    tool = fake_valgrind(tmp_path, per=22_561)
    result = measure(tool, f"{COUNTED}:app", requests=1000, repeats=3)
    assert result.values == [22_561.0] * 3
    assert result.fixed_cost_spread == 0 and result.spread_pct == 0
    assert result.hits_checked


@pytest.mark.slow
def test_counted_processes_differ_only_in_n(tmp_path, monkeypatch):
    monkeypatch.setenv("VALGRIND_OPTS", "--tool=callgrind")
    monkeypatch.setenv("HOME", str(tmp_path))
    tool = fake_valgrind(tmp_path)
    measure(tool, f"{COUNTED}:app", requests=1000, repeats=1)
    small, large, largest = (
        json.loads((tmp_path / f"{n:09d}.json").read_text()) for n in (1000, 2000, 3000)
    )
    assert small["env"] == large["env"] == largest["env"]
    assert set(small["env"]) == set(instructions.fixed_env(tmp_path))
    assert "HOME" not in small["env"] and "VALGRIND_OPTS" not in small["env"]
    assert small["env"]["PYTHONDONTWRITEBYTECODE"] == "1"
    assert small["cwd"] == large["cwd"] == largest["cwd"] == "/"
    assert [len(a) for a in small["argv"]] == [len(a) for a in largest["argv"]]


@pytest.mark.slow
def test_an_app_that_answers_wrong_fails_before_valgrind_runs(tmp_path):
    tool = fake_valgrind(tmp_path)
    with pytest.raises(KvbenchError, match="wrong answer"):
        measure(tool, "tests.apps.erroring:app", requests=10, repeats=1)
    assert not list(tmp_path.glob("*.json"))  # the fake valgrind never ran


@pytest.mark.slow
def test_a_wrong_answer_under_valgrind_fails_the_layer(tmp_path):
    tool = fake_valgrind(tmp_path, body="{}")
    with pytest.raises(KvbenchError, match="wrong answer"):
        measure(tool, f"{COUNTED}:app", requests=10, repeats=1)


def layers(tmp_path: Path, services) -> tuple[Layers, io.StringIO]:
    said = io.StringIO()
    bench = BenchPlan(services, frozenset({"instructions"}), TrialPlan(), trials=1)
    return Layers(bench, tmp_path, Progress(0, stream=said)), said


def test_without_valgrind_the_layer_is_skipped_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(instructions, "valgrind", lambda: None)
    run, said = layers(tmp_path, [SERVICES["unoptimized"], SERVICES["optimized"]])
    summary = run.run()
    assert said.getvalue() == f"instructions layer skipped: {INSTALL_HINT}\n"
    assert "apt-get install valgrind" in said.getvalue()
    assert summary["environment"]["instructions"] == {"skipped": INSTALL_HINT}
    assert summary["services"] == {"unoptimized": {}, "optimized": {}}


@pytest.mark.slow
def test_the_layer_counts_each_piece_of_in_process_code_once(tmp_path, monkeypatch):
    tool = fake_valgrind(tmp_path)
    monkeypatch.setattr(instructions, "valgrind", lambda: tool)
    monkeypatch.setattr(instructions, "measure", lambda tool, app: Result(1000, ((1, 5, 9),) * 3))
    run, _ = layers(tmp_path, [service for service, _ in LADDER])
    summary = run.run()
    counted = [name for name, metrics in summary["services"].items() if metrics]
    assert counted == code_rungs()
    assert summary["services"]["async"]["asgi_instructions_per_op"]["values"] == pytest.approx(
        [0.004] * 3
    )
    env = summary["environment"]["instructions"]
    assert env["valgrind"] == "valgrind-fake" and env["repeats"] == 3
    assert set(env["services"]) == set(counted)
    assert env["services"]["async"]["fixed_cost_spread"] == 0


# The real thing: a tiny app whose per-request work the test controls. Each valgrind
# process takes a few seconds (Python's start-up, counted instruction by instruction).
needs_valgrind = pytest.mark.skipif(instructions.valgrind() is None, reason=INSTALL_HINT)


@pytest.fixture(scope="module")
def counts() -> dict[str, Result]:
    tool = instructions.valgrind()
    assert tool
    plan = {"app": 2, "spin_100": 1, "spin_200": 1}  # repeats
    return {
        name: measure(tool, f"{COUNTED}:{name}", requests=100, repeats=repeats, warmup=50)
        for name, repeats in plan.items()
    }


@pytest.mark.slow
@needs_valgrind
def test_a_single_threaded_app_repeats_to_the_instruction(counts):
    result = counts["app"]
    assert len(result.values) == 2 and result.values[0] == result.values[1]
    assert result.fixed_cost_spread == 0 and result.spread_pct == 0
    assert result.hits_checked


@pytest.mark.slow
@needs_valgrind
def test_the_count_grows_with_the_work_each_request_does(counts):
    base, k100, k200 = (counts[name].values[0] for name in ("app", "spin_100", "spin_200"))
    per_iteration = [(k100 - base) / 100, (k200 - k100) / 100]
    # An empty loop iteration is a few bytecodes: tens of instructions, never thousands.
    assert all(20 < step < 400 for step in per_iteration), per_iteration
    assert per_iteration[1] == pytest.approx(per_iteration[0], rel=0.1)
