"""Number formats for prose and generated tables, docs and reports alike: one function per format.

Figures read with three significant digits (`number` and the functions built on it); the
compare tables keep benchstat's own conventions (the `benchstat_` functions), and settings
read as they were given (`plain`).
"""

import math

from kvbench.results.summary import Summary

# Units as prose says them; ns/op switches to µs from 1,000 ns.
SPOKEN = {"us/req": "µs", "allocs/op": "allocs", "B/op": "B", "count": ""}
# Units of exact counts (valgrind's instructions, memray's allocations and bytes, events):
# their digits are not noise, so a count from 1,000 up keeps every one.
EXACT = {"instr/op", "allocs/op", "B/op", "count"}


def number(value: float, digits: int = 3) -> str:
    """`digits` significant digits, thousands grouped: 26953 -> 27,000, 0.22381 -> 0.224."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - magnitude)
    if magnitude >= digits - 1:
        return f"{rounded:,.0f}"
    return f"{rounded:,.{digits - 1 - magnitude}f}"


def spoken(value: float, unit: str) -> tuple[float, str]:
    """The factor and unit prose uses for `value`: ns/op from 1,000 ns on reads as µs."""
    if unit == "ns/op":
        return (1e-3, "µs") if abs(value) >= 1000 else (1.0, "ns")
    return 1.0, SPOKEN.get(unit, unit)


def exact(value: float) -> str:
    """An exact count: every digit from 1,000 up (319,734), else as `number` (33.9, 414); a
    whole count reads as it is (3, not 3.00)."""
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{round(value):,}"
    return number(value)


def counted(value: float, unit: str) -> str:
    """A number in `unit`: an exact count by `exact`, anything measured by `number`."""
    return exact(value) if unit in EXACT else number(value)


def quantity(value: float, unit: str) -> str:
    """A measured value with its unit, as prose says it: `7.99 µs`, `7,150 req/s`."""
    factor, said = spoken(value, unit)
    return f"{counted(value * factor, unit)} {said}".strip()


def with_range(stat: Summary) -> str:
    """The median with its unit and, when there is one, its 95% interval in the same unit."""
    text = quantity(stat.median, stat.unit)
    if stat.ci is None:
        return text
    factor = spoken(stat.median, stat.unit)[0]
    low, high = (counted(v * factor, stat.unit) for v in stat.ci)
    return f"{text} ({low} to {high})"


def ratio(value: float, bounds: tuple[float, float] | None = None) -> str:
    """A ratio with its bounds if given: 1.27x (1.20 to 1.35)."""
    text = f"{number(value)}x"
    return text + (f" ({number(bounds[0])} to {number(bounds[1])})" if bounds else "")


def pct(value: float, bounds: tuple[float, float] | None = None) -> str:
    """A share in percent, two significant digits: 4.3%. With bounds, all three to the same
    decimals, one more while the bounds would read alike (up to two more): 24.1% (23.5 to
    24.5%), not 24% (24 to 24%)."""
    if not bounds:
        return f"{number(value, 2)}%"
    least = max(0, 1 - math.floor(math.log10(abs(value)))) if value else 1
    digits = least
    while digits < least + 2 and f"{bounds[0]:.{digits}f}" == f"{bounds[1]:.{digits}f}":
        digits += 1
    low, high = (f"{bound:.{digits}f}" for bound in bounds)
    return f"{value:.{digits}f}% ({low} to {high}%)"


def percent(change: float) -> str:
    """A change in percent with its sign: +969%, -3.4% (-9.97 reads -10%, not -10.0%)."""
    digits = 0 if abs(round(change, 1)) >= 10 else 1
    return f"{change:+.{digits}f}%"


def change_span(low: float, high: float) -> str:
    """An interval of changes in percent, one decimal below 100% (+686% to +749%, -81.9% to
    -80.3%), one more (up to two) while the two ends would read alike."""
    digits = 0 if max(abs(low), abs(high)) >= 100 else 1
    ends = (f"{low:+.{digits}f}%", f"{high:+.{digits}f}%")
    while ends[0] == ends[1] and digits < 2:
        digits += 1
        ends = (f"{low:+.{digits}f}%", f"{high:+.{digits}f}%")
    return f"{ends[0]} to {ends[1]}"


def change(new: float, old: float) -> float:
    return (new - old) / abs(old) * 100 if old else math.nan


def spread(centre: float, bounds: tuple[float, float]) -> str:
    """The wider side of an interval, in percent of its centre: ± 2.7%."""
    wider = max(centre - bounds[0], bounds[1] - centre) / abs(centre) * 100 if centre else 0.0
    return f"± {pct(wider)}"


def correlation(r: float) -> str:
    """A correlation coefficient with its sign, two decimals: +0.83."""
    return f"{r:+.2f}"


def plain(value: float) -> str:
    """A value as it was set (a duration, a rate, an axis tick): 5,000, 2, 0.5, 0.1235."""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.4g}"


def benchstat_number(value: float) -> str:
    """Four significant digits with a k/M/G suffix, as benchstat prints them: 24.12k."""
    size = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if size >= scale:
            divisor = 1e3 if suffix == "k" else scale
            return f"{value / divisor:#.4g}".rstrip(".") + suffix
    if value == int(value) and size >= 1000:
        return str(int(value))
    return f"{value:#.4g}".rstrip(".")


def benchstat_spread(spread_pct: float | None) -> str:
    """The wider side of a median's interval in whole percent, as benchstat prints it: ± 5%;
    ± ∞ where there is none (no interval, or a median of 0)."""
    return "± ∞" if spread_pct is None else f"± {spread_pct:.0f}%"


def benchstat_change(change: float) -> str:
    """A change of the medians, two decimals with its sign, as benchstat prints it: +2.34%."""
    return f"{change:+.2f}%"


def setting(value: object) -> str:
    """A recorded setting as a table cell: mappings as `key value` pairs, command-line words as
    typed, other lists comma-joined; whole numbers as they are, a fraction as given (0.95), a
    measured float from 100 up as a measurement (a median rate: 86,500)."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {setting(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        words = all(isinstance(v, str) for v in value)
        return (" " if words else ", ").join(setting(v) for v in value)
    if value is None:
        return "not installed"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return number(value) if abs(value) >= 100 else f"{value:g}"
    return str(value).replace("|", "\\|")
