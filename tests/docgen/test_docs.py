"""The docs generator: markers, blocks rendered from a fixture run, and the checks that fail."""

import json
import re
import statistics
from pathlib import Path

import pytest

from kvbench import KvbenchError
from kvbench.cli import main
from kvbench.docgen import generate as generate_module
from kvbench.docgen.generate import check, documents, render, render_block
from kvbench.docgen.markers import Marked, regions, replace
from kvbench.docgen.snippets import source
from kvbench.docgen.sources import Sources
from kvbench.report.formatting import number
from kvbench.report.peers import peers_table
from kvbench.results.summary import Summary
from tests.docgen.conftest import FIXTURE, ROOT, SERVES


def generate(repo: Path) -> Sources:
    sources = Sources(repo / "bench-results", repo)
    for doc in documents(repo):
        problems: list[str] = []
        doc.write_text(render(doc.read_text(), sources, doc, problems))
        assert problems == []
    return sources


def fixture_median(service: str, metric: str) -> float:
    summary = json.loads((FIXTURE / "summary.json").read_text())
    return statistics.median(summary["services"][service][metric]["values"])


def test_markers_find_blocks_and_values_with_their_lines():
    text = "a <!--v:x y-->1<!--/v--> b\n<!-- begin: k 1 -->\nold\n<!-- end -->\nz"
    found = regions(text)
    assert [(m.kind, m.spec, m.line, m.text) for m in found] == [
        ("value", "x y", 1, "1"),
        ("block", "k 1", 2, "old"),
    ]
    new = replace(text, lambda m: "NEW" if m.kind == "block" else "2")
    assert new == "a <!--v:x y-->2<!--/v--> b\n<!-- begin: k 1 -->\n\nNEW\n\n<!-- end -->\nz"


def test_unclosed_block_names_the_file_and_line():
    with pytest.raises(KvbenchError, match=r"docs/x\.md:2: .*has no `<!-- end -->`"):
        regions("text\n<!-- begin: compare article -->\nbody\n", "docs/x.md")
    with pytest.raises(KvbenchError, match=r"docs/x\.md:1: a marker that is not closed"):
        regions('a <!--v:median("run", "x", "y")-->1 and no end\n', "docs/x.md")


def test_rendering_the_fixture_gives_the_expected_blocks(repo):
    generate(repo)
    text = (repo / "docs" / "00-a.md").read_text()
    ratio = fixture_median("optimized", "http_tps") / fixture_median("unoptimized", "http_tps")
    assert f"It serves {SERVES}{ratio:.3g}x<!--/v-->" in text
    tps = number(fixture_median("unoptimized", "http_tps"))
    assert f"| HTTP throughput (req/s) | {tps} |" in text  # the article table, as the report
    assert (
        "<!-- begin: include pkg/mod.py#hot -->\n\n```python\ndef hot():\n    return 1\n```" in text
    )
    assert "| `httptools` | HTTP parsed by httptools (C) instead of h11 | 1,220 req/s (" in text
    assert "| `async` | async endpoints, no thread pool | 2,700 req/s (" in text
    # granian: 190 -> 100 µs of the 900 saved, its step's interval widened for the ladder's
    # steps and read as a share (190 µs * (1 - 1/ratio) / 900 µs at either end)
    assert "| +90% (+89% to +91%, n=10) | 10.00% (9.96 to 10.04%) | 3 |" in text
    peers = (repo / "docs" / "01-b.md").read_text()
    assert "not measured in the committed results; run `make bench-peers`" in peers


def test_peers_block_renders_a_committed_peers_run(repo):
    summary = json.loads((FIXTURE / "summary.json").read_text())
    summary["rows"] = {"unoptimized": "the naive one", "optimized": "the fast one"}
    summary["skipped"] = {"nginx": "skipped: nginx is not installed on this machine"}
    (repo / "bench-results" / "peers").mkdir()
    (repo / "bench-results" / "peers" / "summary.json").write_text(json.dumps(summary))
    sources = Sources(repo / "bench-results", repo)
    text = render_block(Marked("block", "results peers", 1, ""), sources, repo / "README.md")
    assert text == peers_table(summary)  # the peers report's own table
    assert "| unoptimized | the naive one | " in text
    assert "| nginx | skipped: nginx is not installed on this machine |" in text


def test_check_passes_on_freshly_generated_docs(repo):
    assert check(generate(repo)) == []


def test_check_names_file_and_block_when_a_number_changes(repo):
    sources = generate(repo)
    doc = repo / "docs" / "00-a.md"
    text = doc.read_text()
    opening = "<!-- begin: compare article -->"
    line = next(n for n, row in enumerate(text.split("\n"), 1) if row == opening)
    doc.write_text(re.sub(r"(\| HTTP throughput \(req/s\) \| )[\d,]+", r"\g<1>1", text))
    assert check(sources) == [
        f"docs/00-a.md:{line}: block `compare article` differs from what bench-results/ and "
        "the sources produce; run `make docs`"
    ]


def test_check_names_the_value_that_no_longer_matches(repo):
    sources = generate(repo)
    doc = repo / "docs" / "00-a.md"
    doc.write_text(re.sub(r'http_tps"\)-->[\d.]+x', 'http_tps")-->9x', doc.read_text()))
    [problem] = check(sources)
    assert problem.startswith(f"docs/00-a.md:3: value `{SERVES[6:-3]}`")
    assert "reads '9x', the results say" in problem


def test_a_bad_marker_is_an_error_naming_its_file_and_line(repo):
    sources = generate(repo)
    doc = repo / "docs" / "00-a.md"
    bad = '\nA <!--v:fastest("run")-->1<!--/v--> and <!--v:median("run", x, "y")-->2<!--/v-->.\n'
    doc.write_text(doc.read_text() + bad)
    line = doc.read_text().count("\n")
    problems = check(sources)
    assert problems[0].startswith(f'docs/00-a.md:{line}: value `fastest("run")`: unknown fact')
    assert problems[1].startswith(f"docs/00-a.md:{line}: value `median(")
    assert "arguments are string literals" in problems[1]


def test_check_fails_when_a_snippet_source_changes(repo):
    sources = generate(repo)
    (repo / "pkg" / "mod.py").write_text(
        "# region hot\ndef hot():\n    return 2\n# endregion hot\n"
    )
    [problem] = check(sources)
    assert "docs/00-a.md:" in problem and "block `include pkg/mod.py#hot` differs" in problem


def test_a_missing_region_is_reported_not_rendered(repo):
    (repo / "docs" / "01-b.md").write_text(
        "<!-- begin: include pkg/mod.py#gone -->\n<!-- end -->\n"
    )
    problems = check(Sources(repo / "bench-results", repo))
    assert any("docs/01-b.md:1: block `include pkg/mod.py#gone`" in p for p in problems)


def test_include_drops_nested_region_markers_and_dedents(tmp_path):
    (tmp_path / "m.py").write_text(
        "# region outer\nclass A:\n    # region inner\n    def f(self):\n        return 1\n"
        "    # endregion inner\n# endregion outer\n"
    )
    assert source(tmp_path, "m.py#outer") == (
        "m.py",
        ["class A:", "    def f(self):", "        return 1"],
    )
    assert source(tmp_path, "m.py#inner") == ("m.py", ["def f(self):", "    return 1"])
    with pytest.raises(KvbenchError, match=r"m\.py: no single `# region gone`"):
        source(tmp_path, "m.py#gone")
    with pytest.raises(KvbenchError, match="no such file in the repository"):
        source(tmp_path, "../etc/passwd")


def test_real_docs_snippets_match_their_sources():
    """Includes, diffs and commands need no results: they must match the code right now."""
    sources = Sources(ROOT / "bench-results", ROOT)
    for doc in documents(ROOT):
        for marked in regions(doc.read_text(), doc.name):
            if marked.kind == "block" and marked.spec.split()[0] in ("include", "diff", "commands"):
                fresh = render_block(marked, sources, doc).strip("\n")
                assert marked.text.strip("\n") == fresh, f"{doc.name}:{marked.line} {marked.spec}"


def test_docs_command_fails_clearly_without_results(tmp_path, capsys):
    assert main(["docs", "--check", "--results", str(tmp_path)]) == 1  # failed, not misused
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "summary.json is missing" in err
    assert "make bench" in err and len(err.strip().splitlines()) == 1


def test_unknown_block_kind_is_an_error_naming_the_kinds(repo):
    sources = Sources(repo / "bench-results", repo)
    with pytest.raises(KvbenchError, match="unknown block kind 'nope'; one of include"):
        render_block(Marked("block", "nope", 1, ""), sources, repo / "README.md")


def stored(values) -> dict:
    """A metric as summary.json stores it."""
    return Summary.of(values).to_json()


def test_a_block_with_words_its_form_does_not_take_is_an_error(repo):
    sources = Sources(repo / "bench-results", repo)
    with pytest.raises(KvbenchError, match="wrong arguments for the block `ladder story extra`"):
        render_block(Marked("block", "ladder story extra", 1, ""), sources, repo / "README.md")
    with pytest.raises(
        KvbenchError, match="wrong arguments for the block `profile cpu x 8 native`"
    ):
        render_block(Marked("block", "profile cpu x 8 native", 1, ""), sources, repo / "README.md")
    for spec, said in [
        ("compare article run unoptimized", "compare article takes nothing or SET OLD NEW"),
        ("results replicas 1000 0.5 9", "expected up to two numbers"),
        ("results curve nope", "no curve 'nope'"),
        ("profile cpu nosuchservice", "nosuchservice"),
        ("", "unknown block kind ''"),
    ]:
        with pytest.raises(KvbenchError, match=said):
            render_block(Marked("block", spec, 1, ""), sources, repo / "README.md")
    with pytest.raises(KvbenchError, match="`profile` takes one of links"):
        render_block(Marked("block", "profile nope x", 1, ""), sources, repo / "README.md")


def test_an_error_inside_a_block_is_not_masked_as_fine(repo, monkeypatch):
    # A bug in a block's code must fail the run, not render as if the block were fine.
    def broken(sources, doc):
        raise TypeError("a bug inside the block")

    monkeypatch.setitem(generate_module.KINDS["ladder"], "story", broken)
    sources = Sources(repo / "bench-results", repo)
    with pytest.raises(TypeError, match="a bug inside the block"):
        render_block(Marked("block", "ladder story", 1, ""), sources, repo / "README.md")
