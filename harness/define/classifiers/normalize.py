"""Reply normalization: the bare answer inside a reply, before a classifier reads it.

Markdown emphasis, quotes, code fences, trailing punctuation or emoji, an
"Answer:" label and a short trailing remark never change a label, because the
classifiers compare :func:`normalize` output (or :func:`~.extract.answer`,
which builds on the same helpers).
"""

from __future__ import annotations

import re

__all__ = ["LABEL_WORDS", "WRAP_CHARS", "normalize", "strip_label", "strip_wrappers"]


WRAP_CHARS = "\"'`*“”‘’«»"
# Trailing sentence punctuation and emoji ("1 🙂", "Zero!").
_TRAILING_PUNCT = re.compile(r"[\s.!?…;,:\u2600-\u27bf\U0001f300-\U0001faff\ufe0f]+$")
_FENCE = re.compile(r"^```[\w+-]*[ \t]*\n?(?P<body>.*?)\n?```$", re.DOTALL)
# "Answer: x", "**Answer:** x", "Sure! Here's a random string: x", "Okay: x".
_COLON_LABEL = re.compile(r"^(?P<prefix>[^:\n]{0,100}?)\s*:\**\s*(?P<rest>\S.*)$", re.DOTALL)
LABEL_WORDS = re.compile(
    r"\b(?:answer|guess|response|reply|choice|pick|output|prediction|result|here|letters?|"
    r"string|sequence|word|okay|ok|sure|alright|fine|random|go)\b",
    re.IGNORECASE,
)
# "Sure! x", "Okay, x", "Here you go - x": an acknowledgement before the answer.
_ACK = re.compile(
    r"^(?:sure(?:\s+thing)?|okay|ok|alright|all\s+right|got\s+it|here\s+you\s+go|"
    r"here\s+it\s+is|here\s+goes|done|fun|h+m+|well|let\s+me\s+(?:see|think))"
    r"\s*[!.,\-–—…]+\s+(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
# "My guess is x", "The answer is x", "I guess x", "I'll go with x".
_PHRASE_LABEL = re.compile(
    r"^(?:(?:my|the)\s+(?:final\s+)?(?:answer|guess|pick|choice)\s+(?:is|would\s+be|will\s+be)"
    r"|i\s+(?:guess|choose|pick|say|think\s+it'?s|think)"
    r"|i(?:'ll|\s+will)\s+(?:say|guess|pick|choose|go\s+with)"
    r"|i(?:'m|\s+am)\s+(?:going\s+with|guessing|picking))"
    r"\s*[:\-–—]?\s+(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_PARAGRAPHS = re.compile(r"\n\s*\n")
# "xqvbt (since my guess is 0)": a note on which guess the answer encodes.
_GUESS_NOTE = re.compile(
    r"\s*\(\s*(?:since|because|as)?\s*(?:my\s+)?guess\s+(?:is|was)\s+[\"']?(?:0|zero)[\"']?"
    r"\s*[.!]?\s*\)\s*$",
    re.IGNORECASE,
)
_REMARK_BLOCKERS = re.compile(r"\d|\b(?:one|zero)\b", re.IGNORECASE)
_REMARK_MAX_WORDS = 25


def strip_wrappers(text: str) -> str:
    """Drop fences, quote marks, block quotes, emphasis, trailing punctuation and notes."""
    text = text.strip()
    fence = _FENCE.match(text)
    if fence:
        text = fence.group("body").strip()
    text = _GUESS_NOTE.sub("", text).removeprefix(">").strip()
    if "```" in text:
        return _TRAILING_PUNCT.sub("", text)  # a fence after a lead-in: strip the label first
    text = text.strip(WRAP_CHARS).strip()
    if len(text) > 2 and text.startswith("_") and text.endswith("_"):
        text = text.strip("_").strip()
    return _TRAILING_PUNCT.sub("", text)


def strip_label(text: str) -> str:
    """Remove one leading answer label ("Answer:", "My guess is", "Sure!")."""
    m = _COLON_LABEL.match(text)
    if m and LABEL_WORDS.search(m.group("prefix")):
        return m.group("rest")
    plain = text.replace("’", "'")
    for pattern in (_PHRASE_LABEL, _ACK):
        m = pattern.match(plain)
        if m:
            return m.group("rest")
    return text


def _strip_remark(text: str) -> str:
    """Drop short trailing paragraphs that cannot change the answer.

    "xkqzt\\n\\nHope that works!" keeps "xkqzt". The remark must be 2-25 words
    after an answer of at most 3 words; one that mentions a digit, "one" or
    "zero" may change the answer, so it stays.
    """
    parts = _PARAGRAPHS.split(text.strip())
    if len(parts) < 2 or len(parts[0].split()) > 3 or parts[0].rstrip().endswith(":"):
        return text
    rest = " ".join(parts[1:])
    n_words = len(rest.split())
    if _REMARK_BLOCKERS.search(rest) or not 2 <= n_words <= _REMARK_MAX_WORDS:
        return text
    return parts[0]


def normalize(text: str) -> str:
    """Return the bare answer in ``text``.

    Strips whitespace, code fences, surrounding quotes/backticks/markdown
    emphasis, trailing sentence punctuation, a leading "Answer:"/"My guess
    is"/"Sure! Here's a random string:"-style label and a short trailing
    remark, so ``"Zero."``, ``'"1"'``, ``**zero**`` and ``Okay: "zmqpt"`` all
    compare equal to their bare answer. The steps repeat until nothing
    changes, which handles nesting such as ``**Answer:** "1".``.
    """
    current = text
    while True:
        nxt = strip_wrappers(_strip_remark(strip_label(strip_wrappers(current))))
        if nxt == current:
            return nxt
        current = nxt
