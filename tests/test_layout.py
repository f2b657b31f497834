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
