import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from kvbench import KvbenchError
from kvbench.profiling import pyspy
from kvbench.services import get_service

SVG_TITLE = "{http://www.w3.org/2000/svg}title"


def frames(svg_path) -> list[str]:
    """The frame labels of a py-spy flamegraph, parsed as XML."""
    return [title.text or "" for title in ET.parse(svg_path).iter(SVG_TITLE)]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def spinner():
    """A Python process of our own, busy in a named function for at most a minute."""
    code = "import time\ndef spinning(end):\n    while time.time() < end: pass\n"
    code += "spinning(time.time() + 60)\n"
    child = subprocess.Popen([sys.executable, "-c", code])
    yield child
    child.kill()
    child.wait()


def test_spied_service_runs_the_service_under_pyspy():
    service = get_service("optimized")
    spied = pyspy.SpiedService(service.name, service.app, service.server_args, ("py-spy", "x"))
    command = spied.command("127.0.0.1", 8000)
    assert command[:3] == ["py-spy", "x", "--"]
    assert command[3:] == service.command("127.0.0.1", 8000)


def test_load_command_pins_and_asks_for_json():
    command = pyspy.load_command(1234, 2, 64, {1})
    assert command[command.index("--port") + 1] == "1234"
    assert command[command.index("--cpu") + 1] == "1"
    assert "--json" in command


def test_cpu_view_keeps_the_gil_holder_and_blocking_view_keeps_waiters():
    assert pyspy.CPU_SVG.flags == ("--gil",)
    assert "--idle" in pyspy.BLOCKING_SVG.flags and "--gil" not in pyspy.BLOCKING_SVG.flags


def test_native_view_is_the_cpu_view_with_the_frames_below_python(tmp_path):
    flags = pyspy.record_flags(pyspy.NATIVE_SPEEDSCOPE, tmp_path / "x.json", 100)
    assert {"--gil", "--native"} <= set(flags) and flags[flags.index("-f") + 1] == "speedscope"
    assert pyspy.NATIVE_SPEEDSCOPE.name == "native.speedscope.json"


def test_refusal_is_recognised_in_pyspy_output():
    text = "Error: Failed to get process executable name.\n\nCaused by:\n    0: Permission denied"
    assert isinstance(pyspy.refusal(text), pyspy.PtraceRefused)
    assert "CAP_SYS_PTRACE" in str(pyspy.refusal(text))
    assert pyspy.refusal("Error: Failed to find python version from target process") is None


def test_an_idle_target_gets_its_own_message():
    text = "Error: Failed to write flamegraph: No stack counts found\n"
    assert "was idle" in pyspy.idle_message(text, 42, 1)


def test_last_error_drops_the_backtrace():
    text = "Error: Bad address (os error 14)\n\nStack backtrace:\n   0: anyhow::error\n"
    assert pyspy.last_error(text) == "Error: Bad address (os error 14)"


def test_dump_of_a_missing_pid_is_a_clear_error():
    pid = dead_pid()
    with pytest.raises(KvbenchError, match=f"no process with pid {pid}"):
        pyspy.dump(pid)


@pytest.mark.slow
def test_dump_and_attach_read_a_running_process(spinner, tmp_path):
    try:
        dumped = pyspy.dump(spinner.pid)
        artifact = pyspy.attach(spinner.pid, 1, tmp_path / "live.svg", rate=50)
    except pyspy.PtraceRefused as exc:
        pytest.skip(f"ptrace refused here: {exc}")
    assert "spinning" in dumped
    assert any(label.startswith("spinning") for label in frames(artifact.path))


def serving(name: str, labels: list[str]) -> bool:
    """Whether the frames show requests being served, not just the server starting."""
    own = [label for label in labels if f"({name}/app.py:" in label]
    if name == "unoptimized":
        # Its handler is ~12 us of a request that costs that server ~1 ms, so a short run
        # may miss it in every sample; Starlette's routing to it is always there.
        return bool(own) and any("(starlette/routing.py:" in label for label in labels)
    return any(not label.startswith("<module>") for label in own)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["unoptimized", "optimized"])
def test_cpu_flamegraph_shows_the_service_serving_requests(name, tmp_path):
    try:
        artifact = pyspy.record(get_service(name), pyspy.CPU_SVG, tmp_path, 250, 1.0, 16)
    except pyspy.PtraceRefused as exc:
        pytest.skip(f"ptrace refused here: {exc}")
    labels = frames(artifact.path)
    assert serving(name, labels), f"no request frames of {name} among {len(labels)} frames"
    assert artifact.details["load"]["errors"] == 0 and artifact.details["samples"] > 0


def test_granian_is_followed_into_its_worker_process(tmp_path):
    granian = get_service("granian")
    command = pyspy.spied(granian, pyspy.CPU_SVG, tmp_path / "x.svg", 100).command("::1", 8000)
    split = command.index("--")
    assert "--subprocesses" in command[:split] and "--gil" in command[:split]
    assert command[split + 1 :] == granian.command("::1", 8000)
