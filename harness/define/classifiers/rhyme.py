"""End-rhyme detection for poems, from CMUdict with a spelling fallback.

Rule. The poem's lines are the non-empty lines of the reply, less any
leading lead-in or title lines (ending in ":", starting with "#", or wholly in
``**bold**``). Each line's *end word* is its last run of letters.

Two end words **rhyme** when they are different words and

* both are in CMUdict (``pronouncing``) and some pronunciation of each has the
  same *rhyming part*: the phonemes from the last stressed vowel to the end
  ("night"/"light": AY1 T), or the same final syllable whose vowel carries
  primary or secondary stress in both ("sky"/"lullaby": AY); or
* either is unknown to CMUdict (made-up or rare words) and their spelled
  endings match: the last vowel group and the consonants after it, taking in
  a final silent "e" ("blorp"/"florp": "orp", "glade"/"frayed" does not
  match by spelling but does by sound when both are known).

A line *rhymes* when its end word rhymes with the end word of one of the three
lines before or after it; this covers couplets (AABB), alternate rhyme
(ABAB), enclosed rhyme (ABBA) and ballad stanzas (ABCB, half the lines).
A poem **rhymes** when it has at least 2 lines and at least half of its lines
rhyme (:data:`RHYME_SHARE`). It is **non-rhyming** when it has at least
:data:`MIN_NON_RHYMING_LINES` lines and does not rhyme: free verse with one
chance rhyme stays non-rhyming. Identical end words do not count as a rhyme,
so a refrain alone does not make a poem rhyme.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "MIN_NON_RHYMING_LINES",
    "RHYME_SHARE",
    "end_words",
    "is_non_rhyming_poem",
    "is_rhyming_poem",
    "rhyme_share",
    "words_rhyme",
]

RHYME_SHARE = 0.5
WINDOW = 3
MIN_NON_RHYMING_LINES = 4

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SPELLED_END = re.compile(r"[aeiouy]+[^aeiouy]*e?$")
_SILENT_E = re.compile(r"[aeiouy]+[^aeiouy]+e$")


def _is_title(line: str) -> bool:
    """True for a lead-in or title line ("Here's a poem:", "# Rain", "**Rain**")."""
    s = line.strip()
    return s.endswith(":") or s.startswith("#") or (s.startswith("**") and s.endswith("**"))


def end_words(text: str) -> list[str]:
    """The lower-case last word of every poem line (see the module docstring)."""
    lines = [line for line in text.splitlines() if line.strip()]
    while lines and _is_title(lines[0]):
        lines = lines[1:]
    words: list[str] = []
    for line in lines:
        found = _WORD.findall(line)
        if found:
            words.append(found[-1].lower().replace("'", ""))
    return words


_FINAL_STRESSED = re.compile(r"[A-Z]+[12](?: [^0-9 ]+)*$")


@lru_cache(maxsize=4096)
def _rhyming_parts(word: str) -> frozenset[str]:
    """CMUdict rhymes of ``word``: rhyming parts and stressed final syllables.

    A final syllable counts when its vowel carries stress (1 or 2), without
    the stress mark, so "sky" (AY1) rhymes with "lullaby" (... B AY2).
    Empty when the word is unknown.
    """
    from pronouncing import rhyming_part

    parts: set[str] = set()
    for phones in _pronunciations().get(word.lower(), ()):
        parts.add(rhyming_part(phones))
        final = _FINAL_STRESSED.search(phones)
        if final:
            parts.add("final:" + final.group(0).replace("1", "").replace("2", ""))
    return frozenset(parts)


@lru_cache(maxsize=1)
def _pronunciations() -> dict[str, list[str]]:
    """CMUdict as word -> pronunciations: loaded once per process, parsed once per machine."""
    from harness.define.classifiers.kept import kept

    return kept("cmudict", 1, ("pronouncing", "cmudict"), _parse_cmudict)


def _parse_cmudict() -> dict[str, list[str]]:
    import pronouncing

    pronouncing.init_cmu()
    return dict(pronouncing.lookup)


def _spelled_end(word: str) -> str:
    """The spelled ending used for unknown words: last vowel group + coda."""
    m = _SILENT_E.search(word) if len(word) > 3 else None
    if m is None:
        m = _SPELLED_END.search(word)
    return m.group(0) if m else word


@lru_cache(maxsize=16384)
def words_rhyme(a: str, b: str) -> bool:
    """True when lower-case words ``a`` and ``b`` rhyme (see module docstring)."""
    if a == b:
        return False
    pa, pb = _rhyming_parts(a), _rhyming_parts(b)
    if pa and pb:
        return bool(pa & pb)
    return _spelled_end(a) == _spelled_end(b)


def rhyme_share(words: list[str]) -> float:
    """Share of end words that rhyme with one within :data:`WINDOW` lines."""
    if not words:
        return 0.0
    hits = 0
    for i, word in enumerate(words):
        lo, hi = max(0, i - WINDOW), min(len(words), i + WINDOW + 1)
        hits += any(words_rhyme(word, words[j]) for j in range(lo, hi) if j != i)
    return hits / len(words)


def is_rhyming_poem(text: str) -> bool:
    """True when at least 2 lines and :data:`RHYME_SHARE` of them rhyme."""
    words = end_words(text)
    return len(words) >= 2 and rhyme_share(words) >= RHYME_SHARE


def is_non_rhyming_poem(text: str) -> bool:
    """True for a poem of :data:`MIN_NON_RHYMING_LINES`+ lines that does not rhyme."""
    words = end_words(text)
    return len(words) >= MIN_NON_RHYMING_LINES and rhyme_share(words) < RHYME_SHARE
