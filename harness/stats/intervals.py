"""Confidence intervals and bounds for shares and differences of shares.

Clopper-Pearson and the one-sided exact bound decide (compliance); Wilson,
Jeffreys and Newcombe's interval are for display. All are written out from the
inverse regularized incomplete beta function (``scipy.special.betaincinv``, the
beta quantile) and the normal quantile (``statistics.NormalDist``): importing
``scipy.special`` costs a run about 0.4 s where ``scipy.stats`` costs 0.8-1.4 s
and statsmodels (with pandas) another 0.3-0.4 s, and collecting tests needs none
of them. tests/stats/test_stats.py holds each equal to scipy's ``binomtest``
intervals or statsmodels' to 1e-9 over whole grids of counts.
"""

from __future__ import annotations

from math import sqrt
from statistics import NormalDist


def _beta_quantile(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(a, b) (scipy.special, loaded on first use)."""
    from scipy.special import betaincinv

    return float(betaincinv(a, b, q))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval for a binomial share (never below nominal coverage)."""
    if n == 0:
        return (0.0, 1.0)
    tail = (1.0 - confidence) / 2
    low = 0.0 if k == 0 else _beta_quantile(tail, k, n - k + 1)
    high = 1.0 if k == n else _beta_quantile(1.0 - tail, k + 1, n - k)
    return (low, high)


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval, for display only (its coverage dips below nominal)."""
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def jeffreys(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval, for display only (0 and n get the boundary fix: 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    tail = (1.0 - confidence) / 2  # the Beta(k + 1/2, n - k + 1/2) posterior's quantiles
    low = 0.0 if k == 0 else _beta_quantile(tail, k + 0.5, n - k + 0.5)
    high = 1.0 if k == n else _beta_quantile(1.0 - tail, k + 0.5, n - k + 0.5)
    return (low, high)


def upper_bound(k: int, n: int, level: float) -> float:
    """One-sided exact upper confidence bound for a share at ``level``."""
    if n == 0 or k == n:
        return 1.0
    return _beta_quantile(level, k + 1, n - k)


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
