"""Regenerate, or check, every marked block of the docs (`kvbench docs [--check]`).

README.md and docs/*.md hold blocks between `<!-- begin: KIND ARGS -->` and `<!-- end -->`
and inline values `<!--v:FACT("ARG", ...)-->...<!--/v-->`, FACT a function of
kvbench/docgen/facts/ (markers: kvbench/docgen/markers.py). `make docs` rewrites them from
the committed results (bench-results/ by default) and the repository's own files;
`make docs-check` fails when any of them differs, when a link or `#anchor` points nowhere,
or when a number or a Python snippet was typed by hand. A figure no committed result holds
is written with `(not measured here)`, or `(not measured here: why)`, after it in its
sentence, on its line (kvbench/docgen/checks.py). Nothing is measured here.
"""

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen import checks, ladder, profiles, snippets, tables
from kvbench.docgen.facts import FACTS
from kvbench.docgen.markers import Marked, call_of, regions, replace
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.report import bench, hostile, peers, pythons, sizing, writepath
from kvbench.results.latency import current_summary

# Eight kinds of block, each with its forms: `<!-- begin: KIND FORM ARGS... -->`. A form is a
# function of (sources, doc, *words); its signature says which words it takes.
Form = Callable[..., str]
KINDS: dict[str, dict[str, Form]] = {
    "include": {"": lambda s, doc, ref: snippets.include(s.root, ref)},
    "diff": {"": lambda s, doc, old, new: snippets.diff(s.root, old, new)},
    "commands": {"": lambda s, doc, *names: snippets.commands(list(names))},
    "compare": {
        "article": lambda s, doc, *words: tables.compare(s, "article", list(words)),
        "text": lambda s, doc, *words: tables.compare(s, "text", list(words)),
        "md": lambda s, doc, *words: tables.compare(s, "md", list(words)),
    },
    "gate": {"": lambda s, doc, *words: tables.gate(s, list(words))},
    "ladder": {
        "overview": lambda s, doc: ladder.overview(s),
        "story": lambda s, doc: ladder.story(s),
        "rung": lambda s, doc, name: ladder.rung(s, name),
    },
    "profile": {
        "links": lambda s, doc, *services: profiles.links(s, doc, list(services)),
        "flamegraph": lambda s, doc, service: profiles.flamegraph(s, doc, service),
        "cpu": lambda s, doc, service, top="8": profiles.table(s, service, "cpu", top),
        "native": lambda s, doc, service, top="8": profiles.table(s, service, "native", top),
        "lines": lambda s, doc, service, top="8": profiles.table(s, service, "lines", top),
        "allocs": lambda s, doc, service, top="8": profiles.table(s, service, "allocs", top),
        "blocking": lambda s, doc, service: profiles.table(s, service, "blocking"),
    },
    "results": {  # a part's tables, most of them the part's report's own
        "environment": lambda s, doc, name="run": bench.environment_table(
            s.typed(name).environment
        ),
        "capacity": lambda s, doc: sizing.capacity(s.run),
        "stores": lambda s, doc: sizing.stores(s.results_set("stores")),
        "replicas": lambda s, doc, *words: replicas(s, *words),
        "curve": lambda s, doc, name: tables.curve(s, doc, name),
        "plots": lambda s, doc: tables.plots(s, doc),
        "peers": lambda s, doc: peers.peers_table(
            current_summary(s.part_json("peers"), s.results / "peers")
        ),
        "cross-check": lambda s, doc: tables.cross_check(s),
        "hostile": lambda s, doc: hostile.table(s.part_json("hostile")),
        "pythons": lambda s, doc: pythons.table(s.typed("pythons")),
        "writepath": lambda s, doc: writepath.table(
            s.part_json("writepath"), s.optional_json("writepath/syscalls.json")
        ),
    },
}


def replicas(sources: Sources, *words: str) -> str:
    """`replicas [RATE [UTILIZATION]]`; the words are checked first: a bad one is an error
    even before the part is measured."""
    try:
        sized = [float(word) for word in words]
    except ValueError:
        sized = []
    if len(sized) != len(words) or len(words) > 2:
        raise KvbenchError(f"expected up to two numbers, not {' '.join(words)!r}")
    return sizing.replicas(sources.results_set("stores"), *sized)


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def form_of(spec: str) -> tuple[Form, list[str]]:
    """The function a block's spec names, and its words; KvbenchError on a spec it cannot take."""
    kind, *words = spec.split() or [""]
    if kind not in KINDS:
        raise KvbenchError(f"unknown block kind {kind!r}; one of {', '.join(KINDS)}")
    forms = KINDS[kind]
    name = "" if "" in forms else (words or [""])[0]
    if name not in forms:
        raise KvbenchError(f"`{kind}` takes one of {', '.join(forms)}, not {name!r}")
    return forms[name], words if name == "" else words[1:]


def value(spec: str, sources: Sources) -> str:
    """The text a value marker stands for; `not measured` when its results are absent."""
    name, args = call_of(spec)
    if name not in FACTS:
        raise KvbenchError(f"unknown fact {name!r} (kvbench/docgen/facts/ lists them)")
    try:
        return call(FACTS[name], f"fact `{spec}`", sources, *args)
    except NotMeasured as missing:
        return f"(not measured: run `{missing.target}`)"


def call(function: Callable[..., str], what: str, *args: object) -> str:
    """`function(*args)`, when they fit its signature; an error inside it is not masked."""
    try:
        inspect.signature(function).bind(*args)
    except TypeError:
        raise KvbenchError(f"wrong arguments for the {what}") from None
    return function(*args)


def render_block(marked: Marked, sources: Sources, doc: Path) -> str:
    """The text a block or value stands for; a part not committed yet says how to make it."""
    if marked.kind == "value":
        return value(marked.spec, sources)
    form, words = form_of(marked.spec)
    try:
        return call(form, f"block `{marked.spec}`", sources, doc, *words)
    except NotMeasured as missing:
        return f"_{missing.title}: {missing}._"


def render(text: str, sources: Sources, doc: Path, problems: list[str]) -> str:
    """`text` with every region re-rendered; a region that fails stays as it was."""
    name = sources.shown(doc)

    def one(marked: Marked) -> str:
        try:
            return render_block(marked, sources, doc)
        except KvbenchError as exc:
            problems.append(f"{name}:{marked.line}: {marked.label}: {exc}")
            return marked.text

    return replace(text, one, name)


def rendered(sources: Sources, problems: list[str]) -> Iterator[tuple[Path, str, str]]:
    """Each document's text and its text re-rendered; one unreadable, or with a broken
    marker, is a problem and left out."""
    for doc in documents(sources.root):
        try:
            text = doc.read_text(encoding="utf-8")
            new = render(text, sources, doc, problems)
        except OSError as exc:
            problems.append(f"{sources.shown(doc)}: unreadable ({exc.strerror})")
            continue
        except KvbenchError as exc:  # a broken marker: nothing of the file is rewritten
            problems.append(str(exc))
            continue
        yield doc, text, new


def write(sources: Sources) -> list[str]:
    problems: list[str] = []
    for doc, text, new in rendered(sources, problems):
        if new != text:
            doc.write_text(new, encoding="utf-8")
            print(f"updated {sources.shown(doc)}")
    return problems


def check(sources: Sources) -> list[str]:
    problems: list[str] = []
    results = sources.shown(sources.results)
    for doc, text, new in rendered(sources, problems):
        for old, fresh in zip(regions(text), regions(new), strict=True):
            if old.text != fresh.text:
                problems.append(f"{sources.shown(doc)}:{old.line}: {drift(old, fresh, results)}")
        problems += checks.check_links(doc, text, sources.root, sources.results)
        problems += checks.check_hand_typed(doc, text, sources.root)
    return problems + checks.check_chapter_order(sources.root)


def drift(old: Marked, fresh: Marked, results: str) -> str:
    """Why a region fails the check, naming the block or showing the value."""
    if old.kind == "block":
        return f"{old.label} differs from what {results}/ and the sources produce; run `make docs`"
    return f"{old.label} reads {old.text!r}, the results say {fresh.text!r}; run `make docs`"
