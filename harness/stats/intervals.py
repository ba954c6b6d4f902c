"""Confidence intervals and bounds for shares and differences of shares.

Clopper-Pearson and the one-sided exact bound decide (compliance); Wilson,
Jeffreys and Newcombe's interval are for display. Jeffreys and Newcombe are
written out from scipy's beta quantiles and Wilson intervals rather than taken
from statsmodels, whose import (with pandas) would cost every run 0.3-0.4 s;
tests/stats/test_intervals.py holds them equal to statsmodels' to 1e-12.
"""

from __future__ import annotations

from math import sqrt

from scipy.stats import beta, binomtest


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial share (never below nominal coverage)."""
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval, for display only (its coverage dips below nominal)."""
    if n == 0:
        return (0.0, 1.0)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def jeffreys(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval, for display only (0 and n get the boundary fix: 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    tail = (1.0 - confidence) / 2  # the Beta(k + 1/2, n - k + 1/2) posterior's quantiles
    low = 0.0 if k == 0 else float(beta.ppf(tail, k + 0.5, n - k + 0.5))
    high = 1.0 if k == n else float(beta.ppf(1.0 - tail, k + 0.5, n - k + 0.5))
    return (low, high)


def upper_bound(k: int, n: int, level: float) -> float:
    """One-sided exact upper confidence bound for a share at ``level``."""
    if n == 0:
        return 1.0
    if k == n:
        return 1.0
    ci = binomtest(k, n, alternative="less").proportion_ci(confidence_level=level, method="exact")
    return float(ci.high)


def newcombe_interval(
    k_t: int, n_t: int, k_c: int, n_c: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for p_treatment - p_control: the
    difference, widened by each share's distance to its own Wilson bound."""
    if n_t == 0 or n_c == 0:
        return (-1.0, 1.0)
    p_t, p_c = k_t / n_t, k_c / n_c
    low_t, high_t = wilson(k_t, n_t, confidence)
    low_c, high_c = wilson(k_c, n_c, confidence)
    d = p_t - p_c
    return (
        d - sqrt((p_t - low_t) ** 2 + (high_c - p_c) ** 2),
        d + sqrt((high_t - p_t) ** 2 + (p_c - low_c) ** 2),
    )
