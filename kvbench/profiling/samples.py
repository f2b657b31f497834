"""Shares of a py-spy speedscope profile: by component, by function, and by target frames.

py-spy records under `--gil` only samples taken while a thread held the GIL, weighted in
wall-clock seconds: the shares are of those samples, not of CPU time.
"""

from collections import Counter

from kvbench import KvbenchError
from kvbench.profiling.targets import Frames

START_UP = "_find_and_load"  # importlib's frame: a sample taken while modules were imported


def component(file: str) -> str:
    """Who a source file belongs to: a package, a standard-library module, or this repository."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if file.startswith("<python>/"):
        parts = file.split("/")
        return parts[3].removesuffix(".py") if len(parts) > 3 else file
    if file.startswith("<frozen"):
        return "imports (start-up)"
    return file


def self_time(data: dict) -> tuple[Counter, Counter, float]:
    """Self weight by component and by (function, file), and the whole weight."""
    frames = data["shared"]["frames"]
    by_function: Counter[tuple[str, str]] = Counter()
    total = 0.0
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            if stack:
                frame = frames[stack[-1]]
                by_function[(frame["name"], frame["file"])] += weight
    by_component: Counter[str] = Counter()
    for (_, file), weight in by_function.items():
        by_component[component(file)] += weight
    return by_component, by_function, total


def hits(data: dict, targets: tuple[Frames, ...]) -> list[tuple[set[str], float]]:
    """Per sample past start-up: the keys of the targets it counts for, and its weight."""
    names = data["shared"]["frames"]
    matching = [
        {t.key for t in targets if t.matches(f.get("file", ""), f.get("name", ""))} for f in names
    ]
    start_up = {i for i, f in enumerate(names) if f.get("name") == START_UP}
    inclusive = {t.key for t in targets if t.counted == "inclusive"}
    found = []
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if stack and not start_up.intersection(stack):
                on_stack = set().union(*(matching[i] for i in stack)) & inclusive
                found.append((on_stack | (matching[stack[-1]] - inclusive), weight))
    if not sum(weight for _, weight in found):
        raise KvbenchError("the CPU profile holds no samples past start-up")
    return found


def frame_shares(data: dict, targets: tuple[Frames, ...]) -> tuple[dict[str, float], int]:
    """Each target's share of the samples past start-up, in percent, and how many samples."""
    found = hits(data, targets)
    total = sum(weight for _, weight in found)
    shares = dict.fromkeys((t.key for t in targets), 0.0)
    for keys, weight in found:
        for key in keys:
            shares[key] += weight
    return {key: weight / total * 100 for key, weight in shares.items()}, len(found)


def any_share(data: dict, targets: tuple[Frames, ...]) -> float:
    """The share of samples with any of the targets on them, each sample counted once."""
    found = hits(data, targets)
    return sum(w for keys, w in found if keys) / sum(w for _, w in found) * 100
