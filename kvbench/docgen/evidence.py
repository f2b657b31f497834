"""Each rung's profile evidence: the frames it targets, before and after, from py-spy's CPU view.

A rung's evidence is the share of the previous rung's CPU samples spent in the frames the
rung sets out to remove; what it removed is the same share in its own profile. Shares are
of `cpu.speedscope.json` (py-spy `--gil`: samples of the thread running Python), without
the start-up imports. "inclusive" counts a sample when a matching frame is anywhere on its
stack (the frame and everything it calls); "self" only when the innermost frame matches,
for code that wraps the rest of the request (middleware, a protocol's main loop).
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from kvbench import KvbenchError
from kvbench.docgen.profiles import flamegraph
from kvbench.docgen.sources import Sources
from kvbench.report.formatting import pct
from kvbench.services import LADDER

START_UP = "_find_and_load"  # importlib's frame: a sample taken while modules were imported


@dataclass(frozen=True)
class Frames:
    """Frames a rung targets: a key, what a reader calls them, a regex on `file:function`."""

    key: str
    label: str
    pattern: str
    counted: Literal["inclusive", "self"] = "inclusive"

    def matches(self, file: str, function: str) -> bool:
        return _compiled(self.pattern).search(f"{file}:{function}") is not None


STD = r"<python>/lib/python3\.\d+/"
SITE = r"site-packages/"
# What each rung sets out to remove, in ladder order; a rung whose target no CPU profile
# can show says why instead.
SELF: Literal["self"] = "self"
# fmt: off
TARGETS: dict[str, tuple[Frames, ...] | str] = {
    "httptools": (
        Frames("h11", "h11, the pure-Python HTTP parser and writer", rf"{SITE}h11/"),
        Frames("h11-protocol", "uvicorn's h11 protocol",
               r"uvicorn/protocols/http/h11_impl\.py", SELF),
        Frames("httptools-protocol", "uvicorn's httptools protocol",
               r"uvicorn/protocols/http/httptools_impl\.py", SELF),
    ),
    "noaccesslog": (
        Frames("access-log", "the access log: `Logger.info`, its record, formatter and handler",
               rf"{STD}logging/__init__\.py:Logger\.info$|uvicorn/logging\.py"),
    ),
    "uvloop": (
        Frames("asyncio-loop", "asyncio's event loop, transports and selector",
               rf"{STD}(asyncio/(base_events|selector_events|events)|selectors)\.py", SELF),
    ),
    "noproxyheaders": (
        Frames("proxy-headers", "uvicorn's `ProxyHeadersMiddleware`",
               r"uvicorn/middleware/proxy_headers\.py", SELF),
    ),
    "noserverheader": (
        Frames("response-start", "uvicorn writing the response head (`RequestResponseCycle.send`)",
               r"uvicorn/protocols/http/\w+_impl\.py:RequestResponseCycle\.send$", SELF),
    ),
    "async": (
        Frames("thread-pool", "the thread-pool hop: `run_in_threadpool`, anyio's `to_thread`",
               r"starlette/concurrency\.py:run_in_threadpool$|anyio/to_thread\.py"),
        Frames("threading", "`threading`: waking a pool worker", rf"{STD}threading\.py", SELF),
    ),
    "nolocks": (
        Frames("locked-calls", "the locked calls: `Store.get`, `Stats.incr`",
               r"unoptimized/app\.py:(Store\.get|Stats\.incr)$"),
    ),
    "orjson": (
        Frames("json", "the standard library's `json.dumps`", rf"{STD}json/"),
        Frames("json-response", "`JSONResponse.render`",
               r"starlette/responses\.py:JSONResponse\.render$"),
    ),
    "prebuilt": (
        Frames("answer", "the store's `answer`: encode per GET (before), look up (after)",
               r"ladder/step\d_\w+\.py:\w*Store\.answer$"),
    ),
    "leanroute": (
        Frames("request", "Starlette's `Request`", r"starlette/requests\.py"),
        Frames("response", "Starlette's `Response` objects", r"starlette/responses\.py", SELF),
        Frames("endpoint", "the function-endpoint wrapper, `request_response`",
               r"starlette/routing\.py:request_response", SELF),
    ),
    "hotpath": (
        Frames("starlette", "Starlette's own code: middleware, router, routes", r"starlette/",
               SELF),
    ),
    "gcfreeze": (
        "gc.freeze() removes no frame: the collector runs in C inside "
        "whichever Python frame allocated, which the ladder's profiles (py-spy `--gil`, "
        "Python frames) cannot separate; the GC columns of the ladder tables measure it"
    ),
    "optimized": (
        Frames("writes", "the answer's writes: uvicorn's `RequestResponseCycle.send` and the held "
               "head", r"uvicorn/protocols/http/httptools_impl\.py:(RequestResponseCycle\.)?send$"
               r"|kvbench/runtime/onewrite\.py", SELF),
    ),
    "granian": (
        Frames("uvicorn", "uvicorn's own code: HTTP protocol, ASGI cycle", r"uvicorn/", SELF),
        Frames("asyncio", "asyncio's own code", rf"{STD}asyncio/", SELF),
        Frames("granian", "granian's Python code", r"granian/", SELF),
    ),
}
# fmt: on


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


RUNGS = [service.name for service, _ in LADDER]


def targets(rung: str) -> tuple[Frames, ...] | str:
    if rung not in RUNGS[1:]:
        raise KvbenchError(f"{rung!r} is not a rung after the first; one of {RUNGS[1:]}")
    return TARGETS.get(rung, "no target frames are named for it in kvbench/docgen/evidence.py")


def previous(rung: str) -> str:
    return RUNGS[RUNGS.index(rung) - 1]


def _hits(sources: Sources, service: str, frames: tuple[Frames, ...]) -> list[tuple[set, float]]:
    """Per CPU sample past start-up: the target keys it counts for, and its weight."""
    data = sources.profile(service, "cpu.speedscope.json", "CPU profile")
    names = data["shared"]["frames"]
    matching = [
        {t.key for t in frames if t.matches(f.get("file", ""), f.get("name", ""))} for f in names
    ]
    start_up = {i for i, f in enumerate(names) if f.get("name") == START_UP}
    inclusive = {t.key for t in frames if t.counted == "inclusive"}
    hits = []
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if stack and not start_up.intersection(stack):
                on_stack = set().union(*(matching[i] for i in stack)) & inclusive
                hits.append((on_stack | (matching[stack[-1]] - inclusive), weight))
    if not sum(weight for _, weight in hits):
        raise KvbenchError(f"the CPU profile of {service} holds no samples past start-up")
    return hits


def frame_shares(sources: Sources, service: str, frames: tuple[Frames, ...]) -> tuple[dict, int]:
    """Each target's share of the service's CPU samples, in percent, and the samples counted."""
    hits = _hits(sources, service, frames)
    total = sum(weight for _, weight in hits)
    found = dict.fromkeys((t.key for t in frames), 0.0)
    for keys, weight in hits:
        for key in keys:
            found[key] += weight
    return {key: weight / total * 100 for key, weight in found.items()}, len(hits)


def share_of(sources: Sources, service: str, key: str) -> str:
    """`profile SERVICE frames KEY`: one target's share of a service's CPU samples."""
    found = [f for fs in TARGETS.values() if not isinstance(fs, str) for f in fs if f.key == key]
    if not found:
        raise KvbenchError(f"no frames {key!r} in kvbench/docgen/evidence.py's TARGETS")
    return pct(frame_shares(sources, service, (found[0],))[0][key])


def evidence(sources: Sources, doc: Path, rung: str, *options: str) -> str:
    """`profile-evidence RUNG [flamegraph]`: the target frames' share in the previous profile."""
    wanted = targets(rung)
    prev = previous(rung)
    if isinstance(wanted, str):
        return f"No profile evidence for this rung: {wanted}."
    shares, samples = frame_shares(sources, prev, wanted)
    lines = [
        f"The frames `{rung}` targets, in the py-spy `--gil` profile of `{prev}`:",
        "",
        "| frames | counted | share of GIL-held samples |",
        "| --- | --- | ---: |",
    ]
    lines += [f"| {t.label} | {t.counted} | {pct(shares[t.key])} |" for t in wanted]
    lines += ["", f"{samples:,} samples of `{prev}` under load, start-up imports left out."]
    if set(options) - {"flamegraph"}:
        raise KvbenchError(f"profile-evidence takes a rung and optionally `flamegraph`: {options}")
    if options:
        lines += ["", flamegraph(sources, doc, prev)]
    return "\n".join(lines)


def removed(sources: Sources, rung: str) -> str:
    """`profile-removed RUNG`: the target frames' shares before and after the rung."""
    wanted = targets(rung)
    prev = previous(rung)
    if isinstance(wanted, str):
        return f"No before and after for this rung: {wanted}."
    before, n_before = frame_shares(sources, prev, wanted)
    after, n_after = frame_shares(sources, rung, wanted)
    lines = [f"| frames | counted | `{prev}` | `{rung}` | change, points |",
             "| --- | --- | ---: | ---: | ---: |"]  # fmt: skip
    for t in wanted:
        change = after[t.key] - before[t.key]
        lines.append(f"| {t.label} | {t.counted} | {pct(before[t.key])} | {pct(after[t.key])} "
                     f"| {change:+.1f} |")  # fmt: skip
    lines += ["", f"Shares of each profile's GIL-held samples ({n_before:,} of `{prev}`, "
              f"{n_after:,} of `{rung}`, start-up imports left out). Each share is of its own "
              "profile's whole, and the whole shrinks as requests get cheaper: a share that "
              "stays put can still be less time per request."]  # fmt: skip
    return "\n".join(lines)


# The frames a rung puts in place of those it removes: not part of its prediction.
ADDED = {"httptools-protocol", "granian"}


def removed_share(sources: Sources, rung: str) -> float | None:
    """The share of the previous rung's samples with any frame the rung removes, each once."""
    wanted = targets(rung)
    if isinstance(wanted, str):
        return None
    hits = _hits(sources, previous(rung), tuple(t for t in wanted if t.key not in ADDED))
    return sum(w for keys, w in hits if keys) / sum(w for _, w in hits) * 100
