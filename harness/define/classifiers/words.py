"""What counts as a real English word: one rule shared by every classifier.

A lower-case token of ASCII letters is a **word** when any of these holds:

* it is in a curated list of short words, acronyms and interjections that
  chat models use ("ok", "idk", "NASA", "hmm", "shh", "zzz", ...), or of common
  non-English number, yes/no and greeting words ("uno", "dos", "oui", "nein",
  "zwei"): real language, which a reply of random letters is not;
* its Zipf frequency in wordfreq's English "large" list is at least the
  *common* threshold for its length: 4.0 for 3 letters, 3.0 for 4 letters,
  1.5 (every listed entry but the rarest) for 5 or more;
* it is also in the GCIDE dictionary (``english-words``) and its Zipf
  frequency is at least the *dictionary* threshold: 3.5 for 3 letters, 2.5
  for 4 letters, 1.0 for 5 or more;
* a regular inflection stripped ("letters" -> "letter") gives a word of 5+
  letters by the rules above.

Why length-dependent: the space of short strings is dense with real tokens.
Of all 17,576 three-letter strings about 67% are somewhere in wordfreq's large
list (names, abbreviations, typos), so a plain "is listed" test would call
most random 3-letter strings words. The thresholds keep the share of uniform
random strings taken for words near 3% at 3 letters, 0.5% at 4 and under
0.1% from 5 on, while keeping everyday words, names and brands (Zipf 3+) and
rare dictionary words of 5+ letters ("syzygy", "zugzwang", "quokka").
Zipf is log10 of frequency per billion words: 3 is once per million words.

Data ships in the wheels (wordfreq's ``large_en.msgpack.gz``; english-words'
GCIDE list); nothing is downloaded. The table is built once per process, on
first use (:func:`lexicon`, ``lru_cache``), in about 0.2 s.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path

__all__ = ["Lexicon", "is_word", "lexicon", "zipf"]

# (common, dictionary) Zipf thresholds by token length; 5 stands for 5+.
THRESHOLDS: dict[int, tuple[float, float]] = {3: (4.0, 3.5), 4: (3.0, 2.5), 5: (1.5, 1.0)}

SHORT_WORDS = frozenset(
    {
        "a", "i", "ah", "am", "an", "as", "at", "aw", "be", "by", "do", "eh", "go", "ha", "he",
        "hi", "ho", "id", "if", "in", "is", "it", "me", "mr", "ms", "my", "no", "of", "oh",
        "ok", "on", "or", "ox", "pa", "pi", "so", "to", "uh", "um", "up", "us", "we", "ya",
        "ye", "yo", "dr", "st", "jr", "mrs", "okay", "yes", "yep", "nope", "nah", "yay", "meh",
        "hmm", "hmmm", "shh", "zzz", "ugh", "huh", "wow", "oops", "argh", "phew", "hey", "ooh",
        "elk", "emu", "gnu", "yak", "ewe", "owl", "ant", "ape", "eel", "elf", "fig", "yam",
    }
)  # fmt: skip
ACRONYMS = frozenset(
    {
        "ai", "api", "asap", "atm", "bbc", "btw", "cd", "cia", "cnn", "cpu", "css", "csv",
        "dc", "diy", "dna", "dvd", "eu", "faq", "fbi", "fyi", "gif", "gps", "gpu", "html",
        "http", "https", "ibm", "idk", "imo", "jpeg", "jpg", "json", "lgbt", "llm", "lol",
        "mit", "nasa", "nato", "nba", "nfl", "nhs", "nlp", "nyc", "omg", "pc", "pdf", "php",
        "rip", "rna", "rsvp", "sms", "sql", "tbd", "tbh", "tv", "uk", "un", "url", "usa",
        "usb", "vip", "vpn", "www", "xml", "nan", "null", "foo", "bar", "baz",
    }
)  # fmt: skip
# Common non-English number words (0-10), yes/no and greetings: real language, never random.
FOREIGN_WORDS = frozenset(
    {
        "cero", "uno", "una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
        "diez", "zero", "un", "une", "deux", "trois", "quatre", "cinq", "sept", "huit", "neuf",
        "dix", "null", "nul", "eins", "ein", "eine", "zwei", "zwo", "drei", "vier", "sechs",
        "acht", "neun", "zehn", "nulla", "due", "tre", "quattro", "sei", "sette", "otto",
        "nove", "dieci", "um", "uma", "zwee", "een", "twee", "nol", "satu", "dua",
        "ichi", "ni", "san", "shi", "yon", "rei", "ling", "yi", "er", "odin", "dva",
        "nyet", "niet", "nein", "oui", "non", "ja", "nee", "si", "da", "hai", "iie", "sim",
        "hola", "ciao", "bonjour", "salut", "hallo", "gracias", "merci", "danke", "grazie",
        "adios", "nada", "nichts", "rien", "niente", "shunya", "ek", "sifr", "wahid",
    }
)  # fmt: skip
CURATED = SHORT_WORDS | ACRONYMS | FOREIGN_WORDS


@dataclass(frozen=True)
class Lexicon:
    """Zipf frequencies of English tokens and the GCIDE dictionary words."""

    zipf: dict[str, float]
    dictionary: frozenset[str]


def _wordfreq_buckets() -> list[list[str]]:
    """wordfreq's English "large" list as buckets of tokens, one per centibel.

    The packed file is read directly (it is gzip'd msgpack: a header, then one
    list of tokens per centibel of frequency), which avoids importing
    wordfreq's tokenizers; if the layout ever changes, wordfreq's own reader
    is used instead.
    """
    spec = importlib.util.find_spec("wordfreq")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / "large_en.msgpack.gz"
        if path.is_file():
            import msgpack

            data = msgpack.loads(gzip.decompress(path.read_bytes()), raw=False)
            header = data[0] if isinstance(data, list) and data else None
            if isinstance(header, dict) and header.get("format") == "cB":
                return [list(b) for b in data[1:]]
    from wordfreq import get_frequency_list

    return [list(b) for b in get_frequency_list("en", "large")]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Build the word table once per process (lazily, on first use)."""
    table: dict[str, float] = {}
    buckets = _wordfreq_buckets()
    # Bucket i holds tokens of frequency 10**(-i/100), i.e. Zipf 9 - i/100.
    # Fill rarest first so a token listed twice keeps its higher frequency.
    for i in range(len(buckets) - 1, -1, -1):
        table.update(zip(buckets[i], repeat(9.0 - i / 100)))
    from english_words import get_english_words_set

    words = frozenset(get_english_words_set(["gcide"], lower=True, alpha=True))
    return Lexicon(table, words)


def zipf(token: str) -> float:
    """Zipf frequency of a lower-case token in English (0.0 when unlisted)."""
    return lexicon().zipf.get(token, 0.0)


def _listed(token: str) -> bool:
    """True when ``token`` passes the frequency/dictionary rule for its length."""
    if len(token) < 3:
        return False
    common, in_dict = THRESHOLDS[min(len(token), 5)]
    z = zipf(token)
    return z >= common or (z >= in_dict and token in lexicon().dictionary)


def _stems(token: str) -> list[str]:
    """Candidate stems of ``token`` after one regular inflection."""
    stems: list[str] = []
    if token.endswith("ies"):
        stems.append(token[:-3] + "y")
    if token.endswith("es"):
        stems.append(token[:-2])
    if token.endswith("s") and not token.endswith("ss"):
        stems.append(token[:-1])
    for suffix in ("ed", "ing", "er", "est", "ly"):
        if token.endswith(suffix):
            stem = token[: -len(suffix)]
            stems += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                stems.append(stem[:-1])
    return [s for s in stems if len(s) >= 5]


def is_word(token: str) -> bool:
    """True when ``token`` (any case, letters only) is a real English word.

    See the module docstring for the rule and why it depends on length.
    """
    low = token.lower()
    if low in CURATED or _listed(low):
        return True
    return any(_listed(stem) for stem in _stems(low))
