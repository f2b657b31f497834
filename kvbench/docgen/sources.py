"""What the docs are generated from: one results folder and the files it holds, read once."""

import json
import os
from functools import cached_property
from pathlib import Path

from kvbench import KvbenchError
from kvbench.catalog import experiments, ladder
from kvbench.results.model import Run
from kvbench.results.resultset import ResultSet, read_results
from kvbench.results.summary import Summary
from kvbench.services import get_service

# Optional parts of a results folder (kvbench/catalog/experiments.py): the file whose presence
# means the part was committed, the make target that writes it, and what the docs call it.
PARTS = {e.name: (e.path, e.make, e.title) for e in experiments.EXPERIMENTS if e.folder}

# The parts read as result sets (services and metrics), by name in blocks and values.
RESULT_SETS = tuple(e.name for e in experiments.EXPERIMENTS if e.folder and e.result_set)


class NotMeasured(KvbenchError):
    """A part of the results that this folder does not hold; says which target makes it."""

    def __init__(self, part: str, detail: str = "") -> None:
        self.part = part
        self.target = PARTS[part][1] if part in PARTS else experiments.MAIN.make
        self.title = PARTS[part][2] if part in PARTS else part.capitalize()
        said = f"not measured yet: {detail}" if detail else "not measured in the committed results"
        super().__init__(f"{said}; run `{self.target}`")


class Sources:
    """The results folder (`bench-results/` by default) and the repository the docs live in."""

    def __init__(self, results: Path, root: Path) -> None:
        self.results = results
        self.root = root
        self._sets: dict[str, ResultSet | None] = {}

    def require(self) -> None:
        """Fail early and plainly when the folder holds no summary.json at all."""
        summary = self.results / "summary.json"
        if not summary.is_file():
            raise KvbenchError(
                f"{self.shown(summary)} is missing: the docs are generated from committed "
                "results; run `make bench` (and `make bench-ladder`, `make profile`) first"
            )

    def shown(self, path: Path) -> str:
        return shown(path, self.root)

    @cached_property
    def run(self) -> ResultSet:
        self.require()
        return read_results(self.results)

    def results_set(self, name: str) -> ResultSet:
        """`run` or a part holding results (RESULT_SETS); NotMeasured when not committed."""
        if name == "run":
            return self.run
        if name not in RESULT_SETS:
            raise KvbenchError(f"unknown result set {name!r}; one of run, {', '.join(RESULT_SETS)}")
        if name not in self._sets:
            path = self.results / PARTS[name][0]
            self._sets[name] = read_results(path) if path.is_file() else None
        found = self._sets[name]
        if found is None:
            raise NotMeasured(name)
        return found

    def typed(self, name: str) -> Run:
        """The typed summary.json of a result set (every set the docs read has one)."""
        found = self.results_set(name)
        if found.run is None:
            raise KvbenchError(f"{found.path}: no summary.json to read")
        return found.run

    def part_json(self, name: str) -> dict:
        """A part's JSON file as it is (one that is no result set, e.g. hostile/)."""
        path = self.results / PARTS[name][0]
        if not path.is_file():
            raise NotMeasured(name)
        return self._json(path)

    def optional_json(self, name: str) -> dict | None:
        """A JSON file of the results folder, or None when it is not there."""
        path = self.results / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def stat(self, set_name: str, service: str, metric: str) -> Summary:
        """One metric of one service in a result set; KvbenchError when it was not measured."""
        services = self.results_set(set_name).services
        if service not in services:
            raise missing(set_name, service)
        if metric not in services[service]:
            raise KvbenchError(f"{set_name} results have no {metric} for {service}")
        return services[service][metric]

    def profile(self, service: str, name: str) -> dict:
        """A profile's JSON file, `profiles/<service>/<name>`; NotMeasured when absent."""
        return self._json(self.profile_file(service, name))

    def profile_file(self, service: str, name: str) -> Path:
        """`profiles/<service>/<name>`, or NotMeasured naming `make profile` (a service's) or
        `make profile-ladder` (a rung's)."""
        path = self.profile_path(service, name)
        if not path.is_file():
            get_service(service)  # a name no service has is an error, not "not measured"
            part = "profiles" if service in ("unoptimized", "optimized") else "ladder-profiles"
            raise NotMeasured(part, f"no {name} of `{service}` is committed")
        return path

    def _json(self, path: Path) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KvbenchError(f"{self.shown(path)}: not readable JSON ({exc})") from None

    def profile_path(self, service: str, name: str) -> Path:
        return self.results / "profiles" / service / name

    def link(self, target: Path, doc: Path) -> str:
        """`target` relative to the folder of the document that links to it."""
        relative = os.path.relpath(os.path.abspath(target), os.path.abspath(doc.parent))
        return Path(relative).as_posix()

    def image(self, png: Path, alt: str) -> str:
        """A plot as an image for docs/, or where `kvbench promote` will draw it."""
        if not png.is_file():
            return f"`{self.shown(png)}` (drawn by `kvbench promote`)"
        return f"![{alt}]({self.link(png, self.root / 'docs' / 'any.md')})"


def shown(path: Path, root: Path) -> str:
    """`path` as the messages name it: relative to the repository where it is inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def missing(set_name: str, service: str) -> KvbenchError:
    """A service a result set lacks: a ladder rung added since the run is not measured yet."""
    if set_name == "ladder" and service in ladder.NAMES:
        return NotMeasured("ladder", f"the committed ladder run has no `{service}`")
    return KvbenchError(f"{set_name} results have no service {service!r}")
