"""The ladder's figures from a ladder run: each rung against the one before, and its share.

A rung's share of a metric whose cost adds up per request (time, instructions) is its part
of the whole saving from the first rung to the last: (c(prev) - c(rung)) / (c(first) -
c(last)), where c is the metric itself or, for throughput, its reciprocal, the time per
request of the pinned, saturated server core. Shares of all rungs add up to 100%; a share's
bounds come from the 95% intervals of the two medians, taken at opposite extremes. A rung
that runs its predecessor's code in-process (`kvbench.services.same_in_process`) has no
in-process numbers of its own: its in-process figures are those of the code it runs.
"""

from kvbench import KvbenchError
from kvbench.catalog.ladder import RUNGS
from kvbench.results.compare import Comparison, compare_samples
from kvbench.results.metrics import metric
from kvbench.results.resultset import ResultSet
from kvbench.results.summary import Summary
from kvbench.services import same_in_process

SERVER_METRICS = ("http_tps", "server_cpu_us_per_req", "gc_collections", "gc_pause_max_ms")
IN_PROCESS_METRICS = ("asgi_ns_per_op", "asgi_allocs_per_op", "asgi_instructions_per_op")
# Costs per request add up along the ladder; collections and pauses per window do not.
PER_REQUEST = ("http_tps", "server_cpu_us_per_req", *IN_PROCESS_METRICS)
INSTRUCTIONS = "asgi_instructions_per_op"
Pair = tuple[float, tuple[float, float] | None]


def cost(stat: Summary, better: str) -> Pair:
    """The cost per request a metric stands for: itself, or 1/x where higher is better."""
    if better == "lower":
        return stat.median, stat.ci
    low, high = stat.ci or (0.0, 0.0)
    return 1 / stat.median, (1 / high, 1 / low) if stat.ci and low > 0 else None


def share(prev: Pair, this: Pair, saving: float) -> Pair:
    """The part of the whole saving (first cost - last cost) this rung made, in percent."""
    value = (prev[0] - this[0]) / saving * 100
    if not (prev[1] and this[1]):
        return value, None
    low, high = ((prev[1][i] - this[1][1 - i]) / saving * 100 for i in (0, 1))
    return value, (min(low, high), max(low, high))


class MissingRungs(KvbenchError):
    """A ladder run without every rung of RUNGS (one measured before a rung was added)."""


class Ladder:
    """The measured ladder. Every rung of RUNGS must be in the run: a rung compared with
    anything but its own predecessor would be credited with the changes of the rungs left
    out."""

    def __init__(self, run: ResultSet) -> None:
        self.run = run
        self.services = {r.name: (r.service, r.change) for r in RUNGS}
        self.names = list(self.services)
        missing = [f"`{name}`" for name in self.names if name not in run.services]
        if missing:
            raise MissingRungs(f"ladder run has no {', '.join(missing)}")
        self.same = same_in_process([r.service for r in RUNGS])
        first = self.run.services[self.names[0]]
        self.metrics = [m for m in (*SERVER_METRICS, *IN_PROCESS_METRICS) if m in first]

    def check(self, rung: str, first: bool = True) -> str:
        if rung not in self.names[0 if first else 1 :]:
            raise KvbenchError(f"{rung!r} is not a rung of the ladder (kvbench/services.py)")
        return rung

    def previous(self, rung: str) -> str:
        return self.names[self.names.index(self.check(rung, first=False)) - 1]

    def same_code(self, rung: str, name: str) -> bool:
        """An in-process metric of a rung that runs its predecessor's code in-process."""
        if name not in IN_PROCESS_METRICS or rung == self.names[0]:
            return False
        return self.same.get(rung, rung) == self.same.get(self.previous(rung), self.previous(rung))

    def stat(self, rung: str, name: str) -> Summary:
        if name in IN_PROCESS_METRICS:
            rung = self.same.get(rung, rung)
        if name not in self.run.services[rung]:
            raise KvbenchError(f"the ladder run has no {name} for {rung}")
        return self.run.services[rung][name]

    def row(self, old: str, new: str, name: str) -> Comparison:
        return compare_samples(self.stat(old, name), self.stat(new, name), 0.05, "", name)

    def noise(self, rung: str, name: str = "http_tps") -> bool:
        return self.row(self.previous(rung), rung, name).verdict == "same"

    def cost(self, rung: str, name: str) -> Pair:
        return cost(self.stat(rung, name), metric(name).better)

    def share(self, rung: str, name: str) -> Pair:
        """The rung's part of the whole saving in `name`'s cost per request, in percent."""
        if name not in PER_REQUEST:
            raise KvbenchError(f"{name} is not a cost per request; shares of it do not add up")
        saving = self.cost(self.names[0], name)[0] - self.cost(self.names[-1], name)[0]
        if not saving:
            raise KvbenchError(f"the ladder saved nothing in {name}; no shares to give")
        return share(self.cost(self.previous(rung), name), self.cost(rung, name), saving)

    def largest_step(self, name: str) -> str:
        """The rung that cut `name`'s cost the most (throughput: its time per request)."""
        step = {r: self.cost(self.previous(r), name)[0] - self.cost(r, name)[0]
                for r in self.names[1:]}  # fmt: skip
        return max(step, key=lambda r: step[r])

    def window(self) -> str:
        """The closed-loop window the GC columns count over, as the run recorded it."""
        env = self.run.run.environment if self.run.run else {}
        seconds = (env.get("http") or {}).get("duration_s")
        return f"{seconds:g} s window" if seconds else "closed-loop window"
