"""Label a model's reply to the "guess 1 or 0" prompts with one category.

The control prompt asks for the word "zero" when the guess is 0; the treatment
prompt asks for "a string of random letters" instead. A hypothesis test counts
how often each arm produces each kind of reply, so every reply gets exactly one
label: the first matching category from the caller's list, else ``"refusal"``,
else ``"other"``.

All predicates first :func:`normalize` the reply, so markdown emphasis, quotes,
a trailing full stop or an "Answer:" label never change the label.

The random-letter detector (:func:`is_random_letters`) works in layers, each
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "BUILTIN_CLASSIFIERS",
    "classify",
    "is_digit_zero",
    "is_one",
    "is_random_letters",
    "is_refusal",
    "is_zero_word",
    "normalize",
]

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


# --------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------

BUILTIN_CLASSIFIERS: dict[str, Callable[[str], bool]] = {
    "one": is_one,
    "zero_word": is_zero_word,
    "digit_zero": is_digit_zero,
    "random_letters": is_random_letters,
    "refusal": is_refusal,
}


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
