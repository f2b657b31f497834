"""The experiments: each part of a results folder, how it is measured, what the docs call it.

An experiment writes one part of a run folder (`main`: the files at the top). `steps` are
what `kvbench run NAME` runs, in order: a `kvbench` command line, or a module run as a child
(`python -m ...`) for the measurements that have no command of their own yet; `{part}` in a
step is the part's folder in the run. The first step also gets the common options the
experiment `takes` (`--trials` and the rest, as `make bench-NAME TRIALS=2` passes them).
Everything that lists the parts derives from EXPERIMENTS: `results.runs.PARTS`, the docs'
`sources.PARTS`, the Makefile's bench-* targets (`kvbench run NAME`) and `make remeasure`.
"""

from dataclasses import dataclass

# The options `kvbench run` passes on; an experiment takes those its first command reads.
RUN_OPTIONS = ("trials", "duration", "warmup", "latency-window", "connections")
ALL = RUN_OPTIONS
WINDOWS = ("trials", "duration", "warmup", "latency-window")
ROWS = ("trials", "connections")


@dataclass(frozen=True)
class Experiment:
    """One part: its folder and the file that says it is whole, its title, how it is run.

    `about_s` is a rough duration for steps whose command makes no estimate of its own
    (`kvbench bench`, `peers` and `pythons` do); `result_set` says the docs read it as
    services and metrics (a summary.json of that layout).
    """

    name: str
    folder: str
    marker: str
    title: str
    target: str
    steps: tuple[tuple[str, ...], ...]
    takes: tuple[str, ...] = ()
    about_s: float = 0.0
    result_set: bool = True

    @property
    def path(self) -> str:
        """The marker's path in a results folder, e.g. `ladder/summary.json`."""
        return f"{self.folder}/{self.marker}" if self.folder else self.marker

    @property
    def make(self) -> str:
        return f"make {self.target}"


def _child(module: str, *args: str) -> tuple[str, ...]:
    """A step run as `python -m module args` (no `kvbench` command of its own yet)."""
    return ("python", "-m", module, *args)


HTTP_ONLY = ("--layers", "http")
# fmt: off
EXPERIMENTS = (
    Experiment("main", "", "summary.json", "The main run", "bench", (("bench",),), ALL),
    Experiment("ladder", "ladder", "summary.json", "Ladder", "bench-ladder",
               (("bench", "--ladder", "--layers", "asgi,instructions,http",
                 "--latency-window", "0"),), ALL),
    Experiment("peers", "peers", "summary.json", "Peers", "bench-peers", (("peers",),), ROWS),
    Experiment("stores", "stores", "summary.json", "Stores", "bench-stores",
               (("bench", "--stores"),), ALL),
    Experiment("crosscheck", "crosscheck", "summary.json", "The wrk cross-check",
               "bench-crosscheck", (("bench", "--part", "crosscheck", *HTTP_ONLY,
                                     "--loadgen", "both", "--latency-window", "0"),), ALL),
    Experiment("proxy", "proxy", "summary.json", "nginx in front", "bench-proxy",
               (("bench", "--part", "proxy", *HTTP_ONLY,
                 "--services", "optimized,optimized+nginx"),), ALL),
    # pyperf's own runs: about 40 processes of a few seconds each
    Experiment("put", "put", "put.json", "The cost of a PUT", "bench-put",
               (_child("kvbench.workers.put_bench", "--quiet", "--affinity", "0",
                       "-o", "{part}/put.json"),), about_s=120),
    # 4 configurations x 3 probes holding connections 12 s on a fresh server, plus big PUTs
    Experiment("hostile", "hostile", "summary.json", "Hostile clients", "bench-hostile",
               (("hostile", "--out", "{part}"),), about_s=240, result_set=False),
    Experiment("pythons", "pythons", "summary.json", "Every Python on the machine",
               "bench-pythons", (("pythons",),), WINDOWS),
    # about_s: the strace counts of the second step, 2,000 requests per service
    Experiment("writepath", "writepath", "summary.json", "One write per answer",
               "bench-writepath",
               (("bench", "--part", "writepath", *HTTP_ONLY,
                 "--services", "gcfreeze,optimized,granian", "--trials", "10"),
                _child("kvbench.measure.syscalls", "--services", "gcfreeze,optimized,granian",
                       "--out", "{part}/syscalls.json")), ALL, about_s=60),
    # 3 cases of 5 s at a schedule, each with a server and a warm-up
    Experiment("schedule", "schedule", "summary.json", "The generator's schedule",
               "bench-schedule", (_child("kvbench.measure.schedule", "--part", "{part}"),),
               about_s=40),
    # py-spy, scalene and memray each under 10 s of load per service, plus start-ups
    Experiment("profiles", "profiles", "README.md", "Profiles", "profile",
               (("profile", "unoptimized", "optimized"),), about_s=180, result_set=False),
    # one 10 s py-spy recording per rung, plus start-ups
    Experiment("ladder-profiles", "profiles", "README.md", "Profiles of the rungs",
               "profile-ladder", (("profile", "--ladder"),), about_s=240, result_set=False),
    # 30 minutes of load with every fault kind three times, after a 10 s capacity window; at
    # half that capacity, since this VM's speed drifts about 2x over minutes and a 10 s window
    # may catch a fast spell (make soak's default, 0.8, is for a steadier machine)
    Experiment("soak", "soak", "summary.json", "The soak", "soak",
               (("soak", "--duration", "30m", "--fraction", "0.5", "--out", "{part}"),),
               about_s=1_830,
               result_set=False),
    Experiment("store-profiles", "profiles", "README.md", "Profiles on Redis",
               "profile-stores", (("profile", "redis-1", "redis-mget-1", "--only", "cpu"),),
               about_s=60, result_set=False),
)
# fmt: on
BY_NAME = {experiment.name: experiment for experiment in EXPERIMENTS}
MAIN = BY_NAME["main"]


def experiment(name: str) -> Experiment:
    """The experiment called `name`; KeyError when there is none."""
    return BY_NAME[name]


def parts() -> dict[str, str]:
    """Each part's folder and the file that says it is whole (the first experiment's)."""
    found: dict[str, str] = {}
    for item in EXPERIMENTS:
        if item.folder:
            found.setdefault(item.folder, item.marker)
    return found


def bench_parts() -> list[str]:
    """The parts `kvbench bench --part NAME` writes (those measured by `bench` alone)."""
    return [item.folder for item in EXPERIMENTS if item.steps[0][:2] == ("bench", "--part")]
