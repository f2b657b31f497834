"""Profiles in the docs: read from their files, linked, never copied."""

import re
from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.profiling.samples import self_time
from kvbench.report.formatting import number, pct

# The files `make profile` writes per service, in the order docs/03 reads them.
VIEWS = [
    ("cpu.pyspy.svg", "CPU flamegraph"),
    ("blocking.pyspy.svg", "blocking view"),
    ("cpu.speedscope.json", "speedscope"),
    ("lines.scalene.html", "line profile"),
    ("allocs.memray.html", "allocations"),
]
TOP = 8
# py-spy's flamegraph titles: one root frame per thread (`--threads`), and the pool's wait.
THREAD = re.compile(r"<title>thread \((\d+)\)(?::([^<]*?))? \(([\d,]+) samples?, [\d.]+%\)</title>")
WAITING = re.compile(r"<title>Condition\.wait \(threading\.py:\d+\) \(([\d,]+) samples?")
# scalene escapes these characters in its source lines.
ESCAPES = {"\\u003e": ">", "\\u003c": "<", "\\u0026": "&"}


def links(sources: Sources, doc: Path, services: list[str]) -> str:
    """`profiles SERVICE...`: a table linking each service's profile files."""
    if not (sources.results / "profiles" / "README.md").is_file():
        raise NotMeasured("profiles")
    head = "| service | " + " | ".join(title for _, title in VIEWS) + " |"
    lines = [head, "|---" * (len(VIEWS) + 1) + "|"]
    for service in services:
        cells = []
        for name, _ in VIEWS:
            path = sources.profile_path(service, name)
            cells.append(f"[{name}]({sources.link(path, doc)})" if path.is_file() else "—")
        lines.append(f"| `{service}` | " + " | ".join(cells) + " |")
    index = sources.link(sources.results / "profiles" / "README.md", doc)
    return "\n".join(lines) + f"\n\nHow each was made, with the exact commands: [{index}]({index})."


def flamegraph(sources: Sources, doc: Path, service: str) -> str:
    """`flamegraph SERVICE`: py-spy's CPU flame graph as an image, with how to read it."""
    path = sources.profile_path(service, "cpu.pyspy.svg")
    if not path.is_file():
        raise sources.no_profile(service, "CPU flame graph")
    link = sources.link(path, doc)
    return (
        f"![CPU flame graph of `{service}` under load, py-spy]({link})\n\n"
        "_Each box is a function on its caller's box, as wide as its share of the GIL-held "
        f"samples (boxes sit alphabetically, not in time order). [Open the SVG]({link}) to "
        "zoom and search._"
    )


def cpu(sources: Sources, service: str, top: str = str(TOP), view: str = "cpu") -> str:
    """`profile-cpu SERVICE [N] [native]`: py-spy's GIL-held samples by component and function."""
    if view not in ("cpu", "native"):
        raise KvbenchError(f"profile-cpu: view {view!r} is neither cpu nor native")
    data = sources.profile(service, f"{view}.speedscope.json")
    by_component, by_function, total = self_time(data)
    n = int(top)
    lines = ["| component | share of GIL-held samples (self) |", "| --- | ---: |"]
    lines += [f"| `{name}` | {_pct(w, total)} |" for name, w in by_component.most_common(n)]
    lines += ["", "| function | file | self |", "| --- | --- | ---: |"]
    lines += [f"| `{name}` | `{file}` | {_pct(w, total)} |"
              for (name, file), w in by_function.most_common(n)]  # fmt: skip
    seconds = number(total)
    how = "py-spy `--gil --native`" if view == "native" else "py-spy `--gil`"
    return "\n".join(lines) + (
        f"\n\n{seconds} s of wall-clock samples ({how}) taken while a thread held the GIL, "
        "all threads: not CPU time (a system call made with the GIL held counts too)."
    )


def threads(sources: Sources, service: str) -> dict[str, list[float]]:
    """From the blocking view: thread name -> [threads, samples, samples waiting for work]."""
    path = sources.profile_path(service, "blocking.pyspy.svg")
    if not path.is_file():
        raise NotMeasured("profiles")
    svg = path.read_text(encoding="utf-8", errors="replace")
    found: dict[str, list[float]] = {}
    for _, name, samples in THREAD.findall(svg):
        entry = found.setdefault(name.strip() or "(unnamed)", [0, 0, 0])
        entry[0] += 1
        entry[1] += int(samples.replace(",", ""))
    waits = sum(int(n.replace(",", "")) for n in WAITING.findall(svg))
    if "AnyIO worker thread" in found:
        found["AnyIO worker thread"][2] = waits
    return found


def blocking(sources: Sources, service: str) -> str:
    """`profile-blocking SERVICE`: every thread's share of the blocking view's samples."""
    found = threads(sources, service)
    total = sum(entry[1] for entry in found.values())
    rows = ["| thread | threads | share of all samples |", "| --- | ---: | ---: |"]
    for name, (count, samples, _) in sorted(found.items(), key=lambda item: -item[1][1]):
        rows.append(f"| {name} | {count:.0f} | {_pct(samples, total)} |")
    pool = found.get("AnyIO worker thread")
    if pool and pool[1]:
        rows += ["", f"The pool's threads spent {_pct(pool[2], pool[1])} of their samples in "
                 "`Condition.wait`: idle, waiting for work."]  # fmt: skip
    return "\n".join(rows)


def lines(sources: Sources, service: str, top: str = str(TOP)) -> str:
    """`profile-lines SERVICE [N]`: scalene's busiest lines, CPU split Python/native/system."""
    data = sources.profile(service, "lines.scalene.json")
    found = []
    for file, info in data.get("files", {}).items():
        for line in info.get("lines", []):
            shares = [line.get(k, 0.0) for k in ("n_cpu_percent_python", "n_cpu_percent_c",
                                                    "n_sys_percent")]  # fmt: skip
            if sum(shares) > 0:
                found.append((sum(shares), file, line, shares))
    found.sort(key=lambda item: -item[0])
    rows = ["| line | Python | native | system | code |", "| --- | ---: | ---: | ---: | --- |"]
    for _, file, line, shares in found[: int(top)]:
        code = line.get("line", "").strip().replace("|", "\\|")
        for escaped, plain in ESCAPES.items():
            code = code.replace(escaped, plain)
        cells = " | ".join(pct(s) for s in shares)
        rows.append(f"| `{file}:{line['lineno']}` | {cells} | `{code}` |")
    elapsed = number(data.get("elapsed_time_sec", 0))
    return "\n".join(rows) + f"\n\nShares of the CPU time scalene sampled over {elapsed} s."


def allocs(sources: Sources, service: str, top: str = str(TOP)) -> str:
    """`profile-allocs SERVICE [N]`: memray's allocations per request and where they happen."""
    data = sources.profile(service, "allocs.memray.json")
    n = int(top)
    said = (
        f"{number(data['allocations_per_request'])} allocations and "
        f"{number(data['bytes_per_request'])} bytes per request, over "
        f"{data['requests']:,} in-process requests."
    )
    parts = [said]
    for key, title in (("top_service_lines", "line of the service"),
                       ("top_locations", "innermost frame")):  # fmt: skip
        entries = data.get(key) or []
        if entries:
            rows = [f"| {title} | per request |", "| --- | ---: |"]
            rows += [f"| `{e['where']}` | {number(e['per_request'])} |" for e in entries[:n]]
            parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _pct(part: float, total: float) -> str:
    return pct(part / total * 100) if total else "—"
