"""Reply normalization: the bare answer inside a reply, before any classifier reads it.

Markdown emphasis, quotes, a trailing full stop or an "Answer:" label never
change a label, because every predicate compares :func:`normalize` output.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------
# normalization
# --------------------------------------------------------------------------

_WRAP_CHARS = "\"'`*“”‘’«»"
_TRAILING_PUNCT = re.compile(r"[\s.!?…;,:]+$")
# "Answer: x", "**Answer:** x", "Sure! Here's my guess: x", "Here you go: x".
_COLON_LABEL = re.compile(
    r"^(?P<prefix>[^:\n]{0,60}?)\s*:\**\s*(?P<rest>\S.*)$",
    re.DOTALL,
)
_LABEL_WORDS = re.compile(
    r"\b(?:answer|guess|response|reply|choice|pick|output|prediction|result|"
    r"here|letters|string)\b",
    re.IGNORECASE,
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


def _strip_wrappers(text: str) -> str:
    """Drop quotes, backticks, emphasis and trailing punctuation around ``text``."""
    text = text.strip().strip(_WRAP_CHARS).strip()
    if len(text) > 2 and text.startswith("_") and text.endswith("_"):
        text = text.strip("_").strip()
    return _TRAILING_PUNCT.sub("", text)


def _strip_label(text: str) -> str:
    """Remove one leading answer label such as "Answer:" or "My guess is"."""
    m = _COLON_LABEL.match(text)
    if m and _LABEL_WORDS.search(m.group("prefix")):
        return m.group("rest")
    m = _PHRASE_LABEL.match(text.replace("’", "'"))
    if m:
        return m.group("rest")
    return text


def normalize(text: str) -> str:
    """Return the bare answer in ``text``.

    Strips whitespace, surrounding quotes/backticks/markdown emphasis, trailing
    sentence punctuation and a leading "Answer:"/"My guess:"-style label, so
    that ``"Zero."``, ``'"1"'``, ``**zero**`` and ```1``` all compare equal to
    their bare answer. The steps repeat until nothing changes, which handles
    nesting such as ``**Answer:** "1".``.
    """
    current = text
    while True:
        nxt = _strip_wrappers(_strip_label(_strip_wrappers(current)))
        if nxt == current:
            return nxt
        current = nxt
