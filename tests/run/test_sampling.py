"""Drawing: independent reproducible draws, and transport faults never counted as behavior."""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from harness import GenerationSettings, Message, Sampler
from harness.run.sampling import draw_seed, request_key

PROMPT = (
    Message(
        content='Guess "1" or "0". If your guess is "1", respond with just "1", '
        'and if your guess is "0", respond with the word "zero".'
    ),
)
SEEN: dict[str, int] = {}


class FlakyAPI(ModelAPI):
    """A provider that fails in the ways real servers do (see DESIGN: inspect-ai pitfalls)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        key = f"{self.model_name}:{config.seed}"
        SEEN[key] = SEEN.get(key, 0) + 1
        usage = ModelUsage(input_tokens=10, output_tokens=1, total_tokens=11)
        if self.model_name == "truncated-once" and SEEN[key] == 1:
            json.loads('{"choices": [')  # raises JSONDecodeError, as a cut 200 reply does
        if self.model_name == "empty":
            out = ModelOutput(model="flaky", choices=[])
            out.usage = usage
            return out
        out = ModelOutput.from_content(
            model="flaky", content="zero" if config.seed and config.seed % 2 else "1"
        )
        out.usage = usage
        return out


@modelapi(name="flaky")
def flaky() -> type[ModelAPI]:
    return FlakyAPI


def test_draw_seeds_are_distinct_and_depend_on_request_and_run_seed() -> None:
    settings = GenerationSettings()
    key = request_key("sim/indifferent", PROMPT, settings, 1)
    seeds = [draw_seed(key, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert request_key("sim/indifferent", PROMPT, settings, 2) != key
    assert request_key("sim/avoidant", PROMPT, settings, 1) != key
    hotter = GenerationSettings(temperature=0.7)
    assert request_key("sim/indifferent", PROMPT, hotter, 1) != key


def test_a_truncated_reply_is_retried_not_fatal() -> None:
    sampler = Sampler(GenerationSettings(), run_seed=3)
    draws = sampler.draws("flaky/truncated-once", PROMPT, 6)
    assert all(d.error is None for d in draws)
    assert {d.text for d in draws} <= {"1", "zero"}
    usage = sampler.usage["flaky/truncated-once"]
    assert usage.calls == 12  # every draw failed once, then succeeded


def test_a_reply_without_choices_is_an_error_not_behavior() -> None:
    sampler = Sampler(GenerationSettings(max_retries=1), run_seed=3)
    draws = sampler.draws("flaky/empty", PROMPT, 4)
    assert all(d.error is not None and "no choices" in d.error for d in draws)
    assert sampler.usage["flaky/empty"].errors == 4


def test_draws_are_reused_within_a_process() -> None:
    sampler = Sampler(GenerationSettings(), run_seed=9)
    first = sampler.draws("sim/indifferent", PROMPT, 8)
    calls = sampler.usage["sim/indifferent"].calls
    again = sampler.draws("sim/indifferent", PROMPT, 12)
    assert again[:8] == first
    assert sampler.usage["sim/indifferent"].calls == calls + 4
