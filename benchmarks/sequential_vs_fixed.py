"""Draws per decision: Wald's SPRT against the fixed-n exact binomial test of equal power.

Prints, for the one-arm claim "share at least 0.5, FAIL if shown at 0.5 - margin",
the SPRT's mean and 95th-percentile draws at the allowed share, the midpoint and
the forbidden share (exact, by dynamic programming over the SPRT's state, and a
seeded simulation of the real gates as a check), next to the smallest n at which
the fixed-n one-sided exact binomial test (scipy) reaches the same power.

Run: .venv/bin/python benchmarks/sequential_vs_fixed.py
"""

from __future__ import annotations

import numpy as np

from harness import claims
from harness.stats.fixed_n import fixed_n_size
from harness.stats.planning import operating_point, plan_claim, simulate_claim

CAP = 5000  # exact figures: large enough that the cap never binds
SIM_CAP = 2500  # simulation check (binds with probability < 1e-3 in every row)
RUNS = 10_000


def main() -> None:
    rng = np.random.default_rng(20240312)
    print(
        f"{'margin':>6} {'alpha':>8} {'beta':>5} {'share':>6} {'E[n] exact':>10} "
        f"{'E[n] sim':>9} {'p95 exact':>9} {'p95 sim':>8} {'fixed n':>7} {'E[n]/fixed':>10}"
    )
    for alpha in (0.05, 0.05 / 24):
        for margin in (0.2, 0.1):
            claim = claims.at_least("treatment", "random", value=0.5, margin=margin)
            fixed = fixed_n_size(0.5, 0.5 - margin, alpha, 0.1)
            sprts = [g.sprt for g in claim.gates(alpha, 0.1)]
            for share in (0.5, 0.5 - margin / 2, 0.5 - margin):
                point = operating_point(sprts, share, 1.0, CAP, 1)
                _, draws = simulate_claim(claim, alpha, 0.1, share, rng, runs=RUNS, cap=SIM_CAP)
                print(
                    f"{margin:>6g} {alpha:>8.4g} {0.1:>5g} {share:>6g} {point.mean_draws:>10.1f} "
                    f"{draws.mean():>9.1f} {point.p95_draws:>9} {np.quantile(draws, 0.95):>8.0f} "
                    f"{fixed:>7} {point.mean_draws / fixed:>10.2f}"
                )
    paired = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
    plan = plan_claim(paired, 0.05, 0.1, CAP)
    print(
        "\npaired not_lower margin 0.2, alpha 0.05 (control share 0.5, half the pairs "
        f"discordant): E[n] per arm {plan.allowed.mean_draws:.1f} at theta 0.5, "
        f"{plan.forbidden.mean_draws:.1f} at 0.3; power {plan.power:.3f}"
    )


if __name__ == "__main__":
    main()
