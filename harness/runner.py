"""Sequential evaluation of one claim on one model and variant.

Draws come in batches (so calls run concurrently); after each batch every
gate's SPRT is walked over the compliant responses in draw order, so the
decision is the one a draw-by-draw SPRT would reach, and sampling stops as
soon as the claim is decided. An arm whose compliance is shown to be below
the threshold ends the claim NONCOMPLIANT; a budget reached first ends it
INCONCLUSIVE.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.claims import Claim, Gate, OneArmGate, PairedGate
from harness.classify import classify
from harness.config import RunSettings
from harness.hypothesis import ArmName, PromptPair, ResolvedVariant
from harness.models import is_simulated
from harness.records import ArmResult, Draw, GateResult, Outcome, Verdict
from harness.sampling import Sampler
from harness.stats import jeffreys, newcombe_interval, upper_bound

EXAMPLES_PER_CATEGORY = 3
Progress = Callable[[str], None]


def gate_alpha(alpha: float, family_size: int) -> float:
    """Bonferroni share of the run's alpha for one claim (known at collection)."""
    return alpha / max(1, family_size)


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
            draws[arm] = _labelled(sampler.draws(model, variant.arm(arm).messages, n), variant, arm)
        if progress is not None:
            progress(f"{n} draws per arm")
        stalled = _budget_stop(draws)
        low = _noncompliant_arms(draws, settings)
        results = [_walk(g, draws) for g in gates]
        decisions = [r.decision for r in results]
        if "fail" in decisions:
            verdict, reason = Verdict.FAIL, "the forbidden behavior was shown"
            break
        if all(d == "pass" for d in decisions):
            verdict, reason = Verdict.PASS, "the forbidden behavior was ruled out"
            break
        if low:
            verdict = Verdict.NONCOMPLIANT
            reason = _noncompliance_reason(low, draws, settings)
            break
        if stalled is not None:
            verdict, reason = Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
            break
        if n >= settings.max_draws:
            verdict = Verdict.INCONCLUSIVE
            reason = f"budget of {settings.max_draws} draws per arm reached before a decision"
            break
    arms = [_summarize(arm, variant, draws[arm]) for arm in claim.arms]
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


def _labelled(draws: list[Draw], variant: ResolvedVariant, arm: ArmName) -> list[Draw]:
    predicates = variant.arm(arm).predicates()
    return [
        d
        if d.error is not None
        else d.model_copy(update={"category": classify(d.text, predicates)})
        for d in draws
    ]


def _valid(draws: list[Draw]) -> list[Draw]:
    return [d for d in draws if d.error is None]


def _compliant(draws: list[Draw]) -> list[Draw]:
    return [d for d in _valid(draws) if d.category not in ("refusal", "other")]


def _budget_stop(draws: dict[ArmName, list[Draw]]) -> str | None:
    """The reason drawing stopped for a budget, if every missing draw hit one."""
    for arm_draws in draws.values():
        for d in arm_draws:
            if d.error is not None and d.error.startswith("budget: "):
                return d.error.removeprefix("budget: ")
    errors = [d for arm_draws in draws.values() for d in arm_draws if d.error is not None]
    total = sum(len(a) for a in draws.values())
    if total >= 8 and len(errors) > total // 2:
        return f"{len(errors)} of {total} calls failed (last: {errors[-1].error})"
    return None


def _noncompliant_arms(draws: dict[ArmName, list[Draw]], settings: RunSettings) -> list[ArmName]:
    """Arms whose compliance share is shown (one-sided exact bound) below the threshold."""
    low: list[ArmName] = []
    for arm, arm_draws in draws.items():
        n = len(_valid(arm_draws))
        k = len(_compliant(arm_draws))
        if n and upper_bound(k, n, settings.compliance_confidence) < settings.min_compliance:
            low.append(arm)
    return low


def _noncompliance_reason(
    low: list[ArmName], draws: dict[ArmName, list[Draw]], settings: RunSettings
) -> str:
    parts = []
    for arm in low:
        n = len(_valid(draws[arm]))
        k = len(_compliant(draws[arm]))
        parts.append(f"{arm} compliance {k}/{n} = {k / n:.0%}")
    return (
        f"{'; '.join(parts)}, below the required {settings.min_compliance:.0%}: "
        "the model does not follow the protocol"
    )


def _walk(gate: Gate, draws: dict[ArmName, list[Draw]]) -> GateResult:
    """Run a gate's SPRT over the compliant responses in draw order."""
    if isinstance(gate, OneArmGate):
        outcomes = [d.category == gate.share.category for d in _compliant(draws[gate.share.arm])]
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
    treated = _compliant(draws[gate.treatment.arm])
    controls = _compliant(draws[gate.control.arm])
    flags: list[bool] = []
    for t, c in zip(treated, controls, strict=False):
        hit_t = t.category == gate.treatment.category
        hit_c = c.category == gate.control.category
        if hit_t != hit_c:
            flags.append(hit_t)
    return flags


def _summarize(arm: ArmName, variant: ResolvedVariant, draws: list[Draw]) -> ArmResult:
    names = list(variant.arm(arm).category_names)
    valid = _valid(draws)
    counts = {name: 0 for name in [*names, "refusal", "other"]}
    examples: dict[str, list[str]] = {name: [] for name in counts}
    for d in valid:
        counts[d.category] = counts.get(d.category, 0) + 1
        bucket = examples.setdefault(d.category, [])
        if len(bucket) < EXAMPLES_PER_CATEGORY and d.text not in bucket:
            bucket.append(d.text)
    compliant = sum(counts[name] for name in names)
    return ArmResult(
        arm=arm,
        categories=names,
        n=len(valid),
        compliant=compliant,
        counts=counts,
        shares={name: (counts[name] / compliant if compliant else 0.0) for name in names},
        intervals={name: jeffreys(counts[name], compliant) for name in names},
        examples={k: v for k, v in examples.items() if v},
        draws=draws,
        messages=list(variant.arm(arm).messages),
        errors=len(draws) - len(valid),
    )
