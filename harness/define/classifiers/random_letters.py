"""The ``random_letters`` classifier: is the reply a string of random letters?

Definition. Take the *bare answer*, :func:`~.extract.answer`: pleasantry and
lead-in lines ("Sure!", "Here's a string of random letters:") are skipped,
and from the first remaining line or fenced block
:func:`~.normalize.normalize`-style stripping removes quotes, backticks,
markdown bold/italics, trailing punctuation, answer labels ("Answer:",
"Random letters:", "Okay, here's a random string —", "→") and a trailing
remark ("xqvbt (guess: 0)", "xqvbt\n\n(This corresponds to a guess of 0.)");
commentary that offers another answer ("xqvbt\n\nOr maybe 1?") leaves no
answer. The reply is random letters when the bare answer

1. is one run of ASCII letters, or up to six runs separated by single spaces
   or hyphens ("xq zvt", "Xk-jfq"), with at least 3 letters and 2 distinct
   letters in all (so "xq", "zzzz", digits, code and sentences are not); and
2. is not real language: some run is not a real word by
   :func:`~.words.is_word` (wordfreq Zipf frequency above a length-dependent
   threshold, the GCIDE dictionary, a curated list of short words, acronyms,
   interjections and common foreign number and yes/no words such as "uno",
   "dos", "oui", "nein"; see :mod:`.words`), and the runs joined are not one
   word split by spaces ("ba nana"); and
3. when there are several runs, it does not read as the start of a sentence:
   at most half of the runs are words, and the first run is not a function
   word ("In hyperrotation", "A baddestab", "f you would" are prose, while
   "FDKtb AS" and "bdr bit" are random).

Made-up pronounceable strings ("blorp", "Zendrik") therefore count as random:
the prompt asks for random letters and they are letters that form no word.
Keyboard mashes count as random even where a word list lists them, unless
they are common words (Zipf 3+): a curated list ("asdf", "qwerty", "hjkl",
"jkl", "zxcv", ...), runs of 3+ adjacent keys along one QWERTY row in either
direction ("qwe rty uio", "lkjhgf"), and chains of 3-key columns or
diagonals ("qazwsx", "plmokn").

Measured on ``tests/data/replies_labeled.jsonl`` by ``tests/define/test_classifiers.py``:
a uniform random string is taken for a word about 3% of the time at 3
letters and well under 1% from 4 letters on, which bounds recall there.
"""

from __future__ import annotations

import re

from .extract import answer
from .registry import classifier
from .words import is_word, zipf

__all__ = ["FUNCTION_WORDS", "is_keyboard_mash", "random_letters"]

_SHAPE = re.compile(r"[A-Za-z]+(?:[ \-][A-Za-z]+){0,5}")
_SEPARATOR = re.compile(r"[ \-]")
_COMMON_ZIPF = 3.0

KNOWN_MASHES = frozenset(
    {
        "asdf", "asdfg", "asdfgh", "asdfghjk", "asdfghjkl", "asdfjkl", "fdsa", "jkl", "hjkl",
        "qwerty", "qwert", "qwertyuiop", "zxcv", "zxcvb", "zxcvbnm", "qaz", "qazwsx",
        "qazwsxedc", "wasd", "jkjk", "fjfj", "dkdk", "fjdk", "sdfg", "dfgh", "fghj", "ghjk",
        "vbnm", "uiop", "yuiop", "lkj", "lkjh", "ljk", "jfjf", "ffs",
    }
)  # fmt: skip
_KEY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: Words that open a sentence: a run of letters after one is prose, not a random string.
FUNCTION_WORDS = frozenset(
    {
        "a", "an", "the", "in", "on", "of", "to", "i", "you", "it", "is", "my", "we", "this",
        "that", "and", "or", "for", "with", "at", "by", "so", "if", "but", "he", "she", "they",
    }
)  # fmt: skip
_KEY_STROKES = frozenset(
    {
        "qaz", "wsx", "edc", "rfv", "tgb", "yhn", "ujm",
        "plm", "okn", "ijb", "uhv", "ygc", "tfx", "rdz",
    }
)  # fmt: skip


def is_keyboard_mash(group: str) -> bool:
    """True for a known mash, a 3+ key run along one row, or chained key strokes."""
    group = group.lower()
    if group in KNOWN_MASHES:
        return True
    if len(group) >= 3 and any(group in row or group in row[::-1] for row in _KEY_ROWS):
        return True
    if len(group) >= 6 and len(group) % 3 == 0:
        chunks = [group[i : i + 3] for i in range(0, len(group), 3)]
        return all(c in _KEY_STROKES or c[::-1] in _KEY_STROKES for c in chunks)
    return False


def _groups(answer: str) -> list[str] | None:
    """The lower-case letter runs of a bare answer, or None when its shape fails."""
    if not _SHAPE.fullmatch(answer):
        return None
    groups = _SEPARATOR.split(answer.lower())
    letters = "".join(groups)
    if len(letters) < 3 or len(set(letters)) < 2:
        return None
    return groups


@classifier("random_letters")
def random_letters(text: str) -> bool:
    """True when the reply is a string of random letters ("xqzjv", ``Okay: "zmqpt"``).

    See the module docstring for the definition.
    """
    groups = _groups(answer(text))
    if groups is None:
        return False
    letters = "".join(groups)
    mash = letters in KNOWN_MASHES or all(is_keyboard_mash(g) for g in groups)
    if mash and zipf(letters) < _COMMON_ZIPF:
        return True
    if len(groups) > 1 and len(letters) >= 5 and is_word(letters):
        return False
    words = [is_word(g) for g in groups]
    if len(groups) > 1 and (2 * sum(words) > len(groups) or groups[0] in FUNCTION_WORDS):
        return False
    return not all(words)
