"""Records of what log-probabilities showed: the first-token table and exact mode's notes.

:class:`FirstToken` is stored per arm (``ArmResult.first_token``, the
``first_token`` key of results.json): where the first token's probability
goes, and, in exact mode on a local model, the exact probability of each
fixed-string reply. :class:`ExactNote` (``Outcome.exact``) says how a
verdict was reached: exactly, exactly plus sampled non-fixed replies, or by
sampling (and why exact mode fell back to it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TokenShare(BaseModel):
    """One first token and its probability."""

    token: str = Field(description="the token's text")
    p: float
    category: str | None = Field(
        default=None, description="the category whose fixed string this token begins, if any"
    )


class ReplyShare(BaseModel):
    """The exact probability of one fixed-string reply (end-of-turn included)."""

    text: str
    category: str = Field(description="the reply's label in this arm (a category or off-protocol)")
    p: float
    paths: int = Field(description="token paths summed (every tokenization, and detours)")
    alternative: float = Field(
        default=0.0, description="probability through paths other than the tokenizer's own"
    )


class FirstToken(BaseModel):
    """Where one arm's probability goes, from one forward pass (and, in exact mode, a few more).

    ``source`` is ``logits`` for a local model (the whole vocabulary, after
    the chat template, with the run's temperature applied) or
    ``top_logprobs`` for an API that returns the top alternatives (as the
    provider returns them); ``uncovered`` is the mass of the tokens not
    returned (0 for ``logits``).
    """

    source: Literal["logits", "top_logprobs"]
    temperature: float
    top: list[TokenShare]
    categories: dict[str, float] = Field(
        description="mass of the tokens that begin each category's fixed strings"
    )
    end: float | None = Field(default=None, description="probability of an empty reply")
    covered: float = Field(description="probability of the tokens listed or known")
    uncovered: float = Field(description="probability of the tokens not returned (APIs)")
    replies: list[ReplyShare] = Field(
        default_factory=list, description="exact probabilities of the fixed-string replies"
    )
    fixed: float | None = Field(default=None, description="total probability of those replies")
    stray: float | None = Field(
        default=None, description="bound on the probability of their token paths not followed"
    )
    forward_passes: int = Field(default=1, description="llama.cpp decode calls or API calls")
    note: str = ""


class ExactNote(BaseModel):
    """How exact mode decided an outcome, or why it fell back to sampling."""

    mode: Literal["exact", "mixed", "sampling"] = Field(
        description="exact: no sampling error; mixed: exact parts plus sampled non-fixed "
        "replies; sampling: exact mode not used"
    )
    note: str
    forward_passes: int = Field(default=0, description="forward passes for the exact parts")
    draws: int = Field(default=0, description="draws made, all arms (fixed strings included)")
    kept: int = Field(default=0, description="non-fixed draws the tests used, all arms")
    estimates: dict[str, float] = Field(
        default_factory=dict, description="'arm.category': the share estimated in exact mode"
    )
