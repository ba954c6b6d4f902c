"""Evaluating a model comparison: one share of two models on the same prompts.

Each model is drawn with exactly the requests (and seeds) its own tests use, so
draws the per-model tests already made come from the draw cache; the
comparison's process is where the two models' draws meet (under pytest-xdist
the comparison is one test, scheduled on its own). The walk is the same as for
two-arm claims: the k-th on-protocol reply of the first model is paired with
the k-th of the second, plus the off-protocol gap between the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.define.comparison import ModelComparison
from harness.define.pair import PromptPair
from harness.models import is_simulated
from harness.results.records import Draw, Outcome, Verdict
from harness.run.draws import Progress, labelled, summarize
from harness.run.evaluate import claim_design, codes, gate_results, verdict_of
from harness.run.settings import RunSettings
from harness.stats.decision import Decision
from harness.stats.gates import Codes
from harness.stats.intervals import newcombe_interval
from harness.stats.walk import walk_claim

if TYPE_CHECKING:
    from harness.run.sampling import Sampler


def comparison_label(claim: ModelComparison) -> str:
    """The model column of a comparison's row: ``first vs second``."""
    return f"{claim.first} vs {claim.second}"


def evaluate_models(
    pair: PromptPair,
    variant_id: str,
    claim: ModelComparison,
    sampler: Sampler,
    settings: RunSettings,
    *,
    claim_alpha: float,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Sample both models until the comparison is decided."""
    variant = pair.variant(variant_id)
    arm = claim.share.arm
    names = variant.arm(arm).category_names
    keys = {claim.key("first"): claim.first, claim.key("second"): claim.second}
    d = claim_design(claim, variant, settings, claim_alpha)
    messages = variant.arm(arm).messages
    gen = sampler.settings.for_hypothesis(variant.generation.overrides())  # as per model
    n = 0
    while True:
        n = min(n + settings.batch_size, settings.max_draws)
        drawn: dict[str, list[Draw]] = {
            key: labelled(sampler.draws_many(model, [messages], n, generation=gen)[0], variant, arm)
            for key, model in keys.items()
        }
        if progress is not None:
            progress(f"{n} draws per model")
        arrays: dict[str, Codes] = {key: codes(ds, names) for key, ds in drawn.items()}
        walked = walk_claim(d.gates, d.tests, arrays, d.compliance)
        merged = [{arm: [x for ds in drawn.values() for x in ds]}]
        decided = verdict_of(walked, merged, n, settings)
        if decided is not None:
            break
    verdict, reason = decided
    if verdict is Verdict.NONCOMPLIANT:
        reason = reason.replace(claim.key("first"), claim.first).replace(
            claim.key("second"), claim.second
        )
    arms = [
        summarize(arm, variant, drawn[key]).model_copy(update={"model": model})
        for key, model in keys.items()
    ]
    first, second = arms
    cat = claim.share.category
    used = int(walked.at_draw[0]) if int(walked.code[0]) != Decision.UNDECIDED else n
    return Outcome(
        hypothesis=pair.id,
        variant=variant.id,
        model=comparison_label(claim),
        simulated=any(is_simulated(m) for m in claim.models),
        test=test,
        claim=claim,
        rule=claim.title(),
        verdict=verdict,
        reason=reason,
        arms=arms,
        gates=gate_results(walked),
        draws_per_arm=n,
        decided_at=min(used, n),
        **settings.outcome_fields(claim_alpha, family_size),
        difference=newcombe_interval(
            first.counts.get(cat, 0), first.compliant, second.counts.get(cat, 0), second.compliant
        ),
    )
