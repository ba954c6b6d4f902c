"""Plans: exact operating characteristics, checked against simulation and the design."""

from __future__ import annotations

import numpy as np
import pytest

from harness import claims
from harness.define.claims import Claim
from harness.stats.decision import Decision
from harness.stats.planning import plan_claim, simulate_claim, trial_distribution
from harness.stats.sprt import SPRT

RUNS = 20_000


def test_exact_expected_trials_match_the_design() -> None:
    """Wald's SPRT 0.5 vs 0.3, alpha 0.05, beta 0.1: 25.7, 43.6, 31.7 (the design figures)."""
    sprt = SPRT(p_ok=0.5, p_bad=0.3, alpha=0.05, beta=0.1)
    t = np.arange(1, 2001)
    for p, expected in ((0.5, 25.7), (0.4, 43.6), (0.3, 31.7)):
        fail_at, pass_at = trial_distribution([sprt], p, 2000)
        assert (fail_at + pass_at).sum() == pytest.approx(1.0, abs=1e-9)
        assert (t * (fail_at + pass_at)).sum() == pytest.approx(expected, abs=0.05)
    fail_at, _ = trial_distribution([sprt], 0.5, 2000)
    assert fail_at.sum() <= 0.05


AT_LEAST = claims.at_least("treatment", "random", value=0.5, margin=0.2)
EQUIVALENT = claims.equivalent("treatment", "random", value=0.5, margin=0.15)
PAIRED = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
CASES = [
    ("one-arm, compliance 0.8, batch 8, cap 100", AT_LEAST, 0.8, 8, 100),
    ("equivalence (two gates), batch 4, cap 150", EQUIVALENT, 1.0, 4, 150),
    ("paired, batch 8, cap 200", PAIRED, 1.0, 8, 200),
]


@pytest.mark.parametrize(
    ("name", "claim", "compliance", "batch", "cap"), CASES, ids=[c[0] for c in CASES]
)
def test_plan_matches_simulation(
    name: str, claim: Claim, compliance: float, batch: int, cap: int
) -> None:
    """Exact plan vs seeded simulation of the real gates, at p_ok and p_bad."""
    plan = plan_claim(claim, 0.01, 0.1, cap, batch_size=batch, compliance=compliance)
    rng = np.random.default_rng(3)
    for point in (plan.allowed, plan.forbidden):
        verdict, draws = simulate_claim(
            claim, 0.01, 0.1, point.share, rng, runs=RUNS, cap=cap,
            compliance=compliance, batch_size=batch,
        )  # fmt: skip
        for rate, prob in (
            ((verdict == Decision.FAIL).mean(), point.p_fail),
            ((verdict == Decision.PASS).mean(), point.p_pass),
        ):
            assert abs(rate - prob) <= 4 * np.sqrt(prob * (1 - prob) / RUNS) + 1e-3, name
        se = draws.std(ddof=1) / np.sqrt(RUNS)
        assert abs(draws.mean() - point.mean_draws) <= 4 * se, name
        assert abs(np.quantile(draws, 0.95) - point.p95_draws) <= batch, name


def test_power_and_warnings() -> None:
    """A gate that cannot reach 0.9 power within the budget is flagged; others are not."""
    claim = claims.at_least("treatment", "random", value=0.5, margin=0.2)
    good = plan_claim(claim, 0.05, 0.1, 400)
    assert good.power >= 0.9 and not good.warnings and "WARNING" not in good.line()
    tight = plan_claim(claim, 0.05, 0.1, 30)
    assert tight.power < 0.9 and any("power" in w for w in tight.warnings)
    assert "WARNING" in tight.line()
    low_compliance = plan_claim(claim, 0.05, 0.1, 60, compliance=0.5)
    assert low_compliance.allowed.mean_draws > good.allowed.mean_draws
    assert low_compliance.power < good.power


def test_paired_plan_counts_discordant_pairs() -> None:
    """At a control share of 0.5 half the pairs are discordant: twice the draws of one arm."""
    paired = plan_claim(claims.not_lower("random", "word", margin=0.2), 0.05, 0.1, 2000)
    one_arm = plan_claim(
        claims.at_least("treatment", "random", value=0.5, margin=0.2), 0.05, 0.1, 2000
    )
    assert paired.trial_rate == pytest.approx(0.5)
    assert paired.allowed.mean_draws == pytest.approx(2 * one_arm.allowed.mean_draws, rel=0.02)
