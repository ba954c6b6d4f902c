"""Model comparisons: one share of two models on the same prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.test_zero_vs_random import ZERO_VS_RANDOM
from harness import DrawStore, GenerationSettings, Sampler, claims
from harness.define.comparison import ModelComparison
from harness.results.records import Verdict
from harness.run.compare import evaluate_models
from harness.run.evaluate import claim_plan
from harness.run.settings import RunSettings

HONEST, AVOIDANT = "sim/indifferent", "sim/avoidant"


def _compare(first: str, second: str) -> tuple[Verdict, str]:
    claim = claims.model_higher(("treatment", "random"), first=first, second=second, margin=0.2)
    settings = RunSettings(models=(first, second))
    sampler = Sampler(GenerationSettings(), settings.seed, store=DrawStore())
    outcome = evaluate_models(
        ZERO_VS_RANDOM, "original", claim, sampler, settings, claim_alpha=0.05
    )
    assert outcome.model == f"{first} vs {second}"
    assert [a.model for a in outcome.arms] == [first, second]
    return outcome.verdict, outcome.reason


def test_higher_share_in_the_first_model_passes() -> None:
    assert _compare(HONEST, AVOIDANT)[0] is Verdict.PASS


def test_no_lift_fails() -> None:
    verdict, reason = _compare(AVOIDANT, HONEST)
    assert verdict is Verdict.FAIL
    assert "sim/avoidant - sim/indifferent" in reason


def test_a_comparison_needs_two_models() -> None:
    with pytest.raises(ValueError, match="two different models"):
        ModelComparison.model_validate(
            {"share": {"arm": "treatment", "category": "random"}, "first": "a", "second": "a",
             "margin": 0.2}
        )  # fmt: skip


def test_comparisons_are_planned() -> None:
    claim = claims.model_not_lower(
        ("treatment", "random"), first=HONEST, second=AVOIDANT, margin=0.2
    )
    plan = claim_plan(ZERO_VS_RANDOM, "original", claim, RunSettings(), 0.05)
    assert plan.allowed.p_pass > 0.9 and plan.forbidden.p_pass < 0.15


EVAL = """
from evals.test_zero_vs_random import ZERO_VS_RANDOM
from harness import behavior, claims

@behavior(ZERO_VS_RANDOM, claims.model_higher(("treatment", "random"),
          first="sim/indifferent", second="sim/avoidant", margin=0.2), variants=["original"])
def test_instruct_avoids_less() -> None:
    pass

@behavior(ZERO_VS_RANDOM, claims.not_lower(("treatment", "random"), ("control", "word"),
          margin=0.2), variants=["original"])
def test_each() -> None:
    pass
"""


def test_one_row_per_comparison_and_a_skip_when_a_model_is_missing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest('pytest_plugins = ["harness.plugin"]\n')
    pytester.makepyfile(test_cmp=EVAL)
    pytester.syspathinsert(str(Path(__file__).parents[2]))
    both = pytester.runpytest_inprocess(
        "--model", HONEST, "--model", AVOIDANT, "--no-cache", "-p", "no:cacheprovider", "-v",
    )  # fmt: skip
    both.assert_outcomes(passed=2, failed=1)
    both.stdout.fnmatch_lines(
        ["*test_instruct_avoids_less?original-sim/indifferent vs sim/avoidant? PASSED*"]
    )
    one = pytester.runpytest_inprocess("--model", HONEST, "--no-cache", "-p", "no:cacheprovider",
                                       "-rs")  # fmt: skip
    one.assert_outcomes(passed=1, skipped=1)
    one.stdout.fnmatch_lines(["*run with --model for sim/avoidant*"])
