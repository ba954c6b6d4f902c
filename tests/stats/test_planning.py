"""Plans: exact operating characteristics, checked against simulation and the design.

Also checks ``pytest evals/ --plan`` end to end against a model that raises on
any use: this module registers that provider (``raising/...``) with inspect-ai
and is loaded into the subprocess as a plugin (``-p test_plan``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, modelapi
from inspect_ai.tool import ToolChoice, ToolInfo

from harness import claims
from harness.define.claims import Claim
from harness.stats.decision import Decision
from harness.stats.planning import plan_claim, simulate_claim, trial_distribution
from harness.stats.sprt import SPRT

ROOT = Path(__file__).resolve().parents[2]
RUNS = 20_000


class RaisingAPI(ModelAPI):
    """A provider that fails the moment anything tries to use it."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        **model_args: Any,
    ) -> None:
        raise RuntimeError("raising model was used")

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        raise RuntimeError("raising model was called")


@modelapi(name="raising")
def raising() -> type[ModelAPI]:
    """Registered under ``raising/<anything>``."""
    return RaisingAPI


def test_exact_expected_trials_match_the_design() -> None:
    """Wald's SPRT 0.5 vs 0.3, alpha 0.05, beta 0.1: 25.7, 43.6, 31.7 (the design figures)."""
    sprt = SPRT(p_ok=0.5, p_bad=0.3, alpha=0.05, beta=0.1)
    t = np.arange(1, 2001)
    for p, expected in ((0.5, 25.7), (0.4, 43.6), (0.3, 31.7)):
        fail_at, pass_at = trial_distribution([sprt], p, 2000)
        assert (fail_at + pass_at).sum() == pytest.approx(1.0, abs=1e-9)
        assert (t * (fail_at + pass_at)).sum() == pytest.approx(expected, abs=0.05)
    fail_at, _ = trial_distribution([sprt], 0.5, 2000)
    assert fail_at.sum() <= 0.05


AT_LEAST = claims.at_least("treatment", "random", value=0.5, margin=0.2)
EQUIVALENT = claims.equivalent("treatment", "random", value=0.5, margin=0.15)
PAIRED = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
CASES = [
    ("one-arm, compliance 0.8, batch 8, cap 100", AT_LEAST, 0.8, 8, 100),
    ("equivalence (two gates), batch 4, cap 150", EQUIVALENT, 1.0, 4, 150),
    ("paired, batch 8, cap 200", PAIRED, 1.0, 8, 200),
]


@pytest.mark.parametrize(
    ("name", "claim", "compliance", "batch", "cap"), CASES, ids=[c[0] for c in CASES]
)
def test_plan_matches_simulation(
    name: str, claim: Claim, compliance: float, batch: int, cap: int
) -> None:
    """Exact plan vs seeded simulation of the real gates, at p_ok and p_bad."""
    plan = plan_claim(claim, 0.01, 0.1, cap, batch_size=batch, compliance=compliance)
    rng = np.random.default_rng(3)
    for point in (plan.allowed, plan.forbidden):
        verdict, draws = simulate_claim(
            claim, 0.01, 0.1, point.share, rng, runs=RUNS, cap=cap,
            compliance=compliance, batch_size=batch,
        )  # fmt: skip
        for rate, prob in (
            ((verdict == Decision.FAIL).mean(), point.p_fail),
            ((verdict == Decision.PASS).mean(), point.p_pass),
        ):
            assert abs(rate - prob) <= 4 * np.sqrt(prob * (1 - prob) / RUNS) + 1e-3, name
        se = draws.std(ddof=1) / np.sqrt(RUNS)
        assert abs(draws.mean() - point.mean_draws) <= 4 * se, name
        assert abs(np.quantile(draws, 0.95) - point.p95_draws) <= batch, name


def test_power_and_warnings() -> None:
    """A gate that cannot reach 0.9 power within the budget is flagged; others are not."""
    claim = claims.at_least("treatment", "random", value=0.5, margin=0.2)
    good = plan_claim(claim, 0.05, 0.1, 400)
    assert good.power >= 0.9 and not good.warnings and "WARNING" not in good.line()
    tight = plan_claim(claim, 0.05, 0.1, 30)
    assert tight.power < 0.9 and any("power" in w for w in tight.warnings)
    assert "WARNING" in tight.line()
    low_compliance = plan_claim(claim, 0.05, 0.1, 60, compliance=0.5)
    assert low_compliance.allowed.mean_draws > good.allowed.mean_draws
    assert low_compliance.power < good.power


def test_paired_plan_counts_discordant_pairs() -> None:
    """At a control share of 0.5 half the pairs are discordant: twice the draws of one arm."""
    paired = plan_claim(claims.not_lower("random", "word", margin=0.2), 0.05, 0.1, 2000)
    one_arm = plan_claim(
        claims.at_least("treatment", "random", value=0.5, margin=0.2), 0.05, 0.1, 2000
    )
    assert paired.trial_rate == pytest.approx(0.5)
    assert paired.allowed.mean_draws == pytest.approx(2 * one_arm.allowed.mean_draws, rel=0.02)


def _run_evals(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "evals/", "-p", "test_plan", "-p", "no:cacheprovider",
         "--model", "raising/any", "--max-draws", "16", "-rs", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_plan_option_calls_no_model(tmp_path: Path) -> None:
    """`--plan` prints the table and passes with a model that raises on any use."""
    planned = _run_evals("--plan", "--report-dir", str(tmp_path / "plan"))
    out = planned.stdout
    assert planned.returncode == 0, out[-3000:] + planned.stderr[-2000:]
    assert "plan (no model called)" in out
    assert "raising model" not in out
    assert "family-wise alpha 0.05 over" in out
    rows = [line for line in out.splitlines() if line.startswith("test_") and "raising/any" in line]
    assert len(rows) >= 2
    assert "WARNING" in out  # 16 draws cannot reach 0.9 power
    # Control: the same run without --plan does use the model, and so fails.
    used = _run_evals("--report-dir", str(tmp_path / "run"))
    assert used.returncode != 0
    assert "raising model was" in used.stdout
