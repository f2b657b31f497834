"""The markers that fence generated text in markdown: blocks on their own lines, values inline.

A block:

    <!-- begin: KIND ARGS... -->
    ...generated, replaced by `make docs`...
    <!-- end -->

An inline value names a fact of kvbench/docgen/facts/, called with string literals:
`serves <!--v:median_ratio("run", "optimized", "unoptimized", "http_tps")-->8.1x<!--/v-->`.
HTML comments are invisible on GitHub, so the markdown reads well on its own.
"""

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from kvbench import KvbenchError

BEGIN = re.compile(r"^<!-- begin: (?P<spec>[^>]*?) -->$")
END = "<!-- end -->"
VALUE = re.compile(r"<!--v:(?P<spec>[^>]*?)-->(?P<text>.*?)<!--/v-->")
ANY_MARKER = re.compile(r"<!-- ?(begin:|end\b)|<!--/?v[:>]")


@dataclass
class Marked:
    """One generated region of a file: what made it, where it starts, what it holds now."""

    kind: str  # "block" or "value"
    spec: str
    line: int  # 1-based line of the opening marker
    text: str

    @property
    def label(self) -> str:
        return f"{self.kind} `{self.spec}`"


def regions(text: str, name: str = "<text>") -> list[Marked]:
    """Every block and inline value in `text`, in order; KvbenchError on a broken marker."""
    found: list[Marked] = []

    def keep(marked: Marked) -> str:
        found.append(marked)
        return marked.text

    _rewrite(text, keep, name)
    return found


def replace(text: str, render: Callable[[Marked], str], name: str = "<text>") -> str:
    """`text` with every block and value re-rendered by `render`."""
    regions(text, name)  # validate first: a broken marker must not be half-rewritten
    return _rewrite(text, render, name)


def _rewrite(text: str, render: Callable[[Marked], str], name: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        begin = BEGIN.match(lines[i])
        if begin:
            end = _closing(lines, i, name)
            body = render(Marked("block", begin["spec"], i + 1, "\n".join(lines[i + 1 : end])))
            # the generated body stands between blank lines, so markdown reads it on its own
            out.append(f"{lines[i]}\n\n{body.strip(chr(10))}\n\n{END}")
            i = end + 1
            continue
        if ANY_MARKER.search(VALUE.sub("", lines[i])):
            raise KvbenchError(
                f"{name}:{i + 1}: a marker that is not closed or not on its own line"
            )
        out.append(VALUE.sub(partial(_value, number=i + 1, render=render), lines[i]))
        i += 1
    return "\n".join(out)


def _closing(lines: list[str], start: int, name: str) -> int:
    for j in range(start + 1, len(lines)):
        if lines[j] == END:
            return j
        if BEGIN.match(lines[j]):
            break
    raise KvbenchError(f"{name}:{start + 1}: `{lines[start]}` has no `{END}` before the next block")


def _value(match: re.Match, number: int, render: Callable[[Marked], str]) -> str:
    new = render(Marked("value", match["spec"], number, match["text"]))
    return f"<!--v:{match['spec']}-->{new}<!--/v-->"


def outside(text: str) -> list[tuple[int, str]]:
    """The hand-written lines of `text` (number, line): no block bodies, values blanked out."""
    kept = []
    lines = text.split("\n")
    inside = False
    for number, line in enumerate(lines, 1):
        if BEGIN.match(line):
            inside = True
        elif line == END:
            inside = False
        elif not inside:
            kept.append((number, VALUE.sub("", line)))
    return kept


def call_of(spec: str) -> tuple[str, list[str]]:
    """The name and arguments of a value marker's call: `name("literal", ...)`, nothing else."""
    try:
        tree = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise KvbenchError('not a call such as median("run", "optimized", "http_tps")') from None
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name) or tree.keywords:
        raise KvbenchError("not a call of a fact by its name, with positional arguments")
    args = [a.value for a in tree.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if len(args) != len(tree.args):
        raise KvbenchError("a fact's arguments are string literals")
    return tree.func.id, args
