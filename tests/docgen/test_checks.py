"""The checks on hand-written docs: links and anchors, the chapter order, no figure typed by
hand unless it says it is not measured here."""

from kvbench.docgen.checks import (
    anchors,
    chapters,
    check_chapter_order,
    check_hand_typed,
    check_links,
    slug,
)
from kvbench.docgen.generate import documents
from tests.docgen.conftest import ROOT


def test_every_chapter_ends_with_a_link_to_the_next_and_readme_links_all():
    assert len(chapters(ROOT)) >= 10
    assert check_chapter_order(ROOT) == []


def test_chapter_order_check_fails_on_a_missing_next_link(repo):
    (repo / "docs" / "00-a.md").write_text("# A\n\nno link here\n")
    (repo / "README.md").write_text("[0](docs/00-a.md)\n")
    assert check_chapter_order(repo) == [
        "docs/00-a.md: does not end with a `Next:` link to 01-b.md",
        "README.md: no link to docs/01-b.md",
    ]


def test_result_links_exist_or_are_made_by_a_named_target(repo):
    doc = repo / "docs" / "02-c.md"
    links = [
        "../bench-results/summary.json",  # committed
        "../bench-results/plots/throughput.svg",  # REPORT.md absent: `make report` makes it
        "../bench-results/profiles/optimized/cpu.pyspy.svg",  # `make profile`, not committed
        "../bench-results/peers/summary.json",  # `make bench-peers`, not committed
        "../bench-results/http-nobody.json",  # `make bench` results are committed: missing
        "../bench-results/notes.txt",  # the main run is committed, this is not in it
        "../pkg/mod.py",
        "../pkg/gone.py",
        "https://example.org/x",
        "#anchor",  # no heading in the text
    ]
    text = "\n".join(f"[{i}]({link})" for i, link in enumerate(links))
    assert check_links(doc, text, repo, repo / "bench-results") == [
        "docs/02-c.md:5: link ../bench-results/http-nobody.json: missing, although the "
        "results of `make bench` are committed",
        "docs/02-c.md:6: link ../bench-results/notes.txt: missing, although the results of "
        "`make bench` are committed",
        "docs/02-c.md:8: link ../pkg/gone.py: no such file",
        "docs/02-c.md:10: link #anchor: no heading with the anchor #anchor",
    ]


def test_real_docs_link_only_to_files_that_exist_or_will_be_made():
    for doc in documents(ROOT):
        assert check_links(doc, doc.read_text(), ROOT, ROOT / "bench-results") == []


def test_hand_typed_numbers_and_snippets_are_flagged(repo):
    doc = repo / "docs" / "00-a.md"
    text = (
        "It reached 5,000 req/s and used 31 allocs, a 2.5x gain.\n"
        "Settings: 64 connections, a 95% interval, `0 allocs/op` quoted.\n"
        'Generated: <!--v:median("run", "optimized", "http_tps")-->7,000 req/s<!--/v-->.\n'
        "```python\nx = 1\n```\n```sh\nmake bench  # 12 ms\n```\n"
        "<!-- begin: include pkg/mod.py -->\n```python\nimport os\n```\n<!-- end -->\n"
    )
    problems = check_hand_typed(doc, text, repo)
    assert [p.split(": ", 1)[0] for p in problems] == ["docs/00-a.md:1"] * 3 + ["docs/00-a.md:4"]
    assert "'5,000 req/s'" in problems[0] and "'2.5x'" in problems[2]
    assert "hand-typed python snippet" in problems[3]


def test_a_figure_marked_not_measured_here_is_allowed_in_its_sentence_only(repo):
    doc = repo / "docs" / "00-a.md"
    text = (
        "An outside run read 1.4x (not measured here), on another machine.\n"
        "A count of 31 allocs (not measured here: a one-off run) per request.\n"
        "It read 2.5x. Another sentence says (not measured here).\n"
        "Here 3.0x stands alone, and 7 ms too.\n"
    )
    problems = check_hand_typed(doc, text, repo)
    assert [p.split(": ", 1)[0] for p in problems] == ["docs/00-a.md:3"] + ["docs/00-a.md:4"] * 2
    assert "'2.5x'" in problems[0] and "(not measured here)" in problems[0]


def test_anchors_follow_githubs_rules():
    assert slug("`async`: async endpoints instead of the thread pool") == (
        "async-async-endpoints-instead-of-the-thread-pool"
    )
    assert slug("The CPU flame graph (py-spy `--gil`)") == "the-cpu-flame-graph-py-spy---gil"
    assert slug("See [chapter 4](04-x.md), then <b>more</b>") == "see-chapter-4-then-more"
    text = "# Title\n## Notes\n```sh\n# not a heading\n```\n## Notes\n"
    assert anchors(text) == {"title", "notes", "notes-1"}


def test_a_link_to_a_missing_anchor_is_flagged_on_its_page_and_on_another(repo):
    doc = repo / "docs" / "00-a.md"
    text = (
        "# A\n## Where it went\n[ok](#where-it-went) [same](#where-it-goes)\n"
        "[b](01-b.md#b) [gone](01-b.md#c) [code](../pkg/mod.py#L1)\n"
    )
    assert check_links(doc, text, repo, repo / "bench-results") == [
        "docs/00-a.md:3: link #where-it-goes: no heading with the anchor #where-it-goes",
        "docs/00-a.md:4: link 01-b.md#c: no heading with the anchor #c",
    ]


def test_the_last_chapter_says_no_next_and_a_next_link_points_forward(repo):
    (repo / "docs" / "01-b.md").write_text("# B\n\nNext: [A](00-a.md)\n")
    assert check_chapter_order(repo) == [
        "docs/01-b.md: ends with a `Next:`, though it is the last chapter",
    ]
    (repo / "docs" / "00-a.md").write_text("# A\n\nNext: [A again](00-a.md)\n")
    assert "docs/00-a.md: does not end with a `Next:` link to 01-b.md" in check_chapter_order(repo)


def test_thousands_seconds_and_minutes_are_measurements_but_a_quoted_title_is_not(repo):
    doc = repo / "docs" / "00-a.md"
    text = (
        'It retells "from 182k to 1.12M TPS" for Python.\n'
        "The generator reached 88.1k on its own.\n"
        "Recovery took 1.6 s and the run 30 min; 503s are answers, not seconds.\n"
    )
    problems = check_hand_typed(doc, text, repo)
    assert [p.split(": ", 1)[0] for p in problems] == ["docs/00-a.md:2"] + ["docs/00-a.md:3"] * 2
    assert "'88.1k'" in problems[0] and "'1.6 s'" in problems[1] and "'30 min'" in problems[2]
