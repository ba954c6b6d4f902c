"""Run settings: the one definition of every setting (their sources: :mod:`harness.run.sources`).

Each field marked with an :class:`Option` is a setting, under one name (say
``max_draws``) everywhere: the command-line option ``--max-draws``, the
``[tool.harness]`` key ``max_draws`` (or ``max-draws``) of the project's
``pyproject.toml``, and the ini option ``harness_max_draws``. The command line
wins, then ``[tool.harness]``, then the ini option, then the field's default::

    [tool.harness]
    models = ["sim/indifferent", "openai/gpt-4o-mini"]
    alpha = 0.05
    max_calls = 2000
    max_cost = 5.0
    cache_dir = ".harness-cache"      # cache = false turns the draw cache off
    report_dir = "reports"
    baseline = "evals/baseline.json"
    baseline_margin = 0.1

    [tool.harness.model_args."sim/indifferent"]
    avoidance = 0.0

    [tool.harness.prices]
    "openai/gpt-4o-mini" = { input = 0.15, output = 0.60 }

An unknown key or a value of the wrong type is a :class:`SettingsError` naming
where it came from: TOML values must have the setting's type (``seed = "7"`` or
``refresh = "no"`` is an error, not a guess), except that a repeatable setting
given one string (``models = "sim/avoidant"``) is a list of that one value.
``cache`` is ``true`` or ``false``; ``model_args`` is a table of tables, one per
model. ``--model-arg`` for a model the run does not test is an error (it would
configure nothing); a ``model_args`` table may name other models, so that one
file serves several ``--model`` choices. A ``cache_dir`` or ``report_dir`` that
is a file, or a ``baseline`` that is a folder, is an error naming its source.
Reading and merging the sources is :mod:`harness.run.sources`; this module
imports no pytest and no model library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "local/smollm2-135m-instruct"
DEFAULT_SEED = 20240312
DEFAULT_CACHE_DIR = ".harness-cache"
#: [tool.harness] keys that are not run settings: the draw-cache switch and the price table.
EXTRA_KEYS = ("cache", "prices")


class SettingsError(ValueError):
    """A setting is unknown or has a bad value; the message names its source."""


@dataclass(frozen=True)
class Option:
    """Marks a settings field as settable by option, ``[tool.harness]`` key and ini option."""

    help: str
    flag: bool = False  # a switch: ``--name`` turns it on
    many: bool = False  # repeatable on the command line
    ini: bool = True  # also an ini option ``harness_<name>``
    option: str = ""  # the command-line name if not ``--<name>``
    metavar: str | None = None
    shown_default: str | None = None  # the default as --help states it, if not the field's


#: Generation settings a hypothesis (a prompt pair or a variant) may set for itself.
HYPOTHESIS_SETTINGS = ("max_tokens", "temperature", "stop_seqs", "system_prompt", "exact")


class GenerationSettings(BaseModel):
    """Generation settings of a run's draws.

    A hypothesis may set its own ``max_tokens``, ``temperature``, ``stop_seqs``,
    ``system_prompt`` and ``exact`` (:meth:`for_hypothesis`); a setting given on
    the command line is *pinned* and wins over the hypothesis's own.
    """

    model_config = ConfigDict(frozen=True)

    temperature: Annotated[float, Option("sampling temperature")] = Field(
        default=1.0, gt=0.0, description="must be > 0: the statistics need independent draws"
    )
    max_tokens: Annotated[int, Option("max tokens per reply")] = Field(
        default=16, gt=0, description="protocol answers are one word"
    )
    stop_seqs: Annotated[
        tuple[str, ...],
        Option("stop sequence, repeatable", many=True, option="--stop", metavar="SEQ"),
    ] = ()
    system_prompt: Annotated[
        str | None, Option("system prompt, sent as a leading system message", metavar="TEXT")
    ] = Field(default=None, min_length=1)
    exact: Annotated[
        bool,
        Option(
            "exact mode: shares from log-probabilities where the model exposes them (fixed-string "
            "replies exact, the rest sampled), else sampling, said per test",
            flag=True,
        ),
    ] = Field(
        default=False,
        description="not part of the draw cache key: exact mode's draws are ordinary draws",
    )
    pinned: tuple[str, ...] = Field(
        default=(),
        description="settings given on the command line: a hypothesis's own value does not "
        "override them",
    )
    max_connections: Annotated[int, Option("requests in flight at once per model")] = Field(
        default=32, gt=0, description="passed to inspect-ai as max_connections"
    )
    timeout: Annotated[
        int, Option("seconds one request may take before it is abandoned and retried")
    ] = Field(
        default=60,
        gt=0,
        description="per request (not for in-process models, nor for a --batch wait)",
    )
    max_retries: Annotated[
        int, Option("retries of a failed request (timeout, 429, 5xx, cut reply); 0: none")
    ] = Field(
        default=3,
        ge=0,
        description="the harness retries; inspect-ai's and the SDK's own retries are off, "
        "so every HTTP request is one counted call",
    )
    hedge: Annotated[
        float,
        Option(
            "re-send a request still unanswered this many times as long as the slowest reply "
            "of its batch (0: never)"
        ),
    ] = Field(
        default=1.5,
        ge=0.0,
        description="0: never; the first reply wins, each copy counts as a call and a retry",
    )
    batch: Annotated[
        int,
        Option(
            "send requests through the provider's batch API in batches of N "
            "(OpenAI, Anthropic, Google, Together: about half price, replies can take hours); "
            "0: off"
        ),
    ] = Field(default=0, ge=0, description="inspect-ai's GenerateConfig.batch size; 0: off")

    def for_hypothesis(self, overrides: Mapping[str, Any]) -> GenerationSettings:
        """These settings with a hypothesis's own (``None``: unset), unless pinned."""
        unknown = sorted(set(overrides) - set(HYPOTHESIS_SETTINGS))
        if unknown:
            raise ValueError(f"not a hypothesis generation setting: {', '.join(unknown)}")
        update = {k: v for k, v in overrides.items() if v is not None and k not in self.pinned}
        return self.model_copy(update=update) if update else self


class RunSettings(BaseModel):
    """Everything that decides how a run draws and judges."""

    model_config = ConfigDict(frozen=True)

    models: Annotated[
        tuple[str, ...],
        Option("inspect-ai model string, repeatable", many=True, option="--model", metavar="MODEL"),
    ] = (DEFAULT_MODEL,)
    model_args: Annotated[
        dict[str, dict[str, Any]],
        Option(
            "argument for one model, e.g. sim/indifferent:avoidance=0.4 (value read as JSON)",
            many=True,
            option="--model-arg",
            metavar="MODEL:KEY=VALUE",
            ini=False,
        ),
    ] = Field(default_factory=dict)
    seed: Annotated[int, Option("run seed")] = DEFAULT_SEED
    alpha: Annotated[float, Option("family-wise false-failure rate")] = Field(
        default=0.05, gt=0.0, lt=0.5, description="family-wise false-failure rate"
    )
    beta: Annotated[float, Option("miss rate at the stated margin")] = Field(
        default=0.1, gt=0.0, lt=0.5, description="miss rate at the stated margin"
    )
    max_draws: Annotated[int, Option("budget of draws per arm")] = Field(
        default=800,
        gt=0,
        description="budget per arm (and per paraphrase of a pooled claim); --plan says what "
        "budget keeps INCONCLUSIVE within the claim's alpha",
    )
    batch_size: Annotated[int, Option("draws per arm per round")] = Field(default=8, gt=0)
    min_compliance: Annotated[float, Option("required share of on-protocol replies")] = Field(
        default=0.5, ge=0.0, le=1.0, description="share of responses that must fit a category"
    )
    noncompliant: Annotated[
        Literal["skip", "fail"],
        Option("outcome when every arm a claim reads is shown off-protocol"),
    ] = "skip"
    inconclusive: Annotated[
        Literal["fail", "skip", "pass"], Option("outcome of an undecided test")
    ] = "fail"
    generation: GenerationSettings = GenerationSettings()
    report_dir: Annotated[Path, Option("where run outputs go")] = Path("reports")
    cache_dir: Annotated[
        Path | None,
        Option(
            "keep every draw on disk here and reuse it (--no-cache or cache = false: off)",
            shown_default=DEFAULT_CACHE_DIR,
        ),
    ] = Field(default=None, description="draw cache folder; None: off")
    refresh: Annotated[bool, Option("ignore cached draws (still writes)", flag=True)] = False
    max_calls: Annotated[int | None, Option("stop drawing after N model calls")] = Field(
        default=None, gt=0, description="model calls allowed"
    )
    max_cost: Annotated[float | None, Option("stop drawing after USD spent")] = Field(
        default=None, gt=0.0, description="USD allowed"
    )
    baseline: Annotated[Path | None, Option("compare every row's shares with this file")] = Field(
        default=None, description="baseline file to compare with"
    )
    baseline_margin: Annotated[float, Option("share move tolerated (0: any move shown)")] = Field(
        default=0.0, ge=0.0, lt=1.0, description="share move tolerated before a regression"
    )
    update_baseline: Annotated[bool, Option("write this run's rows to --baseline", flag=True)] = (
        False
    )

    def outcome_fields(self, claim_alpha: float, family_size: int) -> dict[str, Any]:
        """The run-level fields every :class:`~harness.results.records.Outcome` records."""
        return {
            "max_draws": self.max_draws,
            "alpha": self.alpha,
            "gate_alpha": claim_alpha,
            "beta": self.beta,
            "family_size": family_size,
            "seed": self.seed,
        }
