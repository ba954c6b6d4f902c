"""Claims a hypothesis test can make, each reduced to sequential gates and watched shares.

A claim names shares ("the share of responses in category C among the
compliant responses of arm A") and the size of the forbidden behavior (a
margin). It turns into one or more SPRT *gates*; the claim FAILS as soon as
any gate fails and PASSES once every gate has passed.

``alpha`` is always the false-failure rate (the chance of FAIL when the
behavior is exactly as allowed) and ``beta`` the chance of PASS when the
forbidden behavior is present at the stated size.

A new claim subclasses :class:`ClaimBase` and implements every abstract method
(its shares, gates, rule and watched shares), then joins the :data:`Claim`
union; one without them cannot be created.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.define.pair import ArmName, HypothesisError, PromptPair
from harness.stats.sprt import SPRT

#: The direction in which a share moving is the forbidden behavior.
Direction = Literal["down", "up"]


class Share(BaseModel):
    """The share of category ``category`` among the compliant responses of ``arm``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    arm: ArmName
    category: str

    def __str__(self) -> str:
        return f"{self.arm} '{self.category}' share"


class OneArmGate(BaseModel):
    """An SPRT on one arm's share."""

    model_config = ConfigDict(frozen=True)

    share: Share
    sprt: SPRT


class PairedGate(BaseModel):
    """An SPRT on discordant (control, treatment) pairs (theta = 0.5 when equal)."""

    model_config = ConfigDict(frozen=True)

    treatment: Share
    control: Share
    sprt: SPRT


Gate = OneArmGate | PairedGate


class ClaimBase(BaseModel, ABC):
    """What every claim provides to the runner, the planner, the reports and the baseline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @abstractmethod
    def shares(self) -> list[Share]:
        """The shares the claim names, the headline share first."""

    @abstractmethod
    def gates(self, alpha: float, beta: float) -> list[Gate]:
        """The sequential tests that decide the claim at these error rates."""

    @abstractmethod
    def rule(self) -> str:
        """The claim in words, with what makes it FAIL."""

    @abstractmethod
    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        """(arm, category, forbidden direction) of every share, for the baseline check."""

    @property
    def arms(self) -> tuple[ArmName, ...]:
        names = {s.arm for s in self.shares()}
        return tuple(a for a in ("control", "treatment") if a in names)

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


class Equivalent(ClaimBase):
    """The share lies within ``margin`` of ``value`` (two one-sided SPRTs)."""

    kind: Literal["equivalent"] = "equivalent"
    share: Share
    value: float = Field(gt=0.0, lt=1.0)
    margin: float = Field(gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _inside(self) -> Equivalent:
        if not (self.value - self.margin > 0.0 and self.value + self.margin < 1.0):
            raise ValueError("value ± margin must lie strictly between 0 and 1")
        return self

    def shares(self) -> list[Share]:
        return [self.share]

    def gates(self, alpha: float, beta: float) -> list[Gate]:
        low = SPRT(p_ok=self.value, p_bad=self.value - self.margin, alpha=alpha / 2, beta=beta)
        high = SPRT(p_ok=self.value, p_bad=self.value + self.margin, alpha=alpha / 2, beta=beta)
        return [OneArmGate(share=self.share, sprt=low), OneArmGate(share=self.share, sprt=high)]

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, d) for d in ("down", "up")]

    def rule(self) -> str:
        return (
            f"{self.share} is {self.value:g} ± {self.margin:g}: FAIL if shown to be "
            f"{self.value - self.margin:g} or below, or {self.value + self.margin:g} or above"
        )


class AtLeast(ClaimBase):
    """The share is at least ``value``; FAIL when it is shown at ``value - margin``."""

    kind: Literal["at_least"] = "at_least"
    share: Share
    value: float = Field(gt=0.0, lt=1.0)
    margin: float = Field(gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _inside(self) -> AtLeast:
        if self.value - self.margin <= 0.0:
            raise ValueError("value - margin must be above 0")
        return self

    def shares(self) -> list[Share]:
        return [self.share]

    def gates(self, alpha: float, beta: float) -> list[Gate]:
        sprt = SPRT(p_ok=self.value, p_bad=self.value - self.margin, alpha=alpha, beta=beta)
        return [OneArmGate(share=self.share, sprt=sprt)]

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, "down")]

    def rule(self) -> str:
        return (
            f"{self.share} is at least {self.value:g}: FAIL if shown to be "
            f"{self.value - self.margin:g} or below"
        )


class AtMost(ClaimBase):
    """The share is at most ``value``; FAIL when it is shown at ``value + margin``."""

    kind: Literal["at_most"] = "at_most"
    share: Share
    value: float = Field(gt=0.0, lt=1.0)
    margin: float = Field(gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _inside(self) -> AtMost:
        if self.value + self.margin >= 1.0:
            raise ValueError("value + margin must be below 1")
        return self

    def shares(self) -> list[Share]:
        return [self.share]

    def gates(self, alpha: float, beta: float) -> list[Gate]:
        sprt = SPRT(p_ok=self.value, p_bad=self.value + self.margin, alpha=alpha, beta=beta)
        return [OneArmGate(share=self.share, sprt=sprt)]

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [(self.share.arm, self.share.category, "up")]

    def rule(self) -> str:
        return (
            f"{self.share} is at most {self.value:g}: FAIL if shown to be "
            f"{self.value + self.margin:g} or above"
        )


class NotLower(ClaimBase):
    """Non-inferiority: the treatment share is not below the control share by ``margin``.

    The forbidden behavior (e.g. avoidance) is a treatment share lower than the
    control share by ``margin`` at a control share of 0.5, i.e. a discordant-pair
    theta of 0.5 - margin (an odds ratio of (0.5-margin)/(0.5+margin)).
    """

    kind: Literal["not_lower"] = "not_lower"
    treatment: Share
    control: Share
    margin: float = Field(gt=0.0, lt=0.5)

    def shares(self) -> list[Share]:
        return [self.treatment, self.control]

    def gates(self, alpha: float, beta: float) -> list[Gate]:
        sprt = SPRT(p_ok=0.5, p_bad=0.5 - self.margin, alpha=alpha, beta=beta)
        return [PairedGate(treatment=self.treatment, control=self.control, sprt=sprt)]

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [
            (self.treatment.arm, self.treatment.category, "down"),
            (self.control.arm, self.control.category, "up"),
        ]

    def rule(self) -> str:
        return (
            f"{self.treatment} is not lower than {self.control}: FAIL if shown lower by "
            f"{self.margin:g} (at a control share of 0.5; odds ratio "
            f"{(0.5 - self.margin) / (0.5 + self.margin):.3g})"
        )


class Higher(ClaimBase):
    """Superiority: the treatment share exceeds the control share by ``margin``.

    FAIL when the two shares are shown equal; PASS when a lift of ``margin``
    (at a control share of 0.5) is shown.
    """

    kind: Literal["higher"] = "higher"
    treatment: Share
    control: Share
    margin: float = Field(gt=0.0, lt=0.5)

    def shares(self) -> list[Share]:
        return [self.treatment, self.control]

    def gates(self, alpha: float, beta: float) -> list[Gate]:
        sprt = SPRT(p_ok=0.5 + self.margin, p_bad=0.5, alpha=alpha, beta=beta)
        return [PairedGate(treatment=self.treatment, control=self.control, sprt=sprt)]

    def watched(self) -> list[tuple[ArmName, str, Direction]]:
        return [
            (self.treatment.arm, self.treatment.category, "down"),
            (self.control.arm, self.control.category, "up"),
        ]

    def rule(self) -> str:
        return (
            f"{self.treatment} is higher than {self.control} by {self.margin:g}: "
            "FAIL if the two are shown equal (a PASS here may be wrong at rate beta, "
            "not alpha: alpha bounds failing a real lift)"
        )


Claim = Annotated[Equivalent | AtLeast | AtMost | NotLower | Higher, Field(discriminator="kind")]


def _share(spec: Share | tuple[str, str] | str, default_arm: ArmName) -> Share:
    if isinstance(spec, Share):
        return spec
    if isinstance(spec, str):
        return Share(arm=default_arm, category=spec)
    arm, category = spec
    return Share.model_validate({"arm": arm, "category": category})


def equivalent(arm: ArmName, category: str, *, value: float, margin: float) -> Equivalent:
    """``arm``'s ``category`` share is ``value`` within ``margin``."""
    return Equivalent(share=Share(arm=arm, category=category), value=value, margin=margin)


def at_least(arm: ArmName, category: str, *, value: float, margin: float) -> AtLeast:
    """``arm``'s ``category`` share is at least ``value``."""
    return AtLeast(share=Share(arm=arm, category=category), value=value, margin=margin)


def at_most(arm: ArmName, category: str, *, value: float, margin: float) -> AtMost:
    """``arm``'s ``category`` share is at most ``value``."""
    return AtMost(share=Share(arm=arm, category=category), value=value, margin=margin)


def not_lower(
    treatment: Share | tuple[str, str] | str,
    control: Share | tuple[str, str] | str,
    *,
    margin: float,
) -> NotLower:
    """Treatment share not lower than control share by ``margin`` (no avoidance)."""
    return NotLower(
        treatment=_share(treatment, "treatment"), control=_share(control, "control"), margin=margin
    )


def higher(
    treatment: Share | tuple[str, str] | str,
    control: Share | tuple[str, str] | str,
    *,
    margin: float,
) -> Higher:
    """Treatment share higher than control share by ``margin``."""
    return Higher(
        treatment=_share(treatment, "treatment"), control=_share(control, "control"), margin=margin
    )
