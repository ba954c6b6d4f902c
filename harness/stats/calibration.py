"""Calibration: every claim kind run over a grid of realistic model states, error rates measured.

Each grid point is a model state written the way real chat models behave in
the seed game (a lean towards one digit, chatter in one or both arms, refusal
when random letters are due, classifier misses, paraphrases that disagree);
each is run many times through the evaluator's own walk
(:func:`harness.stats.walk.walk_claim`) with the claim's own design. At
allowed states the false-failure rate (FAIL or INCONCLUSIVE) is compared
with the claim's alpha, at forbidden states the miss rate (PASS, or
NONCOMPLIANT, which skips by default and so lets CI pass) with beta, each with its exact
one-sided 95% Clopper-Pearson upper bound.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict

from harness.define.claims import Claim, at_least, equivalent, higher, not_lower
from harness.stats.design import design
from harness.stats.intervals import clopper_pearson
from harness.stats.sequential import FAIL, PASS, UNDECIDED
from harness.stats.simulate import ArmState, SeedState, draw_codes
from harness.stats.walk import NONCOMPLIANT, walk_claim

SEED_CATEGORIES: dict[str, tuple[str, ...]] = {
    "control": ("plain", "word", "digit"),
    "treatment": ("plain", "random", "digit"),
}


class Point(BaseModel):
    """One grid point: a claim, a model state, and which region the state lies in."""

    model_config = ConfigDict(frozen=True)

    claim: str
    state: str
    region: str  # "allowed", "forbidden", or "zone" (between: reported, no rate promised)
    arms: list[dict[str, ArmState]]  # one entry per paraphrase


class Row(BaseModel):
    """The measured behavior at one point."""

    point: Point
    runs: int
    fail: float
    passed: float
    inconclusive: float
    noncompliant: float
    mean_draws: float
    error: float
    error_upper: float
    bound: float

    error_lower: float

    @property
    def ok(self) -> bool:
        """The exact upper bound of the error rate is within 1.5x its target (zone: always)."""
        return self.point.region == "zone" or self.error_upper <= 1.5 * self.bound

    @property
    def status(self) -> str:
        if self.point.region == "zone":
            return "zone: no rate promised"
        return "ok" if self.ok else "VIOLATION"

    @property
    def shown_above(self) -> bool:
        """The error rate is shown above its target (exact lower bound beyond it)."""
        return self.point.region != "zone" and self.error_lower > self.bound

    def line(self) -> str:
        kind = "miss" if self.point.region == "forbidden" else "false fail"
        return (
            f"{self.point.claim:<24} {self.point.state:<34} {self.point.region:<9} "
            f"{self.fail:>6.3f} {self.passed:>6.3f} {self.inconclusive:>6.3f} "
            f"{self.noncompliant:>6.3f} {self.mean_draws:>7.1f}  {kind:<10} {self.error:>6.4f} "
            f"(<= {self.error_upper:.4f}; target {self.bound:g}) {self.status}"
        )


HEADER = (
    f"{'claim':<24} {'model state':<34} {'region':<9} {'FAIL':>6} {'PASS':>6} {'INC':>6} "
    f"{'NONC':>6} {'draws':>7}  {'error':<10} {'rate':>6}"
)

CLAIMS: dict[str, Claim] = {
    "at_least .5 m.2": at_least(("treatment", "random"), value=0.5, margin=0.2),
    "equivalent .5 ±.25 tol.1": equivalent(
        ("treatment", "random"), value=0.5, margin=0.25, tolerance=0.1
    ),
    "not_lower m.2": not_lower(("treatment", "random"), ("control", "word"), margin=0.2),
    "higher m.2": higher(("treatment", "random"), ("control", "word"), margin=0.2),
}


def _seed(state: SeedState) -> dict[str, ArmState]:
    return {"control": state.control(), "treatment": state.treatment()}


def grid(full: bool = True) -> Iterator[Point]:
    """The grid: every claim kind, allowed edge and inside, forbidden edge, realistic knobs."""
    compliances = (1.0, 0.7, 0.5) if full else (1.0, 0.6)
    for c in compliances:
        chat = 1.0 - c
        for p, region in ((0.5, "allowed"), (0.7, "allowed"), (0.3, "forbidden")):
            arm = SeedState(p_zero=p, chatter_t=chat).treatment()
            yield Point(
                claim="at_least .5 m.2",
                state=f"share {p:g}, compliance {c:g}",
                region=region,
                arms=[{"treatment": arm}],
            )
        for p, region in (
            (0.4, "allowed"),
            (0.5, "allowed"),
            (0.6, "allowed"),
            (0.25, "forbidden"),
            (0.75, "forbidden"),
        ):
            arm = SeedState(p_zero=p, chatter_t=chat).treatment()
            yield Point(
                claim="equivalent .5 ±.25 tol.1",
                state=f"share {p:g}, compliance {c:g}",
                region=region,
                arms=[{"treatment": arm}],
            )
    controls = (0.1, 0.3, 0.5, 0.7, 0.9) if full else (0.1, 0.5, 0.9)
    for pc in controls:
        for c in compliances:
            chat = 1.0 - c
            base = {"p_zero": pc, "chatter_c": chat, "chatter_t": chat}
            yield Point(
                claim="not_lower m.2",
                state=f"control {pc:g}, equal, compliance {c:g}",
                region="allowed",
                arms=[_seed(SeedState(**base))],
            )
            if pc >= 0.2:
                avoid = 0.2 / pc
                yield Point(
                    claim="not_lower m.2",
                    state=f"control {pc:g}, 0.2 lower, compliance {c:g}",
                    region="forbidden",
                    arms=[_seed(SeedState(**base, avoid=avoid))],
                )
            if pc * c >= 0.2:
                yield Point(
                    claim="not_lower m.2",
                    state=f"control {pc:g}, refuses 0.2, compliance {c:g}",
                    region="forbidden",
                    arms=[_seed(SeedState(**base, refuse=min(0.2 / (pc * c), 1.0)))],
                )
        if pc <= 0.8:
            lifted = {
                "control": SeedState(p_zero=pc).control(),
                "treatment": ArmState(shares=(1 - pc - 0.2, pc + 0.2, 0.0)),
            }
            yield Point(
                claim="higher m.2",
                state=f"control {pc:g}, 0.2 higher",
                region="allowed",
                arms=[lifted],
            )
        yield Point(
            claim="higher m.2",
            state=f"control {pc:g}, equal",
            region="forbidden",
            arms=[_seed(SeedState(p_zero=pc))],
        )
    for lean in (0.4, 0.6):
        yield Point(
            claim="not_lower m.2",
            state=f"guess bias {1 - lean:.0%} ones",
            region="allowed",
            arms=[_seed(SeedState(p_zero=lean))],
        )
    for miss in (0.05, 0.1):  # real random strings the classifier cannot see: off-protocol
        yield Point(
            claim="not_lower m.2",
            state=f"honest, classifier misses {miss:.0%}",
            region="zone",
            arms=[_seed(SeedState(miss=miss))],
        )
    spread = [0.4, 0.44, 0.48, 0.52, 0.56, 0.6]
    yield Point(
        claim="not_lower m.2 pooled",
        state="6 paraphrases ±0.1, equal",
        region="allowed",
        arms=[_seed(SeedState(p_zero=p)) for p in spread],
    )
    yield Point(
        claim="not_lower m.2 pooled",
        state="6 paraphrases ±0.1, 0.2 lower",
        region="forbidden",
        arms=[_seed(SeedState(p_zero=p, avoid=0.2 / p)) for p in spread],
    )


def run_point(
    point: Point,
    runs: int,
    rng: np.random.Generator,
    *,
    alpha: float = 0.05,
    beta: float = 0.1,
    min_compliance: float = 0.5,
    max_draws: int = 800,
    batch_size: int = 8,
) -> Row:
    """Simulate ``runs`` evaluations at ``point`` and measure its error rate."""
    pooled = point.claim.endswith("pooled")
    claim = CLAIMS[point.claim.removesuffix(" pooled")]
    cats: dict[str, tuple[str, ...]] = {a: SEED_CATEGORIES[a] for a in claim.arms}
    d = design(claim.gates(cats), claim.arms, alpha, beta, min_compliance, pooled=pooled)
    codes = [
        {arm: draw_codes(state, runs, max_draws, rng) for arm, state in arms.items()}
        for arms in point.arms
    ]
    walked = walk_claim(d.gates, d.tests, codes if pooled else codes[0], d.compliance)
    at = -(-walked.at_draw // batch_size) * batch_size
    code = np.where(at <= max_draws, walked.code, UNDECIDED)
    fail = int(np.sum(code == FAIL))
    passed = int(np.sum(code == PASS))
    inc = int(np.sum(code == UNDECIDED))
    nonc = int(np.sum(code == NONCOMPLIANT))
    # NONCOMPLIANT skips (the default): at a forbidden state a skip lets CI pass, so it
    # counts as a miss; at an allowed state it is no failure
    bad = passed + nonc if point.region == "forbidden" else fail + inc
    bound = beta if point.region == "forbidden" else alpha
    return Row(
        point=point,
        runs=runs,
        fail=fail / runs,
        passed=passed / runs,
        inconclusive=inc / runs,
        noncompliant=nonc / runs,
        mean_draws=float(np.minimum(at, max_draws).mean()),
        error=bad / runs,
        error_upper=clopper_pearson(bad, runs, 0.90)[1],
        error_lower=clopper_pearson(bad, runs, 0.90)[0],
        bound=bound,
    )
