"""Hypotheses as data: validation messages name the hypothesis and the field."""

from __future__ import annotations

from typing import Any

import pytest

from harness import HypothesisError, PromptPair, behavior, claims
from harness.define.classifiers import classify

BASE: dict[str, Any] = {
    "id": "pair",
    "description": "a pair",
    "control": {"prompt": "Say 1 or zero.", "categories": ["one", "zero_word"]},
    "treatment": {"prompt": "Say 1 or random letters.", "categories": ["one", "random_letters"]},
}


def _pair(**changes: Any) -> PromptPair:
    return PromptPair(**{**BASE, **changes})


def test_variants_resolve_with_the_pairs_categories() -> None:
    pair = _pair(variants=[{"id": "short", "treatment_prompt": "1 or letters?"}])
    base, short = pair.resolved()
    assert base.id == "original"
    assert short.treatment.messages[0].content == "1 or letters?"
    assert short.control == base.control
    assert short.treatment.category_names == ("one", "random_letters")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "has space"}, "hypothesis id 'has space' must be an identifier"),
        ({"description": ""}, "description: String should have at least 1 character"),
        (
            {"control": {"prompt": "", "categories": ["one"]}},
            "control.messages.0.content: String should have at least 1 character",
        ),
        ({"control": {"prompt": "x", "categories": []}}, "control.categories"),
        ({"control": {"prompt": "x", "categories": ["one", "one"]}}, "category names repeat: one"),
        ({"control": {"prompt": "x", "categories": ["other"]}}, "reserved for unmatched"),
        (
            {"control": {"prompt": "x", "categories": [{"name": "w", "pattern": "("}]}},
            "category 'w': bad pattern",
        ),
        ({"variants": [{"id": "original"}]}, "variant ids repeat: original"),
        (
            {"variants": [{"id": "v", "control_prompt": "x", "control": BASE["control"]}]},
            "give control or control_prompt, not both",
        ),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_definitions_name_hypothesis_and_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(HypothesisError) as info:
        _pair(**changes)
    assert str(info.value).startswith(f"hypothesis {changes.get('id', 'pair')!r}: ")
    assert message in str(info.value)


def test_claim_naming_a_missing_category_is_rejected() -> None:
    pair = _pair(variants=[{"id": "v2", "treatment": {"prompt": "y", "categories": ["one"]}}])
    with pytest.raises(HypothesisError, match="variant 'v2' has only one"):
        behavior(pair, claims.at_least("treatment", "random_letters", value=0.5, margin=0.2))


def test_unknown_variant_and_bad_claim_values_are_rejected() -> None:
    pair = _pair()
    with pytest.raises(HypothesisError, match="unknown \\['nope'\\]"):
        behavior(pair, claims.at_most("control", "one", value=0.5, margin=0.2), variants=["nope"])
    with pytest.raises(ValueError, match="value ± margin"):
        claims.equivalent("treatment", "random_letters", value=0.9, margin=0.2)


def test_pattern_categories_match_the_normalized_reply_in_full() -> None:
    pair = _pair(control={"prompt": "x", "categories": [{"name": "word", "pattern": "one"}, "one"]})
    predicates = pair.control.predicates()
    assert classify('"One."', predicates) == "word"
    assert classify("1", predicates) == "one"
    assert classify("one more thing", predicates) == "other"


def test_rules_read_as_plain_language() -> None:
    rule = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2).rule()
    assert rule.startswith("treatment 'random' share is not lower than control 'word' share")
    assert "allowed a difference of 0 or more, forbidden 0.2 or more lower" in rule
    assert "off-protocol share (refusals, chatter) may not exceed" in rule
    eq = claims.equivalent(("treatment", "random"), value=0.5, margin=0.25, tolerance=0.1).rule()
    assert "allowed 0.4 to 0.6, forbidden 0.25 or below and 0.75 or above" in eq
