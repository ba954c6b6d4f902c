"""``pytest evals/ --plan``: the plan table, and no model called.

This module registers a provider (``raising/...``) with inspect-ai that fails
the moment anything uses it; the in-process runs below select it.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, modelapi
from inspect_ai.tool import ToolChoice, ToolInfo

from tests.conftest import RunEvals


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


def test_plan_option_calls_no_model(run_evals: RunEvals) -> None:
    """`--plan` prints the table and passes with a model that raises on any use."""
    args = ("--model", "raising/any", "--max-draws", "16", "-rs")
    planned = run_evals("--plan", *args)
    out = planned.output
    assert planned.returncode == 0, out[-3000:]
    assert "plan (no model called)" in out
    assert "raising model" not in out
    assert "family-wise alpha 0.05 over" in out
    rows = [line for line in out.splitlines() if line.startswith("test_") and "raising/any" in line]
    assert len(rows) >= 2
    assert "WARNING" in out  # 16 draws cannot reach 0.9 power
    # Control: the same run without --plan does use the model, and so fails.
    used = run_evals(*args)
    assert used.returncode != 0
    assert "raising model was" in used.output


def test_default_model_is_the_embedded_one(run_evals: RunEvals) -> None:
    run = run_evals("--plan")  # --plan calls no model, so this is quick
    assert run.returncode == 0, run.output
    assert "-local/smollm2-135m-instruct]" in run.output
