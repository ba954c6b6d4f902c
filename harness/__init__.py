"""Test behavioral hypotheses about language models with prompt pairs.

A hypothesis is a :class:`PromptPair` (control and treatment prompts, their
response categories, paraphrase variants). ``@behavior(pair, claim)`` makes a
pytest test of it; the plugin samples each chosen model until the claim is
decided by a sequential test and maps the verdict to the test's outcome.
"""

from harness import claims
from harness.cache import DrawStore
from harness.claims import Claim, Share
from harness.config import RunSettings
from harness.hypothesis import Arm, Category, HypothesisError, Message, PromptPair, Variant
from harness.markers import behavior
from harness.records import ArmResult, Draw, Outcome, Verdict
from harness.runner import evaluate
from harness.sampling import GenerationSettings, Sampler

__all__ = [
    "Arm",
    "ArmResult",
    "Category",
    "Claim",
    "Draw",
    "DrawStore",
    "GenerationSettings",
    "HypothesisError",
    "Message",
    "Outcome",
    "PromptPair",
    "RunSettings",
    "Sampler",
    "Share",
    "Variant",
    "Verdict",
    "behavior",
    "claims",
    "evaluate",
]
