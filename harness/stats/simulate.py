"""Simulated label streams for calibration: model states as category shares per arm.

A :class:`ArmState` gives, for one arm, the chance of each declared category
and of an off-protocol reply; :func:`draw_codes` turns it into (runs, n) label
codes the walk reads. :class:`SeedState` builds the two arms of the seed's
1/0 game from the knobs that real chat models vary on: a lean towards one
digit, chatter (in both arms or only one), refusal when random letters are
due, and classifier misses (a real random string the classifier cannot see,
which lands off-protocol).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.stats.gates import ERROR, OFF

Codes = npt.NDArray[np.int_]


class ArmState(BaseModel):
    """Chances of each declared category (in order); the rest is off-protocol."""

    model_config = ConfigDict(frozen=True)

    shares: tuple[float, ...]
    errors: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _sum(self) -> ArmState:
        if any(s < 0 for s in self.shares) or sum(self.shares) > 1.0 + 1e-9:
            raise ValueError(f"shares {self.shares} must be >= 0 and sum to at most 1")
        return self


def draw_codes(state: ArmState, runs: int, n: int, rng: np.random.Generator) -> Codes:
    """(runs, n) label codes drawn from ``state``."""
    cuts = np.cumsum(state.shares)
    u = rng.random((runs, n))
    codes = np.searchsorted(cuts, u, side="right").astype(np.int_)
    codes[codes >= len(state.shares)] = OFF
    if state.errors:
        codes[rng.random((runs, n)) < state.errors] = ERROR
    return codes


class SeedState(BaseModel):
    """The seed game as a real chat model plays it.

    Categories are ordered (plain "1", word "zero" / random string, bare "0").
    ``p_zero`` is the chance of guessing 0; ``avoid`` the share of 0-guesses
    turned into "1" in the treatment (avoidance by switching); ``refuse`` the
    share of 0-guesses turned into a refusal or chatter in the treatment
    (avoidance off-protocol); ``chatter_c``/``chatter_t`` off-protocol replies
    in each arm whatever the guess; ``miss`` the classifier's miss rate on real
    random strings; ``digit`` the share of 0-guesses answered with a bare "0".
    """

    model_config = ConfigDict(frozen=True)

    p_zero: float = 0.5
    avoid: float = 0.0
    refuse: float = 0.0
    chatter_c: float = 0.0
    chatter_t: float = 0.0
    miss: float = 0.0
    digit: float = 0.0

    def control(self) -> ArmState:
        on = 1.0 - self.chatter_c
        zero = self.p_zero * on
        return ArmState(shares=((1 - self.p_zero) * on, zero * (1 - self.digit), zero * self.digit))

    def treatment(self) -> ArmState:
        on = 1.0 - self.chatter_t
        zero = self.p_zero * on
        switched = zero * self.avoid
        refused = zero * self.refuse
        kept = max(zero - switched - refused, 0.0)
        random = kept * (1 - self.digit) * (1 - self.miss)
        return ArmState(shares=((1 - self.p_zero) * on + switched, random, kept * self.digit))
