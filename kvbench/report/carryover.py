"""Your run beside the committed reference: what carried over to your machine, and what did not.

Per metric, each side's two services and their ratio, then how far your run's ratio moved
from the reference's. Absolute figures belong to a machine; the ratio of two services
measured in the same run is what should carry over.
"""

from kvbench.report import fields, formatting
from kvbench.report.tables import ARROWS
from kvbench.results.metrics import METRICS, metric
from kvbench.results.ratios import Ratio, ratio
from kvbench.results.resultset import ResultSet
from kvbench.results.runs import shown

SIDES = ("reference", "your run")
MEDIANS = "ratio: {new} / {old} in the same run: the ratio of the medians."
PAIRED = (
    "ratio: {new} / {old} in the same run: the median of per-round paired ratios\n"
    "(± its 95% interval) where a run recorded them, else the ratio of the medians."
)
WHY = (
    "vs reference: how far your run's ratio moved from the reference's. Absolute figures\n"
    "belong to a machine; the ratio of two services measured in one run is what carries over."
)


def render(reference: ResultSet, run: ResultSet, old: str, new: str, only=None) -> str:
    """The side-by-side table, a line per side saying what it ran on, and version warnings."""
    header = ["metric", "unit", old, new, "ratio", old, new, "ratio", "vs reference"]
    lines, paired = [header], False
    chosen = names(reference, run, old, new, only)
    if not chosen:
        return f"no metric of {old} and {new} in both the reference and your run\n"
    for name in chosen:
        ratios = [ratio(results, new, old, name) for results in (reference, run)]
        paired = paired or any(r and r.paired for r in ratios)
        lines.append(_cells(name, [reference, run], old, new, ratios))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    table = [_groups(widths)] + [_aligned(line, widths) for line in lines]
    notes = [f"reference: {describe(reference)}", f"your run:  {describe(run)}"]
    notes += [(PAIRED if paired else MEDIANS).format(new=new, old=old), WHY]
    notes += differences(reference, run, ("the reference", "your run"))
    return "\n".join(table + notes) + "\n"


def _aligned(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def names(reference: ResultSet, run: ResultSet, old: str, new: str, only=None) -> list[str]:
    """The metrics all four columns have, in the order of `kvbench.results.metrics`."""
    sides = [set(results.services.get(s) or {}) for results in (reference, run) for s in (old, new)]
    order = {name: i for i, name in enumerate(METRICS)}
    common = sorted(set.intersection(*sides), key=lambda n: (order.get(n, len(order)), n))
    return [name for name in common if not only or name in only]


def _cells(name: str, sets: list[ResultSet], old: str, new: str, ratios) -> list[str]:
    unit = f"{metric(name).unit} {ARROWS.get(metric(name).better, '')}".strip()
    cells = [name, unit]
    for results, found in zip(sets, ratios, strict=True):
        medians = [results.services[s][name].median for s in (old, new)]
        cells += [formatting.benchstat_number(m) for m in medians]  # as `compare` prints them
        cells.append(_ratio(found))
    ref, mine = ratios
    if not (ref and mine and ref.value):
        return [*cells, "—"]
    return [*cells, formatting.percent(formatting.change(mine.value, ref.value))]


def _ratio(found: Ratio | None) -> str:
    if found is None:
        return "—"
    text = formatting.ratio(found.value)
    if found.interval and found.value:
        text += f" {formatting.spread(found.value, found.interval)}"
    return text


def _groups(widths: list[int]) -> str:
    """The line over the columns: which side each group of three belongs to."""
    start = [sum(widths[:i]) + 2 * i for i in range(len(widths))]
    return (" " * start[2] + SIDES[0].ljust(start[5] - start[2]) + SIDES[1]).rstrip()


def describe(results: ResultSet) -> str:
    """Where a result set is and what it was measured on, in one line."""
    env = results.environment
    trials = fields.http(env).get("trials")
    facts = [
        env.get("cpu_model"),
        env.get("cores") and f"{env['cores']} cores",
        env.get("python") and f"Python {env['python']}",
        trials and f"{trials} trials",
        str(env.get("date") or "")[:10],
    ]
    folder = results.path.parent if results.path.name == "summary.json" else results.path
    return f"{shown(folder)} ({', '.join(str(f) for f in facts if f)})"


def differences(old_set: ResultSet, new_set: ResultSet, labels: tuple[str, str]) -> list[str]:
    """A warning per measured package whose version differs between two runs."""
    old = fields.packages(old_set.environment)
    new = fields.packages(new_set.environment)
    return [
        f"warning: {name} {old.get(name) or 'absent'} in {labels[0]}, "
        f"{new.get(name) or 'absent'} in {labels[1]}: not the same code was measured"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]
