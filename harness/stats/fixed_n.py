"""The fixed-n exact binomial test a sequential test is compared with: power and size."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom


def fixed_n_power(n: int, p_ok: float, p_bad: float, alpha: float) -> float:
    """Power at ``p_bad`` of the one-sided exact binomial test of ``p_ok`` with ``n`` draws.

    The test rejects (FAIL) when the count is at or beyond the exact critical
    value, which keeps its size at most ``alpha`` (scipy's binomial cdf).
    """
    k = np.arange(n + 1)
    if p_bad < p_ok:
        reject = binom.cdf(k, n, p_ok) <= alpha  # lower tail
        crit = int(k[reject].max()) if reject.any() else -1
        return float(binom.cdf(crit, n, p_bad)) if crit >= 0 else 0.0
    reject = binom.sf(k - 1, n, p_ok) <= alpha  # upper tail P(X >= k)
    crit = int(k[reject].min()) if reject.any() else n + 1
    return float(binom.sf(crit - 1, n, p_bad)) if crit <= n else 0.0


def fixed_n_size(p_ok: float, p_bad: float, alpha: float, beta: float, limit: int = 100_000) -> int:
    """Smallest n at which the fixed-n exact binomial test reaches power 1 - beta.

    The conventional figure (53 for 0.5 vs 0.3, alpha 0.05, beta 0.1). The
    exact test's power saw-tooths in n, so a few larger n fall short again.
    """
    target = 1.0 - beta
    for n in range(1, limit + 1):
        if fixed_n_power(n, p_ok, p_bad, alpha) >= target:
            return n
    raise ValueError("no fixed n within the limit reaches the requested power")
