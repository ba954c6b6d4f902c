"""Sequential evaluation of one claim on one model: per variant, or pooled over paraphrases.

Draws come in batches (both arms, and every paraphrase of a pooled claim, in
one concurrent request set); after each batch the claim's design is walked
over all labelled draws (:func:`harness.stats.walk.walk_claim`). Its tests are
anytime-valid, so looking after every batch costs nothing in error rate, and
sampling stops at the first batch that decides. A budget reached first ends
the claim INCONCLUSIVE.

Batch sizes (:func:`looks`): local models keep ``--batch-size`` (the embedded
provider decodes a batch's draws together, and more per round only adds
decode steps), simulated ones too; for a remote model, where a round costs a
network round trip whatever its size, the batch doubles every round up to a
few rounds' worth of the model's connections. Looking less often cannot change
a verdict: the walk finds the draw at which a test first crossed, which the
outcome records (``decided_at``), whichever batch it fell in; a later batch
only means more draws made (``draws_per_arm``), at most about twice those needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness.define.claims import Claim
from harness.define.pair import ArmName, HypothesisError, PromptPair, ResolvedVariant
from harness.models import SIMULATED_PREFIX, is_simulated
from harness.results.records import ArmResult, Draw, GateResult, Outcome, Verdict
from harness.run.draws import Progress, budget_stop, labelled, summarize
from harness.run.settings import GenerationSettings, RunSettings
from harness.stats.decision import Decision
from harness.stats.design import Design, design
from harness.stats.gates import ERROR, OFF, Codes
from harness.stats.intervals import newcombe_interval
from harness.stats.planning import Plan, plan
from harness.stats.walk import NONCOMPLIANT, ClaimWalk, walk_claim

if TYPE_CHECKING:  # drawing (inspect-ai) is not needed to plan
    from harness.run.sampling import Sampler

POOLED = "pooled"
PerVariant = list[dict[ArmName, list[Draw]]]
#: Models whose batch stays ``--batch-size``: in-process (embedded, simulated).
FIXED_BATCH: tuple[str, ...] = ("local/", SIMULATED_PREFIX)
#: A remote model's batch grows until one round fills its connections this many times.
ROUND_WAVES = 4


def looks(model: str, settings: RunSettings, requests: int) -> Iterator[int]:
    """Draws per request after each round, up to ``--max-draws``.

    ``requests`` are the round's concurrent requests (two arms, times the
    paraphrases of a pooled claim). In-process models look every
    ``--batch-size`` draws; for a remote model the batch doubles each round until
    a round holds ``ROUND_WAVES`` x ``max_connections`` draws in all: 8, 24, 56,
    120, 248, 376, ... per arm with 64 connections and two arms.
    """
    step = settings.batch_size
    grows = not model.startswith(FIXED_BATCH)
    cap = max(step, ROUND_WAVES * settings.generation.max_connections // max(1, requests))
    n = 0
    while n < settings.max_draws:
        n = min(n + step, settings.max_draws)
        yield n
        if grows:
            step = min(2 * step, cap)


def categories(variant: ResolvedVariant, claim: Claim) -> dict[str, tuple[str, ...]]:
    """Each arm's declared categories, in order (the label codes' meaning)."""
    return {arm: variant.arm(arm).category_names for arm in claim.arms}


def codes(draws: list[Draw], names: tuple[str, ...]) -> Codes:
    """Label codes of one arm's draws as a (1, n) array."""
    index = {name: i for i, name in enumerate(names)}
    out = [ERROR if d.error is not None else index.get(d.category, OFF) for d in draws]
    return np.asarray([out], dtype=np.int_)


def claim_design(
    claim: Claim,
    variant: ResolvedVariant,
    settings: RunSettings,
    alpha: float,
    *,
    pooled: bool = False,
) -> Design:
    """The claim's tests for one variant's categories at the claim's share of alpha.

    A model comparison reads one arm of each model, under the keys its gates use.
    """
    arms = [claim.key("first"), claim.key("second")] if claim.kind == "models" else claim.arms
    return design(
        claim.gates(categories(variant, claim)),
        arms,
        alpha,
        settings.beta,
        settings.min_compliance,
        pooled=pooled,
    )


def _sample(
    variants: Sequence[ResolvedVariant], claim: Claim, model: str, sampler: Sampler, n: int
) -> PerVariant:
    """Draws 0..n-1 of every arm the claim uses, per variant, requested together.

    Each variant is drawn with its own generation settings (the run's, with the
    hypothesis's own over them unless given on the command line); variants that
    share them are requested in one gather.
    """
    groups: dict[GenerationSettings, list[int]] = {}
    for i, v in enumerate(variants):
        gen = sampler.settings.for_hypothesis(v.generation.overrides())
        groups.setdefault(gen, []).append(i)
    out: PerVariant = [{} for _ in variants]
    for gen, members in groups.items():
        requests = [variants[i].arm(arm).messages for i in members for arm in claim.arms]
        got = iter(sampler.draws_many(model, requests, n, generation=gen))
        for i in members:
            out[i] = {arm: labelled(next(got), variants[i], arm) for arm in claim.arms}
    return out


def _walk(d: Design, per_variant: PerVariant, cats: dict[str, tuple[str, ...]]) -> ClaimWalk:
    arrays: list[dict[str, Codes]] = [
        {str(arm): codes(draws, cats[arm]) for arm, draws in pv.items()} for pv in per_variant
    ]
    return walk_claim(d.gates, d.tests, arrays if len(arrays) > 1 else arrays[0], d.compliance)


def verdict_of(
    walked: ClaimWalk, per_variant: PerVariant, n: int, settings: RunSettings
) -> tuple[Verdict, str] | None:
    """The verdict and its reason once decided or stopped; None to keep drawing."""
    code = int(walked.code[0])
    if code == Decision.FAIL:
        failed = [g for g in walked.gates if g.code == Decision.FAIL]
        return Verdict.FAIL, "shown in the forbidden region: " + "; ".join(
            g.gate.label for g in failed
        )
    if code == Decision.PASS:
        return Verdict.PASS, "the forbidden region was ruled out for every gate"
    if code == NONCOMPLIANT:
        return Verdict.NONCOMPLIANT, (
            f"on-protocol share shown below the required {settings.min_compliance:.0%} in "
            f"{' and '.join(walked.noncompliant_arms[0])}: the model does not follow the protocol"
        )
    merged: dict[ArmName, list[Draw]] = {}
    for pv in per_variant:
        for arm, draws in pv.items():
            merged.setdefault(arm, []).extend(draws)
    stalled = budget_stop(merged)
    if stalled is not None:
        return Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
    if n >= settings.max_draws:
        return Verdict.INCONCLUSIVE, (
            f"budget of {settings.max_draws} draws per arm reached before a decision"
        )
    return None


def gate_results(walked: ClaimWalk) -> list[GateResult]:
    return [
        GateResult(
            description=g.gate.label,
            kind=g.gate.kind,
            decision=Decision(g.code),
            allowed=g.gate.allowed,
            forbidden=g.gate.forbidden,
            estimate=g.estimate,
            observations=g.used,
            at_draw=g.at_draw,
            fail_evidence=g.fail_evidence,
            fail_threshold=g.tests.fail.threshold,
            pass_evidence=g.pass_evidence,
            pass_threshold=g.tests.pass_.threshold,
            alpha=g.tests.alpha,
            beta=g.tests.beta,
        )
        for g in walked.gates
    ]


def evaluate(
    pair: PromptPair,
    variant_ids: Sequence[str] | str,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    *,
    claim_alpha: float,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Sample until ``claim`` is decided for ``model``: one variant, or pooled over several."""
    ids = [variant_ids] if isinstance(variant_ids, str) else list(variant_ids)
    pooled = not isinstance(variant_ids, str)
    if pooled and len(ids) < 2:
        raise HypothesisError(f"hypothesis {pair.id!r}: a pooled claim needs two or more variants")
    variants = [pair.variant(v) for v in ids]
    cats = categories(variants[0], claim)
    d = claim_design(claim, variants[0], settings, claim_alpha, pooled=pooled)
    for n in looks(model, settings, len(variants) * len(claim.arms)):
        per_variant = _sample(variants, claim, model, sampler, n)
        if progress is not None:
            progress(f"{n} draws per arm" + (" and paraphrase" if pooled else ""))
        walked = _walk(d, per_variant, cats)
        decided = verdict_of(walked, per_variant, n, settings)
        if decided is not None:
            break
    assert decided is not None  # the last look is at --max-draws, which always decides
    verdict, reason = decided
    used = int(walked.at_draw[0]) if int(walked.code[0]) != Decision.UNDECIDED else n
    arms = _arm_results(variants, per_variant, claim, n)
    rule = claim.title()
    if pooled:
        rule = f"averaged over paraphrases {', '.join(ids)}: {rule}"
    return Outcome(
        hypothesis=pair.id,
        variant=POOLED if pooled else ids[0],
        model=model,
        simulated=is_simulated(model),
        test=test,
        claim=claim,
        rule=rule,
        verdict=verdict,
        reason=reason,
        arms=arms,
        gates=gate_results(walked),
        draws_per_arm=n,
        decided_at=min(used, n),
        **settings.outcome_fields(claim_alpha, family_size),
        difference=_difference(claim, arms),
    )


def _arm_results(
    variants: list[ResolvedVariant], per_variant: PerVariant, claim: Claim, n: int
) -> list[ArmResult]:
    out = []
    for arm in claim.arms:
        draws = [d for pv in per_variant for d in pv[arm]]
        result = summarize(arm, variants[0], draws)
        if len(variants) > 1:
            result = result.model_copy(update={"messages": []})
        out.append(result)
    return out


def _difference(claim: Claim, arms: list[ArmResult]) -> tuple[float, float] | None:
    """Newcombe interval for treatment - control share (display), for two-share claims."""
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


def claim_plan(
    pair: PromptPair,
    variant_ids: Sequence[str] | str,
    claim: Claim,
    settings: RunSettings,
    claim_alpha: float,
) -> Plan:
    """The claim's operating characteristics as the evaluator would run it (no model called)."""
    pooled = not isinstance(variant_ids, str)
    ids = [variant_ids] if isinstance(variant_ids, str) else list(variant_ids)
    variant = pair.variant(ids[0])
    d = claim_design(claim, variant, settings, claim_alpha, pooled=pooled)
    return _cached_plan(
        d.model_dump_json(),
        claim.title(),
        len(ids) if pooled else 1,
        settings.max_draws,
        settings.batch_size,
        settings.seed,
        claim,
        categories(variant, claim),
    )


_PLANS: dict[tuple[str, int, int, int, int], Plan] = {}


def _cached_plan(
    design_json: str,
    rule: str,
    variants: int,
    max_draws: int,
    batch_size: int,
    seed: int,
    claim: Claim,
    cats: dict[str, tuple[str, ...]],
) -> Plan:
    """Plans are simulations: compute each distinct one once per process."""
    key = (design_json, variants, max_draws, batch_size, seed)
    if key not in _PLANS:
        _PLANS[key] = plan(
            Design.model_validate_json(design_json),
            claim.edge_states(cats),
            rule=rule,
            max_draws=max_draws,
            batch_size=batch_size,
            seed=seed,
            variants=variants,
        )
    return _PLANS[key]
