"""Test behavioral hypotheses about language models with prompt pairs (the user API).

A hypothesis is a :class:`PromptPair` (control and treatment prompts, their
response categories, paraphrase variants). ``@behavior(pair, claim)`` makes a
pytest test of it; the plugin samples each chosen model until the claim is
decided by a sequential test and maps the verdict to the test's outcome.

Names are imported on first use (PEP 562), so ``import harness`` loads no
model, statistics or report library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.define import claims
    from harness.define.behavior import behavior
    from harness.define.claims import Claim, Share
    from harness.define.classifiers import classifier
    from harness.define.pair import (
        Arm,
        Category,
        Generation,
        HypothesisError,
        Message,
        PromptPair,
        Variant,
    )
    from harness.results.records import ArmResult, Draw, Outcome, Verdict
    from harness.run.cache import DrawStore
    from harness.run.evaluate import evaluate
    from harness.run.sampling import Sampler
    from harness.run.settings import GenerationSettings, RunSettings

#: Public name -> the module that defines it.
_HOMES = {
    "Arm": "harness.define.pair",
    "ArmResult": "harness.results.records",
    "Category": "harness.define.pair",
    "Claim": "harness.define.claims",
    "Draw": "harness.results.records",
    "DrawStore": "harness.run.cache",
    "Generation": "harness.define.pair",
    "GenerationSettings": "harness.run.settings",
    "HypothesisError": "harness.define.pair",
    "Message": "harness.define.pair",
    "Outcome": "harness.results.records",
    "PromptPair": "harness.define.pair",
    "RunSettings": "harness.run.settings",
    "Sampler": "harness.run.sampling",
    "Share": "harness.define.claims",
    "Variant": "harness.define.pair",
    "Verdict": "harness.results.records",
    "behavior": "harness.define.behavior",
    "classifier": "harness.define.classifiers",
    "evaluate": "harness.run.evaluate",
}

__all__ = [
    "Arm",
    "ArmResult",
    "Category",
    "Claim",
    "Draw",
    "DrawStore",
    "Generation",
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
    "classifier",
    "evaluate",
]


def __getattr__(name: str) -> Any:
    if name == "claims":
        return import_module("harness.define.claims")
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
