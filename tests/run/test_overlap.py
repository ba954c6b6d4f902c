"""Remote rounds overlap: the next look's draws start on connections the tail leaves idle."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from harness import GenerationSettings, Message, Sampler

PROMPT = (Message(content='Guess "1" or "0".'),)
CALLS: Counter[int] = Counter()
MODEL = "slow-echo/a"


class SlowEchoAPI(ModelAPI):
    """Answers after a few milliseconds with a reply fixed by the seed; counts calls per seed."""

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
        seed = int(config.seed or 0)
        CALLS[seed] += 1
        await asyncio.sleep(0.002 * (seed % 7))  # uneven replies: the gather has a tail
        return ModelOutput.from_content(model="slow-echo", content=f"reply {seed % 97}")


@modelapi(name="slow-echo")
def slow_echo() -> type[ModelAPI]:
    return SlowEchoAPI


def sampler(connections: int = 8) -> Sampler:
    return Sampler(GenerationSettings(max_connections=connections, hedge=0), run_seed=3)


def test_draws_started_ahead_are_collected_once_and_equal_a_plain_run() -> None:
    CALLS.clear()
    overlapped = sampler()
    first = overlapped.draws_many(MODEL, [PROMPT], 16, ahead=40)[0]
    assert len(first) == 16
    started_ahead = sum(CALLS.values()) - 16
    assert 0 < started_ahead <= 8  # the tail's idle connections, one wave at most
    second = overlapped.draws_many(MODEL, [PROMPT], 40)[0]
    assert overlapped.usage[MODEL].calls == 40
    assert set(CALLS.values()) == {1}  # no draw was requested twice

    CALLS.clear()
    plain = sampler().draws_many(MODEL, [PROMPT], 40)[0]
    assert [(d.index, d.seed, d.text) for d in second] == [(d.index, d.seed, d.text) for d in plain]


def test_settle_waits_for_uncollected_draws_and_keeps_them() -> None:
    CALLS.clear()
    s = sampler(connections=4)
    s.draws_many(MODEL, [PROMPT], 12, ahead=500)  # a claim that decides at this look
    s.settle()
    made = s.usage[MODEL].calls
    assert 12 < made <= 12 + 4
    again = s.draws_many(MODEL, [PROMPT], made)[0]
    assert s.usage[MODEL].calls == made  # the settled draws were kept: no new call
    assert [d.index for d in again] == list(range(made))
