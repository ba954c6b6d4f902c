"""Shares and the claim base: what every claim reads and must provide.

A :class:`Share` is one category's share among one arm's on-protocol replies;
:class:`ClaimBase` lists what the evaluator, planner, baseline and report need
from any claim (abstract, so a claim missing one cannot be created);
:func:`read_share` reads the one argument shape every claim helper takes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.define.pair import ArmName, HypothesisError, PromptPair
from harness.stats.gates import Gate
from harness.stats.simulate import ArmState

Direction = Literal["down", "up"]
ARMS: tuple[ArmName, ...] = ("control", "treatment")


class Share(BaseModel):
    """The share of ``category`` among the on-protocol replies of ``arm``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    arm: ArmName
    category: str

    def __str__(self) -> str:
        return f"{self.arm} '{self.category}' share"


ShareSpec = Share | tuple[str, str]


class ClaimBase(BaseModel, ABC):
    """What every claim provides to the evaluator, the planner, the baseline and the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    about: str = Field(default="", description="what the claim measures, shown with its verdict")

    @abstractmethod
    def shares(self) -> list[Share]:
        """The shares the claim reads."""

    @abstractmethod
    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        """The monitored means, given each arm's declared categories (in order)."""

    @abstractmethod
    def rule(self) -> str:
        """One line: allowed region, forbidden region, the zone between."""

    @abstractmethod
    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        """(arm, category, forbidden direction) rows a baseline must watch."""

    @abstractmethod
    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        """Model states at the allowed and forbidden edges ("allowed", "forbidden"), for plans."""

    @property
    def arms(self) -> tuple[ArmName, ...]:
        names = {s.arm for s in self.shares()}
        return tuple(a for a in ARMS if a in names)

    def title(self) -> str:
        return f"{self.about}: {self.rule()}" if self.about else self.rule()

    def check_against(self, pair: PromptPair) -> None:
        """Raise HypothesisError if a share names a category an arm lacks."""
        for variant in pair.resolved():
            for share in self.shares():
                arm = variant.arm(share.arm)
                if share.category not in arm.category_names:
                    raise HypothesisError(
                        f"hypothesis {pair.id!r}: claim {self.rule()!r} names category "
                        f"{share.category!r}, but the {share.arm} arm of variant "
                        f"{variant.id!r} has only {', '.join(arm.category_names)}"
                    )


def category_index(categories: dict[str, tuple[str, ...]], share: Share) -> int:
    return categories[share.arm].index(share.category)


def one_hot(categories: tuple[str, ...], where: dict[str, float]) -> ArmState:
    return ArmState(shares=tuple(where.get(c, 0.0) for c in categories))


def share_state(
    categories: dict[str, tuple[str, ...]], share: Share, p: float
) -> dict[str, ArmState]:
    """One arm at share ``p`` of the category (rest in the arm's other categories)."""
    names = categories[share.arm]
    others = [c for c in names if c != share.category]
    where = {share.category: p}
    if others:
        where[others[0]] = 1.0 - p
    return {share.arm: one_hot(names, where)}


def read_share(spec: Any, category: Any, default_arm: ArmName, helper: str) -> Share:
    """Read a share given as Share, (arm, category), or arm and category as two arguments."""
    if isinstance(spec, Share) and category is None:
        return spec
    if isinstance(spec, str) and isinstance(category, str):
        spec, category = (spec, category), None
    elif isinstance(spec, str) and category is None:
        spec = (default_arm, spec)
    if isinstance(spec, tuple | list) and len(spec) == 2 and category is None:
        arm, name = spec
        if arm not in ARMS:
            raise HypothesisError(
                f"claims.{helper}: arm {arm!r} must be 'control' or 'treatment' "
                f"(write claims.{helper}(('treatment', 'category'), ...))"
            )
        return Share(arm=arm, category=str(name))
    raise HypothesisError(
        f"claims.{helper}: a share is ('arm', 'category'), e.g. "
        f"claims.{helper}(('treatment', 'random'), ...); got {spec!r}"
    )
