"""Wald's sequential probability ratio test (SPRT) for Bernoulli shares.

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

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.stats.decision import Decision


class SPRT(BaseModel):
    """Wald's SPRT of ``p = p_ok`` (allowed) against ``p = p_bad`` (forbidden).

    >>> t = SPRT(p_ok=0.5, p_bad=0.3, alpha=0.05, beta=0.1)
    >>> t.decide(successes=0, n=9)
    <Decision.FAIL: 1>
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

    def decide(self, successes: int, n: int) -> Decision:
        """FAIL, PASS, or UNDECIDED to keep sampling."""
        value = self.llr(successes, n)
        if value >= self.upper:
            return Decision.FAIL
        if value <= self.lower:
            return Decision.PASS
        return Decision.UNDECIDED

    def first_decision(self, outcomes: list[bool]) -> tuple[Decision, int]:
        """Walk a sequence of outcomes; return the decision and trials used.

        One row of :meth:`walk`, so the runner and the calibration suite share
        one code path.
        """
        if not outcomes:
            return Decision.UNDECIDED, 0
        codes, used = self.walk(np.asarray([outcomes], dtype=bool))
        return Decision(int(codes[0])), int(used[0])

    def walk(
        self,
        outcomes: npt.NDArray[np.bool_],
        lengths: npt.NDArray[np.int_] | None = None,
    ) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
        """Run the SPRT over many sequences at once (one per row).

        ``outcomes`` is a (runs, trials) boolean array; ``lengths`` (optional)
        says how many leading trials of each row exist (the rest is padding).
        Returns the :class:`Decision` code per row and the trials used (the
        stopping trial, or the row's length when undecided).
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
        codes = np.where(
            decided,
            np.where(up[rows, first], Decision.FAIL, Decision.PASS),
            Decision.UNDECIDED,
        )
        used = np.where(decided, first + 1, np.minimum(lengths, trials))
        return codes.astype(np.int_), used.astype(np.int_)
