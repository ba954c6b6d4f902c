"""The records that flow from the sampler to verdicts and reports: draws, arms, gates, outcomes.

Also :class:`Usage` (calls and tokens of one model), which the sampler counts
and the costs and reports read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from harness.define.claims import Claim
from harness.define.pair import ArmName, Message
from harness.results.logprobs import ExactNote, FirstToken
from harness.stats.decision import Decision


class Verdict(StrEnum):
    """The outcome of one claim on one model and variant."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NONCOMPLIANT = "NONCOMPLIANT"


class BudgetStop(BaseModel):
    """Why a draw was not made: a call or cost budget was reached first."""

    model_config = ConfigDict(frozen=True)

    reason: str


class Draw(BaseModel):
    """One model response, its label, and what it cost.

    ``error`` is the text shown for a draw that has no reply; ``stop`` says,
    in the process that drew, that a budget was the cause (the evaluation then
    ends the claim INCONCLUSIVE with that reason).
    """

    model_config = ConfigDict(frozen=True)

    index: int
    seed: int
    text: str
    category: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    error: str | None = None
    stop: BudgetStop | None = Field(default=None, exclude=True)


class Usage(BaseModel):
    """Calls and tokens for one model in this process."""

    calls: int = Field(default=0, description="HTTP requests (model calls), retries included")
    cache_hits: int = Field(default=0, description="draws read from the on-disk cache")
    cache_misses: int = Field(default=0, description="draws requested from the model")
    errors: int = Field(default=0, description="draws that failed every attempt")
    retries: int = Field(default=0, description="requests re-sent: after a failure, or as a hedge")
    transport_errors: int = Field(
        default=0, description="requests that failed: timeout, refused, 5xx, 429, cut, empty"
    )
    input_tokens: int = 0
    output_tokens: int = 0
    loads: int = Field(default=0, description="in-process model loads (local models)")


class ArmResult(BaseModel):
    """What one arm's draws showed."""

    arm: ArmName
    model: str | None = Field(
        default=None, description="the model, when a claim compares models (else the outcome's)"
    )
    categories: list[str]
    classifiers: dict[str, str] = Field(
        default_factory=dict,
        description="how each category is recognised: a classifier's name, a callable's "
        "module.qualname, or its pattern",
    )
    n: int = Field(description="draws analysed (errors excluded)")
    compliant: int = Field(description="draws that fell in a declared category")
    counts: dict[str, int]
    shares: dict[str, float] = Field(description="share of compliant draws per category")
    intervals: dict[str, tuple[float, float]] = Field(
        description="95% Jeffreys interval per category share (display only)"
    )
    examples: dict[str, list[str]]
    draws: list[Draw]
    messages: list[Message] = Field(
        default_factory=list, description="the messages sent for this arm (the prompt)"
    )
    errors: int = 0
    first_token: FirstToken | None = Field(
        default=None, description="where the first token's probability goes (log-probabilities)"
    )

    @property
    def compliance(self) -> float:
        return self.compliant / self.n if self.n else 0.0


class GateResult(BaseModel):
    """The state of one gate when the claim was decided.

    ``fail_evidence`` and ``pass_evidence`` are the log-wealth of the gate's two
    betting tests (log e-values); each decides when it reaches its threshold,
    log(1/alpha) for FAIL and log(1/beta) for PASS.
    """

    description: str
    kind: str = Field(description="share, difference or off_protocol")
    decision: Decision
    allowed: float = Field(description="edge of the allowed region of the gate's mean")
    forbidden: float = Field(description="edge of the forbidden region of the gate's mean")
    estimate: float | None = Field(description="mean of the observations used")
    observations: int = Field(description="observations (draws or pairs) used")
    at_draw: int | None = Field(description="draw per arm at which the gate decided")
    fail_evidence: float
    fail_threshold: float
    pass_evidence: float
    pass_threshold: float
    alpha: float = Field(description="level of the FAIL test")
    beta: float = Field(description="level of the PASS test")

    @field_validator("decision", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        """Read ``"pass"``, ``"fail"`` or null (undecided), as results.json stores it."""
        if value is None:
            return Decision.UNDECIDED
        if isinstance(value, str):
            return Decision[value.upper()]
        return value

    @field_serializer("decision")
    def _to_json(self, decision: Decision) -> str | None:
        """``"pass"``, ``"fail"`` or null (undecided) in results.json."""
        return None if decision is Decision.UNDECIDED else decision.word


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
    decided_at: int = Field(default=0, description="draw per arm at which the claim decided")
    max_draws: int
    alpha: float = Field(description="family-wise alpha of the run")
    gate_alpha: float = Field(description="alpha given to this claim after the family split")
    beta: float
    family_size: int
    seed: int
    difference: tuple[float, float] | None = Field(
        default=None, description="95% Newcombe interval for treatment - control share"
    )
    exact: ExactNote | None = Field(
        default=None, description="how exact mode decided this outcome, or why it did not"
    )

    def arm(self, name: ArmName) -> ArmResult:
        for arm in self.arms:
            if arm.arm == name:
                return arm
        raise KeyError(name)
