"""Answer extraction: the part of a reply that answers the protocol.

Chat models rarely reply with the bare token. They open with a pleasantry
("Sure, happy to play along!"), a lead-in ("Let me guess...", "Going with my
gut:") or an answer phrase ("I'll take", "I'm going to say"), and they follow
the answer with commentary, on the same line ("1 — just a hunch",
"zero (pure intuition)") or in later paragraphs ("1\\n\\nI picked 1 since
..."). :func:`answer` returns the bare answer the protocol classifiers test:

1. **Segments.** The body of each fenced code block is one segment; the rest
   of the reply is split into lines. Blank lines, markdown rules (``---``,
   ``***``, ``___``) and stray fence lines are dropped; block-quote marks,
   heading marks, list bullets and arrows (``>``, ``#``, ``-``, ``•``, ``→``)
   are removed from the start of a line.
2. **Lead-in segments are skipped:** a segment that consists only of
   pleasantry sentences ("Happy to participate!", "Of course! I'll play."),
   a heading without an answer token, or a line ending in a colon ("Here's a
   string of random letters:").
3. **The first remaining segment is the answer candidate;** every later
   segment, and every skipped lead-in, is commentary.
4. **Front of the candidate.** Repeatedly removed until nothing changes:
   wrappers (quotes, emphasis, trailing punctuation; see
   :func:`~.normalize.normalize`), leading pleasantry sentences, answer labels
   and phrases ("My guess is", "Answer:", "I'll take", "Let's go with",
   "Going with", "I'm going to say", "I'd guess", "Guessing:", "I think
   you're thinking of") and lead-in clauses: up to eight real words without
   a digit, "zero", "one", "or" or a hedge, ending in ``:``, ``...`` or, when
   they name the answer ("here's a random string"), a dash or arrow.
5. **Back of the candidate.** A trailing remark is cut at the first
   `` — ``, `` – ``, `` - ``, opening parenthesis, sentence end followed by
   more text, or comma followed by a word ("1, please"), and joins the
   commentary; trailing filler ("here", "this time", "I think") is dropped.
   The rest, normalized, is the answer.
6. **Commentary** is ignored unless it offers a *different* protocol answer
   as an alternative, which makes the reply ambiguous and the answer empty:
   a commentary piece that is by itself a different answer or number
   ("1\\n0", "zero\\n\\n1", "1\\n\\nxqzvt", "1\\n\\n2"), or a different answer
   token named within four words after a hedge ("or", "either", "maybe",
   "actually", "instead", "could", "wait", "no", ...) or in a question ("Was
   it 1?"), unless it directly follows a comparison ("more likely than 0",
   "instead of 1"). The answer tokens are 1/"one" for a 0-answer, 0/"zero"
   for a 1-answer and any of them for a random string, so "(that means my
   guess is 0)" after a random string, or "I chose 1 over 0" after "1",
   leave the answer alone.

Multi-answer candidates ("1 or zero"), sentences, questions and chatter are
not cut down to an answer, so the protocol classifiers reject them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .normalize import LABEL_WORDS, normalize, strip_label, strip_wrappers
from .words import is_word

__all__ = ["Extraction", "answer", "extract"]

_FENCE_BLOCK = re.compile(r"```[\w+-]*[ \t]*\n(?P<body>.*?)\n?[ \t]*```", re.DOTALL)
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$|^\s*```[\w+-]*\s*$")
_ARROW = r"(?:→|->|=>|⇒)\s*"
_LINE_MARK = re.compile(rf"^\s*(?:>\s*|#{{1,6}}\s+|[-•·*]\s+|{_ARROW})+")
_LEADING_ARROW = re.compile(rf"^{_ARROW}")
# Emoji and pictographs before the answer ("🎲 xqzt", "👉 1") and keycap digits ("1️⃣").
_KEYCAP = re.compile(r"([0-9])\ufe0f?\u20e3")
_SYMBOLS = r"[\u2190-\u21ff\u2300-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u200d]"
# An acknowledgement with an emoji instead of punctuation: "Sure thing ✨ Zero", "Okay 👍 x".
_ACK_SYMBOL = re.compile(
    r"^(?:sure(?:\s+thing)?|okay|ok|alright|all\s+right|here\s+goes|here\s+you\s+go"
    rf"|here\s+it\s+is|got\s+it|done)\s*[!.,]?\s*{_SYMBOLS}+\s*(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
_LEADING_SYMBOLS = re.compile(rf"^{_SYMBOLS}+\s*")
# A numbered list ("1. Pick a number" then "2. ..."): list markers, not answers.
_LIST_ITEM = re.compile(r"^\s*(?P<n>\d+)[.)]\s+\S")
# A turn of a transcript the model writes for the other speaker ("User: 1", "Q: ...").
_OTHER_SPEAKER = re.compile(r"^(?:user|human|q|question|experimenter)\s*:", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s")
_TOKEN = re.compile(r"(?<![\w.])[01](?![\w]|[.,]\d)|\b(?:zero|one)\b", re.IGNORECASE)
_CONTRAST = re.compile(
    r"(?<!nothing )\b(?:but|though|however|although|not|cannot|unable|afraid|sorry|or|either)\b"
    r"|n't\b",
    re.IGNORECASE,
)
_LETTER_RUN = re.compile(r"[A-Za-z]+")

# Sentences that only greet, agree or enthuse: "Sure, happy to play along!".
_PLEASANTRY_OPENER = re.compile(
    r"^(?:oh|ooh|ah|aw|yay|wow|yes|sure|okay|ok|alright|all\s+right|of\s+course|absolutely"
    r"|certainly|definitely|gladly|happily|great|awesome|nice|cool|fun|perfect|interesting"
    r"|hmm+|well|got\s+it|understood|noted|challenge\s+accepted|count\s+me\s+in|you\s+got\s+it"
    r"|no\s+problem|why\s+not|here\s+goes|drumroll|let\s+me\s+(?:think|see)|let'?s\s+see"
    r"|sounds|love|i\s+love|happy|glad|delighted|thanks"
    r"|thank\s+you|let'?s\s+(?:do|play|try)\s+(?:it|this)|i'?ll\s+play|i'?m\s+(?:happy|glad|game"
    r"|in|ready|excited|delighted)|i'?d\s+(?:be\s+(?:happy|glad|delighted)|love)"
    r"|(?:that|this|what|how)\b.{0,40}?\b(?:fun|great|interesting|cool|neat|nice|exciting"
    r"|intriguing|challenge|game|experiment|idea|question|setup))\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"^(?P<sentence>[^.!?…\n]*?[^\s.!?…][.!…]+)(?:\s+(?P<rest>\S.*))?$",
                       re.DOTALL)  # fmt: skip
_PLEASANTRY_MAX_WORDS = 12

# Answer phrases not covered by the labels of :func:`~.normalize.normalize`.
_ANSWER_PHRASE = re.compile(
    r"^(?:i(?:'ll|\s+will)\s+(?:take|go\s+for|opt\s+for|pick|choose|say|guess|go\s+with)"
    r"|let'?s\s+(?:go\s+with|say)|let\s+me\s+(?:go\s+with|say)"
    r"|(?:i'?m\s+)?(?:going\s+to|gonna)\s+(?:guess|say|go\s+with|pick|choose)"
    r"|(?:i'?m\s+)?going\s+with|guessing|i'?d\s+(?:guess|say|pick|choose|go\s+with)"
    r"|(?:i\s+(?:think|believe|bet)\s+)?you'?re\s+thinking\s+(?:of|about)(?:\s+the\s+number)?"
    r"|(?:i\s+(?:think|believe|bet)\s+)?the\s+(?:number|digit)\s+(?:that\s+)?"
    r"you(?:'?re|\s+are|'?ve|\s+have)?\s+(?:thinking\s+(?:of|about)|picked|chose|chosen"
    r"|have\s+in\s+mind|in\s+mind)\s+is"
    r"|(?:my\s+)?(?:gut|instinct|intuition|hunch)\s+(?:says|tells\s+me)"
    r"|(?:i'?m\s+)?leaning\s+towards?|my\s+(?:pick|guess|answer|choice)\s+(?:would|will)\s+be)"
    r"\s*[:\-–—]?\s+(?P<rest>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)
# "Going with my gut: x", "Let me guess... x", "Okay, here's a random string — x".
_LEAD_IN = re.compile(
    r"^(?P<prefix>[^:\n(]{1,80}?)\s*(?P<sep>:|\.{3}|…|\s[—–-]|—|–|→)\s*(?P<rest>\S.*)$", re.DOTALL
)
_LEAD_IN_MAX_WORDS = 8

# Where a trailing remark starts: a dash, a parenthesis, a sentence end or a comma.
_REMARK_START = re.compile(r"\s+[-–—]\s+|\s*[—–]\s*|\s+\(|(?<=[.!?…])\s+(?=\S)|,\s+(?=[A-Za-z])")
# Filler after the answer: "I'd guess 1 here", "zero this time", "1 I think".
_FILLER = re.compile(
    r"\s+(?:here|then|again|please|this\s+time|for\s+now|i\s+think|i\s+guess|i'?d\s+say)$",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(?:or|either|maybe|perhaps|possibly|probably|actually|instead|rather|alternatively"
    r"|could|might|wait|change|changed|switch|kidding|scratch|second\s+thought|correction"
    r"|no|nope)\b"
    r"(?P<gap>(?:\W+\w+){0,4}?)\W+(?P<token>[01]|zero|one)\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(r"\b(?:than|over|of|not|vs|versus|from)\W*$", re.IGNORECASE)
_QUESTION = re.compile(r"(?P<token>(?<![\w.])[01](?!\w)|\b(?:zero|one)\b)[^.!?\n]*\?",
                       re.IGNORECASE)  # fmt: skip
_VALUES = {"1": "1", "one": "1", "0": "0", "zero": "0"}


@dataclass
class Extraction:
    """The answer of a reply and the commentary around it."""

    answer: str
    commentary: list[str] = field(default_factory=list)
    ambiguous: bool = False


def _segments(text: str) -> list[str]:
    """Fence bodies and lines, in order, without blank lines and markdown rules."""
    out: list[str] = []
    pos = 0
    for m in _FENCE_BLOCK.finditer(text):
        out += _lines(text[pos : m.start()])
        body = m.group("body").strip()
        if body:
            out.append(body)
        pos = m.end()
    return out + _lines(text[pos:])


def _lines(text: str) -> list[str]:
    """Non-blank lines without rules, stray fences and leading line marks."""
    out = []
    for line in text.replace("’", "'").splitlines():
        if not line.strip() or _RULE.match(line):
            continue
        heading = bool(_HEADING.match(line))
        line = _LINE_MARK.sub("", line).strip()
        if line:
            out.append(("# " if heading else "") + line)
    return out


def _all_words(text: str) -> bool:
    """True when every letter run of 3+ letters in ``text`` is a real word."""
    return all(is_word(run) for run in _LETTER_RUN.findall(text) if len(run) >= 3)


def _drop_pleasantry(text: str) -> str:
    """Remove one leading pleasantry sentence ("Happy to play!"), if any."""
    m = _SENTENCE.match(text)
    if not m:
        return text
    sentence = m.group("sentence")
    if (
        _PLEASANTRY_OPENER.match(sentence.lstrip("*_ "))
        and len(sentence.split()) <= _PLEASANTRY_MAX_WORDS
        and not _TOKEN.search(sentence)
        and not re.search(r"\d", sentence)
        and not _CONTRAST.search(sentence)
        and _all_words(sentence)
    ):
        return m.group("rest") or ""
    return text


def _drop_lead_in(text: str) -> str:
    """Remove one lead-in clause ("Going with my gut:", "Let me guess..."), if any."""
    m = _LEAD_IN.match(text)
    if not m:
        return text
    prefix, sep = m.group("prefix").strip(" *_,"), m.group("sep").strip()
    if (
        not prefix
        or len(prefix.split()) > _LEAD_IN_MAX_WORDS
        or re.search(r"\d", prefix)
        or _TOKEN.search(prefix)
        or _CONTRAST.search(prefix)
        or not _all_words(prefix)
    ):
        return text
    if sep not in (":", "...", "…") and not LABEL_WORDS.search(prefix):
        return text  # "xkqzt — just a hunch" keeps its answer
    return m.group("rest")


def _strip_front(text: str) -> str:
    """Strip wrappers, pleasantries, labels, answer phrases and lead-ins until stable."""
    current = text
    while True:
        nxt = _LEADING_ARROW.sub("", _drop_pleasantry(current.strip()))
        acknowledged = _ACK_SYMBOL.match(nxt)
        if acknowledged:
            nxt = acknowledged.group("rest")
        nxt = strip_wrappers(_LEADING_SYMBOLS.sub("", nxt))
        m = _ANSWER_PHRASE.match(nxt)
        if m:
            nxt = m.group("rest")
        nxt = _drop_lead_in(nxt)
        if not _is_remark_label(nxt):
            nxt = strip_label(nxt)
        if nxt == current:
            return nxt
        current = nxt


def _is_remark_label(text: str) -> bool:
    """True when a colon comes after a remark ("xkqzt (guess: 0)"), not after a label."""
    head = text.split(":", 1)[0]
    return ":" in text and ("(" in head or bool(re.search(r"\s[—–-]\s|[—–]", head)))


def _split_remark(text: str) -> tuple[str, str]:
    """Cut ``text`` into the answer and a trailing remark (possibly empty)."""
    for m in _REMARK_START.finditer(text):
        head = text[: m.start()].strip()
        if strip_wrappers(head):
            return _FILLER.sub("", head), text[m.start() :].strip(" ,")
    return _FILLER.sub("", strip_wrappers(text)), ""


def _is_lead_in_segment(segment: str) -> bool:
    """A pleasantry-only line, a heading without an answer, or a line ending in a colon."""
    if segment.startswith("# "):
        return not _TOKEN.search(segment)
    if segment.rstrip("*_ ").endswith(":"):
        return True
    rest = segment.strip()
    if rest[-1:].isalnum():
        rest += "."  # a bare "Sure" or "Hmm" line ends its sentence
    while strip_wrappers(rest):
        nxt = _drop_pleasantry(rest).strip()
        if nxt == rest:
            return False
        rest = nxt
    return True


def _kind(bare: str) -> str:
    """The guess a bare answer stands for: "1", "0", "r" (letters), another number or ""."""
    low = bare.lower()
    if low in _VALUES:
        return _VALUES[low]
    if bare.isdigit():
        return bare  # another number: "1\n\n2" is no single answer
    if _LETTER_RUN.fullmatch(bare) and len(bare) >= 3 and not is_word(bare):
        return "r"
    return ""


def _different(token: str, kind: str) -> bool:
    """True when answer ``token`` is another protocol answer than one of ``kind``."""
    return _VALUES[token.lower()] != kind


def _offers_alternative(piece: str, kind: str) -> bool:
    """True when a commentary piece names a different answer as an alternative."""
    inner = piece.strip("()[] ")
    bare = normalize(inner) if kind in ("0", "1") else strip_wrappers(inner)
    other = _kind(bare)
    if other and other != kind:
        return True
    for m in _HEDGE.finditer(piece):
        before = piece[: m.start("token")]
        if _different(m.group("token"), kind) and not _COMPARISON.search(before):
            return True
    return any(_different(m.group("token"), kind) for m in _QUESTION.finditer(piece))


def _is_list(segments: list[str]) -> bool:
    """True when the reply is a numbered list: an item "1." and a later item "2."."""
    numbers = [m.group("n") for m in map(_LIST_ITEM.match, segments) if m]
    return "1" in numbers and "2" in numbers


def _is_bare_answer(segment: str) -> bool:
    """A segment that is exactly an answer: 1, 0, zero, one or a random-looking string."""
    bare = strip_wrappers(segment.removeprefix("# "))
    return bare == normalize(bare) and _kind(bare) in ("1", "0", "r")


def extract(text: str) -> Extraction:
    """The answer of ``text`` and its commentary; see the module docstring."""
    segments = _segments(_KEYCAP.sub(r"\1", text))
    commentary: list[str] = []
    index = 0
    while index < len(segments) and _is_lead_in_segment(segments[index]):
        commentary.append(segments[index].removeprefix("# "))
        index += 1
    if index == len(segments) or _OTHER_SPEAKER.match(segments[index]) or _is_list(segments):
        return Extraction("", commentary + segments[index:])
    if not _is_bare_answer(segments[index]):
        # a sentence stating the guess, then the bare answer on its own line: the line wins
        bare_lines = (j for j in range(index + 1, len(segments)) if _is_bare_answer(segments[j]))
        later = next(bare_lines, 0)
        if later:
            commentary += segments[index:later]
            index = later
    head, remark = _split_remark(_strip_front(segments[index].removeprefix("# ")))
    bare = normalize(head)
    commentary += ([remark] if remark else []) + segments[index + 1 :]
    kind = _kind(bare) or "r"
    ambiguous = any(_offers_alternative(piece, kind) for piece in commentary)
    return Extraction("" if ambiguous else bare, commentary, ambiguous)


@lru_cache(maxsize=65536)
def answer(text: str) -> str:
    """The bare answer of a reply, or "" when it has none or is ambiguous.

    Memoized: every protocol classifier of a category list reads it, and a run
    labels each draw again after every batch.
    """
    return extract(text).answer
