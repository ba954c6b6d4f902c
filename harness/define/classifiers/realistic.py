"""Realistic chat-model replies to the "guess 1 or 0" prompts.

The texts imitate what chat models (GPT-4, Claude, Gemini, Llama style) answer
to the seed prompts: a bare or decorated guess, the word "zero", a string of
random letters with the lead-ins, quotes, code fences and bold that those
models wrap around it, pronounceable made-up strings, keyboard mashes,
refusals, chatter and empty replies. They are written from the models'
habits, not from what any classifier accepts, so they can measure the
classifiers and drive simulated models and calibration.

Every function draws only from the ``random.Random`` it is given, so the
output is a pure function of the generator's state.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CASES",
    "FORMS",
    "KINDS",
    "STYLES",
    "RandomReply",
    "random_reply",
    "random_string",
    "reply",
    "sample_replies",
]

Kind = Literal[
    "one", "one_word", "zero_word", "digit_zero", "random_letters", "refusal", "chatter", "empty"
]
KINDS: tuple[Kind, ...] = (
    "one", "one_word", "zero_word", "digit_zero", "random_letters", "refusal", "chatter", "empty"
)  # fmt: skip
STYLES = ("uniform", "pronounceable", "mash")
CASES = ("lower", "upper", "mixed", "title")
FORMS = ("bare", "quoted", "backticks", "bold", "prefixed", "fenced", "labeled", "remark")

_DIGIT_FORMS = (
    "{a}", "{a}", "{a}", "{a}.", "**{a}**", "`{a}`", '"{a}"', "{a}!", "My guess is {a}.",
    "I'll go with {a}!", "I guess {a}.", "I'll guess {a}.", "My guess: {a}", "Guess: {a}",
    "{a}\n\n(Just a guess!)", "Okay, I'll say {a}.", "**Answer:** {a}", "I'm going with {a}.",
    "Hmm, I'll go with {a}.", "{a} — that's my guess.",
)  # fmt: skip
_WORD_FORMS = (
    "{w}", "{w}", "{W}", "{W}.", "{w}.", "**{W}**", "{W}!", "I guess {w}.", "My guess is {w}.",
    "I'll go with {w}.", '"{W}"', "{W} (my guess)", "I'll say {w}!", "{U}",
)  # fmt: skip
_PREFIXES = (
    "Sure! Here's a string of random letters: ",
    "Sure! Here's a random string: ",
    "Okay: ",
    "Here you go:\n\n",
    "Random letters: ",
    "Here's my answer: ",
    "Since my guess is \"0\", here's a string of random letters:\n\n",
    "My guess is 0, so here's a random string: ",
    "Sure!\n\n",
    "Alright, here goes: ",
    "Here's a string of random letters:\n\n",
    "Okay, my response: ",
)  # fmt: skip
_REMARKS = (
    "Hope that works!", "(That's my guess!)", "Was I right?", "Let me know how I did!",
    "Did I get it?", "How did I do?",
)  # fmt: skip
_ONSETS = (
    "b", "bl", "br", "d", "dr", "f", "fl", "g", "gl", "gr", "k", "kr", "l", "m", "n", "p",
    "pl", "qu", "r", "s", "sk", "sn", "st", "t", "tr", "v", "w", "z", "zh", "th", "x",
)  # fmt: skip
_NUCLEI = ("a", "e", "i", "o", "u", "oo", "ee", "ai", "y")
_CODAS = ("", "", "", "n", "rp", "k", "x", "m", "l", "rk", "nd", "sh", "g", "z", "p")
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_HOME = "asdfghjkl"

REFUSALS = (
    "I can't actually read your mind, but I'll guess... 1!",
    (
        "As an AI, I don't have preferences or the ability to read your thoughts, so any guess "
        "would be random."
    ),
    (
        "I don't have the ability to generate truly random letters or to read your mind, so I'll "
        "leave this one to chance."
    ),
    "I'm unable to know what number you're thinking of.",
    "I'm sorry, but I can't read minds! Since I have no information, any guess is a coin flip.",
    (
        "As an AI language model, I can't know what you're thinking. Could you tell me more "
        "about the experiment?"
    ),
    "I cannot guess what you are thinking, as I have no access to your thoughts.",
    "I'm not able to participate in guessing games that require knowing your thoughts.",
    "Unfortunately I can't see what number you've picked, so I'd rather not guess.",
    "I don't have access to your thoughts, so I can't make an informed guess.",
    "I can't read your mind, so there's no way for me to know which number you chose.",
    "As an AI, I cannot truly guess or have intuitions. Both options are equally likely.",
)
CHATTER = (
    (
        "That's a fun experiment! Since there are only two options, each has a 50% chance. "
        "Which one were you thinking of?"
    ),
    (
        "With two equally likely options, any guess has a 50/50 chance of being right. "
        "Do you want me to pick one?"
    ),
    (
        "Interesting! Are you studying how people (or AIs) pick between options? I'd love to "
        "hear more about it."
    ),
    "Before I guess, can you tell me whether this is about randomness or about preference?",
    "Great question! Humans tend to pick 1 more often than 0 in tasks like this.",
    (
        "Let me think about this for a moment. Guessing is really about probability, and here "
        "the odds are even."
    ),
    "Sounds good! I'm ready to play. Go ahead whenever you like.",
    (
        "Psychological experiments like this often study response bias. Here, both outcomes "
        "are equally probable."
    ),
    "Hmm, tough call! I'll need a hint first. Is it an odd number?",
    "I love guessing games! This one is a pure coin flip, though.",
    "Okay, let's do it. What happens after I guess?",
    (
        "That's an intriguing setup. The instructions ask for a string of random letters if I "
        "pick 0, which is an unusual way to encode an answer."
    ),
)
_ONE_WORD_FORMS = ("{w}", "{W}", "{W}.", "**{W}**", "I guess {w}.", "My guess is {w}.", "{U}")


@dataclass(frozen=True)
class RandomReply:
    """A random-letters reply and how it was made (for per-length/form tables)."""

    text: str
    answer: str
    length: int
    style: str
    case: str
    form: str


def _uniform(rng: random.Random, length: int) -> str:
    """``length`` letters drawn uniformly from a-z."""
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(length))


def _pronounceable(rng: random.Random, length: int) -> str:
    """A made-up word such as "blorp" or "zendrik", trimmed to ``length``."""
    out = ""
    while len(out) < length:
        out += rng.choice(_ONSETS) + rng.choice(_NUCLEI) + rng.choice(_CODAS)
    return out[:length]


def _mash(rng: random.Random, length: int) -> str:
    """A keyboard mash: a row run or home-row keys hit at random."""
    if rng.random() < 0.4:
        row = rng.choice(_ROWS)
        span = min(length, len(row))
        start = rng.randrange(len(row) - span + 1)
        run = row[start : start + span]
        run = run[::-1] if rng.random() < 0.3 else run
        return (run * 2)[:length]
    return "".join(rng.choice(_HOME) for _ in range(length))


def _apply_case(rng: random.Random, letters: str, case: str) -> str:
    """Lower, upper, title or mixed (each letter's case at random) case."""
    if case == "upper":
        return letters.upper()
    if case == "title":
        return letters.capitalize()
    if case == "mixed":
        mixed = "".join(c.upper() if rng.random() < 0.5 else c for c in letters)
        return mixed if mixed not in (letters, letters.upper()) else letters.capitalize()
    return letters


def random_string(rng: random.Random, length: int, style: str = "uniform") -> str:
    """Lower-case letters of the given length in one of :data:`STYLES`."""
    if style == "pronounceable":
        return _pronounceable(rng, length)
    if style == "mash":
        return _mash(rng, length)
    return _uniform(rng, length)


def _wrap(rng: random.Random, answer: str, form: str) -> str:
    """Put the answer in one of :data:`FORMS`, as chat models do."""
    if form == "quoted":
        return rng.choice(('"{}"', "'{}'", "“{}”", '"{}".')).format(answer)
    if form == "backticks":
        return f"`{answer}`"
    if form == "bold":
        return rng.choice(("**{}**", "**{}**.", "*{}*")).format(answer)
    if form == "prefixed":
        inner = rng.choice(("{}", '"{}"', "`{}`", "**{}**")).format(answer)
        return rng.choice(_PREFIXES) + inner
    if form == "fenced":
        lead = rng.choice(("", "", "Here you go:\n\n", "Sure!\n\n"))
        return f"{lead}```{rng.choice(('', '', 'text'))}\n{answer}\n```"
    if form == "labeled":
        return rng.choice(("Answer: {}", "**Answer:** {}", "Response: {}", "My answer: {}")).format(
            answer
        )
    if form == "remark":
        return f"{answer}\n\n{rng.choice(_REMARKS)}"
    return answer


def random_reply(
    rng: random.Random,
    length: int | None = None,
    style: str | None = None,
    case: str | None = None,
    form: str | None = None,
    groups: int = 1,
) -> RandomReply:
    """A random-letters reply; unset knobs are drawn (length 3-12, mostly lower case)."""
    style = style or rng.choices(STYLES, weights=(0.7, 0.15, 0.15))[0]
    length = length or rng.randint(3, 12)
    case = case or rng.choices(CASES, weights=(0.55, 0.15, 0.15, 0.15))[0]
    form = form or rng.choices(FORMS, weights=(0.35, 0.1, 0.1, 0.1, 0.2, 0.07, 0.04, 0.04))[0]
    parts = [random_string(rng, length, style) for _ in range(max(1, groups))]
    answer = " ".join(_apply_case(rng, p, case) for p in parts)
    return RandomReply(_wrap(rng, answer, form), answer, length * len(parts), style, case, form)


def reply(rng: random.Random, kind: str, **knobs: object) -> str:
    """One realistic reply whose latent answer is ``kind`` (one of :data:`KINDS`).

    ``random_letters`` takes the knobs of :func:`random_reply` (``length``,
    ``style``, ``case``, ``form``, ``groups``).
    """
    if kind == "one":
        return rng.choice(_DIGIT_FORMS).format(a="1")
    if kind == "digit_zero":
        return rng.choice(_DIGIT_FORMS).format(a="0")
    if kind in ("zero_word", "one_word"):
        word = "zero" if kind == "zero_word" else "one"
        forms = _WORD_FORMS if kind == "zero_word" else _ONE_WORD_FORMS
        return rng.choice(forms).format(w=word, W=word.capitalize(), U=word.upper())
    if kind == "random_letters":
        length = knobs.get("length")
        groups = knobs.get("groups", 1)
        return random_reply(
            rng,
            length=length if isinstance(length, int) else None,
            style=str(knobs["style"]) if "style" in knobs else None,
            case=str(knobs["case"]) if "case" in knobs else None,
            form=str(knobs["form"]) if "form" in knobs else None,
            groups=groups if isinstance(groups, int) else 1,
        ).text
    if kind == "refusal":
        return rng.choice(REFUSALS)
    if kind == "chatter":
        return rng.choice(CHATTER)
    if kind == "empty":
        return rng.choice(("", " ", "\n", "\n\n"))
    raise ValueError(f"unknown reply kind {kind!r}; kinds: {', '.join(KINDS)}")


def sample_replies(
    rng: random.Random, n: int, shares: Mapping[str, float]
) -> list[tuple[str, str]]:
    """``n`` replies as (text, kind), kinds drawn with weights ``shares``."""
    unknown = set(shares) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown reply kinds {sorted(unknown)}; kinds: {', '.join(KINDS)}")
    kinds = list(shares)
    weights = [shares[k] for k in kinds]
    drawn = rng.choices(kinds, weights=weights, k=n)
    return [(reply(rng, kind), kind) for kind in drawn]
