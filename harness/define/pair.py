"""Prompt pairs: a hypothesis as data, with its arms, categories and variants.

A hypothesis is a *prompt pair*: a control arm and a treatment arm that differ
in one respect. Each arm lists the response categories it expects; every
response is labelled with one of them (or, off-protocol, "empty", "refusal" or
"other"). Variants are paraphrases of the pair; each resolves to a full control
and treatment arm. A pair (or a variant) may set its own generation settings
(:class:`Generation`: max tokens, temperature, stop sequences, system prompt).
Everything is validated by pydantic when the hypothesis is defined, so a bad
definition stops collection with a message naming the hypothesis and field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from harness.define.classifiers import (
    OFF_PROTOCOL,
    Predicate,
    UnknownClassifierError,
    describe,
    get,
    normalize,
)

ArmName = Literal["control", "treatment"]
ARM_NAMES: tuple[ArmName, ...] = ("control", "treatment")
#: The last user message of every arm of every pair defined in this process, and its arms.
_ARMS: dict[str, set[ArmName]] = {}
RESERVED_CATEGORIES = OFF_PROTOCOL
_IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class HypothesisError(ValueError):
    """A hypothesis definition is invalid; the message names hypothesis and field."""


class Message(BaseModel):
    """One chat message of a prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"] = "user"
    content: str = Field(min_length=1)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt text is empty")
        return value


class Category(BaseModel):
    """A response category: a name and how to recognise it.

    Give either ``classifier``, a registered name (the built-ins in
    :mod:`harness.define.classifiers`, or one added with ``@harness.classifier``)
    or any callable ``str -> bool``, or ``pattern`` (a regular expression matched
    in full, case-insensitively, against the normalized response). With neither,
    the name itself must be a registered classifier. Reports name a callable by
    its ``module.qualname``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    classifier: str | Predicate | None = None
    pattern: str | None = None
    description: str = ""

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"category name {value!r} must be an identifier")
        if value in RESERVED_CATEGORIES:
            raise ValueError(f"category name {value!r} is reserved for unmatched responses")
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> Category:
        if self.classifier is not None and self.pattern is not None:
            raise ValueError(f"category {self.name!r}: give classifier or pattern, not both")
        name: str | None = None
        if isinstance(self.classifier, str):
            name = self.classifier
        elif self.classifier is None and self.pattern is None:
            name = self.name
        if name is not None:
            try:
                get(name)
            except UnknownClassifierError as exc:
                raise ValueError(
                    f"category {self.name!r}: {exc} Or give a pattern instead."
                ) from None
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"category {self.name!r}: bad pattern: {exc}") from exc
        return self

    @field_serializer("classifier")
    def _named(self, value: str | Predicate | None) -> str | None:
        """A callable is written as its ``module.qualname`` (reports, keys, results.json)."""
        return None if value is None else describe(value)

    @property
    def rule(self) -> str:
        """How the category is recognised, in words: a classifier name or a pattern."""
        if self.pattern is not None:
            return f"pattern {self.pattern!r}"
        return describe(self.classifier if self.classifier is not None else self.name)

    def predicate(self) -> Callable[[str], bool]:
        """The function that decides whether a response belongs here."""
        if self.pattern is not None:
            rx = re.compile(self.pattern, re.IGNORECASE)
            return lambda text: rx.fullmatch(normalize(text)) is not None
        if self.classifier is not None and not isinstance(self.classifier, str):
            return self.classifier
        return get(self.classifier or self.name)


class Generation(BaseModel):
    """Generation settings of one hypothesis (or one variant); unset fields keep the run's.

    A variant's settings override its pair's field by field; a setting given on
    the command line (``--max-tokens``, ``--temperature``, ``--stop``,
    ``--system-prompt``) overrides both. ``system_prompt`` is sent as a leading
    system message. Every setting but ``exact`` (how shares are measured, see
    :mod:`harness.run.exact`) is part of the draw cache key.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(
        default=None, gt=0.0, description="must be > 0: the statistics need independent draws"
    )
    stop_seqs: tuple[str, ...] | None = None
    system_prompt: str | None = Field(default=None, min_length=1)
    exact: bool | None = Field(
        default=None,
        description="exact mode for this hypothesis (log-probabilities; --exact pins it on)",
    )

    def over(self, base: Generation) -> Generation:
        """These settings, with ``base``'s for the fields left unset."""
        return base.model_copy(update=self.overrides())

    def overrides(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        return {k: v for k, v in self if v is not None}


class Arm(BaseModel):
    """One side of a prompt pair: the messages sent and the categories expected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[Message, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _prompt_shorthand(cls, data: object) -> object:
        """Accept ``prompt="..."`` as one user message, and plain names as categories."""
        if isinstance(data, dict):
            data = dict(data)
            if "prompt" in data:
                if "messages" in data:
                    raise ValueError("give prompt or messages, not both")
                data["messages"] = [{"role": "user", "content": data.pop("prompt")}]
            cats = data.get("categories")
            if isinstance(cats, list | tuple):
                data["categories"] = [{"name": c} if isinstance(c, str) else c for c in cats]
        return data

    @model_validator(mode="after")
    def _unique_categories(self) -> Arm:
        names = [c.name for c in self.categories]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"category names repeat: {', '.join(dupes)}")
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be from the user")
        return self

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def predicates(self) -> list[tuple[str, Callable[[str], bool]]]:
        """(name, predicate) pairs in order, for :func:`harness.define.classifiers.classify`."""
        return [(c.name, c.predicate()) for c in self.categories]


class Variant(BaseModel):
    """A paraphrase of the pair: new prompts, and optionally new categories.

    Arms given here replace the pair's arms whole; ``control_prompt`` and
    ``treatment_prompt`` replace only the text and keep the pair's categories.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    description: str = ""
    control_prompt: str | None = None
    treatment_prompt: str | None = None
    control: Arm | None = None
    treatment: Arm | None = None
    generation: Generation = Generation()

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"variant id {value!r} must be an identifier")
        return value

    @model_validator(mode="after")
    def _no_clash(self) -> Variant:
        if self.control is not None and self.control_prompt is not None:
            raise ValueError(f"variant {self.id!r}: give control or control_prompt, not both")
        if self.treatment is not None and self.treatment_prompt is not None:
            raise ValueError(f"variant {self.id!r}: give treatment or treatment_prompt, not both")
        return self


class ResolvedVariant(BaseModel):
    """A variant with both arms and its generation settings fully spelled out."""

    model_config = ConfigDict(frozen=True)

    id: str
    description: str = ""
    control: Arm
    treatment: Arm
    generation: Generation = Generation()

    def arm(self, name: ArmName) -> Arm:
        return self.control if name == "control" else self.treatment


class PromptPair(BaseModel):
    """A behavioral hypothesis: a control and a treatment prompt, plus paraphrases.

    The pair's own arms form the variant named ``base_variant``; each entry of
    ``variants`` adds another. ``generation`` sets this hypothesis's own max
    tokens, temperature, stop sequences or system prompt (a variant's own
    ``generation`` overrides it field by field).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    description: str = Field(min_length=1)
    control: Arm
    treatment: Arm
    base_variant: str = "original"
    variants: tuple[Variant, ...] = ()
    generation: Generation = Generation()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise HypothesisError(
                f"hypothesis {data.get('id', '?')!r}: {describe_errors(exc)}"
            ) from None
        for variant in self.resolved():
            for name in ARM_NAMES:
                _ARMS.setdefault(variant.arm(name).messages[-1].content, set()).add(name)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"hypothesis id {value!r} must be an identifier")
        return value

    @model_validator(mode="after")
    def _unique_variants(self) -> PromptPair:
        ids = [self.base_variant, *(v.id for v in self.variants)]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"variant ids repeat: {', '.join(dupes)}")
        return self

    def resolved(self) -> list[ResolvedVariant]:
        """Every variant, the base first, with both arms spelled out."""
        out = [
            ResolvedVariant(
                id=self.base_variant,
                control=self.control,
                treatment=self.treatment,
                generation=self.generation,
            )
        ]
        for v in self.variants:
            control = v.control or _with_prompt(self.control, v.control_prompt)
            treatment = v.treatment or _with_prompt(self.treatment, v.treatment_prompt)
            out.append(
                ResolvedVariant(
                    id=v.id,
                    description=v.description,
                    control=control,
                    treatment=treatment,
                    generation=v.generation.over(self.generation),
                )
            )
        return out

    def variant(self, variant_id: str) -> ResolvedVariant:
        for v in self.resolved():
            if v.id == variant_id:
                return v
        raise KeyError(f"hypothesis {self.id!r} has no variant {variant_id!r}")


def _with_prompt(arm: Arm, prompt: str | None) -> Arm:
    if prompt is None:
        return arm
    return Arm(messages=(Message(content=prompt),), categories=arm.categories)


def describe_errors(exc: ValidationError) -> str:
    """pydantic errors as ``field.path: message`` joined by '; '."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def arm_of(prompt: str) -> ArmName | None:
    """The arm whose last user message is ``prompt``, among the pairs defined in this process.

    None when no pair has it, or when it is the control of one pair and the
    treatment of another. Scripted models use it to answer per arm.
    """
    arms = _ARMS.get(prompt, set())
    return next(iter(arms)) if len(arms) == 1 else None
