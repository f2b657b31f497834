import pytest
from scipy.stats import binom, mannwhitneyu

from kvbench.results.stats import mann_whitney, median, median_ci


def test_median_of_odd_and_even_counts():
    assert median([3, 1, 2]) == 2.0
    assert median([4, 1, 3, 2]) == 2.5


def test_median_of_empty_sample_raises():
    with pytest.raises(ValueError):
        median([])


def test_no_interval_below_six_values():
    assert median_ci([1, 2, 3, 4, 5]) is None
    assert median_ci([]) is None


def test_six_values_give_the_whole_range():
    # P(1 <= K <= 5) for K ~ Binomial(6, 1/2) is 62/64 >= 0.95; any narrower misses 95%.
    assert median_ci([6, 2, 4, 1, 5, 3]) == (1.0, 6.0)


def test_ten_values_give_second_and_ninth():
    # P(2 <= K <= 8) = 1 - 2 * 11/1024 = 0.979; [x3, x8] would cover only 0.891.
    assert median_ci([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]) == (2.0, 9.0)


def test_eight_values_take_the_tighter_left_biased_interval():
    # [x1, x7] covers P(1 <= K <= 6) = 246/256 = 0.961, enough; [x2, x7] covers only 0.93.
    assert median_ci([8, 7, 6, 5, 4, 3, 2, 1]) == (1.0, 7.0)


@pytest.mark.parametrize("n", [6, 7, 9, 12, 20, 31, 60])
def test_interval_coverage_reaches_confidence(n):
    values = list(range(1, n + 1))
    lo, hi = median_ci(values)
    # The median lies in [x(lo), x(hi)] when lo <= K < hi, K ~ Binomial(n, 1/2).
    coverage = binom.cdf(hi - 1, n, 0.5) - binom.cdf(lo - 1, n, 0.5)
    assert coverage >= 0.95
    assert lo <= median(values) <= hi


def test_higher_confidence_gives_a_wider_interval():
    values = list(range(1, 31))
    lo95, hi95 = median_ci(values, 0.95)
    lo99, hi99 = median_ci(values, 0.99)
    assert lo99 <= lo95 and hi99 >= hi95 and (lo99, hi99) != (lo95, hi95)


def test_mann_whitney_hand_worked_separated_samples():
    # All of b above all of a: 2 of the C(8, 4) = 70 orderings are this extreme.
    assert mann_whitney([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70)


def test_mann_whitney_matches_scipy_exact_without_ties():
    a = [10.1, 10.4, 9.8, 10.0, 10.3, 9.9, 10.2, 10.5, 9.7, 10.6]
    b = [10.35, 10.8, 10.55, 10.9, 10.45, 11.0, 10.7, 10.25, 10.65, 10.75]
    expected = mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
    assert mann_whitney(a, b) == pytest.approx(expected)


def test_mann_whitney_with_ties_uses_the_tie_corrected_approximation():
    a = [100, 100, 101, 100, 102, 100]
    b = [103, 103, 104, 103, 103, 105]
    expected = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
    assert mann_whitney(a, b) == pytest.approx(expected)
    assert mann_whitney(a, b) < 0.05


def test_mann_whitney_identical_samples_are_not_different():
    assert mann_whitney([5, 5, 5, 5], [5, 5, 5, 5]) == 1.0
    assert mann_whitney([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)


def test_mann_whitney_needs_four_values_per_side():
    assert mann_whitney([1, 2, 3], [4, 5, 6, 7]) is None
    assert mann_whitney([1, 2, 3, 4], [5, 6, 7]) is None
