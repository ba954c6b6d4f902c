"""Operating characteristics of a claim, by seeded simulation through the real walk.

A plan answers, before any model is called: how many draws per arm will this
claim take at the edge of its allowed region and at the edge of its forbidden
region, how often does it decide each way there, and is the draw budget large
enough that running out undecided at the allowed edge stays inside the
quarter of the claim's alpha kept for it (INCONCLUSIVE fails CI, so it counts as a false failure)?

Simulated runs go through :func:`harness.stats.walk.walk_claim` with the
claim's own design, so the plan is the evaluator's behavior, not a formula's.
Edge states come from the claim (``edge_states``): compliance 1, a control
share of 0.5 for two-arm claims (the largest variance, so the slowest case).
Pooled claims are simulated with the paraphrases spread by ``spread`` around
the edge (a fixed-effects mean: the spread does not bias the test).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.stats.design import Design
from harness.stats.sequential import FAIL, PASS, UNDECIDED
from harness.stats.simulate import ArmState, draw_codes
from harness.stats.walk import NEVER, NONCOMPLIANT, walk_claim

PLAN_RUNS = 1000
HORIZON = 4  # simulate up to this many times the budget, to size a budget that suffices


class OperatingPoint(BaseModel):
    """What the claim does at one model state."""

    model_config = ConfigDict(frozen=True)

    state: str
    p_pass: float
    p_fail: float
    p_inconclusive: float
    mean_draws: float
    p95_draws: int


class Plan(BaseModel):
    """A claim's expected draws and error rates at its allowed and forbidden edges."""

    model_config = ConfigDict(frozen=True)

    rule: str
    allowed: OperatingPoint
    forbidden: OperatingPoint
    alpha: float
    beta: float
    max_draws: int
    batch_size: int
    needed_draws: int
    inconclusive_budget: float
    runs: int
    variants: int = 1

    @property
    def power(self) -> float:
        return self.forbidden.p_fail

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.needed_draws > self.max_draws:
            out.append(
                f"--max-draws {self.max_draws} is below the {self.needed_draws} draws per arm "
                "that keep INCONCLUSIVE at the allowed edge under "
                f"{self.inconclusive_budget:.2g}: raise it, or undecided runs will fail CI "
                "more often than alpha"
            )
        if self.power < 1 - self.beta - 0.03:
            out.append(f"power {self.power:.2f} at the forbidden edge is below 1 - beta")
        return out

    def line(self) -> str:
        a, f = self.allowed, self.forbidden
        return (
            f"E[n] {a.mean_draws:.0f} (p95 {a.p95_draws}) allowed, {f.mean_draws:.0f} "
            f"(p95 {f.p95_draws}) forbidden; P(pass) {a.p_pass:.3f}, power {f.p_fail:.3f}; "
            f"budget needed {self.needed_draws}"
        )


def _spread_states(
    states: dict[str, ArmState], variants: int, spread: float
) -> list[dict[str, ArmState]]:
    """Per-paraphrase states: each arm's first share moved by an even spread summing to 0."""
    if variants == 1 or spread == 0:
        return [states] * variants
    offsets = np.linspace(-spread, spread, variants)
    out = []
    for off in offsets:
        moved = {}
        for arm, st in states.items():
            shares = list(st.shares)
            if len(shares) >= 2:
                d = float(np.clip(off, -shares[0], shares[1]))
                shares[0] += d
                shares[1] -= d
            moved[arm] = ArmState(shares=tuple(shares))
        out.append(moved)
    return out


def operating_point(
    design: Design,
    states: dict[str, ArmState],
    *,
    state: str,
    cap: int,
    batch_size: int,
    rng: np.random.Generator,
    runs: int = PLAN_RUNS,
    variants: int = 1,
    spread: float = 0.0,
    horizon: int | None = None,
) -> tuple[OperatingPoint, np.ndarray[Any, np.dtype[np.int_]]]:
    """Simulate ``runs`` evaluations at ``states``; also return the decision draws."""
    n = horizon or cap
    per_variant = [
        {arm: draw_codes(st, runs, n, rng) for arm, st in s.items()}
        for s in _spread_states(states, variants, spread)
    ]
    walked = walk_claim(
        design.gates,
        design.tests,
        per_variant if variants > 1 else per_variant[0],
        design.compliance,
    )
    # the evaluator looks after whole batches; undecided runs never decide (NEVER)
    batched = -(-walked.at_draw // batch_size) * batch_size
    at = np.where(walked.code != UNDECIDED, batched, NEVER)
    decided = at <= cap
    code = np.where(decided, walked.code, UNDECIDED)
    used = np.minimum(at, cap)
    point = OperatingPoint(
        state=state,
        p_pass=float(np.mean(code == PASS)),
        p_fail=float(np.mean((code == FAIL) | (code == NONCOMPLIANT))),
        p_inconclusive=float(np.mean(code == UNDECIDED)),
        mean_draws=float(used.mean()),
        p95_draws=int(np.quantile(used, 0.95)),
    )
    return point, at


def plan(
    design: Design,
    edges: dict[str, dict[str, ArmState]],
    *,
    rule: str,
    max_draws: int,
    batch_size: int,
    seed: int = 0,
    runs: int = PLAN_RUNS,
    variants: int = 1,
    spread: float = 0.1,
) -> Plan:
    """The claim's plan at its edges, with the budget its INCONCLUSIVE bound needs."""
    rng = np.random.default_rng(seed)
    common = {"batch_size": batch_size, "rng": rng, "runs": runs, "variants": variants}
    common["spread"] = spread if variants > 1 else 0.0
    q = 1.0 - design.inconclusive_budget
    k = min(math.ceil(q * runs), runs) - 1
    for horizon in (max_draws, HORIZON * max_draws):  # look past the budget only if needed
        allowed, at = operating_point(
            design,
            edges["allowed"],
            state="allowed edge",
            cap=max_draws,
            horizon=horizon,
            **common,  # type: ignore[arg-type]
        )
        finite = np.sort(at)
        if finite[k] <= max_draws:
            break
    forbidden, _ = operating_point(
        design,
        edges["forbidden"],
        state="forbidden edge",
        cap=max_draws,
        **common,  # type: ignore[arg-type]
    )
    needed = int(finite[k]) if finite[k] < NEVER else HORIZON * max_draws
    return Plan(
        rule=rule,
        allowed=allowed,
        forbidden=forbidden,
        alpha=design.alpha,
        beta=design.beta,
        max_draws=max_draws,
        batch_size=batch_size,
        needed_draws=needed,
        inconclusive_budget=design.inconclusive_budget,
        runs=runs,
        variants=variants,
    )
