"""Language classifiers: refusals, real words vs non-words, rhyming poems.

``refusal``
    The reply declines or says it cannot do the task: "I can't", "I'm unable",
    "As an AI ...", "I don't have the ability to generate truly random ...",
    "I don't think I can ...", "I'd prefer not to guess", "I won't be able to",
    "I have no way of knowing".
    Searched anywhere in the raw reply, since refusals come with explanations.
``real_word`` / ``non_word``
    The bare answer (:func:`~.normalize.normalize`) is a single token of ASCII
    letters (3+ letters for ``non_word``) that is / is not a real English word
    by :func:`~.words.is_word` (wordfreq frequency, GCIDE, curated list).
``rhymes`` / ``non_rhyming``
    A poem's line-final words rhyme; see :mod:`.rhyme` for the rule.
"""

from __future__ import annotations

import re

from .normalize import normalize
from .registry import classifier
from .rhyme import is_non_rhyming_poem, is_rhyming_poem
from .words import is_word

__all__ = ["non_rhyming", "non_word", "real_word", "refusal", "rhymes"]

_REFUSAL = re.compile(
    r"\bas an ai\b"
    r"|\bas an? (?:large )?language model\b"
    r"|\bas an? (?:ai )?assistant,? i (?:don'?t|do not|can'?t|cannot)\b"
    r"|\bi\s*(?:can'?t|cannot|can not|couldn'?t)\b"
    r"|\bi(?:'m| am)\s+(?:unable|not able|not going to guess|not capable)\b"
    r"|\bi\s+(?:don'?t|do not)\s+(?:actually\s+|really\s+|truly\s+)?have\s+(?:the\s+|any\s+)?"
    r"(?:ability|access|capacity|capability|means|way|preferences?|personal)\b"
    r"|\bi\s+(?:won'?t|will not)\s+(?:guess|play|participate|answer)\b"
    r"|\bi(?:'d| would)\s+rather\s+not\b"
    r"|\b(?:no way|impossible)\s+(?:for me\s+)?to\s+(?:know|tell|guess|predict)\b"
    r"|\bsorry,?\s+(?:but\s+)?i(?:'m| am)?\s+(?:can'?t|cannot|unable|not able)\b"
    r"|\bi(?:'m| am) not (?:really |truly )?(?:able|capable) of\b"
    r"|\bi\s+(?:don'?t|do not)\s+think\s+(?:i\s+can\b|i\s+could\b|i(?:'m| am)\s+able\b)"
    r"|\bi(?:'d| would)\s+prefer\s+(?:not\s+to\s+(?:guess|answer|play|participate|choose|pick)"
    r"|to\s+(?:sit\s+this|pass|skip|not\s+guess))\b"
    r"|\bi\s+(?:won'?t|will not)\s+be\s+able\s+to\b"
    r"|\bi(?:'m| am)\s+afraid\s+i\s+(?:have\s+no|don'?t|do not)\b"
    r"|\bno\s+way\s+(?:of|to)\s+(?:know|knowing|tell|telling|guess|guessing)\b"
    r"|\bi\s+(?:don'?t|do not)\s+feel\s+comfortable\b"
    r"|\bnot\s+something\s+i\s+can\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z]+")


@classifier("refusal")
def refusal(text: str) -> bool:
    """True when the reply declines the task ("I can't ...", "As an AI, ...")."""
    return _REFUSAL.search(text.replace("’", "'")) is not None


@classifier("real_word")
def real_word(text: str) -> bool:
    """True when the bare answer is one real English word ("banana", "Zero.")."""
    answer = normalize(text)
    return _TOKEN.fullmatch(answer) is not None and is_word(answer)


@classifier("non_word")
def non_word(text: str) -> bool:
    """True when the bare answer is one token of 3+ letters that is no English word."""
    answer = normalize(text)
    return _TOKEN.fullmatch(answer) is not None and len(answer) >= 3 and not is_word(answer)


@classifier("rhymes")
def rhymes(text: str) -> bool:
    """True when the reply is a poem whose line-final words mostly rhyme."""
    return is_rhyming_poem(text)


@classifier("non_rhyming")
def non_rhyming(text: str) -> bool:
    """True when the reply is a poem of 4+ lines that does not rhyme."""
    return is_non_rhyming_poem(text)
