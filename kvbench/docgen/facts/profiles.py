"""What the committed profiles show: frames, components, allocations, threads."""

from kvbench import KvbenchError
from kvbench.docgen import ladder as rungs
from kvbench.docgen import profiles
from kvbench.docgen.sources import Sources
from kvbench.profiling import samples
from kvbench.profiling.targets import frames
from kvbench.report import profiles as views
from kvbench.report.formatting import number, pct


def frame_share(sources: Sources, service: str, key: str) -> str:
    """The share of a service's GIL-held samples with a target's frames on them."""
    found = frames(key)
    if found is None:
        raise KvbenchError(f"no frames {key!r} in kvbench/profiling/targets.py")
    return pct(samples.frame_shares(rungs.cpu(sources, service), (found,))[0][key])


def component_share(sources: Sources, service: str, component: str) -> str:
    """A component's share of a service's self time in the CPU profile."""
    by_component, _, total = samples.self_time(rungs.cpu(sources, service))
    if component not in by_component or not total:
        raise KvbenchError(f"no component {component!r} in the CPU profile of {service}")
    return pct(by_component[component] / total * 100)


def allocations_per_request(sources: Sources, service: str) -> str:
    """Allocations per request in a service's memray profile."""
    return number(sources.profile(service, "allocs.memray.json")["allocations_per_request"])


def thread_count(sources: Sources, service: str, thread: str) -> str:
    """How many threads of a name the blocking profile of a service saw."""
    found = views.threads(profiles.blocking_svg(sources, service))
    if thread not in found:
        raise KvbenchError(f"no thread {thread!r} in the blocking profile of {service}")
    return f"{found[thread][0]:.0f}"


def pool_idle_share(sources: Sources, service: str) -> str:
    """The share of the thread pool's samples spent waiting for work."""
    found = views.threads(profiles.blocking_svg(sources, service)).get(views.POOL)
    if not found:
        raise KvbenchError(f"no thread pool in the blocking profile of {service}")
    return pct(found[2] / found[1] * 100)
