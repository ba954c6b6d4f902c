"""Pooled claims (harness.pooled.evaluate_pooled) with the sim models.

An off-protocol paraphrase ends the claim NONCOMPLIANT naming it (merged
compliance would hide it, and its missing estimate would stall the t-test);
pooled arm records say that every draw was sent its own paraphrase's prompt;
variants sharing an arm's prompt (hence draws) cannot be pooled.
"""

from __future__ import annotations

from typing import Any

import pytest

from evals.test_zero_vs_random import PARAPHRASES, ZERO_VS_RANDOM
from harness import DrawStore, GenerationSettings, HypothesisError, Sampler, behavior, claims
from harness.define.pair import PromptPair
from harness.results.records import Outcome, Verdict
from harness.run.pooled import evaluate_pooled
from harness.run.settings import RunSettings
from harness.stats.decision import Decision

GOOD = ["original", *(vid for vid, _, _ in PARAPHRASES)]
NOT_LOWER = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
# a protocol the sim reads, and a treatment it cannot read (no "If your guess is ..." clause)
BROKEN = {
    "id": "broken",
    "control_prompt": (
        'Pick "1" or "0". If your guess is "1", respond with just "1"; if your guess is "0", '
        'respond with the word "zero".'
    ),
    "treatment_prompt": 'Pick "1" or "0" and tell me, in a sentence, why you picked it.',
}


def _with_variants(*extra: dict[str, Any]) -> PromptPair:
    data = ZERO_VS_RANDOM.model_dump()
    return PromptPair(**{**data, "variants": [*data["variants"], *extra]})


def _run(pair: PromptPair, variants: list[str], model: str, **kw: Any) -> Outcome:
    settings = RunSettings(models=(model,), **kw)
    sampler = Sampler(GenerationSettings(), settings.seed, store=DrawStore())
    return evaluate_pooled(pair, variants, NOT_LOWER, model, sampler, settings)


def test_one_off_protocol_paraphrase_ends_noncompliant_quickly() -> None:
    """5 good paraphrases + 1 the sim cannot parse: NONCOMPLIANT within 16 draws, named."""
    outcome = _run(_with_variants(BROKEN), [*GOOD, "broken"], "sim/indifferent")
    assert outcome.verdict is Verdict.NONCOMPLIANT
    assert outcome.draws_per_arm <= 16
    assert "paraphrase 'broken' treatment compliance 0/" in outcome.reason
    assert not any(f"'{vid}'" in outcome.reason for vid in GOOD)
    # the merged compliance alone would not have shown it
    assert outcome.arm("treatment").compliance > 0.8


def test_model_off_protocol_everywhere_is_reported_once_over_all_paraphrases() -> None:
    """sim/noncompliant: NONCOMPLIANT after one batch, with the merged counts, not 12 parts."""
    outcome = _run(ZERO_VS_RANDOM, GOOD, "sim/noncompliant")
    assert outcome.verdict is Verdict.NONCOMPLIANT
    assert outcome.draws_per_arm == 8
    assert outcome.reason.startswith("every paraphrase is off-protocol; over all paraphrases: ")
    assert "control compliance 0/40" in outcome.reason


def test_paraphrase_without_compliant_draws_waits_instead_of_deciding() -> None:
    """With the compliance check off, the test never sees the empty paraphrase: undecided."""
    outcome = _run(
        _with_variants(BROKEN),
        [*GOOD, "broken"],
        "sim/indifferent",
        min_compliance=0.0,
        max_draws=32,
    )
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert outcome.draws_per_arm == 32
    assert "no compliant draws yet in paraphrase(s) 'broken'" in outcome.reason
    assert all(g.decision is Decision.UNDECIDED and g.llr == 0.0 for g in outcome.gates)
    assert "NaN" not in outcome.model_dump_json()


@pytest.mark.parametrize("model", ["sim/indifferent", "sim/avoidant"])
def test_pooled_arm_records_do_not_claim_one_prompt(model: str) -> None:
    """The pooled arm's messages are a note naming every paraphrase, not the first prompt."""
    outcome = _run(ZERO_VS_RANDOM, GOOD, model)
    assert outcome.verdict in (Verdict.PASS, Verdict.FAIL)
    for arm in outcome.arms:
        assert len(arm.draws) == len(GOOD) * outcome.draws_per_arm
        (note,) = arm.messages
        assert note.content.startswith("(pooled over paraphrases")
        assert all(f"'{vid}'" in note.content for vid in GOOD)
        assert note != ZERO_VS_RANDOM.variant("original").arm(arm.arm).messages[0]


def test_variants_sharing_an_arm_prompt_cannot_be_pooled() -> None:
    """A variant that keeps the base control shares its draws: rejected at decoration."""
    pair = _with_variants({"id": "new-treatment", "treatment_prompt": PARAPHRASES[0][2] + " Go."})
    with pytest.raises(HypothesisError, match="control arm of 'original', 'new-treatment'"):
        behavior(pair, NOT_LOWER, variants=["original", "game", "new-treatment"], pooled=True)
    with pytest.raises(HypothesisError, match="control arm of 'original', 'new-treatment'"):
        _run(pair, ["original", "game", "new-treatment"], "sim/indifferent")
    # a claim on the treatment arm alone does not use the shared control: allowed
    one_arm = claims.at_least("treatment", "random", value=0.5, margin=0.2)
    behavior(pair, one_arm, variants=["original", "game", "new-treatment"], pooled=True)
    # and the same variants without pooling are separate tests, also allowed
    behavior(pair, NOT_LOWER, variants=["original", "game", "new-treatment"])
