"""Each rung's target frames: shares of py-spy's GIL-held samples before and after it."""

import json
from pathlib import Path

import pytest

from kvbench.docgen import ladder
from kvbench.docgen.generate import value
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.profiling import samples
from kvbench.profiling.targets import TARGETS
from kvbench.services import LADDER

ROOT = Path(__file__).resolve().parents[2]
SITE = ".venv/lib/python3.11/site-packages/"
FRAMES = [
    ("<module>", "<frozen runpy>"),
    ("_find_and_load", "<frozen importlib._bootstrap>"),
    ("Server.serve", SITE + "uvicorn/server.py"),
    ("H11Protocol.handle_events", SITE + "uvicorn/protocols/http/h11_impl.py"),
    ("validate", SITE + "h11/_util.py"),
    ("Logger.info", "<python>/lib/python3.11/logging/__init__.py"),
    ("copy", "<python>/lib/python3.11/copy.py"),
    ("RequestResponseCycle.send", SITE + "uvicorn/protocols/http/httptools_impl.py"),
]
# Stacks (root first) and how many samples each: one start-up sample, then ten served.
SAMPLES = {
    "unoptimized": [([0, 1], 1), ([0, 2, 3], 2), ([0, 2, 3, 4], 3), ([0, 2, 3, 5, 6], 1),
                    ([0, 2], 4)],
    "httptools": [([0, 1], 1), ([0, 2, 7], 5), ([0, 2, 7, 5, 6], 5)],
}  # fmt: skip


def speedscope(stacks: list[tuple[list[int], int]]) -> dict:
    samples = [stack for stack, count in stacks for _ in range(count)]
    frames = [{"name": name, "file": file, "line": 1} for name, file in FRAMES]
    profile = {"type": "sampled", "name": "Thread 1", "unit": "seconds", "startValue": 0,
               "endValue": len(samples) / 100, "samples": samples,
               "weights": [0.01] * len(samples)}  # fmt: skip
    return {"shared": {"frames": frames}, "profiles": [profile]}


@pytest.fixture
def sources(tmp_path) -> Sources:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "README.md").write_text("# Profiles\n")
    for service, stacks in SAMPLES.items():
        (tmp_path / "profiles" / service).mkdir()
        path = tmp_path / "profiles" / service / "cpu.speedscope.json"
        path.write_text(json.dumps(speedscope(stacks)))
        (tmp_path / "profiles" / service / "cpu.pyspy.svg").write_text("<svg/>")
    return Sources(tmp_path, tmp_path)


def test_shares_count_inclusive_or_self_and_leave_start_up_out(sources):
    frames = TARGETS["httptools"]
    assert isinstance(frames, tuple)
    data = ladder.cpu(sources, "unoptimized")
    shares, counted = samples.frame_shares(data, frames)
    assert counted == 10
    assert shares == {"h11": 30.0, "h11-protocol": 20.0, "httptools-protocol": 0.0}
    # the prediction counts a sample once, whichever removed frames are on it
    assert samples.any_share(data, frames[:2]) == pytest.approx(50.0)


def test_removed_shows_the_target_frames_before_and_after(sources):
    text = ladder.frames_table(sources, "unoptimized", "httptools")
    assert "| frames it targets | counted | `unoptimized` | `httptools` | change, points |" in text
    assert "| h11, the pure-Python HTTP parser and writer | inclusive | 30% | 0% | -30.0 |" in text
    assert "| uvicorn's httptools protocol | self | 0% | 50% | +50.0 |" in text
    assert "(10 of `unoptimized`, 10 of `httptools`)" in text


def test_a_target_share_reads_the_services_own_profile(sources):
    assert value('frame_share("unoptimized", "access-log")', sources) == "10%"
    assert value('frame_share("httptools", "access-log")', sources) == "50%"


def test_a_rung_without_a_committed_profile_says_which_target_makes_it(sources):
    missing = "no cpu.speedscope.json of `noaccesslog`.*make profile-ladder"
    with pytest.raises(NotMeasured, match=missing):
        ladder.frames_table(sources, "noaccesslog", "uvloop")
    assert "gc.freeze() removes no frame" in ladder.frames_table(sources, "hotpath", "gcfreeze")


def test_every_rung_after_the_first_says_what_it_targets():
    rungs = [service.name for service, _ in LADDER]
    assert list(TARGETS) == rungs[1:]
    keys = [f.key for fs in TARGETS.values() if not isinstance(fs, str) for f in fs]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("service", "rung"),
    [("unoptimized", "httptools"), ("unoptimized", "noaccesslog"), ("unoptimized", "async"),
     ("unoptimized", "hotpath"), ("optimized", "granian")],
)  # fmt: skip
def test_patterns_match_frames_as_py_spy_names_them(service, rung):
    path = ROOT / "bench-results" / "profiles" / service / "cpu.speedscope.json"
    if not path.is_file():
        pytest.skip(f"no committed profile of {service}")
    names = json.loads(path.read_text())["shared"]["frames"]
    frames = TARGETS[rung]
    assert not isinstance(frames, str)
    for target in frames[:1]:  # the first target of each rung is what its "before" holds
        assert any(target.matches(f["file"], f["name"]) for f in names), target.key
