"""Run results: every outcome of a run plus its metadata, the source of every report."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from harness.define.classifiers import OFF_PROTOCOL
from harness.results.costs import CostReport
from harness.results.records import Outcome, Usage, Verdict
from harness.results.regression import Comparison
from harness.run.settings import RunSettings

SCHEMA_VERSION = 1


class ModelSummary(BaseModel):
    """Totals for one model over a run."""

    model: str
    simulated: bool
    verdicts: dict[str, int]
    tests: int
    compliance: float = Field(description="compliant draws / analysed draws over all arms")
    draws: int = Field(description="distinct draws analysed (a draw shared by tests counts once)")
    usage: Usage = Usage()


class RunResults(BaseModel):
    """Everything a run decided; the source of every report."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    started: dt.datetime
    finished: dt.datetime
    harness_version: str
    settings: RunSettings
    family_size: int
    outcomes: list[Outcome]
    usage: dict[str, Usage] = Field(default_factory=dict)
    costs: CostReport = Field(default_factory=CostReport, description="tokens and USD")
    seconds: dict[str, float] = Field(
        default_factory=dict,
        description="time spent in each model's tests (sum of their durations): its measured rate",
    )
    baseline: Comparison | None = Field(
        default=None, description="the check against --baseline, when one was made"
    )

    def models(self) -> list[str]:
        seen: list[str] = []
        for o in self.outcomes:
            if o.model not in seen:
                seen.append(o.model)
        return seen

    def summaries(self) -> list[ModelSummary]:
        out = []
        for model in self.models():
            mine = [o for o in self.outcomes if o.model == model]
            # tests that share an arm share its draws: count each draw once
            unique = {
                (d.seed, d.index, d.text): d.category not in OFF_PROTOCOL
                for o in mine
                for arm in o.arms
                for d in arm.draws
                if d.error is None
            }
            analysed = len(unique)
            out.append(
                ModelSummary(
                    model=model,
                    simulated=mine[0].simulated,
                    verdicts={v.value: sum(o.verdict == v for o in mine) for v in Verdict},
                    tests=len(mine),
                    compliance=(sum(unique.values()) / analysed) if analysed else 0.0,
                    draws=analysed,
                    usage=self.usage.get(model, Usage()),
                )
            )
        return out
