"""Anytime-valid one-sided tests on a bounded mean, by betting (e-processes).

Every decision in the harness is one of these tests. Observations x_1, x_2, ...
are i.i.d. in ``[lo, hi]`` with unknown mean mu (a category indicator, a
treatment - control difference of two indicators, an off-protocol gap, a
paraphrase-round average). To reject the *composite* null "mu >= b" (claim:
the mean is shown *below* b) a bettor stakes lambda_i on each observation and
holds the wealth

    W_n = prod_{i<=n} (1 + lambda_i * (b - x_i)),   0 <= lambda_i < 1 / (hi - b),

with lambda_i chosen from x_1..x_{i-1} only (predictable). Under every mean in
the null, E[b - x] <= 0, so W is a nonnegative supermartingale and Ville's
inequality gives P(sup_n W_n >= 1/level) <= level: the test may be checked
after every observation, stopped at any time, and its error bound holds at
*every* state of the null region, whatever the nuisance parameters (the control
share of a difference, the spread of paraphrases) are. "Shown above b" is the
mirror image.

Power comes from the stakes. lambda is the Kelly bet for the planned
alternative mean ``target``: for 0/1 observations the exact one,
(t - b) / (b (1 - b)), which makes W the likelihood ratio of Wald's SPRT of
b against t (so sample sizes match the SPRT at its design point); otherwise the
second-order Kelly bet (t - b) / E_t[(x - b)^2], with E[x^2] estimated from the
past observations shrunk towards a planning value.

References: J. Ville (1939); S. R. Waudby-Smith and A. Ramdas, "Estimating
means of bounded random variables by betting", JRSS-B 86 (2024); S. R. Howard,
A. Ramdas, J. McAuliffe, J. Sekhon, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49 (2021); A. Wald,
*Sequential Analysis* (1947).

>>> t = BettingTest(bound=0.5, side="below", target=0.3, level=0.05)
>>> bool(t.first_crossing([0] * 9)[0])  # nine misses: (0.7 / 0.5) ** 9 >= 20
True
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.stats.decision import Decision

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
Bools = npt.NDArray[np.bool_]
Side = Literal["below", "above"]

#: Fraction of the largest admissible stake ever used: keeps one unlucky
#: observation from costing more than ~95% of the wealth.
MAX_STAKE = 0.5
#: Weight (in observations) of the planning value of E[x^2] in its running estimate.
PRIOR_WEIGHT = 8.0


class BettingTest(BaseModel):
    """Test that the mean is ``side`` of ``bound``, at ``level``, betting towards ``target``.

    ``side="below"`` rejects the null "mean >= bound" (the mean is shown below
    the bound); ``side="above"`` rejects "mean <= bound". ``target`` is the
    planned alternative (on ``side`` of the bound); ``second_moment`` the
    planned E[x^2] there (None: from ``target`` for 0/1 data, else ``target**2``
    plus a variance of 0.25).
    """

    model_config = ConfigDict(frozen=True)

    bound: float
    side: Side
    target: float
    level: float = Field(gt=0.0, lt=1.0)
    lo: float = 0.0
    hi: float = 1.0
    binary: bool = True
    second_moment: float | None = None

    @model_validator(mode="after")
    def _check(self) -> BettingTest:
        if not self.lo <= self.bound <= self.hi:
            raise ValueError(f"bound {self.bound} outside [{self.lo}, {self.hi}]")
        beyond = self.target < self.bound if self.side == "below" else self.target > self.bound
        if not beyond:
            raise ValueError(f"target {self.target} is not {self.side} bound {self.bound}")
        if self.binary and not (self.lo == 0.0 and self.hi == 1.0):
            raise ValueError("binary tests take 0/1 observations")
        return self

    @property
    def threshold(self) -> float:
        """log(1/level): the log-wealth at which the null is rejected."""
        return math.log(1.0 / self.level)

    @property
    def _sign(self) -> float:
        return 1.0 if self.side == "above" else -1.0

    @property
    def _max_stake(self) -> float:
        """Largest admissible lambda (wealth stays positive at the worst observation)."""
        worst = (self.bound - self.lo) if self.side == "above" else (self.hi - self.bound)
        return MAX_STAKE / worst if worst > 0 else 0.0

    def stakes(self, x: Floats) -> Floats:
        """Predictable stakes lambda_i for each row of ``x`` (runs, n)."""
        gap = abs(self.target - self.bound)
        if self.binary:
            b = min(max(self.bound, 1e-9), 1.0 - 1e-9)
            lam = gap / (b * (1.0 - b))
            return np.full(x.shape, min(lam, self._max_stake))
        planned = self.second_moment if self.second_moment is not None else self.target**2 + 0.25
        sq = np.cumsum(x * x, axis=1)
        mean = np.cumsum(x, axis=1)
        n = np.arange(1, x.shape[1] + 1, dtype=float)[None, :]
        prev_sq = np.concatenate([np.zeros((x.shape[0], 1)), sq[:, :-1]], axis=1)
        prev_n = n - 1.0
        del mean
        m2 = (planned * PRIOR_WEIGHT + prev_sq) / (PRIOR_WEIGHT + prev_n)
        # E_t[(x - b)^2] = E[x^2] - 2 b t + b^2, with E[x^2] from data and plan
        spread = np.maximum(m2 - 2.0 * self.bound * self.target + self.bound**2, gap * gap)
        return np.minimum(gap / spread, self._max_stake)

    def log_wealth(self, x: Floats) -> Floats:
        """log W_n along each row of ``x`` (runs, n)."""
        lam = self.stakes(x)
        return np.cumsum(np.log1p(lam * self._sign * (x - self.bound)), axis=1)

    def first_crossing(
        self, x: Floats | list[float] | list[int], lengths: Ints | None = None
    ) -> tuple[Bools, Ints, Floats]:
        """Whether and where each row first reaches the threshold, and its log-wealth then.

        Returns (crossed, index, log_wealth): ``index`` is the 1-based number of
        observations used at the crossing, or the row's length when it never
        crossed; ``log_wealth`` is the value at that index (0 for empty rows).
        """
        arr = np.atleast_2d(np.asarray(x, dtype=float))
        runs, n = arr.shape
        if lengths is None:
            lengths = np.full(runs, n, dtype=np.int_)
        if n == 0:
            zeros = np.zeros(runs, dtype=np.int_)
            return np.zeros(runs, dtype=bool), zeros, np.zeros(runs)
        lw = self.log_wealth(arr)
        exists = np.arange(1, n + 1)[None, :] <= lengths[:, None]
        hit = (lw >= self.threshold) & exists
        crossed = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        last = np.maximum(np.minimum(lengths, n) - 1, 0)
        idx = np.where(crossed, first, last)
        value = lw[np.arange(runs), idx]
        value = np.where(lengths > 0, value, 0.0)
        used = np.where(crossed, first + 1, np.minimum(lengths, n))
        return np.asarray(crossed, dtype=bool), used.astype(np.int_), value.astype(float)


class GateTests(BaseModel):
    """The two tests of one gate: FAIL shows the mean left the allowed region,
    PASS shows it is short of the forbidden region.

    ``allowed`` and ``forbidden`` are the edges of the two regions on the mean's
    scale; the zone strictly between them is the indifference zone, where no
    error rate is promised. When ``forbidden < allowed`` the forbidden behavior
    is a *low* mean, else a high one.
    """

    model_config = ConfigDict(frozen=True)

    allowed: float
    forbidden: float
    alpha: float = Field(gt=0.0, lt=1.0, description="false-failure level of the FAIL test")
    beta: float = Field(gt=0.0, lt=1.0, description="miss level of the PASS test")
    lo: float = 0.0
    hi: float = 1.0
    binary: bool = True
    second_moment: float | None = None

    @model_validator(mode="after")
    def _distinct(self) -> GateTests:
        if self.allowed == self.forbidden:
            raise ValueError("allowed and forbidden edges must differ")
        return self

    @property
    def low_is_bad(self) -> bool:
        return self.forbidden < self.allowed

    @property
    def fail(self) -> BettingTest:
        """Rejects 'the mean is allowed' (shown beyond ``allowed`` towards ``forbidden``)."""
        return BettingTest(
            bound=self.allowed,
            side="below" if self.low_is_bad else "above",
            target=self.forbidden,
            level=self.alpha,
            lo=self.lo,
            hi=self.hi,
            binary=self.binary,
            second_moment=self.second_moment,
        )

    @property
    def pass_(self) -> BettingTest:
        """Rejects 'the mean is forbidden' (shown short of ``forbidden``)."""
        return BettingTest(
            bound=self.forbidden,
            side="above" if self.low_is_bad else "below",
            target=self.allowed,
            level=self.beta,
            lo=self.lo,
            hi=self.hi,
            binary=self.binary,
            second_moment=self.second_moment,
        )


#: Decision codes of vectorized walks (the values of :class:`Decision`).
FAIL, PASS, UNDECIDED = int(Decision.FAIL), int(Decision.PASS), int(Decision.UNDECIDED)


def walk_gate(
    gate: GateTests, x: Floats, lengths: Ints | None = None
) -> tuple[Ints, Ints, Floats, Floats]:
    """Run a gate's two tests over each row; the first test to cross decides.

    Returns (code, used, fail_log_wealth, pass_log_wealth) per row, where
    ``used`` is the observation count at the decision (or the row length).
    A tie (both cross at the same observation) counts as FAIL.
    """
    arr = np.atleast_2d(np.asarray(x, dtype=float))
    f_cross, f_at, f_lw = gate.fail.first_crossing(arr, lengths)
    p_cross, p_at, p_lw = gate.pass_.first_crossing(arr, lengths)
    fail_first = f_cross & (~p_cross | (f_at <= p_at))
    pass_first = p_cross & ~fail_first
    code = np.where(fail_first, FAIL, np.where(pass_first, PASS, UNDECIDED))
    used = np.where(fail_first, f_at, np.where(pass_first, p_at, np.maximum(f_at, p_at)))
    return code.astype(np.int_), used.astype(np.int_), f_lw, p_lw
