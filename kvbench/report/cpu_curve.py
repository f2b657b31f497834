"""Server CPU per request of the optimized service against the offered rate, one point per
committed part that measured it below saturation (the open loop), and its plot.

A point counts when the part recorded the optimized service's own server command line
(`memory-1` in stores/ is that service under another name) on the harness's interpreter
(`optimized@3.11` in pythons/ when the harness runs 3.11). Each point is a different run:
the rate is not the only thing that differs between two of them.
"""

from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kvbench import KvbenchError
from kvbench.catalog.experiments import EXPERIMENTS
from kvbench.report import fields, plots
from kvbench.report.formatting import number, with_range
from kvbench.results.resultset import ResultSet, read_results
from kvbench.results.summary import Summary
from kvbench.services import SERVICES

METRIC = "server_open_cpu_us_per_req"
STEM = "cpu-per-request"  # bench-results/cpu-per-request.png and .svg
VALUED = ("--host", "--port")  # options whose values differ from run to run


@dataclass(frozen=True)
class Point:
    part: str  # an experiment's name: main, peers, stores, ...
    service: str  # its name in that part
    rate: float  # the offered rate, req/s
    cpu: Summary  # server CPU per request, µs

    @property
    def label(self) -> str:
        return self.part if self.service == "optimized" else f"{self.part}: {self.service}"

    def said(self) -> str:
        """`114 µs (106 to 134) at 1,200 req/s`."""
        return f"{with_range(self.cpu)} at {number(self.rate)} req/s"


def points(results: Path) -> list[Point]:
    """Every committed point of the optimized service, lowest offered rate first."""
    found = []
    for experiment in EXPERIMENTS:
        summary = results / experiment.path
        if experiment.result_set and summary.is_file():
            run = read_results(summary)
            found += [Point(experiment.name, name, rate, cpu) for name, rate, cpu in measured(run)]
    return sorted(found, key=lambda p: (p.rate, p.part))


def measured(run: ResultSet) -> list[tuple[str, float, Summary]]:
    """(service, offered rate, CPU per request) for each of the run's optimized services."""
    rate = fields.offered_rate(run.environment)
    if not rate:
        return []  # no open loop: CPU per request was not read below saturation
    commands = fields.server_commands(run.environment)
    return [
        (name, float(rate), metrics[METRIC])
        for name, metrics in run.services.items()
        if METRIC in metrics and is_optimized(name, commands.get(name), run.environment)
    ]


def is_optimized(name: str, command: list[str] | None, environment: dict) -> bool:
    """The optimized service's command line, on the interpreter the harness ran."""
    if command is None:
        return name == "optimized"  # a part that recorded no command lines
    python = name.partition("@")[2]  # pythons/ names each interpreter's services NAME@X.Y
    if python and not str(environment.get("python", "")).startswith(f"{python}."):
        return False
    return _shape(command) == _shape(SERVICES["optimized"].command("127.0.0.1", 0)[1:])


def _shape(command: list[str]) -> list[str]:
    """The command without the values of its host and port."""
    return [word for i, word in enumerate(command) if i == 0 or command[i - 1] not in VALUED]


def draw(found: list[Point], stem: Path) -> list[Path]:
    """The points with their 95% intervals against the offered rate, each named by its part."""
    if not found:
        raise KvbenchError("no committed part measured the optimized service's CPU per request")
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, point in enumerate(found):
        low, high = point.cpu.ci or (point.cpu.median, point.cpu.median)
        whiskers = [[point.cpu.median - low], [high - point.cpu.median]]
        ax.errorbar([point.rate], [point.cpu.median], yerr=whiskers, fmt="o", capsize=5,
                    color=plots.color(i), label=f"{point.label} (n={point.cpu.n})")  # fmt: skip
    ax.set_title("Server CPU per request of the optimized service, below saturation")
    ax.set_xlabel("offered rate (requests/s); each point a different run")
    ax.set_ylabel("server CPU per request (µs, median, 95% CI)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    plots.plain_numbers(ax.xaxis)
    plots.plain_numbers(ax.yaxis)
    return plots.save(fig, stem)


def write(results: Path) -> list[Path]:
    """Draw `results`/cpu-per-request.png (and .svg) from the parts committed there; nothing
    when no part measured the optimized service's CPU per request (a run of your own app)."""
    found = points(results)
    return draw(found, results / STEM) if found else []
