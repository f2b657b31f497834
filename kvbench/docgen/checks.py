"""Checks on the hand-written parts of the docs: links and anchors, chapter order, nothing typed
by hand.

A figure that no committed result holds (an outside run, a one-off count) is allowed only with
the visible note `(not measured here)`, or `(not measured here: why)`, after it on its line.
"""

import re
from collections.abc import Iterator
from itertools import count
from pathlib import Path

from kvbench.docgen.markers import outside
from kvbench.docgen.sources import PARTS, shown

LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
CHAPTER = re.compile(r"^\d\d-[\w-]+\.md$")
FENCE = re.compile(r"^(`{3,}|~{3,})(?P<language>\w*)")
INLINE_CODE = re.compile(r"`[^`]*`")
QUOTED = re.compile(r'"[^"]*"')  # a title or a quotation: someone else's figures, as written
# A number with the unit of a measurement: these come from results, never from a keyboard.
MEASURED = re.compile(
    r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?\s?"
    r"(?:k\b|req/s|requests/s|ns/op|ns\b|µs|us/req|ms\b|allocs|B/op|MB\b|%|x\b|instructions|"
    r"collections|\s(?:s|min|seconds|minutes)\b)"
)
NOT_MEASURED = re.compile(r"\(not measured here\b[^)]*\)")
NEXT = re.compile(r"Next: \[[^\]]*\]\((?P<target>[^)#\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*$")
# Settings and statistics, not measurements: a 95% interval, the whole of a gain.
ALLOWED = {"95%", "100%"}
SNIPPET = "snippet; include it from a file (`<!-- begin: include PATH#REGION -->`)"
NUMBER = "use a fact (`<!--v:FACT(...)-->`), a generated block, or `(not measured here)`"


def chapters(root: Path) -> list[Path]:
    """docs/NN-*.md in order."""
    return sorted(p for p in (root / "docs").glob("*.md") if CHAPTER.match(p.name))


def targets(text: str) -> list[tuple[int, str]]:
    """Every markdown link and image target with its line number."""
    return [
        (number, m["target"])
        for number, line in enumerate(text.split("\n"), 1)
        for m in LINK.finditer(line)
    ]


def check_links(doc: Path, text: str, root: Path, results: Path) -> list[str]:
    """Relative links must point into the repository, at files that exist or will be made, and
    an `#anchor` at a heading of the page it names.

    Prose links into `bench-results/`; generated links into `results`, wherever that is.
    """
    folders = {(root / "bench-results").resolve(), results.resolve()}
    problems = []
    for number, target in targets(text):
        if re.match(r"^[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve()
        problem = _link_problem(path, root.resolve(), folders) if file else None
        if problem is None and anchor and (not file or path.suffix == ".md"):
            page = path.read_text(encoding="utf-8") if file else text
            problem = None if anchor in anchors(page) else f"no heading with the anchor #{anchor}"
        if problem:
            problems.append(f"{shown(doc, root)}:{number}: link {target}: {problem}")
    return problems


def slug(title: str) -> str:
    """GitHub's anchor of a heading: its text lowercased, punctuation dropped, spaces to -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)|<[^>]*>", r"\1", title)  # a link reads as its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings; a repeated one gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    for _, line, _ in unfenced(list(enumerate(text.split("\n"), 1))):
        heading = HEADING.match(line)
        if heading:
            base = name = slug(heading["title"])
            for n in count(1):
                if name not in found:
                    break
                name = f"{base}-{n}"
            found.add(name)
    return found


def unfenced(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str, str | None]]:
    """The lines outside code fences, with the language of a fence a line opens (else None)."""
    fence = None
    for number, line in lines:
        opened = FENCE.match(line.strip())
        if fence is None:
            yield number, line, opened["language"] if opened else None
            fence = opened[1] if opened else None
        elif line.strip() == fence:
            fence = None


def _link_problem(path: Path, root: Path, folders: set[Path]) -> str | None:
    for results in folders:
        if path.is_relative_to(results):
            return _result_problem(path.relative_to(results).as_posix(), results)
    if not path.is_relative_to(root):
        return "points outside the repository"
    return None if path.exists() else "no such file"


def _result_problem(relative: str, results: Path) -> str | None:
    """A result file that is missing although the part that writes it is committed."""
    if (results / relative).exists():
        return None
    top = relative.split("/")[0]
    marker, target = PARTS[top][:2] if top in PARTS else ("summary.json", "make bench")
    if top in ("REPORT.md", "plots"):
        marker, target = "REPORT.md", "make report"
    if (results / marker).exists():
        return f"missing, although the results of `{target}` are committed"
    return None  # that part is not committed yet; `target` makes it


def check_chapter_order(root: Path) -> list[str]:
    """Each chapter ends with `Next: [...](the next one)`, the last with no `Next:`; README
    links every chapter."""
    docs = chapters(root)
    problems = []
    for doc, following in zip(docs, [*docs[1:], None], strict=True):
        lines = [line for line in doc.read_text(encoding="utf-8").split("\n") if line.strip()]
        said = NEXT.search(lines[-1] if lines else "")
        wanted = following.name if following else None
        if (said[1] if said else None) != wanted:
            what = (
                f"does not end with a `Next:` link to {wanted}"
                if wanted
                else "ends with a `Next:`, though it is the last chapter"
            )
            problems.append(f"{shown(doc, root)}: {what}")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for doc in docs:
        if f"](docs/{doc.name})" not in readme:
            problems.append(f"README.md: no link to docs/{doc.name}")
    return problems


def check_hand_typed(doc: Path, text: str, root: Path) -> list[str]:
    """No measured number and no Python or diff snippet outside the generated blocks, except a
    figure marked `(not measured here)`."""
    problems = []
    where = shown(doc, root)
    for number, line, language in unfenced(outside(text)):
        if language in ("python", "py", "diff"):
            problems.append(f"{where}:{number}: hand-typed {language} {SNIPPET}")
        plain = "" if language is not None else QUOTED.sub("", INLINE_CODE.sub("", line))
        for found in MEASURED.finditer(plain):
            if found[0].strip().lstrip("+-") not in ALLOWED and not _noted(plain[found.end() :]):
                problems.append(f"{where}:{number}: hand-typed measurement {found[0]!r}; {NUMBER}")
    return problems


def _noted(rest: str) -> bool:
    """`(not measured here)` after a figure, before its sentence ends."""
    note = NOT_MEASURED.search(rest)
    return note is not None and ". " not in rest[: note.start()]
