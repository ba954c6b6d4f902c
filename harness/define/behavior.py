"""The ``@behavior`` decorator: a function becomes the test of a claim on a prompt pair."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from pydantic import TypeAdapter, ValidationError

from harness.define.claims import Claim
from harness.define.pair import HypothesisError, PromptPair, describe_errors

F = TypeVar("F", bound=Callable[..., Any])
MARKER = "behavior"
_CLAIM = TypeAdapter(Claim)


def behavior(
    pair: PromptPair,
    claim: Claim,
    *,
    variants: Sequence[str] | None = None,
    pooled: bool = False,
) -> Callable[[F], F]:
    """Mark a test as checking ``claim`` on ``pair``.

    The plugin parametrizes the test by model (``--model``) and by variant
    (all of the pair's variants, or those named in ``variants``), samples until
    the claim is decided, and maps the verdict to the test's outcome. The test
    may take the ``outcome`` fixture (an :class:`harness.Outcome`) to assert
    more; its body runs after the verdict has been reached.

    With ``pooled=True`` there is one test per model instead, deciding the
    claim for the average over the chosen variants (paraphrases): draws go
    round-robin over the paraphrases and each round's average is one
    observation (:func:`harness.stats.gates.pooled_observations`), so the claim
    is about the mean over exactly these paraphrases.

    Checked at import time, so a bad definition stops collection with a message
    naming the hypothesis and field.
    """
    if not isinstance(pair, PromptPair):
        raise HypothesisError(f"@behavior needs a PromptPair, got {type(pair).__name__}")
    try:
        claim = _CLAIM.validate_python(claim)
    except ValidationError as exc:
        raise HypothesisError(f"hypothesis {pair.id!r}: claim: {describe_errors(exc)}") from None
    claim.check_against(pair)
    known = [v.id for v in pair.resolved()]
    chosen = list(variants) if variants is not None else known
    unknown = [v for v in chosen if v not in known]
    if unknown or not chosen:
        raise HypothesisError(
            f"hypothesis {pair.id!r}: variants: unknown {unknown or 'none chosen'} "
            f"(known: {', '.join(known)})"
        )
    if pooled and len(chosen) < 2:
        raise HypothesisError(f"hypothesis {pair.id!r}: a pooled claim needs at least 2 variants")

    def decorate(fn: F) -> F:
        marked = pytest.mark.usefixtures("outcome")(fn)
        marked = getattr(pytest.mark, MARKER)(
            pair=pair, claim=claim, variants=tuple(chosen), pooled=pooled
        )(marked)
        return marked  # type: ignore[no-any-return]

    return decorate
