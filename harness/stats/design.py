"""A claim's test design: its gates' tests and the arms' compliance tests, with alpha split.

The error budget of one claim is ``alpha`` (its share of the run's family-wise
rate). Three quarters of it go to the FAIL side, split evenly over every test
that can end the claim badly: each gate's FAIL test and each arm's compliance
test (Bonferroni, so the split holds whatever the tests' dependence). The last
quarter bounds the chance of running out of draws undecided at an allowed
state (INCONCLUSIVE fails CI too): it is not a test level but a requirement on
the draw budget, which :mod:`harness.stats.planning` checks and reports.

Every PASS test runs at ``beta``: to PASS, every gate must pass, so at a
forbidden state the one gate whose forbidden region holds already limits the
miss rate to ``beta``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from harness.stats.gates import Gate
from harness.stats.sequential import BettingTest, GateTests

#: The share of a claim's alpha kept for running out of draws undecided.
INCONCLUSIVE_SHARE = 0.25
#: How far below the required compliance the compliance test bets (planned alternative).
COMPLIANCE_DROP = 0.25


class Design(BaseModel):
    """Everything the walk needs to decide one claim."""

    model_config = ConfigDict(frozen=True)

    gates: list[Gate]
    tests: list[GateTests]
    compliance: dict[str, BettingTest]
    alpha: float
    beta: float
    test_alpha: float
    min_compliance: float

    @property
    def inconclusive_budget(self) -> float:
        """The chance of INCONCLUSIVE at an allowed state the draw budget must keep under."""
        return self.alpha * INCONCLUSIVE_SHARE


def compliance_test(min_compliance: float, level: float, *, pooled: bool = False) -> BettingTest:
    """Test that an arm's on-protocol share is shown below ``min_compliance``."""
    target = max(min_compliance - COMPLIANCE_DROP, min_compliance / 2)
    return BettingTest(
        bound=min_compliance,
        side="below",
        target=target,
        level=level,
        binary=not pooled,
        second_moment=None if not pooled else min_compliance,
    )


def design(
    gates: Sequence[Gate],
    arms: Sequence[str],
    alpha: float,
    beta: float,
    min_compliance: float,
    *,
    pooled: bool = False,
) -> Design:
    """Split ``alpha`` over the claim's tests and build them."""
    checks = len(arms) if min_compliance > 0 else 0
    each = alpha * (1 - INCONCLUSIVE_SHARE) / (len(gates) + checks)
    return Design(
        gates=list(gates),
        tests=[g.tests(each, beta, pooled=pooled) for g in gates],
        compliance={
            arm: compliance_test(min_compliance, each, pooled=pooled) for arm in arms[:checks]
        },
        alpha=alpha,
        beta=beta,
        test_alpha=each,
        min_compliance=min_compliance,
    )
