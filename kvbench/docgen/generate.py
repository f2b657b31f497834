"""Regenerate, or check, every marked block of the docs (`kvbench docs [--check]`).

README.md and docs/*.md hold blocks between `<!-- begin: KIND ARGS -->` and `<!-- end -->`
and inline values `<!--v:SPEC-->...<!--/v-->` (see kvbench/docgen/markers.py). `make docs`
rewrites them from the committed results (bench-results/ by default) and the repository's
own files; `make docs-check` fails when any of them differs, when a link points nowhere,
or when a number or a Python snippet was typed by hand. Nothing is measured here.
"""

from collections.abc import Callable
from pathlib import Path

from kvbench import KvbenchError
from kvbench.docgen import blocks as tables
from kvbench.docgen import checks, evidence, profiles, snippets, stores
from kvbench.docgen import rungs as ladder
from kvbench.docgen.markers import Marked, regions, replace
from kvbench.docgen.sources import NotMeasured, Sources
from kvbench.docgen.values import value
from kvbench.report import pythons, writepath

Block = Callable[[Sources, Path, list[str]], str]
BLOCKS: dict[str, Block] = {
    "include": lambda s, doc, words: snippets.include(s.root, *words),
    "diff": lambda s, doc, words: snippets.diff(s.root, *words),
    "commands": lambda s, doc, words: snippets.commands(words),
    "article": lambda s, doc, words: tables.article(s, words),
    "compare": lambda s, doc, words: tables.compare(s, words),
    "environment": lambda s, doc, words: tables.environment(s, words),
    "summary-entry": lambda s, doc, words: tables.summary_entry(s, words),
    "capacity": lambda s, doc, words: tables.capacity(s, words),
    "cross-check": lambda s, doc, words: tables.cross_check(s),
    "hostile": lambda s, doc, words: tables.hostile(s),
    "pythons": lambda s, doc, words: pythons.table(s.part_json("pythons")),
    "writepath": lambda s, doc, words: writepath.table(
        s.part_json("writepath"), s.optional_json("writepath/syscalls.json")
    ),
    "stores": lambda s, doc, words: stores.stores(s, words),
    "replicas": lambda s, doc, words: stores.replicas(s, words),
    "ladder": lambda s, doc, words: ladder.overview(s),
    "rung": lambda s, doc, words: ladder.rung_table(s, *words),
    "gc-step": lambda s, doc, words: ladder.gc_step(s, *words),
    "peers": lambda s, doc, words: profiles.peers(s),
    "curve": lambda s, doc, words: profiles.curve(s, doc, *words),
    "profiles": lambda s, doc, words: profiles.links(s, doc, words),
    "profile-cpu": lambda s, doc, words: profiles.cpu(s, *words),
    "profile-blocking": lambda s, doc, words: profiles.blocking(s, *words),
    "profile-lines": lambda s, doc, words: profiles.lines(s, *words),
    "profile-allocs": lambda s, doc, words: profiles.allocs(s, *words),
    "plots": lambda s, doc, words: profiles.plots(s, doc),
    "flamegraph": lambda s, doc, words: profiles.flamegraph(s, doc, *words),
    "profile-evidence": lambda s, doc, words: evidence.evidence(s, doc, *words),
    "profile-removed": lambda s, doc, words: evidence.removed(s, *words),
}


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render_block(marked: Marked, sources: Sources, doc: Path) -> str:
    """The text a block or value stands for; a part not committed yet says how to make it."""
    if marked.kind == "value":
        return value(marked.spec, sources)
    kind, *words = marked.spec.split()
    if kind not in BLOCKS:
        raise KvbenchError(f"unknown block kind {kind!r}; one of {', '.join(BLOCKS)}")
    try:
        return BLOCKS[kind](sources, doc, words)
    except NotMeasured as missing:
        return f"_{missing.title}: {missing}._"
    except TypeError:
        raise KvbenchError(f"wrong arguments for `{kind}`: {' '.join(words)!r}") from None


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


def write(sources: Sources) -> list[str]:
    problems: list[str] = []
    for doc in documents(sources.root):
        text = _read(doc, problems, sources)
        new = render(text, sources, doc, problems) if text is not None else None
        if new is not None and new != text:
            doc.write_text(new, encoding="utf-8")
            print(f"updated {sources.shown(doc)}")
    return problems


def check(sources: Sources) -> list[str]:
    problems: list[str] = []
    results = sources.shown(sources.results)
    for doc in documents(sources.root):
        text = _read(doc, problems, sources)
        if text is None:
            continue
        new = render(text, sources, doc, problems)
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


def _read(doc: Path, problems: list[str], sources: Sources) -> str | None:
    try:
        text = doc.read_text(encoding="utf-8")
        regions(text, sources.shown(doc))
        return text
    except OSError as exc:
        problems.append(f"{sources.shown(doc)}: unreadable ({exc.strerror})")
    except KvbenchError as exc:
        problems.append(str(exc))
    return None
