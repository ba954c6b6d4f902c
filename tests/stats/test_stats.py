"""Unit tests of harness.stats: display intervals and the fixed-n exact test."""

from __future__ import annotations

import pytest
from scipy.stats import binom, binomtest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from harness import HypothesisError, behavior, claims
from harness.stats.fixed_n import fixed_n_power, fixed_n_size
from harness.stats.intervals import (
    clopper_pearson,
    jeffreys,
    newcombe_interval,
    upper_bound,
    wilson,
)


def test_jeffreys_matches_statsmodels() -> None:
    for n in (1, 7, 40, 401):
        for k in range(1, n):
            for confidence in (0.9, 0.95):
                low, high = jeffreys(k, n, confidence)
                ref = proportion_confint(k, n, alpha=1 - confidence, method="jeffreys")
                assert (low, high) == pytest.approx(ref, abs=1e-12)
    assert jeffreys(0, 10)[0] == 0.0 and jeffreys(10, 10)[1] == 1.0


def test_exact_and_wilson_intervals_match_scipy_binomtest() -> None:
    for n in (1, 2, 9, 40, 333):
        for k in range(n + 1):
            for confidence in (0.9, 0.95, 0.999):
                test = binomtest(k, n)
                for method, ours in (("exact", clopper_pearson), ("wilson", wilson)):
                    ref = test.proportion_ci(confidence_level=confidence, method=method)
                    assert ours(k, n, confidence) == pytest.approx((ref.low, ref.high), abs=1e-9)
                one_sided = binomtest(k, n, alternative="less").proportion_ci(
                    confidence_level=confidence, method="exact"
                )
                assert upper_bound(k, n, confidence) == pytest.approx(one_sided.high, abs=1e-9)


def test_newcombe_matches_statsmodels() -> None:
    for n_t, n_c in [(1, 1), (3, 7), (10, 10), (24, 40), (100, 57)]:
        for k_t in range(n_t + 1):
            for k_c in range(n_c + 1):
                ref = confint_proportions_2indep(
                    k_t, n_t, k_c, n_c, method="newcomb", compare="diff", alpha=0.05
                )
                assert newcombe_interval(k_t, n_t, k_c, n_c) == pytest.approx(ref, abs=1e-12)


def test_clopper_pearson_covers_at_least_nominal() -> None:
    """Exact coverage over all outcomes, for a few n and p."""
    for n in (12, 40, 101):
        intervals = [clopper_pearson(k, n) for k in range(n + 1)]
        for p in (0.1, 0.3, 0.5, 0.73):
            coverage = sum(
                binom.pmf(k, n, p) for k, (lo, hi) in enumerate(intervals) if lo <= p <= hi
            )
            assert coverage >= 0.95 - 1e-12


def test_display_intervals_contain_the_estimate() -> None:
    for fn in (wilson, jeffreys, clopper_pearson):
        low, high = fn(7, 20)
        assert low < 0.35 < high


def test_newcombe_interval_covers_zero_when_equal_and_not_when_far() -> None:
    low, high = newcombe_interval(20, 40, 20, 40)
    assert low < 0 < high
    low, high = newcombe_interval(2, 40, 30, 40)
    assert high < 0


def test_fixed_n_size_matches_the_design_figure() -> None:
    """53 draws for 0.5 vs 0.3, alpha 0.05, beta 0.1."""
    n = fixed_n_size(0.5, 0.3, 0.05, 0.1)
    assert n == 53
    assert fixed_n_power(n, 0.5, 0.3, 0.05) >= 0.9
    assert fixed_n_power(n - 2, 0.5, 0.3, 0.05) < 0.9


def test_fixed_n_power_keeps_size_both_directions() -> None:
    for n in (20, 53, 100):
        assert fixed_n_power(n, 0.5, 0.5 - 1e-12, 0.05) <= 0.05 + 1e-9
        assert fixed_n_power(n, 0.5, 0.5 + 1e-12, 0.05) <= 0.05 + 1e-9
    assert fixed_n_power(60, 0.5, 0.7, 0.05) > 0.9


def test_pooled_needs_two_variants() -> None:
    from evals.test_zero_vs_random import ZERO_VS_RANDOM

    claim = claims.not_lower("random", "word", margin=0.2)
    with pytest.raises(HypothesisError, match="at least 2 variants"):
        behavior(ZERO_VS_RANDOM, claim, variants=["original"], pooled=True)
