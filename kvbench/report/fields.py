"""The fields of a run that the typed model (`kvbench.results.model`) does not type yet.

The model keeps them as it found them: the environment as a dict, the sections of one kind
of run in `Run.extra`. The report reads each here, in one function named after what it
means, so a renamed field fails in one place and moves into the model in one step (with
the next full re-measurement: the committed results hash model.py).
"""

from kvbench import KvbenchError
from kvbench.results.model import Run


def recorded(env: dict, path: str) -> object:
    """A setting of the environment by dotted path (`http.trials`); KvbenchError if absent."""
    found: object = env
    for key in path.split("."):
        if not isinstance(found, dict) or key not in found:
            raise KvbenchError(f"the run's environment records no {path!r}")
        found = found[key]
    return found


def recorded_number(env: dict, path: str) -> float:
    """A numeric setting by dotted path (`http.duration_s`); KvbenchError if absent or not one."""
    found = recorded(env, path)
    if isinstance(found, bool) or not isinstance(found, int | float):
        raise KvbenchError(f"the run's environment records {path!r} as {found!r}, not a number")
    return found


def http(env: dict) -> dict:
    """The HTTP layer's settings (trials, connections, windows, rate); {} without one."""
    return env.get("http") or {}


def offered_rate(env: dict) -> float | None:
    """The open loop's offered rate (req/s); None when the run had no open loop."""
    return http(env).get("offered_rate")


def connections(env: dict) -> int | None:
    """The closed loop's connections; None when the run had no HTTP layer."""
    return http(env).get("concurrency")


def server_commands(env: dict) -> dict[str, list[str]]:
    """Each service's server command line, as the run started it (none recorded: {})."""
    return http(env).get("commands") or {}


def loadgen_ceiling(env: dict) -> dict:
    """The load generator alone against a canned server: its rate and how it was judged."""
    return env.get("loadgen_ceiling") or {}


def packages(env: dict) -> dict[str, str]:
    """The measured packages and their versions (a package not installed says so)."""
    return env.get("packages") or {}


def pythons(env: dict) -> dict[str, dict]:
    """The pythons part's interpreters, minor version -> how it was built."""
    return recorded(env, "pythons")  # type: ignore[return-value]


def base_python(env: dict) -> str:
    """The interpreter the pythons part pairs every other one against."""
    return str(recorded(env, "base_python"))


def latency_files(run: Run) -> dict[str, str]:
    """service -> its raw open-loop latency file beside the summary."""
    found = run.files.get("latency")
    return found if isinstance(found, dict) else {}


def floor(run: Run) -> dict | None:
    """The machine's latency floor measured in the run (`kvbench/measure/floor.py`), if any."""
    return run.extra.get("floor")


def cross_check(run: Run) -> dict:
    """`--loadgen both`: service -> its ratio to the base by wrk and by the built-in generator."""
    return run.extra.get("cross_check") or {}


def ratio_to_ceiling(run: Run) -> dict[str, float]:
    """The peers part: each row's median throughput over the Python ceiling's."""
    return run.extra.get("ratio_to_ceiling") or {}


def rows(run: Run) -> dict[str, str]:
    """The peers part: each row and what it is."""
    return run.extra.get("rows") or {}


def skipped(run: Run) -> dict[str, str]:
    """The peers part: the rows not measured, and why."""
    return run.extra.get("skipped") or {}


def floor_check(run: Run) -> dict:
    """The peers part: the optimized service's throughput over the framework floor's."""
    return run.extra.get("floor_check") or {}


def curves(run: Run) -> dict:
    """The peers part's scaling curves: curve -> service -> point -> metric -> its entry."""
    return run.extra.get("curves") or {}
