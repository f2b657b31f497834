"""Profiles in the docs: read from their files (tables by kvbench/report/profiles.py), linked,
never copied."""

from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.report import profiles as views

# The files `make profile` writes per service, in the order docs/03 reads them.
VIEWS = [
    ("cpu.pyspy.svg", "CPU flamegraph"),
    ("blocking.pyspy.svg", "blocking view"),
    ("cpu.speedscope.json", "speedscope"),
    ("lines.scalene.html", "line profile"),
    ("allocs.memray.html", "allocations"),
]


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
    link = sources.link(sources.profile_file(service, "cpu.pyspy.svg"), doc)
    return (
        f"![CPU flame graph of `{service}` under load, py-spy]({link})\n\n"
        "_Each box is a function on its caller's box, as wide as its share of the GIL-held "
        f"samples (boxes sit alphabetically, not in time order). [Open the SVG]({link}) to "
        "zoom and search._"
    )


def table(sources: Sources, service: str, view: str, top: str = "8") -> str:
    """`profile VIEW SERVICE [N]`: a profile file of the service as a table, its top N rows."""
    if not top.isdigit():
        raise KvbenchError(f"the number of rows must be a whole number, not {top!r}")
    if view == "blocking":
        return views.blocking(blocking_svg(sources, service))
    file, render = FILES[view]
    return render(sources.profile(service, file), int(top))


FILES = {
    "cpu": ("cpu.speedscope.json", views.cpu),
    "native": ("native.speedscope.json", lambda data, top: views.cpu(data, top, native=True)),
    "lines": ("lines.scalene.json", views.lines),
    "allocs": ("allocs.memray.json", views.allocs),
}


def blocking_svg(sources: Sources, service: str) -> str:
    path = sources.profile_file(service, "blocking.pyspy.svg")
    return path.read_text(encoding="utf-8", errors="replace")
