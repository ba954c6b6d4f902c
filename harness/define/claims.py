"""Claims: what a hypothesis test asserts, as allowed and forbidden regions of means.

A claim names shares ("the share of category C among the on-protocol replies
of arm A") and where they are *allowed* and *forbidden*; between the two lies
an indifference zone, where no error rate is promised. Each claim reduces to
gates (:class:`harness.stats.gates.Gate`), one monitored mean each, decided by
anytime-valid tests (:mod:`harness.stats.sequential`):

* the chance of FAIL is at most ``alpha`` at *every* state in the allowed
  region (false failure), and the chance of PASS at most ``beta`` at every
  state in the forbidden region (a miss), however long sampling runs;
* two-arm claims work on the difference of the shares (treatment - control),
  at any control share, and also gate the *off-protocol gap*: the treatment's
  share of refusals and chatter may not exceed the control's by the margin
  (avoidance by not answering at all);
* the claim FAILS when any gate fails and PASSES when every gate has passed.

Every helper takes its shares in one shape: ``(arm, category)`` tuples (or
:class:`Share`); ``helper("arm", "category", ...)`` is accepted too.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from harness.define.comparison import ModelComparison, model_higher, model_not_lower
from harness.define.pair import ArmName
from harness.define.shares import (
    ARMS,
    ClaimBase,
    Direction,
    Share,
    ShareSpec,
    category_index,
    one_hot,
    read_share,
    share_state,
)
from harness.stats.gates import Gate
from harness.stats.simulate import ArmState

__all__ = [
    "ARMS",
    "AtLeast",
    "AtMost",
    "Claim",
    "ClaimBase",
    "Direction",
    "Equivalent",
    "Higher",
    "ModelComparison",
    "NotLower",
    "Share",
    "at_least",
    "at_most",
    "equivalent",
    "higher",
    "model_higher",
    "model_not_lower",
    "not_lower",
]


class _OneShare(ClaimBase):
    share: Share
    value: float = Field(gt=0.0, lt=1.0)
    margin: float = Field(gt=0.0, lt=1.0)

    def shares(self) -> list[Share]:
        return [self.share]

    def _gate(self, categories: dict[str, tuple[str, ...]], allowed: float, bad: float) -> Gate:
        return Gate(
            kind="share",
            arm=self.share.arm,
            category=category_index(categories, self.share),
            allowed=allowed,
            forbidden=bad,
            label=f"{self.share}",
        )


class Equivalent(_OneShare):
    """The share is ``value`` within ``tolerance`` (allowed); ``margin`` or more away is forbidden.

    PASS means the share was shown inside ``value ± margin``; FAIL that it was
    shown outside ``value ± tolerance``.
    """

    kind: Literal["equivalent"] = "equivalent"
    tolerance: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _inside(self) -> Equivalent:
        if not (self.value - self.margin > 0.0 and self.value + self.margin < 1.0):
            raise ValueError("value ± margin must lie strictly between 0 and 1")
        if self.tol >= self.margin:
            raise ValueError("tolerance must be smaller than margin")
        return self

    @property
    def tol(self) -> float:
        return self.margin / 2 if self.tolerance is None else self.tolerance

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        v, t, m = self.value, self.tol, self.margin
        return [self._gate(categories, v - t, v - m), self._gate(categories, v + t, v + m)]

    def rule(self) -> str:
        v, t, m = self.value, self.tol, self.margin
        return (
            f"{self.share} is {v:g} ± {m:g}: allowed {v - t:g} to {v + t:g}, forbidden "
            f"{v - m:g} or below and {v + m:g} or above"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [
            (self.share.arm, self.share.category, "down"),
            (self.share.arm, self.share.category, "up"),
        ]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        return {
            "allowed": share_state(categories, self.share, self.value - self.tol),
            "forbidden": share_state(categories, self.share, self.value - self.margin),
        }


class AtLeast(_OneShare):
    """The share is at least ``value`` (allowed); ``value - margin`` or below is forbidden."""

    kind: Literal["at_least"] = "at_least"

    @model_validator(mode="after")
    def _inside(self) -> AtLeast:
        if self.value - self.margin <= 0.0:
            raise ValueError("value - margin must be above 0")
        return self

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        return [self._gate(categories, self.value, self.value - self.margin)]

    def rule(self) -> str:
        return (
            f"{self.share} is at least {self.value:g}: allowed {self.value:g} or above, "
            f"forbidden {self.value - self.margin:g} or below"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, "down")]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        return {
            "allowed": share_state(categories, self.share, self.value),
            "forbidden": share_state(categories, self.share, self.value - self.margin),
        }


class AtMost(_OneShare):
    """The share is at most ``value`` (allowed); ``value + margin`` or above is forbidden."""

    kind: Literal["at_most"] = "at_most"

    @model_validator(mode="after")
    def _inside(self) -> AtMost:
        if self.value + self.margin >= 1.0:
            raise ValueError("value + margin must be below 1")
        return self

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        return [self._gate(categories, self.value, self.value + self.margin)]

    def rule(self) -> str:
        return (
            f"{self.share} is at most {self.value:g}: allowed {self.value:g} or below, "
            f"forbidden {self.value + self.margin:g} or above"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, "up")]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        return {
            "allowed": share_state(categories, self.share, self.value),
            "forbidden": share_state(categories, self.share, self.value + self.margin),
        }


class _TwoShares(ClaimBase):
    treatment: Share
    control: Share
    margin: float = Field(gt=0.0, lt=1.0)

    def shares(self) -> list[Share]:
        return [self.treatment, self.control]

    def _difference(
        self, categories: dict[str, tuple[str, ...]], allowed: float, bad: float
    ) -> Gate:
        return Gate(
            kind="difference",
            arm=self.treatment.arm,
            category=category_index(categories, self.treatment),
            control_arm=self.control.arm,
            control_category=category_index(categories, self.control),
            allowed=allowed,
            forbidden=bad,
            label=f"{self.treatment} - {self.control}",
        )

    def _gap(self) -> list[Gate]:
        if self.treatment.arm == self.control.arm:
            return []
        return [
            Gate(
                kind="off_protocol",
                arm=self.treatment.arm,
                control_arm=self.control.arm,
                allowed=0.0,
                forbidden=self.margin,
                label=f"off-protocol share, {self.treatment.arm} - {self.control.arm}",
            )
        ]

    def _gap_rule(self) -> str:
        if self.treatment.arm == self.control.arm:
            return ""
        return (
            f"; and the {self.treatment.arm}'s off-protocol share (refusals, chatter) may not "
            f"exceed the {self.control.arm}'s: forbidden {self.margin:g} or more above it"
        )

    def _states(
        self, categories: dict[str, tuple[str, ...]], control: float, treatment: float
    ) -> dict[str, ArmState]:
        states = share_state(categories, self.control, control)
        if self.treatment.arm == self.control.arm:
            names = categories[self.control.arm]
            where = {self.control.category: control, self.treatment.category: treatment}
            return {self.control.arm: one_hot(names, where)}
        states.update(share_state(categories, self.treatment, treatment))
        return states


class NotLower(_TwoShares):
    """The treatment share is not lower than the control share (allowed: difference >= 0);
    lower by ``margin`` or more is forbidden."""

    kind: Literal["not_lower"] = "not_lower"

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        return [self._difference(categories, 0.0, -self.margin), *self._gap()]

    def rule(self) -> str:
        return (
            f"{self.treatment} is not lower than {self.control}: allowed a difference of 0 or "
            f"more, forbidden {self.margin:g} or more lower{self._gap_rule()}"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [
            (self.treatment.arm, self.treatment.category, "down"),
            (self.control.arm, self.control.category, "up"),
        ]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        return {
            "allowed": self._states(categories, 0.5, 0.5),
            "forbidden": self._states(categories, 0.5, 0.5 - self.margin),
        }


class Higher(_TwoShares):
    """The treatment share exceeds the control share by ``margin`` (allowed); equal is forbidden.

    FAIL means no lift was shown beyond doubt (alpha bounds failing a real lift
    of ``margin``); PASS that equality was ruled out (beta bounds passing when
    there is no lift).
    """

    kind: Literal["higher"] = "higher"

    def gates(self, categories: dict[str, tuple[str, ...]]) -> list[Gate]:
        return [self._difference(categories, self.margin, 0.0), *self._gap()]

    def rule(self) -> str:
        return (
            f"{self.treatment} is higher than {self.control}: allowed {self.margin:g} or more "
            f"higher, forbidden equal or lower{self._gap_rule()}"
        )

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [
            (self.treatment.arm, self.treatment.category, "down"),
            (self.control.arm, self.control.category, "up"),
        ]

    def edge_states(self, categories: dict[str, tuple[str, ...]]) -> dict[str, dict[str, ArmState]]:
        low = max(0.5 - self.margin / 2, 0.0)
        return {
            "allowed": self._states(categories, low, low + self.margin),
            "forbidden": self._states(categories, low, low),
        }


Claim = Annotated[
    Equivalent | AtLeast | AtMost | NotLower | Higher | ModelComparison,
    Field(discriminator="kind"),
]


def equivalent(
    share: ShareSpec | str,
    category: str | None = None,
    *,
    value: float,
    margin: float,
    tolerance: float | None = None,
    about: str = "",
) -> Equivalent:
    """The share is ``value`` within ``tolerance`` (default margin / 2); ``margin`` off fails."""
    return Equivalent(
        share=read_share(share, category, "treatment", "equivalent"),
        value=value,
        margin=margin,
        tolerance=tolerance,
        about=about,
    )


def at_least(
    share: ShareSpec | str,
    category: str | None = None,
    *,
    value: float,
    margin: float,
    about: str = "",
) -> AtLeast:
    """The share is at least ``value``; ``value - margin`` or below is forbidden."""
    share_ = read_share(share, category, "treatment", "at_least")
    return AtLeast(share=share_, value=value, margin=margin, about=about)


def at_most(
    share: ShareSpec | str,
    category: str | None = None,
    *,
    value: float,
    margin: float,
    about: str = "",
) -> AtMost:
    """The share is at most ``value``; ``value + margin`` or above is forbidden."""
    share_ = read_share(share, category, "treatment", "at_most")
    return AtMost(share=share_, value=value, margin=margin, about=about)


def not_lower(
    treatment: ShareSpec | str, control: ShareSpec | str, *, margin: float, about: str = ""
) -> NotLower:
    """Treatment share not lower than control share; lower by ``margin`` is forbidden."""
    return NotLower(
        treatment=read_share(treatment, None, "treatment", "not_lower"),
        control=read_share(control, None, "control", "not_lower"),
        margin=margin,
        about=about,
    )


def higher(
    treatment: ShareSpec | str, control: ShareSpec | str, *, margin: float, about: str = ""
) -> Higher:
    """Treatment share higher than control share by ``margin``; equal is forbidden."""
    return Higher(
        treatment=read_share(treatment, None, "treatment", "higher"),
        control=read_share(control, None, "control", "higher"),
        margin=margin,
        about=about,
    )
