"""A profile's files as markdown tables: py-spy's self time by component and function, its
blocking view's threads, scalene's busiest lines and memray's allocations per request."""

import re

from kvbench.profiling.samples import self_time
from kvbench.report.formatting import number, pct

POOL = "AnyIO worker thread"
# py-spy's flamegraph titles: one root frame per thread (`--threads`), and the pool's wait.
THREAD = re.compile(r"<title>thread \((\d+)\)(?::([^<]*?))? \(([\d,]+) samples?, [\d.]+%\)</title>")
WAITING = re.compile(r"<title>Condition\.wait \(threading\.py:\d+\) \(([\d,]+) samples?")
# scalene escapes these characters in its source lines.
ESCAPES = {"\\u003e": ">", "\\u003c": "<", "\\u0026": "&"}


def share(part: float, total: float) -> str:
    return pct(part / total * 100) if total else "—"


def cpu(data: dict, top: int, native: bool = False) -> str:
    """py-spy's GIL-held samples (a speedscope file) by component and by function, self."""
    by_component, by_function, total = self_time(data)
    lines = ["| component | share of GIL-held samples (self) |", "| --- | ---: |"]
    lines += [f"| `{name}` | {share(w, total)} |" for name, w in by_component.most_common(top)]
    lines += ["", "| function | file | self |", "| --- | --- | ---: |"]
    lines += [f"| `{name}` | `{file}` | {share(w, total)} |"
              for (name, file), w in by_function.most_common(top)]  # fmt: skip
    how = "py-spy `--gil --native`" if native else "py-spy `--gil`"
    return "\n".join(lines) + (
        f"\n\n{number(total)} s of wall-clock samples ({how}) taken while a thread held the "
        "GIL, all threads: not CPU time (a system call made with the GIL held counts too)."
    )


def threads(svg: str) -> dict[str, list[float]]:
    """From the blocking view: thread name -> [threads, samples, samples waiting for work]."""
    found: dict[str, list[float]] = {}
    for _, name, samples in THREAD.findall(svg):
        entry = found.setdefault(name.strip() or "(unnamed)", [0, 0, 0])
        entry[0] += 1
        entry[1] += int(samples.replace(",", ""))
    if POOL in found:
        found[POOL][2] = sum(int(n.replace(",", "")) for n in WAITING.findall(svg))
    return found


def blocking(svg: str) -> str:
    """Every thread's share of the blocking view's samples, and how idle the pool was."""
    found = threads(svg)
    total = sum(entry[1] for entry in found.values())
    rows = ["| thread | threads | share of all samples |", "| --- | ---: | ---: |"]
    for name, (count, samples, _) in sorted(found.items(), key=lambda item: -item[1][1]):
        rows.append(f"| {name} | {count:.0f} | {share(samples, total)} |")
    pool = found.get(POOL)
    if pool and pool[1]:
        rows += ["", f"The pool's threads spent {share(pool[2], pool[1])} of their samples in "
                 "`Condition.wait`: idle, waiting for work."]  # fmt: skip
    return "\n".join(rows)


def lines(data: dict, top: int) -> str:
    """scalene's busiest lines, their CPU split into Python, native and system."""
    found = []
    for file, info in data.get("files", {}).items():
        for line in info.get("lines", []):
            shares = [line.get(k, 0.0) for k in ("n_cpu_percent_python", "n_cpu_percent_c",
                                                    "n_sys_percent")]  # fmt: skip
            if sum(shares) > 0:
                found.append((sum(shares), file, line, shares))
    found.sort(key=lambda item: -item[0])
    rows = ["| line | Python | native | system | code |", "| --- | ---: | ---: | ---: | --- |"]
    for _, file, line, shares in found[:top]:
        code = line.get("line", "").strip().replace("|", "\\|")
        for escaped, plain in ESCAPES.items():
            code = code.replace(escaped, plain)
        cells = " | ".join(pct(s) for s in shares)
        rows.append(f"| `{file}:{line['lineno']}` | {cells} | `{code}` |")
    elapsed = number(data.get("elapsed_time_sec", 0))
    return "\n".join(rows) + f"\n\nShares of the CPU time scalene sampled over {elapsed} s."


def allocs(data: dict, top: int) -> str:
    """memray's allocations per request, and where they happen."""
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
            rows += [f"| `{e['where']}` | {number(e['per_request'])} |" for e in entries[:top]]
            parts.append("\n".join(rows))
    return "\n\n".join(parts)
