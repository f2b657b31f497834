"""Checks on the hand-written parts of the docs: links, chapter order, nothing typed by hand."""

import re
from pathlib import Path

from kvbench.docgen.markers import outside
from kvbench.docgen.sources import PARTS

LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
CHAPTER = re.compile(r"^\d\d-[\w-]+\.md$")
FENCE = re.compile(r"^(`{3,}|~{3,})(?P<language>\w*)")
INLINE_CODE = re.compile(r"`[^`]*`")
# A number with the unit of a measurement: these come from results, never from a keyboard.
MEASURED = re.compile(
    r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?\s?"
    r"(?:req/s|requests/s|ns/op|ns\b|µs|us/req|ms\b|allocs|B/op|MB\b|%|x\b)"
)
# Settings and statistics, not measurements: a 95% interval, the whole of a gain.
ALLOWED = {"95%", "100%"}
SNIPPET = "snippet; include it from a file (`<!-- begin: include PATH#REGION -->`)"
NUMBER = "use a value marker (`<!--v:...-->`) or a generated block"


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
    """Relative links must point into the repository, at files that exist or will be made.

    Prose links into `bench-results/`; generated links into `results`, wherever that is.
    """
    folders = {(root / "bench-results").resolve(), results.resolve()}
    problems = []
    for number, target in targets(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        path = (doc.parent / target.partition("#")[0]).resolve()
        problem = _link_problem(path, root.resolve(), folders)
        if problem:
            problems.append(f"{_shown(doc, root)}:{number}: link {target}: {problem}")
    return problems


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
    """Each chapter ends with a link to the next one; README links every chapter."""
    docs = chapters(root)
    problems = []
    for doc, following in zip(docs, docs[1:], strict=False):
        lines = [line for line in doc.read_text(encoding="utf-8").split("\n") if line.strip()]
        if not lines or f"]({following.name})" not in lines[-1]:
            problems.append(f"{_shown(doc, root)}: does not end with a link to {following.name}")
    readme = (root / "README.md").read_text(encoding="utf-8")
    for doc in docs:
        if f"](docs/{doc.name})" not in readme:
            problems.append(f"README.md: no link to docs/{doc.name}")
    return problems


def check_hand_typed(doc: Path, text: str, root: Path) -> list[str]:
    """No measured number and no Python or diff snippet outside the generated blocks."""
    problems, fence = [], None
    where = _shown(doc, root)
    for number, line in outside(text):
        opened = FENCE.match(line.strip())
        if opened and fence is None:
            fence = opened[1]
            if opened["language"] in ("python", "py", "diff"):
                problems.append(f"{where}:{number}: hand-typed {opened['language']} {SNIPPET}")
            continue
        if fence is not None:
            fence = None if line.strip() == fence else fence
            continue
        for found in MEASURED.finditer(INLINE_CODE.sub("", line)):
            if found[0].strip().lstrip("+-") not in ALLOWED:
                problems.append(f"{where}:{number}: hand-typed measurement {found[0]!r}; {NUMBER}")
    return problems


def _shown(doc: Path, root: Path) -> str:
    try:
        return doc.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(doc)
