"""The tree's rules: services import only the harness's runtime, and no module imports cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kvbench", "unoptimized", "optimized", "ladder", "peers")
SERVICES = ("unoptimized", "optimized", "ladder", "peers")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every project module and the project modules it imports (at any depth of the file)."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found |= {n for n in names if n in modules and n != name}
        graph[name] = found
    return graph


def test_services_import_only_the_runtime_of_the_harness():
    for name, imported in imports().items():
        if name.startswith(SERVICES):
            harness = {m for m in imported if m.startswith("kvbench")}
            assert all(m.startswith("kvbench.runtime") for m in harness), (name, harness)


def test_only_child_programs_of_the_harness_import_the_services():
    # Only kvbench is installed: the `kvbench` command must start from any directory, so
    # the services are imported only by programs run as children with the checkout on
    # their PYTHONPATH (kvbench.workers), never by the harness process itself.
    for name, imported in imports().items():
        if name.startswith("kvbench") and not name.startswith("kvbench.workers"):
            services = {m for m in imported if m.startswith(SERVICES)}
            assert not services, (name, services)


def test_the_runtime_imports_nothing_else_of_the_harness():
    for name, imported in imports().items():
        if name.startswith("kvbench.runtime"):
            assert all(m.startswith("kvbench.runtime") for m in imported), (name, imported)


def test_no_import_cycle():
    graph = imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            assert state.get(other) != 1, " -> ".join([*path, name, other])
            if other not in state:
                visit(other, [*path, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


# The harness in layers, lowest first: a package imports its own layer and those below it,
# never one above (kvbench's root holds KvbenchError and PROJECT_ROOT). ARCHITECTURE.md
# draws the same order.
LAYERS = (
    ("kvbench",),
    ("runtime",),
    ("services", "catalog"),  # what is measured: services.py, then the catalogue over it
    ("results",),  # statistics, the typed model, record files, run folders
    ("load",),
    ("processes", "redis_server", "proxy", "workers"),  # servers and child programs
    ("measure", "profiling"),
    ("report",),
    ("soak",),  # an experiment with its own report: load, faults, checks, plots
    ("docgen",),
    ("commands", "cli", "__main__"),
)
# Imports up a layer that only a change to files the committed results hash can remove
# (issue 27): they wait for the next re-measurement. Listed exactly, so a new one fails
# and so does one that has gone (then drop it here).
KNOWN_UPWARD = {
    # load/canned.py and load/wrk.py pin the generator with processes.pin (a cycle, as
    # processes imports load.http1): `pin` belongs in runtime or load.
    ("load", "processes"),
    # percentiles and the record files live in load/summary.py: they belong in results.
    ("results", "load"),
}


def package(module: str) -> str:
    """`kvbench.measure.trials` -> `measure`; `kvbench.services` -> `services`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_imports() -> set[tuple[str, str]]:
    """Every (importer, imported) pair of distinct kvbench packages."""
    return {
        (package(name), package(other))
        for name, imported in imports().items()
        if name.startswith("kvbench")
        for other in imported
        if other.startswith("kvbench") and package(name) != package(other)
    }


def layer(name: str) -> int:
    found = [index for index, names in enumerate(LAYERS) if name in names]
    assert found, f"kvbench.{name} has no layer: place it in LAYERS (and ARCHITECTURE.md)"
    return found[0]


def test_no_package_imports_up_a_layer_but_the_known_ones():
    upward = {(a, b) for a, b in package_imports() if layer(b) > layer(a)}
    assert upward == KNOWN_UPWARD


def test_no_package_cycle_but_the_known_one():
    graph: dict[str, set[str]] = {}
    for a, b in package_imports() - KNOWN_UPWARD:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()) - seen:
            if nxt == goal or reaches(nxt, goal, seen | {nxt}):
                return True
        return False

    cyclic = sorted(name for name in graph if reaches(name, name, set()))
    assert not cyclic, cyclic
