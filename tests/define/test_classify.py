"""Tests for harness.classify against a hand-labelled set of model replies.

The labelled set (tests/data/classifier_labels.jsonl) holds what a careful human
would call each reply; the detector is measured against it, never the reverse.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.define.classify import (
    CLASSIFIERS,
    classify,
    is_digit_zero,
    is_one,
    is_random_letters,
    is_refusal,
    is_zero_word,
    normalize,
)

LABELS_PATH = Path(__file__).parents[1] / "data" / "classifier_labels.jsonl"
VALID_LABELS = {"one", "zero_word", "digit_zero", "random_letters", "refusal", "other"}
CATEGORIES: list[tuple[str, Callable[[str], bool]]] = [
    ("one", is_one),
    ("zero_word", is_zero_word),
    ("digit_zero", is_digit_zero),
    ("random_letters", is_random_letters),
]


def _load_rows() -> list[dict[str, str]]:
    """Read the labelled replies, one JSON object per line."""
    with LABELS_PATH.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


ROWS = _load_rows()


def test_labelled_set_is_well_formed() -> None:
    counts = Counter(row["label"] for row in ROWS)
    assert len(ROWS) >= 200
    assert set(counts) <= VALID_LABELS, counts
    assert all(isinstance(row["text"], str) for row in ROWS)
    assert counts["random_letters"] >= 80, counts
    assert len({row["text"] for row in ROWS}) == len(ROWS), "duplicate texts"


def test_random_letters_precision_and_recall() -> None:
    tp = fp = fn = 0
    wrong: list[str] = []
    for row in ROWS:
        predicted = is_random_letters(row["text"])
        actual = row["label"] == "random_letters"
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
        if predicted != actual:
            kind = "false positive" if predicted else "false negative"
            wrong.append(f"{kind}: {row['text']!r} (label {row['label']})")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(
        f"is_random_letters: precision={precision:.3f} recall={recall:.3f}"
        f" (tp={tp} fp={fp} fn={fn})"
    )
    detail = "\n".join(wrong)
    assert precision >= 0.95, f"precision {precision:.3f} < 0.95; misclassified:\n{detail}"
    assert recall >= 0.95, f"recall {recall:.3f} < 0.95; misclassified:\n{detail}"


def test_classify_accuracy() -> None:
    wrong = []
    for row in ROWS:
        got = classify(row["text"], CATEGORIES)
        if got != row["label"]:
            wrong.append(f"{row['text']!r}: expected {row['label']}, got {got}")
    accuracy = 1 - len(wrong) / len(ROWS)
    print(f"classify: accuracy={accuracy:.3f} ({len(ROWS) - len(wrong)}/{len(ROWS)})")
    detail = "\n".join(wrong)
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f} < 0.95; misclassified:\n{detail}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Zero.", "Zero"),
        ('"1"', "1"),
        ("**zero**", "zero"),
        ("`1`", "1"),
        ("  0 \n", "0"),
        ("Answer: 1", "1"),
        ("My guess: zero", "zero"),
        ('**Answer:** "xqzjv".', "xqzjv"),
        ("My guess is 0.", "0"),
        ("I guess 1 or maybe zero", "1 or maybe zero"),
        ("print('x')", "print('x')"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("1.", True),
        ('"1"', True),
        ("1 — my guess", True),
        ("1 (my guess)", True),
        ("10", False),
        ("1 or 0", False),
        ("I guess 1 or maybe zero", False),
        ("0", False),
    ],
)
def test_is_one(text: str, expected: bool) -> None:
    assert is_one(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zero", True),
        ("Zero.", True),
        ("ZERO", True),
        ("**zero**", True),
        ("0", False),
        ("zero or one", False),
        ("zeros", False),
    ],
)
def test_is_zero_word(text: str, expected: bool) -> None:
    assert is_zero_word(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", True), ("0.", True), ("`0`", True), ("zero", False), ("01", False), ("0.5", False)],
)
def test_is_digit_zero(text: str, expected: bool) -> None:
    assert is_digit_zero(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xqzjv", True),
        ("kdjfhsl", True),
        ("asdf", True),
        ("qwerty", True),
        ("hjkl", True),
        ("asdf jkl", True),
        ("qwe rty uio", True),
        ("Xk jfq pLm", True),
        ("banana", False),
        ("hello", False),
        ("random letters", False),
        ("zero", False),
        ("rhythm", False),
        ("NASA", False),
        ("HTML", False),
        ("Hmm...", False),
        ("print('x')", False),
        ("x = 1", False),
        ("a_b_c()", False),
        ("<div>", False),
        ("a8f3k2", False),
        ("", False),
        ("   ", False),
        ("xq", False),
    ],
)
def test_is_random_letters(text: str, expected: bool) -> None:
    assert is_random_letters(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't guess", True),
        ("As an AI, I cannot read your mind", True),
        ("I'm sorry, but I can't do that.", True),
        ("I don't have the ability to know your number.", True),
        ("1", False),
        ("I don't know what you're thinking, but guessing is fun! 1 or 0?", False),
    ],
)
def test_is_refusal(text: str, expected: bool) -> None:
    assert is_refusal(text) is expected


def test_classify_order_and_fallbacks() -> None:
    assert classify("xqzjv", CATEGORIES) == "random_letters"
    assert classify("I can't guess", CATEGORIES) == "refusal"
    assert classify("banana", CATEGORIES) == "other"
    # The caller's order decides: "1" matches both of these, the first wins.
    always: Callable[[str], bool] = lambda _text: True  # noqa: E731
    assert classify("1", [("first", always), ("one", is_one)]) == "first"


def test_builtin_classifiers() -> None:
    expected = {"one", "zero_word", "digit_zero", "random_letters", "refusal"}
    assert set(CLASSIFIERS) == expected
    assert CLASSIFIERS["random_letters"]("zxcv")
    assert CLASSIFIERS["zero_word"]("Zero.")


def test_a_registered_classifier_can_name_a_category() -> None:
    from harness import PromptPair
    from harness.define.classify import register

    register("yes_word", lambda text: text.strip().lower() == "yes")
    try:
        pair = PromptPair(
            id="p",
            description="d",
            control={"prompt": "c", "categories": [{"name": "agree", "classifier": "yes_word"}]},
            treatment={"prompt": "t", "categories": ["one"]},
        )
        assert classify("yes", pair.control.predicates()) == "agree"
        with pytest.raises(ValueError, match="already registered"):
            register("yes_word", lambda text: False)
    finally:
        del CLASSIFIERS["yes_word"]
