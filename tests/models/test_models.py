"""The embedded GGUF provider (``local/``); simulated and scripted models: test_sim, test_script."""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai.model import GenerateConfig, get_model

from harness.models.gguf import resolve_gguf
from harness.models.local import loaded_count

SEED_TREATMENT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just "1", '
    'and if your guess is "0", respond with a string of random letters.'
)
SEED_CONTROL = SEED_TREATMENT.replace("a string of random letters", 'the word "zero"')
LOCAL = "local/smollm2-135m-instruct"


def _generate(model: str, prompt: str, **config: object) -> tuple[str, object]:
    async def run() -> tuple[str, object]:
        out = await get_model(model).generate(prompt, config=GenerateConfig(**config), cache=False)  # type: ignore[arg-type]
        return out.completion, out

    return asyncio.run(run())


# -- local ------------------------------------------------------------------------------------


def test_embedded_model_resolves_to_the_packaged_file() -> None:
    path = resolve_gguf("smollm2-135m-instruct")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


def test_unknown_local_model_gives_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown local model 'nope'"):
        resolve_gguf("nope")
    with pytest.raises(ValueError, match="local model file not found"):
        resolve_gguf("/no/such/model.gguf")


@pytest.mark.subprocess
def test_local_model_honors_seed_max_tokens_and_reports_usage() -> None:
    a, out_a = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=11, max_tokens=12)
    b, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=11, max_tokens=12)
    texts = {
        _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=s, max_tokens=12)[0]
        for s in range(4)
    }
    assert a == b, "same seed must give the same draw"
    assert len(texts) > 1, "different seeds must give different draws"
    usage = out_a.usage  # type: ignore[attr-defined]
    assert 0 < usage.output_tokens <= 12
    assert usage.input_tokens > 20
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


@pytest.mark.subprocess
def test_local_model_stop_sequence_and_logprobs() -> None:
    text, out = _generate(
        LOCAL,
        "Count from 1 to 10, separated by commas.",
        temperature=0.0,
        seed=1,
        max_tokens=30,
        logprobs=True,
        top_logprobs=3,
        stop_seqs=["5"],
    )
    assert "5" not in text and "6" not in text
    logprobs = out.choices[0].logprobs  # type: ignore[attr-defined]
    assert logprobs is not None and logprobs.content
    first = logprobs.content[0]
    assert first.logprob <= 0.0
    assert 1 <= len(first.top_logprobs) <= 3


@pytest.mark.subprocess
def test_local_model_is_loaded_once_and_safe_under_concurrent_calls() -> None:
    model = get_model(LOCAL)

    async def many() -> list[str]:
        outs = await asyncio.gather(
            *(
                model.generate(
                    SEED_CONTROL, config=GenerateConfig(seed=s, max_tokens=6), cache=False
                )
                for s in range(6)
            )
        )
        return [o.completion for o in outs]

    before = loaded_count()
    texts = asyncio.run(many())
    assert len(texts) == 6 and all(texts)
    assert loaded_count() == max(before, 1)
    get_model(LOCAL)  # a second model object shares the loaded weights
    assert loaded_count() == max(before, 1)


@pytest.mark.subprocess
def test_local_draw_does_not_depend_on_the_call_before_it() -> None:
    first, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    _generate(LOCAL, "Tell me about the sea.", temperature=1.0, seed=5, max_tokens=12)
    after_other, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    after_same, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    assert first == after_other == after_same
