"""Per-hypothesis generation settings, and empty replies as behavior."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import (
    ChatMessage,
    ChatMessageSystem,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from harness import GenerationSettings, HypothesisError, Message, PromptPair, Sampler, claims
from harness.define.classifiers import classify
from harness.run.cache import DrawStore
from harness.run.evaluate import evaluate
from harness.run.sampling import request_key
from harness.run.settings import RunSettings
from harness.run.sources import resolve

PROMPT = (Message(content='Guess "1" or "0".'),)
#: (model name, seed) -> (config, messages) of the last request seen.
SEEN: dict[tuple[str, int | None], tuple[GenerateConfig, list[ChatMessage]]] = {}
CALLS: dict[str, int] = {}


class RecordingAPI(ModelAPI):
    """Answers "1" (or nothing, for ``blank`` and ``cut``) and records each request."""

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
        SEEN[(self.model_name, config.seed)] = (config, list(input))
        CALLS[self.model_name] = CALLS.get(self.model_name, 0) + 1
        if self.model_name == "blank":
            return ModelOutput.from_content(model="rec", content="", stop_reason="stop")
        if self.model_name == "cut":
            return ModelOutput.from_content(model="rec", content="", stop_reason="max_tokens")
        return ModelOutput.from_content(model="rec", content="1")


@modelapi(name="recording")
def recording() -> type[ModelAPI]:
    return RecordingAPI


def _last(model: str) -> tuple[GenerateConfig, list[ChatMessage]]:
    return next(v for k, v in reversed(SEEN.items()) if k[0] == model)


def test_an_empty_reply_that_ended_normally_is_behavior_and_not_retried() -> None:
    sampler = Sampler(GenerationSettings(max_retries=3), run_seed=1)
    before = CALLS.get("blank", 0)
    draws = sampler.draws("recording/blank", PROMPT, 5)
    assert all(d.error is None and d.text == "" for d in draws)
    assert CALLS["blank"] - before == 5  # one call per draw: never retried
    assert {classify(d.text, [("one", "one")]) for d in draws} == {"empty"}


def test_an_empty_reply_cut_by_max_tokens_is_an_error_and_not_retried() -> None:
    sampler = Sampler(GenerationSettings(max_retries=3, max_tokens=7), run_seed=1)
    before = CALLS.get("cut", 0)
    draws = sampler.draws("recording/cut", PROMPT, 3)
    assert all(d.error is not None and "max_tokens=7" in d.error for d in draws)
    assert CALLS["cut"] - before == 3


def test_generation_reaches_the_request_and_keys_the_draws(tmp_path: Path) -> None:
    sampler = Sampler(GenerationSettings(), run_seed=1, store=DrawStore(tmp_path))
    own = GenerationSettings(
        max_tokens=99, temperature=0.5, stop_seqs=("\n\n",), system_prompt="Be brief."
    )
    plain = sampler.draws_many("recording/echo", [PROMPT], 2)[0]
    mine = sampler.draws_many("recording/echo", [PROMPT], 2, generation=own)[0]
    assert [d.seed for d in plain] != [d.seed for d in mine]  # another request, other draws
    config, chat = _last("echo")
    assert (config.max_tokens, config.temperature, config.stop_seqs) == (99, 0.5, ["\n\n"])
    assert isinstance(chat[0], ChatMessageSystem) and chat[0].text == "Be brief."
    assert chat[1].text == PROMPT[0].content
    system = (Message(role="system", content="Be brief."), *PROMPT)
    assert request_key("recording/echo", system, own, 1) != request_key(
        "recording/echo", PROMPT, own, 1
    )
    headers = [p.read_text().splitlines()[0] for p in tmp_path.glob("*.jsonl")]
    assert any('"max_tokens": 99' in h and "Be brief." in h for h in headers), headers


def test_a_variant_overrides_its_pair_field_by_field() -> None:
    pair = PromptPair(
        id="p",
        description="d",
        control={"prompt": "c", "categories": ["one"]},
        treatment={"prompt": "t", "categories": ["one"]},
        generation={"max_tokens": 120, "temperature": 0.7},
        variants=[{"id": "v", "control_prompt": "c2", "generation": {"max_tokens": 40}}],
    )
    base, variant = pair.resolved()
    assert base.generation.overrides() == {"max_tokens": 120, "temperature": 0.7}
    assert variant.generation.overrides() == {"max_tokens": 40, "temperature": 0.7}
    with pytest.raises(HypothesisError, match=r"generation\.max_tokens"):
        PromptPair(
            id="p",
            description="d",
            control={"prompt": "c", "categories": ["one"]},
            treatment={"prompt": "t", "categories": ["one"]},
            generation={"max_tokens": 0},
        )


def test_the_command_line_wins_over_the_hypothesis_which_wins_over_the_config() -> None:
    root = Path(".")
    table = {"max_tokens": 32, "temperature": 0.9}
    run = resolve({"temperature": 0.3, "stop_seqs": ["END"]}, table, {}, root, no_cache=True)
    assert set(run.generation.pinned) == {"temperature", "stop_seqs"}
    own = run.generation.for_hypothesis(
        {"max_tokens": 120, "temperature": 1.2, "stop_seqs": ("\n",), "system_prompt": "S"}
    )
    assert own.max_tokens == 120  # the hypothesis beats [tool.harness]
    assert own.temperature == 0.3 and own.stop_seqs == ("END",)  # the flags beat it
    assert own.system_prompt == "S"
    assert run.generation.for_hypothesis({}) is run.generation
    with pytest.raises(ValueError, match="max_connections"):
        run.generation.for_hypothesis({"max_connections": 2})


def test_evaluate_draws_each_variant_with_its_own_settings() -> None:
    pair = PromptPair(
        id="gen-pair",
        description="d",
        control={"prompt": "c", "categories": ["one"]},
        treatment={"prompt": "t", "categories": ["one"]},
        generation={"max_tokens": 50, "system_prompt": "Answer with 1."},
        variants=[{"id": "short", "generation": {"max_tokens": 5}}],
    )
    settings = RunSettings(max_draws=8, batch_size=8)
    sampler = Sampler(settings.generation, run_seed=settings.seed)
    claim = claims.at_least(("treatment", "one"), value=0.9, margin=0.05)
    for variant, expected in (("original", 50), ("short", 5)):
        SEEN.clear()
        evaluate(pair, variant, claim, "recording/evaluate", sampler, settings, claim_alpha=0.05)
        configs = [config for config, _ in SEEN.values()]
        assert configs and {c.max_tokens for c in configs} == {expected}
        assert all(chat[0].text == "Answer with 1." for _, chat in SEEN.values())


def test_a_model_comparison_draws_with_the_hypothesis_settings() -> None:
    from harness.run.compare import evaluate_models

    pair = PromptPair(
        id="gen-compare",
        description="d",
        control={"prompt": "compare c", "categories": ["one"]},
        treatment={"prompt": "compare t", "categories": ["one"]},
        generation={"max_tokens": 33},
    )
    settings = RunSettings(max_draws=8, batch_size=8)
    sampler = Sampler(settings.generation, run_seed=settings.seed)
    claim = claims.model_not_lower(
        ("treatment", "one"), first="recording/first", second="recording/second", margin=0.2
    )
    SEEN.clear()
    evaluate_models(pair, "original", claim, sampler, settings, claim_alpha=0.05)
    assert {config.max_tokens for config, _ in SEEN.values()} == {33}
    assert {model for model, _ in SEEN} == {"first", "second"}
