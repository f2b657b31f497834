"""The article's cells: changes and ratios as the docs say them, and what a `~` rests on."""

from kvbench.report.article import article_delta, article_latency
from kvbench.results.compare import compare_samples
from kvbench.results.summary import Summary


def test_an_unchanged_exact_count_says_exact_not_a_p_value():
    old = Summary.of([160, 160, 160], "allocs/op")
    new = Summary.of([160.2, 160.2, 160.2], "allocs/op")
    row = compare_samples(old, new, 0.05, "", "asgi_allocs_per_op")
    assert article_delta(row) == "~ (+0.1%, exact)"


def test_a_timed_change_says_its_ratio_and_how_much_less():
    old = Summary.of([10.0, 10.1, 10.2, 10.3, 10.4, 10.5], "req/s")
    new = Summary.of([30.0, 30.1, 30.2, 30.3, 30.4, 30.5], "req/s")  # medians 10.25, 30.25
    assert article_delta(compare_samples(old, new, 0.05, "", "http_tps")) == "2.95x"
    old, new = old.with_unit("ms"), new.with_unit("ms")
    assert article_delta(compare_samples(new, old, 0.05, "", "http_p99_ms")) == "-66% (2.95x less)"


def test_a_pooled_tail_ratio_carries_its_interval_from_resampled_rounds():
    old = {"offered_rate": 100.0, "p99": {"ms": 4.0}, "p999": {"ms": 8.0}}
    new = {"offered_rate": 100.0, "p99": {"ms": 1.0}, "p999": {"ms": 16.0}}
    ratios = {"p99": (0.25, (0.05, 0.5)), "p999": (2.0, (1.25, 4.0))}
    rows = article_latency((old, new), ratios)
    assert rows[0][3] == "-75% (4.00x less; 95% CI 2.00x to 20.0x less, rounds resampled)"
    assert rows[1][3] == "+100% (2.00x more; 95% CI 1.25x to 4.00x more, rounds resampled)"
    assert article_latency((old, new))[0][3] == "-75% (4.00x less)"  # no trials: no interval


def test_a_tail_whose_interval_holds_no_change_gets_no_word():
    old, new = {"p99": {"ms": 2.84}}, {"p99": {"ms": 2.16}}
    [row] = article_latency((old, new), {"p99": (0.76, (0.465, 2.05))})
    assert row[3] == "-24% (~, can't tell: new/old 95% CI 0.465x to 2.05x, rounds resampled)"
