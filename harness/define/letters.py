"""Random-letter detection: is a reply "a string of random letters"?

The detector (:func:`is_random_letters`) works in layers, each
cheap and explainable; it needs no network and no model:

1. *Shape*: after normalization the reply must be 1-6 groups of ASCII letters
   separated by single spaces, with at least 3 letters and 2 distinct letters
   in all. Digits, code punctuation, underscores, sentences with punctuation,
   one/two letters and "zzzz"-style repeats are rejected here.
2. *Known keyboard mashes* are accepted outright, even where a dictionary lists
   them: a curated list ("asdf", "qwerty", "hjkl", "zxcv", ...), any run of 3+
   adjacent keys along one QWERTY row in either direction ("qwe rty uio",
   "lkjhgf"), and chains of 3-key columns/diagonals ("qazwsx", "plmokn").
3. *Words*: the reply is rejected when the whole string, or every group, is a
   word. A group is a word if it is a common one/two letter word, a well-known
   acronym ("NASA", "HTML") or interjection ("hmm", "zzz"), or it is in the
   lower-cased ``web2`` list (plain or with a regular inflection stripped:
   "letters" -> "letter"). ``web2`` holds very many obscure entries, and about
   7% of all 3-letter and 1% of all 4-letter strings are in it, so a hit on a
   group of 3-4 letters only counts when the group also *looks* English by
   step 4; from 5 letters on a hit is decisive.
4. *Character statistics*: a letter-trigram table is counted once from
   ``web2`` (with word-boundary marks). Real words, names and brands almost
   never contain a trigram that occurs in no ``web2`` word, and their mean
   trigram log-probability is high; random strings and mashes are the
   opposite. The string is random when any group of 2+ letters has no vowel
   (a, e, i, o, u, y) and is not a word, or at least a quarter of its
   trigrams are unseen, or one is unseen and the mean log2-probability is
   at most -5.5, or the mean is at most -6.5 whatever the count.

Thresholds were tuned on ``tests/data/classifier_labels.jsonl``. Pronounceable
made-up strings ("blorp", "kroo") are deliberately not counted as random: they
read as invented words, and accepting them would also accept real words that
are missing from the list.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from harness.define.normalize import normalize

# --------------------------------------------------------------------------
# random letters
# --------------------------------------------------------------------------

_LETTER_GROUPS = re.compile(r"[A-Za-z]+(?: [A-Za-z]+){0,5}")
_VOWELS = frozenset("aeiouy")

_KNOWN_MASHES = frozenset(
    {
        "asdf", "asdfg", "asdfgh", "asdfghjk", "asdfghjkl", "asdfjkl", "fdsa",
        "qwerty", "qwert", "qwertyuiop", "jkl", "hjkl", "zxcv", "zxcvb", "zxcvbnm",
        "qaz", "qazwsx", "qazwsxedc", "wasd", "jkjk", "fjfj", "dkdk", "fjdk",
    }
)  # fmt: skip
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Vertical columns and the down-left diagonals people sweep when mashing.
_KEY_STROKES = frozenset(
    {
        "qaz", "wsx", "edc", "rfv", "tgb", "yhn", "ujm",
        "plm", "okn", "ijb", "uhv", "ygc", "tfx", "rdz",
    }
)  # fmt: skip

# Common words of one or two letters; web2 lists almost every letter pair.
_SHORT_WORDS = frozenset(
    {
        "a", "i", "ah", "am", "an", "as", "at", "aw", "be", "by", "do", "eh", "go", "ha", "he",
        "hi", "ho", "id", "if", "in", "is", "it", "me", "mr", "ms", "my", "no", "of", "oh",
        "ok", "on", "or", "ox", "pa", "pi", "so", "to", "uh", "um", "up", "us", "we", "ya",
        "ye", "yo", "dr", "st", "jr", "mrs",
    }
)  # fmt: skip
_ACRONYMS = frozenset(
    {
        "ai", "api", "asap", "atm", "bbc", "btw", "cd", "cia", "cnn", "cpu", "css", "csv",
        "dc", "diy", "dna", "dvd", "eu", "faq", "fbi", "fyi", "gif", "gps", "gpu", "html",
        "http", "https", "ibm", "id", "idk", "imo", "jpeg", "jpg", "json", "lgbt", "llm",
        "lol", "mit", "mp", "nasa", "nato", "nba", "nfl", "nhs", "nlp", "nyc", "omg", "pc",
        "pdf", "php", "pin", "ppt", "rip", "rna", "rsvp", "sms", "sql", "tbd", "tbh", "tv",
        "uk", "un", "url", "usa", "usb", "vip", "vpn", "www", "xml",
    }
)  # fmt: skip
# Interjections (also as "hmmm", "shhh") and the few vowel-less dictionary words.
_INTERJECTIONS = re.compile(
    r"h+m+|m+h+m+|m{2,}|s+h+|z{2,}|b+r+|g+r+|p+s+t+|p+f+t+|t+s+k+|u+g+h+|a+r+g+h+"
    r"|(?:h[aeio])+h?|u+m+|u+h+|a+h+|o+h+|e+h+|m+e+h+|h+u+h+|w+o+w+|y+a+y+|o+o+p+s+"
    r"|p+h+e+w+|w+h+e+w+|h+m+p+h+|n+t+h|c+w+m|c+r+w+t+h"
)

_UNSEEN_SHARE = 0.25
_UNSEEN_MEAN = -5.5
_RANDOM_MEAN = -6.5


@dataclass(frozen=True)
class _Lexicon:
    """The web2 word set and its letter-trigram counts."""

    words: frozenset[str]
    trigrams: Counter[str]
    bigrams: Counter[str]


@lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    """Load web2 once (lazily: only the random-letter detector needs it)."""
    from english_words import get_english_words_set

    words = frozenset(w for w in get_english_words_set(["web2"], lower=True) if w.isalpha())
    trigrams: Counter[str] = Counter()
    for word in words:
        padded = f"^^{word}$"
        trigrams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    bigrams: Counter[str] = Counter()
    for tri, n in trigrams.items():
        bigrams[tri[:2]] += n
    return _Lexicon(words, trigrams, bigrams)


def _in_dictionary(word: str, words: frozenset[str]) -> bool:
    """True if ``word`` or its stem after a regular inflection is in ``words``."""
    if word in words:
        return True
    stems: list[str] = []
    if word.endswith("ies"):
        stems.append(word[:-3] + "y")
    if word.endswith("es"):
        stems.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        stems.append(word[:-1])
    for suffix in ("ed", "ing", "er", "est", "ly"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            stems += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                stems.append(stem[:-1])
    return any(len(s) >= 3 and s in words for s in stems)


def _is_keyboard_mash(group: str) -> bool:
    """True for a known mash, a 3+ key run along one row, or chained key strokes."""
    if group in _KNOWN_MASHES:
        return True
    if len(group) >= 3 and any(group in row or group in row[::-1] for row in _KEY_ROWS):
        return True
    if len(group) >= 6 and len(group) % 3 == 0:
        chunks = [group[i : i + 3] for i in range(0, len(group), 3)]
        return all(c in _KEY_STROKES or c[::-1] in _KEY_STROKES for c in chunks)
    return False


@dataclass(frozen=True)
class _CharStats:
    """Trigram statistics of a list of groups."""

    trigrams: int
    unseen: int
    mean_logp: float


def _char_stats(groups: Sequence[str], lex: _Lexicon) -> _CharStats:
    """Count unseen trigrams and the mean log2 P(c | two previous) over ``groups``."""
    total = 0
    unseen = 0
    logp = 0.0
    for group in groups:
        padded = f"^^{group}$"
        for i in range(len(padded) - 2):
            tri = padded[i : i + 3]
            n = lex.trigrams[tri]
            total += 1
            unseen += n == 0
            logp += math.log2((n + 0.5) / (lex.bigrams[tri[:2]] + 0.5 * 27))
    return _CharStats(total, unseen, logp / total if total else 0.0)


def _looks_random(groups: Sequence[str], lex: _Lexicon) -> bool:
    """Character-level verdict on lower-case ``groups`` (see module docstring)."""
    stats = _char_stats(groups, lex)
    if stats.unseen >= _UNSEEN_SHARE * stats.trigrams:
        return True
    if stats.unseen >= 1 and stats.mean_logp <= _UNSEEN_MEAN:
        return True
    return stats.mean_logp <= _RANDOM_MEAN


def _is_known_token(group: str) -> bool:
    """True for short words, acronyms and interjections that need no dictionary."""
    if group in _SHORT_WORDS or group in _ACRONYMS:
        return True
    return _INTERJECTIONS.fullmatch(group) is not None


def _is_word(group: str, lex: _Lexicon) -> bool:
    """True if lower-case ``group`` counts as a real word (see step 3)."""
    if _is_known_token(group):
        return True
    if len(group) < 3 or not _in_dictionary(group, lex.words):
        return False
    if len(group) >= 5:
        return True
    return bool(_VOWELS & set(group)) and not _looks_random([group], lex)


def is_random_letters(text: str) -> bool:
    """True when the reply is a string of random letters ("xqzjv", "asdf jkl").

    See the module docstring for the rule; in short: letters only (up to six
    space-separated groups, 3+ letters), not a word or phrase, and either a
    known keyboard mash or un-English at the character level.
    """
    answer = normalize(text)
    if not _LETTER_GROUPS.fullmatch(answer):
        return False
    groups = answer.lower().split(" ")
    letters = "".join(groups)
    if len(letters) < 3 or len(set(letters)) < 2:
        return False
    if letters in _KNOWN_MASHES or all(_is_keyboard_mash(g) for g in groups):
        return True
    lex = _lexicon()
    if len(groups) > 1 and len(letters) >= 5 and _in_dictionary(letters, lex.words):
        return False  # a word split by spaces, e.g. "ba nana"
    word_flags = [_is_word(g, lex) for g in groups]
    if all(word_flags):
        return False
    if any(
        len(g) >= 2 and not (_VOWELS & set(g)) and not is_word
        for g, is_word in zip(groups, word_flags, strict=True)
    ):
        return True
    return _looks_random(groups, lex)
