"""Confidence intervals and bounds for shares and differences of shares.

Clopper-Pearson and the one-sided exact bound decide (compliance); Wilson,
Jeffreys and Newcombe's interval are for display.
"""

from __future__ import annotations

from scipy.stats import binomtest


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
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=1.0 - confidence, method="jeffreys")
    return (0.0 if k == 0 else float(low), 1.0 if k == n else float(high))


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
    """Newcombe's hybrid score interval for p_treatment - p_control."""
    if n_t == 0 or n_c == 0:
        return (-1.0, 1.0)
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(
        k_t, n_t, k_c, n_c, method="newcomb", compare="diff", alpha=1.0 - confidence
    )
    return (float(low), float(high))
