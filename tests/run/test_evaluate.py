"""Evaluating claims on simulated models: per variant and pooled over paraphrases.

The evaluator draws both arms (and every paraphrase of a pooled claim)
together, walks the claim's design after each batch and stops at the first
decision; these tests check the verdicts and records it produces.
"""

from __future__ import annotations

from typing import Any

import pytest

from evals.test_zero_vs_random import PARAPHRASES, ZERO_VS_RANDOM
from harness import DrawStore, GenerationSettings, HypothesisError, Sampler, claims
from harness.define.pair import PromptPair
from harness.results.records import Outcome, Verdict
from harness.run.evaluate import claim_plan, evaluate
from harness.run.settings import RunSettings
from harness.stats.decision import Decision, claim_alpha

GOOD = ["original", *(vid for vid, _, _ in PARAPHRASES)]
NOT_LOWER = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
EQUIVALENT = claims.equivalent(("treatment", "random"), value=0.5, margin=0.25, tolerance=0.1)


def _run(
    variants: str | list[str],
    model: str,
    claim: Any = NOT_LOWER,
    pair: PromptPair = ZERO_VS_RANDOM,
    **kw: Any,
) -> Outcome:
    settings = RunSettings(models=(model,), **kw)
    sampler = Sampler(GenerationSettings(), settings.seed, store=DrawStore())
    return evaluate(
        pair, variants, claim, model, sampler, settings, claim_alpha=claim_alpha(0.05, 13)
    )


def test_honest_model_passes_with_both_gates_passed() -> None:
    outcome = _run("original", "sim/indifferent")
    assert outcome.verdict is Verdict.PASS
    assert [g.kind for g in outcome.gates] == ["difference", "off_protocol"]
    assert all(g.decision is Decision.PASS for g in outcome.gates)
    assert 0 < outcome.decided_at <= outcome.draws_per_arm


def test_avoidant_model_fails_on_the_difference() -> None:
    outcome = _run("original", "sim/avoidant")
    assert outcome.verdict is Verdict.FAIL
    diff = outcome.gates[0]
    assert diff.decision is Decision.FAIL
    assert diff.estimate is not None and diff.estimate < -0.2
    assert "forbidden region" in outcome.reason


def test_model_off_protocol_everywhere_is_noncompliant() -> None:
    outcome = _run("original", "sim/noncompliant")
    assert outcome.verdict is Verdict.NONCOMPLIANT
    assert "control and treatment" in outcome.reason
    assert outcome.draws_per_arm <= 32


def test_equivalence_passes_an_honest_model() -> None:
    outcome = _run("original", "sim/indifferent", claim=EQUIVALENT)
    assert outcome.verdict is Verdict.PASS
    assert len(outcome.gates) == 2


def test_budget_reached_is_inconclusive() -> None:
    outcome = _run("original", "sim/indifferent", max_draws=8)
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert "budget of 8 draws" in outcome.reason


def test_pooled_claim_over_all_paraphrases() -> None:
    outcome = _run(GOOD, "sim/indifferent")
    assert outcome.verdict is Verdict.PASS
    assert outcome.variant == "pooled"
    assert outcome.rule.startswith("averaged over paraphrases original, ")
    # every paraphrase was drawn as often as the others
    assert outcome.arm("control").n == len(GOOD) * outcome.draws_per_arm
    assert _run(GOOD, "sim/avoidant").verdict is Verdict.FAIL


def test_pooled_paraphrases_may_share_an_arm() -> None:
    """Round-robin averages stay i.i.d. across rounds even when paraphrases share draws."""
    data = ZERO_VS_RANDOM.model_dump()
    shared = {"id": "same-control", "treatment_prompt": PARAPHRASES[0][2] + " Thanks!"}
    pair = PromptPair(**{**data, "variants": [*data["variants"], shared]})
    assert _run(["original", "same-control"], "sim/indifferent", pair=pair).verdict in (
        Verdict.PASS,
        Verdict.INCONCLUSIVE,
    )


def test_pooled_needs_two_variants() -> None:
    with pytest.raises(HypothesisError, match="two or more variants"):
        _run(["original"], "sim/indifferent")


def test_plan_names_the_budget_its_inconclusive_bound_needs() -> None:
    settings = RunSettings()
    plan = claim_plan(ZERO_VS_RANDOM, "original", NOT_LOWER, settings, claim_alpha(0.05, 13))
    assert plan.allowed.p_pass > 0.95
    assert plan.forbidden.p_pass <= 0.15
    assert 0 < plan.needed_draws <= settings.max_draws
    small = RunSettings(max_draws=40)
    tight = claim_plan(ZERO_VS_RANDOM, "original", NOT_LOWER, small, claim_alpha(0.05, 13))
    assert any("--max-draws 40" in w for w in tight.warnings)
