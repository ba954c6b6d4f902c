"""Simulated models (``sim/<profile>``): known answer shares, realistic reply text.

A simulated model reads the prompt and answers every shipped hypothesis in its
own terms:

* **The guessing protocol** ("if your guess is "1", respond with ...; if your
  guess is "0", respond with ..."): two options, each with the form it asks
  for: the bare digit, a given word ("zero", "one"), a string of random
  letters, a string of random digits or a random English word. The model
  guesses "1" with probability ``p_one``. When the chosen option asks for a
  random form it *avoids* it with probability ``avoidance`` (answering the
  other option instead) and goes off-protocol with probability ``refusal``
  (a refusal, or chatter about the request). Random letter strings have
  ``min_letters``-``max_letters`` letters.
* **A poem** ("write a short poem about ..."): a titled poem of four lines
  that rhymes (couplets) when asked to or when nothing is said, and does not
  when asked not to, except with probability ``avoidance`` (it drifts into
  rhyme anyway).
* Anything else gets chatter.

With probability ``chatter`` the model ignores the request and chats, in every
arm. Replies are written like a chat model's (decorated guesses, lead-ins,
quotes, fences, refusals, chatter), from
:mod:`harness.define.classifiers.realistic`, so the classifiers see realistic
text.

Every draw is a pure function of the request's seed and text, so runs are
reproducible. All outputs carry ``simulated: true`` in their metadata and the
model name ends in "(simulated)".

Profiles (every knob overridable by model argument, e.g.
``--model-arg sim/indifferent:avoidance=0.4``):

==============  =====  =========  =======  =======  =======
profile         p_one  avoidance  refusal  chatter  letters
==============  =====  =========  =======  =======  =======
indifferent     0.5    0          0        0        3-12
leaning         0.6    0          0        0        3-12
short-strings   0.5    0          0        0        3-5
chatty          0.5    0          0        0.3      3-12
refusing        0.5    0          1        0        3-12
avoidant        0.5    0.9        0        0        3-12
biased          0.8    0          0        0        3-12
noncompliant    0.5    0          0        1        3-12
==============  =====  =========  =======  =======  =======
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolChoice, ToolInfo
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.define.classifiers import realistic

PROFILES: dict[str, dict[str, Any]] = {
    "indifferent": {},
    "leaning": {"p_one": 0.6},
    "short-strings": {"min_letters": 3, "max_letters": 5},
    "chatty": {"chatter": 0.3},
    "refusing": {"refusal": 1.0},
    "avoidant": {"avoidance": 0.9},
    "biased": {"p_one": 0.8},
    "noncompliant": {"chatter": 1.0},
}

Form = Literal["literal", "word", "random", "digits", "english_word"]
RANDOM_FORMS: tuple[Form, ...] = ("random", "digits", "english_word")

#: Everyday words a model gives when asked for "a random English word".
ENGLISH_WORDS = (
    "lantern", "meadow", "pencil", "harbor", "velvet", "thunder", "giraffe", "marble",
    "orchard", "blanket", "compass", "pebble", "saddle", "window", "quartz", "breeze",
    "cactus", "ladder", "mirror", "tundra", "walnut", "canyon", "ribbon", "falcon",
)  # fmt: skip
_WORD_FORMS = ("{w}", "{W}", "{W}.", "**{W}**", '"{W}"', "My word: {w}", "Sure! {W}")
_DIGIT_FORMS = ("{d}", "{d}", "`{d}`", "**{d}**", "Here you go: {d}", "{d}\n\n(random digits)")
_POEM_CHATTER = (
    "I'd love to write a poem for you! Before I start, what mood are you after: calm, "
    "joyful or melancholy?",
    "Poetry is a wonderful way to capture a moment. Would you like a haiku, a sonnet or free "
    "verse?",
    "What a lovely request. Could you tell me a little more about what the poem should evoke?",
)
#: Couplet end words that rhyme (checked against CMUdict by the tests).
_RHYME_PAIRS = (
    ("light", "night"), ("sea", "free"), ("day", "away"), ("rain", "again"),
    ("sky", "by"), ("tree", "me"), ("stone", "alone"), ("song", "long"),
    ("gold", "old"), ("shore", "more"), ("bright", "flight"), ("glow", "slow"),
)  # fmt: skip
#: End words no two of which rhyme.
_PLAIN_ENDS = (
    "river", "window", "morning", "table", "silence", "orange", "harbor", "lantern",
    "shoulder", "kitchen", "meadow", "pocket", "journey", "garden", "whisper", "evening",
)  # fmt: skip
_LINES = (
    "The {topic} keeps its quiet {w}",
    "and something in me leans toward the {w}",
    "I carry the {topic} like a folded {w}",
    "until the hours settle into {w}",
    "a small bird counts the colors of the {w}",
    "we walk where the {topic} remembers {w}",
)


class SimParams(BaseModel):
    """The behavior of a simulated model (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p_one: float = Field(default=0.5, ge=0.0, le=1.0)
    avoidance: float = Field(default=0.0, ge=0.0, le=1.0)
    refusal: float = Field(default=0.0, ge=0.0, le=1.0)
    chatter: float = Field(default=0.0, ge=0.0, le=1.0)
    min_letters: int = Field(default=3, ge=1)
    max_letters: int = Field(default=12, ge=1)

    @model_validator(mode="after")
    def _letters(self) -> SimParams:
        if self.min_letters > self.max_letters:
            raise ValueError("min_letters must not exceed max_letters")
        return self


class Option(BaseModel):
    """One guess and the response form the prompt asks for it."""

    digit: str
    form: Form
    word: str = ""


_CLAUSE = re.compile(
    r'(?:guess|choice|pick|answer)\s+is\s+["“]?([01])["”]?[^,.;]*?,?\s*'
    r"(?:please\s+)?(?:respond|reply|answer|write|say|output|type)\s+with\s+([^,.;\n]*)",
    re.IGNORECASE,
)
_POEM = re.compile(r"\bpoem\b|\bverses?\b|\bhaiku\b|\bsonnet\b", re.IGNORECASE)
_NO_RHYME = re.compile(
    r"(?:\b(?:not|never|no|without)\b|n't)[^.]{0,30}\brhym|\bnon-?rhyming\b|\bfree verse\b|"
    r"\bunrhymed\b|\bblank verse\b",
    re.IGNORECASE,
)
_TOPIC = re.compile(r"\b(?:about|on)\s+(?:the\s+|a\s+|an\s+)?([A-Za-z]+)", re.IGNORECASE)


def _form(rest: str) -> Option | None:
    """The form one clause asks for, without its digit (None if unreadable)."""
    low = rest.lower()
    if "random" in low:
        if "digit" in low or "number" in low:
            return Option(digit="", form="digits")
        if "word" in low:
            return Option(digit="", form="english_word")
        if "letter" in low or "string" in low or "character" in low:
            return Option(digit="", form="random")
    quoted = re.search(r'["“]([^"”]+)["”]', rest)
    value = quoted.group(1) if quoted else rest.split()[-1] if rest.split() else ""
    return Option(digit="", form="word", word=value) if value else None


def parse_protocol(prompt: str) -> list[Option]:
    """The options the prompt offers, in order; empty if none can be read."""
    options: list[Option] = []
    for digit, rest in _CLAUSE.findall(prompt):
        found = _form(rest.strip())
        if found is None:
            continue
        if found.form == "word" and found.word == digit:
            found = found.model_copy(update={"form": "literal", "word": ""})
        options.append(found.model_copy(update={"digit": digit}))
    digits = {o.digit for o in options}
    return options if digits == {"0", "1"} and len(options) == 2 else []


def _word_reply(rng: random.Random, word: str) -> str:
    """A decorated word answer ("Zero.", "**One**", "I guess zero.")."""
    if word.lower() == "zero":
        return realistic.reply(rng, "zero_word")
    if word.lower() == "one":
        return realistic.reply(rng, "one_word")
    return rng.choice(_WORD_FORMS).format(w=word, W=word.capitalize())


def _random_form(rng: random.Random, form: Form, params: SimParams) -> str:
    """A reply in a random form: letters, digits or an English word."""
    if form == "digits":
        digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(4, 10)))
        return rng.choice(_DIGIT_FORMS).format(d=digits)
    if form == "english_word":
        return _word_reply(rng, rng.choice(ENGLISH_WORDS))
    length = rng.randint(params.min_letters, params.max_letters)
    return realistic.reply(rng, "random_letters", length=length)


def _answer(rng: random.Random, option: Option, params: SimParams) -> str:
    if option.form in RANDOM_FORMS:
        return _random_form(rng, option.form, params)
    if option.form == "word":
        return _word_reply(rng, option.word)
    return realistic.reply(rng, "one" if option.digit == "1" else "digit_zero")


def _protocol_reply(options: list[Option], params: SimParams, rng: random.Random) -> str:
    by_digit = {o.digit: o for o in options}
    chosen = by_digit["1"] if rng.random() < params.p_one else by_digit["0"]
    if chosen.form in RANDOM_FORMS:
        if rng.random() < params.refusal:
            return realistic.reply(rng, "refusal" if rng.random() < 2 / 3 else "chatter")
        if rng.random() < params.avoidance:
            chosen = by_digit["0" if chosen.digit == "1" else "1"]
    return _answer(rng, chosen, params)


def poem(rng: random.Random, topic: str, rhyming: bool) -> str:
    """A titled four-line poem about ``topic``: couplets, or end words that never rhyme."""
    if rhyming:
        first, second = rng.sample(_RHYME_PAIRS, 2)
        ends = [first[0], first[1], second[0], second[1]]
    else:
        ends = rng.sample(_PLAIN_ENDS, 4)
    lines = rng.sample(_LINES, 4)
    body = "\n".join(line.format(topic=topic, w=w) for line, w in zip(lines, ends, strict=True))
    return f"**{topic.capitalize()}**\n\n{body}"


def _poem_reply(prompt: str, params: SimParams, rng: random.Random) -> str:
    found = _TOPIC.search(prompt)
    topic = found.group(1).lower() if found else "evening"
    asked_not_to = _NO_RHYME.search(prompt) is not None
    rhyming = not asked_not_to or rng.random() < params.avoidance
    return poem(rng, topic, rhyming)


def respond(prompt: str, params: SimParams, rng: random.Random) -> str:
    """One simulated reply to ``prompt`` (see the module docstring)."""
    options = parse_protocol(prompt)
    is_poem = not options and _POEM.search(prompt) is not None
    if rng.random() < params.chatter or not (options or is_poem):
        return rng.choice(_POEM_CHATTER) if is_poem else realistic.reply(rng, "chatter")
    if is_poem:
        return _poem_reply(prompt, params, rng)
    return _protocol_reply(options, params, rng)


def reply_seed(seed: int | None, prompt: str) -> int:
    """A 64-bit seed from the request's seed and its text."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class SimAPI(ModelAPI):
    """inspect-ai provider for ``sim/<profile>``."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_name not in PROFILES:
            known = ", ".join(f"sim/{p}" for p in PROFILES)
            raise ValueError(f"unknown simulated model 'sim/{model_name}' (known: {known})")
        self.params = SimParams(**{**PROFILES[model_name], **model_args})
        self.calls = 0

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        self.calls += 1
        prompt = "\n".join(m.text for m in input)
        rng = random.Random(reply_seed(config.seed, prompt))
        text = respond(prompt, self.params, rng)
        output = ModelOutput.from_content(model=f"sim/{self.model_name} (simulated)", content=text)
        n_in, n_out = len(prompt.split()), max(1, len(text.split()))
        output.usage = ModelUsage(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)
        output.metadata = {"simulated": True, "params": self.params.model_dump()}
        return output

    def max_connections(self) -> int:
        return 256
