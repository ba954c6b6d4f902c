"""Data records that flow from the sampler to verdicts and reports."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from harness.claims import Claim
from harness.hypothesis import ArmName, Message


class Verdict(StrEnum):
    """The outcome of one claim on one model and variant."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NONCOMPLIANT = "NONCOMPLIANT"


class Draw(BaseModel):
    """One model response, its label, and what it cost."""

    model_config = ConfigDict(frozen=True)

    index: int
    seed: int
    text: str
    category: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    error: str | None = None


class ArmResult(BaseModel):
    """What one arm's draws showed."""

    arm: ArmName
    categories: list[str]
    n: int = Field(description="draws analysed (errors excluded)")
    compliant: int = Field(description="draws that fell in a declared category")
    counts: dict[str, int]
    shares: dict[str, float] = Field(description="share of compliant draws per category")
    intervals: dict[str, tuple[float, float]] = Field(
        description="95% Jeffreys interval per category share (display; decisions are SPRTs)"
    )
    examples: dict[str, list[str]]
    draws: list[Draw]
    messages: list[Message] = Field(
        default_factory=list, description="the messages sent for this arm (the prompt)"
    )
    errors: int = 0

    @property
    def compliance(self) -> float:
        return self.compliant / self.n if self.n else 0.0


class GateResult(BaseModel):
    """The state of one SPRT gate when the claim was decided."""

    description: str
    decision: str | None
    llr: float
    upper: float
    lower: float
    hits: int
    trials: int
    alpha: float
    beta: float


class Outcome(BaseModel):
    """The verdict of one claim for one (hypothesis, variant, model)."""

    hypothesis: str
    variant: str
    model: str
    simulated: bool
    test: str = ""
    claim: Claim
    rule: str
    verdict: Verdict
    reason: str
    arms: list[ArmResult]
    gates: list[GateResult]
    draws_per_arm: int
    max_draws: int
    alpha: float = Field(description="family-wise alpha of the run")
    gate_alpha: float = Field(description="alpha given to this claim after the family split")
    beta: float
    family_size: int
    seed: int
    difference: tuple[float, float] | None = Field(
        default=None, description="95% Newcombe interval for treatment - control share"
    )

    def arm(self, name: ArmName) -> ArmResult:
        for arm in self.arms:
            if arm.arm == name:
                return arm
        raise KeyError(name)
