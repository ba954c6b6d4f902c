"""Statistics: Wald's SPRT for Bernoulli shares, exact intervals, compliance.

Every decision in the harness is a sequential probability ratio test between
an *allowed* share ``p_ok`` and a *forbidden* share ``p_bad``:

* crossing the upper boundary log((1-beta)/alpha) decides FAIL; the chance of
  that when the true share is ``p_ok`` is at most ``alpha`` (false failure);
* crossing the lower boundary log(beta/(1-alpha)) decides PASS; the chance of
  that when the true share is ``p_bad`` is at most ``beta`` (missed behavior);
* running out of budget first is INCONCLUSIVE, never a forced decision.

Two-arm claims use Wald's own reduction: pair the k-th compliant control
response with the k-th compliant treatment response and keep only discordant
pairs. Given a discordant pair, the chance that the treatment side is the hit is
theta = OR / (1 + OR) with OR the odds ratio; it is exactly 0.5 when both arms
share the same rate, whatever that rate is, so the test's size does not depend
on the unknown control share.

Reference: A. Wald, *Sequential Analysis* (1947), ch. 5 and 6.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import binom, binomtest

Decision = Literal["pass", "fail"]
FAIL, PASS, UNDECIDED = 1, -1, 0
"""Decision codes of :meth:`SPRT.walk` (vectorized runs)."""


class SPRT(BaseModel):
    """Wald's SPRT of ``p = p_ok`` (allowed) against ``p = p_bad`` (forbidden).

    >>> t = SPRT(p_ok=0.5, p_bad=0.3, alpha=0.05, beta=0.1)
    >>> t.decide(successes=0, n=9)
    'fail'
    """

    model_config = ConfigDict(frozen=True)

    p_ok: float = Field(gt=0.0, lt=1.0)
    p_bad: float = Field(gt=0.0, lt=1.0)
    alpha: float = Field(gt=0.0, lt=0.5)
    beta: float = Field(gt=0.0, lt=0.5)

    @model_validator(mode="after")
    def _distinct(self) -> SPRT:
        if self.p_ok == self.p_bad:
            raise ValueError("p_ok and p_bad must differ")
        return self

    @property
    def upper(self) -> float:
        """Log-likelihood-ratio boundary for FAIL."""
        return math.log((1.0 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        """Log-likelihood-ratio boundary for PASS."""
        return math.log(self.beta / (1.0 - self.alpha))

    @property
    def step_hit(self) -> float:
        """LLR increment of one success."""
        return math.log(self.p_bad / self.p_ok)

    @property
    def step_miss(self) -> float:
        """LLR increment of one failure."""
        return math.log((1.0 - self.p_bad) / (1.0 - self.p_ok))

    def llr(self, successes: int, n: int) -> float:
        """log L(p_bad) / L(p_ok) after ``successes`` hits in ``n`` trials."""
        return successes * self.step_hit + (n - successes) * self.step_miss

    def decide(self, successes: int, n: int) -> Decision | None:
        """'fail', 'pass', or None to keep sampling."""
        value = self.llr(successes, n)
        if value >= self.upper:
            return "fail"
        if value <= self.lower:
            return "pass"
        return None

    def first_decision(self, outcomes: list[bool]) -> tuple[Decision | None, int]:
        """Walk a sequence of outcomes; return the decision and trials used.

        One row of :meth:`walk`, so the runner and the calibration suite share
        one code path.
        """
        if not outcomes:
            return None, 0
        codes, used = self.walk(np.asarray([outcomes], dtype=bool))
        code = int(codes[0])
        decision: Decision | None = "fail" if code == FAIL else "pass" if code == PASS else None
        return decision, int(used[0])

    def walk(
        self,
        outcomes: npt.NDArray[np.bool_],
        lengths: npt.NDArray[np.int_] | None = None,
    ) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
        """Run the SPRT over many sequences at once (one per row).

        ``outcomes`` is a (runs, trials) boolean array; ``lengths`` (optional)
        says how many leading trials of each row exist (the rest is padding).
        Returns the decision code per row (:data:`FAIL`, :data:`PASS` or
        :data:`UNDECIDED`) and the trials used (the stopping trial, or the
        row's length when undecided).
        """
        runs, trials = outcomes.shape
        if lengths is None:
            lengths = np.full(runs, trials, dtype=np.int_)
        hits = np.cumsum(outcomes, axis=1, dtype=np.int_)
        n = np.arange(1, trials + 1, dtype=np.int_)[None, :]
        llr = hits * self.step_hit + (n - hits) * self.step_miss
        exists = n <= lengths[:, None]
        up = (llr >= self.upper) & exists
        crossed = (up | (llr <= self.lower)) & exists
        decided = crossed.any(axis=1)
        first = np.argmax(crossed, axis=1)
        rows = np.arange(runs)
        codes = np.where(decided, np.where(up[rows, first], FAIL, PASS), UNDECIDED)
        used = np.where(decided, first + 1, np.minimum(lengths, trials))
        return codes.astype(np.int_), used.astype(np.int_)


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
