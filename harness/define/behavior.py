"""The ``@behavior`` decorator: a function becomes the test of a claim on a prompt pair."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from pydantic import TypeAdapter, ValidationError

from harness.define.claims import Claim
from harness.define.pair import ArmName, HypothesisError, Message, PromptPair, describe_errors

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
    claim for the average over the chosen variants (paraphrases) with a
    paraphrase-level test (:mod:`harness.stats.paraphrase`) that reports their spread.

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
    if pooled:  # paraphrases sharing an arm's prompt would share draws (not independent)
        check_independent(pair, chosen, claim)

    def decorate(fn: F) -> F:
        marked = pytest.mark.usefixtures("outcome")(fn)
        marked = getattr(pytest.mark, MARKER)(
            pair=pair, claim=claim, variants=tuple(chosen), pooled=pooled
        )(marked)
        return marked  # type: ignore[no-any-return]

    return decorate


def repeated_prompts(
    pair: PromptPair, variant_ids: Sequence[str], arms: Sequence[ArmName]
) -> list[str]:
    """Arms whose messages repeat across the chosen variants, e.g. "control arm of 'a', 'b'".

    Identical messages are one request (same request key, same seeds), so
    such variants would share their draws and not be independent paraphrases.
    """
    out = []
    for arm in arms:
        groups: dict[tuple[Message, ...], list[str]] = {}
        for vid in variant_ids:
            groups.setdefault(pair.variant(vid).arm(arm).messages, []).append(vid)
        out += [
            f"{arm} arm of {', '.join(repr(v) for v in ids)}"
            for ids in groups.values()
            if len(ids) > 1
        ]
    return out


def check_independent(pair: PromptPair, variant_ids: Sequence[str], claim: Claim) -> None:
    """Raise HypothesisError if two pooled variants send the same messages in an arm the claim uses.

    The paraphrase-level t-test assumes one independent estimate per
    paraphrase; variants that share draws would be counted twice and make it
    anti-conservative.
    """
    repeats = repeated_prompts(pair, variant_ids, claim.arms)
    if repeats:
        raise HypothesisError(
            f"hypothesis {pair.id!r}: a pooled claim needs a distinct prompt per paraphrase in "
            f"every arm it uses, but the same messages are sent in the {'; '.join(repeats)} "
            "(they would share draws and be counted twice); pool only variants that rewrite "
            "those arms"
        )
