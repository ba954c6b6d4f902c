"""Run configuration: one pydantic model for every knob of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.sampling import GenerationSettings

DEFAULT_MODEL = "local/smollm2-135m-instruct"
DEFAULT_SEED = 20240312


class RunSettings(BaseModel):
    """Everything that decides how a run draws and judges."""

    model_config = ConfigDict(frozen=True)

    models: tuple[str, ...] = (DEFAULT_MODEL,)
    model_args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seed: int = DEFAULT_SEED
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5, description="family-wise false-failure rate")
    beta: float = Field(default=0.1, gt=0.0, lt=0.5, description="miss rate at the stated margin")
    max_draws: int = Field(default=400, gt=0, description="budget per arm")
    batch_size: int = Field(default=8, gt=0)
    min_compliance: float = Field(
        default=0.5, ge=0.0, le=1.0, description="share of responses that must fit a category"
    )
    compliance_confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    inconclusive: Literal["fail", "skip", "pass"] = "fail"
    generation: GenerationSettings = GenerationSettings()
    report_dir: Path = Path("reports")
    cache_dir: Path | None = Field(default=None, description="draw cache folder; None: off")
    refresh: bool = False
    max_calls: int | None = Field(default=None, gt=0, description="model calls allowed")
    max_cost: float | None = Field(default=None, gt=0.0, description="USD allowed")
    baseline: Path | None = Field(default=None, description="baseline file to compare with")
    baseline_margin: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="share move tolerated before a regression"
    )
    update_baseline: bool = False
