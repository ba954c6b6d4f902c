"""The harness's inspect-ai providers: the embedded GGUF model and simulated models."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from inspect_ai.model import GenerateConfig, get_model

from harness.define.classifiers.random_letters import random_letters as is_random_letters
from harness.models.local import loaded_count, resolve_gguf
from harness.models.sim import PROFILES, SimParams, parse_protocol, respond

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


# -- sim --------------------------------------------------------------------------------------


def test_protocol_is_read_from_the_prompt() -> None:
    assert [(o.digit, o.form) for o in parse_protocol(SEED_TREATMENT)] == [
        ("1", "literal"),
        ("0", "random"),
    ]
    control = parse_protocol(SEED_CONTROL)
    assert [(o.digit, o.form, o.word) for o in control] == [
        ("1", "literal", ""),
        ("0", "word", "zero"),
    ]
    assert parse_protocol("Tell me a joke.") == []


@pytest.mark.parametrize(
    ("profile", "control_zero", "treatment_random"),
    [("indifferent", 0.5, 0.5), ("avoidant", 0.5, 0.05), ("biased", 0.3, 0.3)],
)
def test_sim_profiles_have_their_stated_shares(
    profile: str, control_zero: float, treatment_random: float
) -> None:
    rng = random.Random(5)
    params = SimParams(**PROFILES[profile])
    n = 4000
    control = Counter(respond(SEED_CONTROL, params, rng) for _ in range(n))
    treatment = [respond(SEED_TREATMENT, params, rng) for _ in range(n)]
    tolerance = 4 * (0.25 / n) ** 0.5  # four standard errors
    assert abs(control["zero"] / n - control_zero) < tolerance
    random_share = sum(is_random_letters(t) for t in treatment) / n
    assert abs(random_share - treatment_random) < tolerance
    assert len({t for t in treatment if t not in ("1", "0")}) > 0.9 * sum(
        t not in ("1", "0") for t in treatment
    ), "random strings must be fresh"


def test_sim_is_marked_simulated_reproducible_and_configurable() -> None:
    text, out = _generate("sim/indifferent", SEED_TREATMENT, seed=3)
    again, _ = _generate("sim/indifferent", SEED_TREATMENT, seed=3)
    assert text == again
    assert out.metadata["simulated"] is True  # type: ignore[attr-defined]
    assert "(simulated)" in out.model  # type: ignore[attr-defined]
    assert out.usage.output_tokens >= 1  # type: ignore[attr-defined]
    model = get_model("sim/indifferent", avoidance=1.0)

    async def draws() -> list[str]:
        outs = await asyncio.gather(
            *(
                model.generate(SEED_TREATMENT, config=GenerateConfig(seed=s), cache=False)
                for s in range(50)
            )
        )
        return [o.completion for o in outs]

    assert set(asyncio.run(draws())) == {"1"}


def test_noncompliant_sim_chatters_and_unknown_profile_is_an_error() -> None:
    text, _ = _generate("sim/noncompliant", SEED_TREATMENT, seed=1)
    assert len(text.split()) > 5
    with pytest.raises(ValueError, match="unknown simulated model 'sim/nope'"):
        get_model("sim/nope")


@pytest.mark.subprocess
def test_local_draw_does_not_depend_on_the_call_before_it() -> None:
    first, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    _generate(LOCAL, "Tell me about the sea.", temperature=1.0, seed=5, max_tokens=12)
    after_other, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    after_same, _ = _generate(LOCAL, SEED_TREATMENT, temperature=1.0, seed=1, max_tokens=12)
    assert first == after_other == after_same
