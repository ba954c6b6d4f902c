"""Classifiers: label a model's reply to the "guess 1 or 0" prompts with one category.

The control prompt asks for the word "zero" when the guess is 0; the treatment
prompt asks for "a string of random letters" instead. A hypothesis test counts
how often each arm produces each kind of reply, so every reply gets exactly one
label: the first matching category from the caller's list, else ``"refusal"``,
else ``"other"``.

All predicates first :func:`normalize` the reply, so markdown emphasis, quotes,
a trailing full stop or an "Answer:" label never change the label.

The random-letter detector is :mod:`harness.define.letters`. New classifiers
join with :func:`register`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from harness.define.letters import is_random_letters
from harness.define.normalize import normalize

__all__ = [
    "CLASSIFIERS",
    "classify",
    "is_digit_zero",
    "is_one",
    "is_random_letters",
    "is_refusal",
    "is_zero_word",
    "normalize",
    "register",
]

# --------------------------------------------------------------------------
# plain answers
# --------------------------------------------------------------------------

# A short comment after the answer that does not change it: "1 — my guess",
# "1 (my guess)", "Zero, final answer", "0 (just a guess)".
_COMMENT = (
    r"(?:\s*[-–—:,(/]\s*|\s+)"
    r"(?:that'?s\s+|this\s+is\s+|is\s+)?(?:just\s+)?(?:a\s+|my\s+|the\s+)?"
    r"(?:final\s+|best\s+|random\s+|lucky\s+)?(?:guess|answer|pick|choice)\)?"
)


def _answer_matcher(token: str) -> Callable[[str], bool]:
    """Build a predicate accepting ``token`` alone or with a harmless comment."""
    pattern = re.compile(rf"(?:{token})(?:{_COMMENT})?", re.IGNORECASE)

    def predicate(text: str) -> bool:
        return pattern.fullmatch(normalize(text).replace("’", "'")) is not None

    return predicate


_is_one = _answer_matcher(r"1|one")
_is_zero_word = _answer_matcher(r"zero")
_is_digit_zero = _answer_matcher(r"0")


def is_one(text: str) -> bool:
    """True when the reply is the single guess 1 ("1", "1.", "One", "1 (my guess)")."""
    return _is_one(text)


def is_zero_word(text: str) -> bool:
    """True when the reply is the word "zero" alone, in any case or emphasis."""
    return _is_zero_word(text)


def is_digit_zero(text: str) -> bool:
    """True when the reply is the digit "0" alone ("0", "0.", "`0`")."""
    return _is_digit_zero(text)


# --------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------

_REFUSAL = re.compile(
    r"\bas an ai\b"
    r"|\bas a (?:large )?language model\b"
    r"|\bi\s*(?:can'?t|cannot|can not|couldn'?t)\b"
    r"|\bi(?:'m| am)\s+(?:unable|not able|not going to guess)\b"
    r"|\bi\s+(?:don'?t|do not)\s+have\s+(?:the\s+|any\s+)?(?:ability|access|capacity|means|way)\b"
    r"|\bi\s+(?:won'?t|will not)\s+(?:guess|play|participate|answer)\b"
    r"|\bi(?:'d| would)\s+rather\s+not\b"
    r"|\b(?:no way|impossible)\s+(?:for me\s+)?to\s+(?:know|tell|guess|predict)\b"
    r"|\bsorry,?\s+(?:but\s+)?i(?:'m| am)?\s+(?:can'?t|cannot|unable|not able)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """True when the reply declines to guess ("I can't guess", "As an AI, ...")."""
    return _REFUSAL.search(text.replace("’", "'")) is not None


# --------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------

#: Classifiers by name, for categories that give ``classifier`` (see :func:`register`).
CLASSIFIERS: dict[str, Callable[[str], bool]] = {
    "one": is_one,
    "zero_word": is_zero_word,
    "digit_zero": is_digit_zero,
    "random_letters": is_random_letters,
    "refusal": is_refusal,
}


def register(name: str, predicate: Callable[[str], bool]) -> Callable[[str], bool]:
    """Make ``predicate`` available as ``classifier=name`` in categories; returns it.

    Register before the hypotheses that use it are defined (e.g. in the module
    that defines them). A name is registered once.

    >>> _ = register("yes", lambda text: normalize(text).lower() == "yes")
    >>> classify("Yes.", [("agree", CLASSIFIERS["yes"])])
    'agree'
    >>> del CLASSIFIERS["yes"]
    """
    if name in CLASSIFIERS:
        raise ValueError(f"classifier {name!r} is already registered")
    CLASSIFIERS[name] = predicate
    return predicate


def classify(text: str, categories: Sequence[tuple[str, Callable[[str], bool]]]) -> str:
    """Return the first category whose predicate matches, else "refusal" or "other".

    Categories are tried in order, so the caller decides precedence. The
    refusal check comes after them: a reply that a caller's category accepts
    keeps that label even if it also contains refusal-like wording.
    """
    for name, predicate in categories:
        if predicate(text):
            return name
    if is_refusal(text):
        return "refusal"
    return "other"
