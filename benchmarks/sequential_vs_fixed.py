"""Draws per decision: the harness's betting tests against the fixed-n exact test and Wald's SPRT.

For the one-arm claim "share at least 0.5, forbidden at 0.5 - margin" and the
two-arm claim "treatment not lower than control by margin" (control share
0.5), prints the mean draws per arm at the allowed edge and at the forbidden
edge (seeded simulation through the evaluator's walk, decided draw by draw,
and with the evaluator's batches of 8), next to:

* the smallest n at which the fixed-n exact test (one-sided binomial test, or
  Boschloo's test for two arms, here its normal-approximation size) reaches
  the same alpha and power 1 - beta;
* Wald's simple-vs-simple SPRT of the same two points (the earlier design,
  which holds its alpha only at exactly the allowed point).

Run: .venv/bin/python benchmarks/sequential_vs_fixed.py
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from harness import claims
from harness.define.claims import Claim
from harness.stats.design import design
from harness.stats.fixed_n import fixed_n_size
from harness.stats.sequential import UNDECIDED
from harness.stats.simulate import ArmState, draw_codes
from harness.stats.walk import walk_claim

RUNS = 2000
CAP = 1600
CATS: dict[str, tuple[str, ...]] = {"control": ("plain", "word"), "treatment": ("plain", "random")}


def mean_draws(claim: Claim, alpha: float, states: dict[str, ArmState], batch: int) -> float:
    rng = np.random.default_rng(1)
    d = design(claim.gates({a: CATS[a] for a in claim.arms}), claim.arms, alpha, 0.1, 0.0)
    codes = {arm: draw_codes(st, RUNS, CAP, rng) for arm, st in states.items()}
    walked = walk_claim(d.gates, d.tests, codes, d.compliance)
    at = np.where(walked.code != UNDECIDED, walked.at_draw, CAP)
    return float((-(-at // batch) * batch).mean())


def wald_sprt(p_ok: float, p_bad: float, alpha: float, beta: float, p: float) -> float:
    """Mean draws of Wald's SPRT of p_ok vs p_bad when the share is p (simulated)."""
    rng = np.random.default_rng(2)
    x = rng.random((RUNS, CAP)) < p
    step_hit, step_miss = math.log(p_bad / p_ok), math.log((1 - p_bad) / (1 - p_ok))
    llr = np.cumsum(np.where(x, step_hit, step_miss), axis=1)
    out = (llr >= math.log((1 - beta) / alpha)) | (llr <= math.log(beta / (1 - alpha)))
    return float(np.where(out.any(axis=1), out.argmax(axis=1) + 1, CAP).mean())


def fixed_two_arm(margin: float, alpha: float, beta: float) -> int:
    """Per-arm n of the fixed-n two-sample test of a difference `margin` at control 0.5."""
    z = norm.ppf(1 - alpha) + norm.ppf(1 - beta)
    var = 0.25 + (0.5 - margin) * (0.5 + margin)
    return math.ceil(z * z * var / (margin * margin))


def main() -> None:
    print(
        f"{'claim':<22} {'alpha':>7} {'edge':<10} {'draws':>7} {'batched':>8} {'fixed n':>8} "
        f"{'ratio':>6} {'Wald SPRT':>10} {'vs SPRT':>8}"
    )
    for alpha in (0.05, 0.05 / 13):
        for margin in (0.2, 0.1):
            one = claims.at_least(("treatment", "random"), value=0.5, margin=margin)
            fixed = fixed_n_size(0.5, 0.5 - margin, alpha, 0.1)
            for edge, p in (("allowed", 0.5), ("forbidden", 0.5 - margin)):
                st = {"treatment": ArmState(shares=(1 - p, p))}
                n = mean_draws(one, alpha, st, 1)
                nb = mean_draws(one, alpha, st, 8)
                w = wald_sprt(0.5, 0.5 - margin, alpha, 0.1, p)
                print(
                    f"{'at_least m' + format(margin, 'g'):<22} {alpha:>7.4f} {edge:<10} {n:>7.1f} "
                    f"{nb:>8.1f} {fixed:>8} {n / fixed:>6.2f} {w:>10.1f} {n / w:>8.2f}"
                )
            two = claims.not_lower(("treatment", "random"), ("control", "word"), margin=margin)
            fixed2 = fixed_two_arm(margin, alpha, 0.1)
            control = ArmState(shares=(0.5, 0.5))
            for edge, p in (("allowed", 0.5), ("forbidden", 0.5 - margin)):
                st = {"control": control, "treatment": ArmState(shares=(1 - p, p))}
                n = mean_draws(two, alpha, st, 1)
                nb = mean_draws(two, alpha, st, 8)
                print(
                    f"{'not_lower m' + format(margin, 'g'):<22} {alpha:>7.4f} {edge:<10} {n:>7.1f} "
                    f"{nb:>8.1f} {fixed2:>8} {n / fixed2:>6.2f} {'':>10} {'':>8}"
                )
    print(
        "\ndraws: mean draws per arm decided draw by draw; batched: as the evaluator looks, "
        "after batches of 8;\nfixed n: the fixed-n test of the same alpha and power 0.9; "
        "ratio = draws / fixed n; Wald SPRT: the simple-vs-simple SPRT of the two edges"
    )


if __name__ == "__main__":
    main()
