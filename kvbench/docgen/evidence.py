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
from kvbench.docgen.formatting import number
from kvbench.docgen.profiles import flamegraph
from kvbench.docgen.sources import NotMeasured, Sources
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
TARGETS: dict[str, tuple[Frames, ...] | str] = {
    "httptools": (
        Frames("h11", "h11, the pure-Python HTTP parser and writer", rf"{SITE}h11/"),
        Frames(
            "h11-protocol", "uvicorn's h11 protocol", r"uvicorn/protocols/http/h11_impl\.py", "self"
        ),
        Frames(
            "httptools-protocol",
            "uvicorn's httptools protocol",
            r"uvicorn/protocols/http/httptools_impl\.py",
            "self",
        ),
    ),  # fmt: skip
    "noaccesslog": (
        Frames(
            "access-log",
            "the access log: `Logger.info`, its record, formatter and handler",
            rf"{STD}logging/__init__\.py:Logger\.info$|uvicorn/logging\.py",
        ),
    ),  # fmt: skip
    "uvloop": (
        Frames(
            "asyncio-loop",
            "asyncio's event loop, transports and selector",
            rf"{STD}(asyncio/(base_events|selector_events|events)|selectors)\.py",
            "self",
        ),
    ),  # fmt: skip
    "noproxyheaders": (
        Frames(
            "proxy-headers",
            "uvicorn's `ProxyHeadersMiddleware`",
            r"uvicorn/middleware/proxy_headers\.py",
            "self",
        ),
    ),  # fmt: skip
    "noserverheader": (
        Frames(
            "response-start",
            "uvicorn writing the response head (`RequestResponseCycle.send`)",
            r"uvicorn/protocols/http/\w+_impl\.py:RequestResponseCycle\.send$",
            "self",
        ),
    ),  # fmt: skip
    "async": (
        Frames(
            "thread-pool",
            "the thread-pool hop: `run_in_threadpool`, anyio's `to_thread`",
            r"starlette/concurrency\.py:run_in_threadpool$|anyio/to_thread\.py",
        ),
        Frames("threading", "`threading`: waking a pool worker", rf"{STD}threading\.py", "self"),
    ),  # fmt: skip
    "nolocks": (
        Frames(
            "locked-calls",
            "the locked calls: `Store.get`, `Stats.incr`",
            r"unoptimized/app\.py:(Store\.get|Stats\.incr)$",
        ),
    ),  # fmt: skip
    "orjson": (
        Frames("json", "the standard library's `json.dumps`", rf"{STD}json/"),
        Frames(
            "json-response",
            "`JSONResponse.render`",
            r"starlette/responses\.py:JSONResponse\.render$",
        ),
    ),  # fmt: skip
    "prebuilt": (
        Frames(
            "answer",
            "the store's `answer`: encode per GET (before), look up (after)",
            r"ladder/step\d_\w+\.py:\w*Store\.answer$",
        ),
    ),  # fmt: skip
    "leanroute": (
        Frames("request", "Starlette's `Request`", r"starlette/requests\.py"),
        Frames("response", "Starlette's `Response` objects", r"starlette/responses\.py", "self"),
        Frames(
            "endpoint",
            "the function-endpoint wrapper, `request_response`",
            r"starlette/routing\.py:request_response",
            "self",
        ),
    ),  # fmt: skip
    "hotpath": (
        Frames(
            "starlette", "Starlette's own code: middleware, router, routes", r"starlette/", "self"
        ),
    ),  # fmt: skip
    "gcfreeze": (
        "gc.freeze() removes no frame: the collector runs in C inside "
        "whichever Python frame allocated, and py-spy samples Python frames only (no "
        "`--native`); the GC columns of the ladder tables measure it instead"
    ),
    "optimized": (
        Frames(
            "writes",
            "the answer's writes: uvicorn's `RequestResponseCycle.send` and the held head",
            r"uvicorn/protocols/http/httptools_impl\.py:(RequestResponseCycle\.)?send$"
            r"|kvbench/runtime/onewrite\.py",
            "self",
        ),
    ),  # fmt: skip
    "granian": (
        Frames("uvicorn", "uvicorn's own code: HTTP protocol, ASGI cycle", r"uvicorn/", "self"),
        Frames("asyncio", "asyncio's own code", rf"{STD}asyncio/", "self"),
        Frames("granian", "granian's Python code", r"granian/", "self"),
    ),  # fmt: skip
}


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def targets(rung: str) -> tuple[Frames, ...] | str:
    rungs = [service.name for service, _ in LADDER]
    if rung not in rungs[1:]:
        raise KvbenchError(f"{rung!r} is not a rung after the first; one of {rungs[1:]}")
    return TARGETS[rung]


def previous(rung: str) -> str:
    rungs = [service.name for service, _ in LADDER]
    return rungs[rungs.index(rung) - 1]


def frame_shares(sources: Sources, service: str, frames: tuple[Frames, ...]) -> tuple[dict, int]:
    """Each target's share of the service's CPU samples, in percent, and the samples counted."""
    data = cpu_profile(sources, service)
    names = data["shared"]["frames"]
    matching = [
        {t.key for t in frames if t.matches(f.get("file", ""), f.get("name", ""))} for f in names
    ]
    start_up = {i for i, f in enumerate(names) if f.get("name") == START_UP}
    found = dict.fromkeys((t.key for t in frames), 0.0)
    inclusive = {t.key for t in frames if t.counted == "inclusive"}
    total, counted = 0.0, 0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack or start_up.intersection(stack):
                continue
            total, counted = total + weight, counted + 1
            on_stack = set().union(*(matching[i] for i in stack)) & inclusive
            for key in on_stack | (matching[stack[-1]] - inclusive):
                found[key] += weight
    if not total:
        raise KvbenchError(f"the CPU profile of {service} holds no samples past start-up")
    return {key: weight / total * 100 for key, weight in found.items()}, counted


def cpu_profile(sources: Sources, service: str) -> dict:
    try:
        return sources.profile(service, "cpu.speedscope.json")
    except NotMeasured:
        part = "profiles" if service in ("unoptimized", "optimized") else "ladder-profiles"
        raise NotMeasured(part, f"no CPU profile of `{service}` is committed") from None


def share_of(sources: Sources, service: str, key: str) -> str:
    """`profile SERVICE frames KEY`: one target's share of a service's CPU samples."""
    found = [f for fs in TARGETS.values() if not isinstance(fs, str) for f in fs if f.key == key]
    if not found:
        raise KvbenchError(f"no frames {key!r} in kvbench/docgen/evidence.py's TARGETS")
    return f"{number(frame_shares(sources, service, (found[0],))[0][key], 2)}%"


def evidence(sources: Sources, doc: Path, rung: str, *options: str) -> str:
    """`profile-evidence RUNG [flamegraph]`: the target frames' share in the previous profile."""
    wanted = targets(rung)
    prev = previous(rung)
    if isinstance(wanted, str):
        return f"No profile evidence for this rung: {wanted}."
    shares, samples = frame_shares(sources, prev, wanted)
    lines = [f"The frames `{rung}` targets, in the CPU profile of `{prev}`:", "",
             "| frames | counted | share of the CPU samples |", "| --- | --- | ---: |"]  # fmt: skip
    lines += [f"| {t.label} | {t.counted} | {_pct(shares[t.key])} |" for t in wanted]
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
        lines.append(f"| {t.label} | {t.counted} | {_pct(before[t.key])} | {_pct(after[t.key])} "
                     f"| {change:+.1f} |")  # fmt: skip
    lines += ["", f"Shares of each profile's CPU samples ({n_before:,} of `{prev}`, {n_after:,} "
              f"of `{rung}`, start-up imports left out). Each share is of its own profile's "
              "whole, and the whole shrinks as requests get cheaper: a share that stays put "
              "can still be less time per request."]  # fmt: skip
    return "\n".join(lines)


def _pct(value: float) -> str:
    return f"{number(value, 2)}%" if value else "0%"
