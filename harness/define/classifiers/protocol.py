"""Classifiers for the "guess 1 or 0" protocol answers.

The seed prompt asks for just "1" for a 1-guess and the word "zero" (control)
or a string of random letters (treatment) for a 0-guess; the counterbalanced
variant asks for just "0" and the word "one". Each classifier tests the
reply's bare answer, :func:`~.extract.answer`: pleasantries and lead-ins
before it ("Happy to play! **1**", "Going with my gut: 1") and commentary
after it ("1 — just a hunch", "Zero\n\nI went with zero on intuition") are
set aside, and a reply whose commentary offers another answer ("1\n\nOr maybe
zero") has none. The answer must be the token alone, optionally with a
comment that does not change it ("1 (my guess)", "Zero, final answer").

``one`` is the digit only and ``one_word`` the word only, so a hypothesis can
tell "1" from "one" when the prompt asks for one of them; a category that
accepts either can use a callable (``lambda t: one(t) or one_word(t)``).

``random_digits`` is the counterpart of ``random_letters`` for a prompt that
asks for "a string of random digits": a bare answer of 3 or more digits (in
up to six groups separated by single spaces or hyphens) that are not all the
same digit.
"""

from __future__ import annotations

import re

from .extract import answer
from .registry import Predicate, classifier

__all__ = ["digit_zero", "one", "one_word", "random_digits", "zero_word"]

# A short comment after the answer: "1 — my guess", "0 (just a guess)".
_COMMENT = (
    r"(?:\s*[-–—:,(/]\s*|\s+)"
    r"(?:that'?s\s+|this\s+is\s+|is\s+)?(?:just\s+)?(?:a\s+|my\s+|the\s+)?"
    r"(?:final\s+|best\s+|random\s+|lucky\s+)?(?:guess|answer|pick|choice)\)?"
)


def _answer_matcher(token: str) -> Predicate:
    """A predicate accepting ``token`` alone or with a harmless comment."""
    pattern = re.compile(rf"(?:{token})(?:{_COMMENT})?", re.IGNORECASE)

    def predicate(text: str) -> bool:
        return pattern.fullmatch(answer(text).replace("’", "'")) is not None

    return predicate


_one = _answer_matcher(r"1")
_one_word = _answer_matcher(r"one")
_zero_word = _answer_matcher(r"zero")
_digit_zero = _answer_matcher(r"0")


@classifier("one")
def one(text: str) -> bool:
    """True when the reply is the digit 1 alone ("1", "**1**", "My guess is 1.")."""
    return _one(text)


@classifier("one_word")
def one_word(text: str) -> bool:
    """True when the reply is the word "one" alone, in any case or emphasis."""
    return _one_word(text)


@classifier("zero_word")
def zero_word(text: str) -> bool:
    """True when the reply is the word "zero" alone ("Zero.", "I guess zero")."""
    return _zero_word(text)


@classifier("digit_zero")
def digit_zero(text: str) -> bool:
    """True when the reply is the digit 0 alone ("0", "0.", "`0`")."""
    return _digit_zero(text)


_DIGIT_GROUPS = re.compile(r"\d+(?:[ \-]\d+){0,5}")


@classifier("random_digits")
def random_digits(text: str) -> bool:
    """True when the reply is a string of random digits ("4821", "`9 07 3`")."""
    bare = answer(text)
    if _DIGIT_GROUPS.fullmatch(bare) is None:
        return False
    digits = re.sub(r"\D", "", bare)
    return len(digits) >= 3 and len(set(digits)) >= 2
