"""Simulated models (``sim/<profile>``) with a known answer distribution.

A simulated model reads the guessing protocol out of the prompt: two options
("1" and "0"), each with the response form it asks for (the bare digit, a given
word, or a string of random letters). It guesses "1" with probability
``p_one``; when the chosen option asks for random letters it produces them
unless it *avoids* them (probability ``avoidance``), in which case it answers
the other option instead. With probability ``chatter`` it ignores the protocol.
A prompt without a readable protocol gets chatter.

Every draw is a pure function of the request's seed, so runs are reproducible.
All outputs carry ``simulated: true`` in their metadata and the model name
ends in "(simulated)".

Profiles (shares overridable through model arguments, e.g.
``get_model("sim/indifferent", avoidance=0.4)``):

=============  =====  =========  =======
profile        p_one  avoidance  chatter
=============  =====  =========  =======
indifferent    0.5    0.0        0.0
avoidant       0.5    0.9        0.0
biased         0.7    0.0        0.0
noncompliant   0.5    0.0        1.0
=============  =====  =========  =======
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolChoice, ToolInfo
from pydantic import BaseModel, ConfigDict, Field

PROFILES: dict[str, dict[str, float]] = {
    "indifferent": {"p_one": 0.5, "avoidance": 0.0, "chatter": 0.0},
    "avoidant": {"p_one": 0.5, "avoidance": 0.9, "chatter": 0.0},
    "biased": {"p_one": 0.7, "avoidance": 0.0, "chatter": 0.0},
    "noncompliant": {"p_one": 0.5, "avoidance": 0.0, "chatter": 1.0},
}

CHATTER = (
    "What a fun experiment! I love psychology. Let me think about numbers for a while.",
    "As a helpful assistant, I think guessing games are a great way to learn about chance.",
    "Numbers have fascinated people for centuries; the digit one is the first counting number.",
    "Sure! Psychological experiments often study how people make choices under uncertainty.",
)

Form = Literal["literal", "word", "random"]


class SimParams(BaseModel):
    """The behavior of a simulated model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p_one: float = Field(default=0.5, ge=0.0, le=1.0)
    avoidance: float = Field(default=0.0, ge=0.0, le=1.0)
    chatter: float = Field(default=0.0, ge=0.0, le=1.0)


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


def parse_protocol(prompt: str) -> list[Option]:
    """The options the prompt offers, in order; empty if none can be read."""
    options: list[Option] = []
    for digit, rest in _CLAUSE.findall(prompt):
        rest = rest.strip()
        low = rest.lower()
        if "random" in low and ("letter" in low or "string" in low or "character" in low):
            options.append(Option(digit=digit, form="random"))
            continue
        quoted = re.search(r'["“]([^"”]+)["”]', rest)
        value = quoted.group(1) if quoted else rest.split()[-1] if rest.split() else ""
        if value == digit:
            options.append(Option(digit=digit, form="literal"))
        elif value:
            options.append(Option(digit=digit, form="word", word=value))
    digits = {o.digit for o in options}
    return options if digits == {"0", "1"} and len(options) == 2 else []


def random_letters(rng: random.Random) -> str:
    """A fresh lower-case string of 6-12 random letters."""
    consonant_heavy = "bcdfghjklmnpqrstvwxzbcdfghjklmnpqrstvwxzaeiou"
    return "".join(rng.choice(consonant_heavy) for _ in range(rng.randint(6, 12)))


def respond(prompt: str, params: SimParams, rng: random.Random) -> str:
    """One simulated reply to ``prompt``."""
    options = parse_protocol(prompt)
    if not options or rng.random() < params.chatter:
        return rng.choice(CHATTER)
    by_digit = {o.digit: o for o in options}
    chosen = by_digit["1"] if rng.random() < params.p_one else by_digit["0"]
    if chosen.form == "random" and rng.random() < params.avoidance:
        chosen = by_digit["0" if chosen.digit == "1" else "1"]
    if chosen.form == "random":
        return random_letters(rng)
    if chosen.form == "word":
        return chosen.word
    return chosen.digit


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
