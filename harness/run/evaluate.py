"""Sequential evaluation of one claim on one model and variant.

Draws come in batches (so calls run concurrently); after each batch every
gate's SPRT is walked over the compliant responses in draw order, so the
decision is the one a draw-by-draw SPRT would reach, and sampling stops as
soon as the claim is decided. An arm whose compliance is shown to be below
the threshold ends the claim NONCOMPLIANT; a budget reached first ends it
INCONCLUSIVE.
"""

from __future__ import annotations

from harness.define.claims import Claim, Gate, OneArmGate, PairedGate
from harness.define.pair import ArmName, PromptPair
from harness.models import is_simulated
from harness.results.records import ArmResult, Draw, GateResult, Outcome, Verdict
from harness.run.draws import (
    Progress,
    budget_stop,
    compliant,
    labelled,
    noncompliance_reason,
    noncompliant_arms,
    summarize,
)
from harness.run.sampling import Sampler
from harness.run.settings import RunSettings
from harness.stats.decision import Decision, combine, gate_alpha
from harness.stats.intervals import newcombe_interval


def evaluate(
    pair: PromptPair,
    variant_id: str,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Sample until ``claim`` is decided for ``model`` on one variant of ``pair``."""
    variant = pair.variant(variant_id)
    alpha = gate_alpha(settings.alpha, family_size)
    gates = claim.gates(alpha, settings.beta)
    n = 0
    draws: dict[ArmName, list[Draw]] = {}
    verdict, reason = Verdict.INCONCLUSIVE, ""
    results: list[GateResult] = []
    while True:
        n = min(n + settings.batch_size, settings.max_draws)
        for arm in claim.arms:
            draws[arm] = labelled(sampler.draws(model, variant.arm(arm).messages, n), variant, arm)
        if progress is not None:
            progress(f"{n} draws per arm")
        stalled = budget_stop(draws)
        low = noncompliant_arms(draws, settings)
        results = [_walk(g, draws) for g in gates]
        decided = combine([r.decision for r in results])
        if decided is Decision.FAIL:
            verdict, reason = Verdict.FAIL, "the forbidden behavior was shown"
            break
        if decided is Decision.PASS:
            verdict, reason = Verdict.PASS, "the forbidden behavior was ruled out"
            break
        if low:
            verdict = Verdict.NONCOMPLIANT
            reason = noncompliance_reason(low, draws, settings)
            break
        if stalled is not None:
            verdict, reason = Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
            break
        if n >= settings.max_draws:
            verdict = Verdict.INCONCLUSIVE
            reason = f"budget of {settings.max_draws} draws per arm reached before a decision"
            break
    arms = [summarize(arm, variant, draws[arm]) for arm in claim.arms]
    return make_outcome(
        pair,
        variant.id,
        claim,
        model,
        settings,
        verdict,
        reason,
        arms,
        results,
        n,
        gate=alpha,
        family_size=family_size,
        test=test,
    )


def make_outcome(
    pair: PromptPair,
    variant_id: str,
    claim: Claim,
    model: str,
    settings: RunSettings,
    verdict: Verdict,
    reason: str,
    arms: list[ArmResult],
    gates: list[GateResult],
    draws_per_arm: int,
    *,
    gate: float,
    family_size: int,
    test: str,
    rule: str | None = None,
) -> Outcome:
    """The record of a decided claim (shared by per-variant and pooled evaluation)."""
    return Outcome(
        hypothesis=pair.id,
        variant=variant_id,
        model=model,
        simulated=is_simulated(model),
        test=test,
        claim=claim,
        rule=rule or claim.rule(),
        verdict=verdict,
        reason=reason,
        arms=arms,
        gates=gates,
        draws_per_arm=draws_per_arm,
        max_draws=settings.max_draws,
        alpha=settings.alpha,
        gate_alpha=gate,
        beta=settings.beta,
        family_size=family_size,
        seed=settings.seed,
        difference=_difference(claim, arms),
    )


def _difference(claim: Claim, arms: list[ArmResult]) -> tuple[float, float] | None:
    """Newcombe interval for treatment - control share, for two-share claims."""
    shares = claim.shares()
    if len(shares) != 2 or len(arms) != 2:
        return None
    t, c = shares
    arm_t = next(a for a in arms if a.arm == t.arm)
    arm_c = next(a for a in arms if a.arm == c.arm)
    return newcombe_interval(
        arm_t.counts.get(t.category, 0),
        arm_t.compliant,
        arm_c.counts.get(c.category, 0),
        arm_c.compliant,
    )


def _walk(gate: Gate, draws: dict[ArmName, list[Draw]]) -> GateResult:
    """Run a gate's SPRT over the compliant responses in draw order."""
    if isinstance(gate, OneArmGate):
        outcomes = [d.category == gate.share.category for d in compliant(draws[gate.share.arm])]
        description = f"SPRT on {gate.share}: {gate.sprt.p_ok:g} allowed vs {gate.sprt.p_bad:g}"
    else:
        outcomes = _discordant(gate, draws)
        description = (
            f"paired SPRT on discordant pairs ({gate.treatment} vs {gate.control}): "
            f"theta {gate.sprt.p_ok:g} allowed vs {gate.sprt.p_bad:g}"
        )
    decision, used = gate.sprt.first_decision(outcomes)
    hits = sum(outcomes[:used])
    return GateResult(
        description=description,
        decision=decision,
        llr=gate.sprt.llr(hits, used),
        upper=gate.sprt.upper,
        lower=gate.sprt.lower,
        hits=hits,
        trials=used,
        alpha=gate.sprt.alpha,
        beta=gate.sprt.beta,
    )


def _discordant(gate: PairedGate, draws: dict[ArmName, list[Draw]]) -> list[bool]:
    """Treatment-is-the-hit flags of the discordant (control, treatment) pairs."""
    treated = compliant(draws[gate.treatment.arm])
    controls = compliant(draws[gate.control.arm])
    flags: list[bool] = []
    for t, c in zip(treated, controls, strict=False):
        hit_t = t.category == gate.treatment.category
        hit_c = c.category == gate.control.category
        if hit_t != hit_c:
            flags.append(hit_t)
    return flags
