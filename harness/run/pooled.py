"""Evaluating a pooled claim with a model: every paraphrase sampled until decided.

The statistics are :mod:`harness.stats.paraphrase`. The paraphrases must be
independent: variants that send the same messages in an arm the claim uses
share draws, and are rejected
(:func:`harness.define.behavior.check_independent`). Compliance is checked per paraphrase: one
paraphrase shown off-protocol ends the claim NONCOMPLIANT, named; a paraphrase
with no compliant draws yet keeps the test undecided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.define.behavior import check_independent
from harness.define.claims import Claim, Share
from harness.define.pair import ArmName, Message, PromptPair, ResolvedVariant
from harness.results.records import ArmResult, Draw, GateResult, Outcome, Verdict
from harness.run.draws import (
    Progress,
    budget_stop,
    compliant,
    labelled,
    noncompliance_reason,
    noncompliant_arms,
    summarize,
    valid,
)
from harness.run.evaluate import make_outcome
from harness.run.sampling import Sampler
from harness.run.settings import RunSettings
from harness.stats.decision import Decision, combine, gate_alpha
from harness.stats.paraphrase import (
    PooledGate,
    critical,
    estimates,
    gate_codes,
    looks,
    pooled_gates,
    spread,
)

POOLED = "pooled"
PerVariant = list[dict[ArmName, list[Draw]]]


def evaluate_pooled(
    pair: PromptPair,
    variant_ids: Sequence[str],
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Sample every chosen paraphrase until the pooled ``claim`` is decided for ``model``.

    Compliance is checked per paraphrase as well as over all of them: one
    paraphrase shown off-protocol ends the claim NONCOMPLIANT naming it (its
    share would otherwise be unmeasurable while the merged compliance hides it).
    """
    variants = [pair.variant(v) for v in variant_ids]
    if len(variants) < 2:
        raise ValueError("a pooled claim needs at least two variants")
    check_independent(pair, variant_ids, claim)
    alpha = gate_alpha(settings.alpha, family_size)
    gates = pooled_gates(claim, alpha, settings.beta)
    schedule = looks(settings.max_draws)
    verdict, reason = Verdict.INCONCLUSIVE, ""
    results: list[GateResult] = []
    # one batch first, so an off-protocol paraphrase is named without a full first look
    n = min(settings.batch_size, settings.max_draws)
    per_variant = _sample(variants, claim, model, sampler, n)
    off = _off_protocol(variants, per_variant, claim, settings)
    if off is not None:
        schedule, verdict, reason = [], Verdict.NONCOMPLIANT, off
    for n in schedule:
        per_variant = _sample(variants, claim, model, sampler, n)
        if progress is not None:
            progress(f"{n} draws per arm and paraphrase")
        merged = _merge(per_variant, claim)
        stalled = budget_stop(merged)
        results, spreads = _look(gates, variants, per_variant, len(schedule), n)
        decided = combine([r.decision for r in results])
        spread_text = "; ".join(spreads)
        if decided is Decision.FAIL:
            verdict = Verdict.FAIL
            reason = (
                f"the forbidden behavior was shown over {len(variants)} paraphrases ({spread_text})"
            )
            break
        if decided is Decision.PASS:
            verdict = Verdict.PASS
            reason = (
                f"the forbidden behavior was ruled out over {len(variants)} paraphrases "
                f"({spread_text})"
            )
            break
        off = _off_protocol(variants, per_variant, claim, settings)
        if off is not None:
            verdict, reason = Verdict.NONCOMPLIANT, off
            break
        if stalled is not None:
            verdict, reason = Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
            break
        reason = (
            f"budget of {settings.max_draws} draws per arm and paraphrase reached before a "
            f"decision ({spread_text})"
        )
    merged = _merge(per_variant, claim)
    arms = [_pooled_arm(arm, variants, merged[arm], n) for arm in claim.arms]
    return make_outcome(
        pair,
        POOLED,
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
        rule=f"averaged over paraphrases {', '.join(variant_ids)}: {claim.rule()}",
    )


def _sample(
    variants: list[ResolvedVariant], claim: Claim, model: str, sampler: Sampler, n: int
) -> PerVariant:
    """Draws 0..n-1 of every arm the claim uses, per paraphrase (labelled)."""
    return [
        {arm: labelled(sampler.draws(model, v.arm(arm).messages, n), v, arm) for arm in claim.arms}
        for v in variants
    ]


def _merge(per_variant: PerVariant, claim: Claim) -> dict[ArmName, list[Draw]]:
    """Each arm's draws of all paraphrases, paraphrase by paraphrase."""
    return {arm: [d for pv in per_variant for d in pv[arm]] for arm in claim.arms}


def _off_protocol(
    variants: list[ResolvedVariant], per_variant: PerVariant, claim: Claim, settings: RunSettings
) -> str | None:
    """Why to end NONCOMPLIANT, if a paraphrase's arm or a merged arm is shown off-protocol.

    Paraphrases are named unless all of them are off-protocol (the merged counts say that).
    """
    parts, named = [], set()
    for v, pv in zip(variants, per_variant, strict=True):
        for arm in noncompliant_arms(pv, settings):
            k, total = len(compliant(pv[arm])), len(valid(pv[arm]))
            parts.append(f"paraphrase {v.id!r} {arm} compliance {k}/{total} = {k / total:.0%}")
            named.add(v.id)
    merged = _merge(per_variant, claim)
    low = noncompliant_arms(merged, settings)
    if low and len(named) in (0, len(variants)):
        every = "every paraphrase is off-protocol; " if named else ""
        return f"{every}over all paraphrases: {noncompliance_reason(low, merged, settings)}"
    if not parts:
        return None
    return (
        f"{'; '.join(parts)}, below the required {settings.min_compliance:.0%}: the model does "
        "not follow the protocol of every paraphrase, so their average cannot be measured"
    )


def _pooled_arm(
    arm: ArmName, variants: list[ResolvedVariant], draws: list[Draw], n: int
) -> ArmResult:
    """The arm's summary over all paraphrases.

    Each draw was sent its own paraphrase's prompt, so ``messages`` holds a
    note saying so (which paraphrase, in which order) instead of one prompt.
    Draw indices repeat across paraphrases: they are the seeds' identity.
    """
    ids = ", ".join(repr(v.id) for v in variants)
    note = Message(
        role="user",
        content=(
            f"(pooled over paraphrases {ids}: each draw was sent the {arm} prompt of its own "
            f"paraphrase; the draws are listed paraphrase by paraphrase in that order, {n} "
            "each, and their indices restart at 0 for each paraphrase)"
        ),
    )
    return summarize(arm, variants[0], draws).model_copy(update={"messages": [note]})


def _counts(draws: list[Draw], share: Share) -> tuple[int, int]:
    kept = compliant(draws)
    return sum(d.category == share.category for d in kept), len(kept)


def _look(
    gates: list[PooledGate],
    variants: list[ResolvedVariant],
    per_variant: PerVariant,
    n_looks: int,
    n: int,
) -> tuple[list[GateResult], list[str]]:
    """Gate results and spread texts at one look.

    A paraphrase without compliant draws in an arm has no estimate yet: the
    gate stays undecided (the t-test never sees a NaN) and waits for more draws.
    """
    results: list[GateResult] = []
    spreads: list[str] = []
    for g in gates:
        kt, nt = np.array([_counts(pv[g.share.arm], g.share) for pv in per_variant]).T
        empty = nt == 0
        if g.control is not None:
            kc, nc = np.array([_counts(pv[g.control.arm], g.control) for pv in per_variant]).T
            empty |= nc == 0
            values, variances = estimates(kt, nt, kc, nc)
            what = f"{g.share} - {g.control}"
        else:
            values, variances = estimates(kt, nt)
            what = str(g.share)
        if empty.any():
            waiting = ", ".join(repr(v.id) for v, e in zip(variants, empty, strict=True) if e)
            c, t, pass_at = Decision.UNDECIDED, math.nan, -math.inf
            fail_at = critical(g.alpha / n_looks, len(per_variant))
            spreads.append(f"{what}: no compliant draws yet in paraphrase(s) {waiting}")
        else:
            code, t_arr, fail_at, pass_at_arr = gate_codes(values, variances, g, n_looks)
            c, t, pass_at = Decision(int(code)), float(t_arr), float(pass_at_arr)
            spreads.append(f"{what}: {spread(values, variances).text()}")
        results.append(
            GateResult(
                description=(
                    f"paraphrase-level t on the mean {what} over {len(per_variant)} "
                    f"paraphrases: {g.ok:+g} allowed vs {g.bad:+g} (look {n} draws of "
                    f"{n_looks} looks; 't' shown as LLR)"
                ),
                decision=c,
                llr=t if math.isfinite(t) else 0.0,
                upper=fail_at,
                lower=pass_at if math.isfinite(pass_at) else -math.inf,
                hits=int(kt.sum()),
                trials=int(nt.sum()),
                alpha=g.alpha,
                beta=g.beta,
            )
        )
    return results, spreads
