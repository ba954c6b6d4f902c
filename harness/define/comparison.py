"""Model comparisons: one share compared between two models on the same prompts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.define.pair import ArmName
from harness.define.shares import ClaimBase, Direction, Share, ShareSpec, one_hot, read_share
from harness.stats.gates import Gate
from harness.stats.simulate import ArmState


class ModelComparison(ClaimBase):
    """One share compared between two models on the same prompts.

    ``relation="higher"``: ``first``'s share exceeds ``second``'s by ``margin``
    (allowed), equal or lower is forbidden. ``relation="not_lower"``: ``first``'s
    share is not lower than ``second``'s (allowed), lower by ``margin`` is
    forbidden. As for two-arm claims, the first model's off-protocol share may
    not exceed the second's by the margin. Gates read the arms of each model
    under the keys ``first:<arm>`` and ``second:<arm>``.
    """

    kind: Literal["models"] = "models"
    share: Share
    first: str = Field(min_length=1)
    second: str = Field(min_length=1)
    relation: Literal["higher", "not_lower"] = "higher"
    margin: float = Field(gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _distinct(self) -> ModelComparison:
        if self.first == self.second:
            raise ValueError("a model comparison needs two different models")
        return self

    @property
    def models(self) -> tuple[str, str]:
        return (self.first, self.second)

    def key(self, role: str) -> str:
        """The label-code key of one model's arm (role ``first`` or ``second``)."""
        return f"{role}:{self.share.arm}"

    def shares(self) -> list[Share]:
        return [self.share]

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        index = categories[self.share.arm].index(self.share.category)
        allowed, bad = (self.margin, 0.0) if self.relation == "higher" else (0.0, -self.margin)
        return [
            Gate(
                kind="difference",
                arm=self.key("first"),
                category=index,
                control_arm=self.key("second"),
                control_category=index,
                allowed=allowed,
                forbidden=bad,
                label=f"{self.share}, {self.first} - {self.second}",
            ),
            Gate(
                kind="off_protocol",
                arm=self.key("first"),
                control_arm=self.key("second"),
                allowed=0.0,
                forbidden=self.margin,
                label=f"off-protocol share, {self.first} - {self.second}",
            ),
        ]

    def rule(self) -> str:
        if self.relation == "higher":
            body = (
                f"allowed {self.margin:g} or more higher in {self.first}, forbidden equal or lower"
            )
        else:
            body = (
                f"allowed equal or higher in {self.first}, forbidden {self.margin:g} or more lower"
            )
        return (
            f"{self.share} of {self.first} vs {self.second}: {body}; and {self.first}'s "
            f"off-protocol share may not exceed {self.second}'s by {self.margin:g} or more"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, "down")]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        names = categories[self.share.arm]
        other = next((c for c in names if c != self.share.category), None)

        def arm(p: float) -> ArmState:
            where = {self.share.category: p}
            if other is not None:
                where[other] = 1.0 - p
            return one_hot(names, where)

        low = 0.5 - self.margin / 2 if self.relation == "higher" else 0.5
        high = low + self.margin if self.relation == "higher" else 0.5 - self.margin
        allowed = high if self.relation == "higher" else 0.5
        return {
            "allowed": {self.key("first"): arm(allowed), self.key("second"): arm(low)},
            "forbidden": {
                self.key("first"): arm(low if self.relation == "higher" else high),
                self.key("second"): arm(low),
            },
        }


def model_higher(
    share: ShareSpec, *, first: str, second: str, margin: float, about: str = ""
) -> ModelComparison:
    """``share`` is higher in model ``first`` than in ``second`` by ``margin``; equal fails."""
    return ModelComparison(
        share=read_share(share, None, "treatment", "model_higher"),
        first=first,
        second=second,
        relation="higher",
        margin=margin,
        about=about,
    )


def model_not_lower(
    share: ShareSpec, *, first: str, second: str, margin: float, about: str = ""
) -> ModelComparison:
    """``share`` in model ``first`` is not lower than in ``second``; lower by ``margin`` fails."""
    return ModelComparison(
        share=read_share(share, None, "treatment", "model_not_lower"),
        first=first,
        second=second,
        relation="not_lower",
        margin=margin,
        about=about,
    )
