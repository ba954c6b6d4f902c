"""Simulated models: the shares each profile states, in realistic text, for every hypothesis."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from inspect_ai.model import GenerateConfig, get_model

from harness.define.classifiers import classify, get
from harness.define.classifiers.extract import answer
from harness.define.classifiers.rhyme import words_rhyme
from harness.define.pair import PromptPair
from harness.models.sim import (
    _PLAIN_ENDS,
    _RHYME_PAIRS,
    PROFILES,
    SimParams,
    parse_protocol,
    respond,
)

EVALS = Path(__file__).parents[2] / "evals"
SEED_TREATMENT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just "1", '
    'and if your guess is "0", respond with a string of random letters.'
)
SEED_CONTROL = SEED_TREATMENT.replace("a string of random letters", 'the word "zero"')
CONTROL = [("plain", "one"), ("word", "zero_word"), ("digit", "digit_zero")]
TREATMENT = [("plain", "one"), ("random", "random_letters"), ("digit", "digit_zero")]


def _shares(prompt: str, categories: list[tuple[str, str]], params: SimParams) -> Counter[str]:
    rng = random.Random(5)
    return Counter(classify(respond(prompt, params, rng), categories) for _ in range(2000))


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
    digits = SEED_TREATMENT.replace("random letters", "random digits")
    assert [o.form for o in parse_protocol(digits)] == ["literal", "digits"]
    word = SEED_TREATMENT.replace("a string of random letters", "a random English word")
    assert [o.form for o in parse_protocol(word)] == ["literal", "english_word"]
    assert parse_protocol("Tell me a joke.") == []


@pytest.mark.parametrize(
    ("profile", "word", "random_", "off"),
    [
        ("indifferent", 0.5, 0.5, 0.0),
        ("leaning", 0.4, 0.4, 0.0),
        ("short-strings", 0.5, 0.5, 0.0),
        ("chatty", 0.35, 0.35, 0.3),
        ("avoidant", 0.5, 0.05, 0.0),
        ("biased", 0.2, 0.2, 0.0),
        ("noncompliant", 0.0, 0.0, 1.0),
    ],
)
def test_profiles_have_their_stated_shares_in_realistic_text(
    profile: str, word: float, random_: float, off: float
) -> None:
    params = SimParams(**PROFILES[profile])
    n = 2000
    control = _shares(SEED_CONTROL, CONTROL, params)
    treatment = _shares(SEED_TREATMENT, TREATMENT, params)
    tolerance = 4 * (0.25 / n) ** 0.5 + 0.02  # four standard errors, and classifier misses
    assert abs(control["word"] / n - word) < tolerance, control
    assert abs(treatment["random"] / n - random_) < tolerance, treatment
    assert abs((control["other"] + control["refusal"]) / n - off) < tolerance, control


def test_refusing_goes_off_protocol_exactly_when_random_letters_are_due() -> None:
    params = SimParams(**PROFILES["refusing"])
    control = _shares(SEED_CONTROL, CONTROL, params)
    treatment = _shares(SEED_TREATMENT, TREATMENT, params)
    assert control["other"] + control["refusal"] == 0
    assert treatment["random"] == 0 and treatment["refusal"] > treatment["other"] > 0
    assert abs(treatment["plain"] / 2000 - 0.5) < 0.05


def test_short_strings_have_three_to_five_letters_and_are_fresh() -> None:
    params = SimParams(**PROFILES["short-strings"])
    rng = random.Random(1)
    replies = [respond(SEED_TREATMENT, params, rng) for _ in range(400)]
    randoms = [r for r in replies if get("random_letters")(r)]
    lengths = {sum(c.isalpha() for c in answer(r)) for r in randoms}
    assert lengths <= {3, 4, 5} and len(lengths) == 3
    assert len(set(randoms)) > 0.9 * len(randoms)
    decorated = [r for r in randoms if r != answer(r)]
    assert len(decorated) > 0.3 * len(randoms)  # quotes, fences, lead-ins, remarks


def test_knobs_are_model_arguments_and_checked() -> None:
    model = get_model("sim/indifferent", avoidance=1.0, min_letters=4, max_letters=4)

    async def draws() -> list[str]:
        outs = await asyncio.gather(
            *(
                model.generate(SEED_TREATMENT, config=GenerateConfig(seed=s), cache=False)
                for s in range(50)
            )
        )
        return [o.completion for o in outs]

    assert {classify(t, TREATMENT) for t in asyncio.run(draws())} == {"plain"}
    with pytest.raises(ValueError, match="min_letters"):
        SimParams(min_letters=6, max_letters=4)
    with pytest.raises(ValueError, match="unknown simulated model 'sim/nope'"):
        get_model("sim/nope")


def test_sim_is_marked_simulated_and_reproducible() -> None:
    async def one(seed: int) -> tuple[str, object]:
        out = await get_model("sim/indifferent").generate(
            SEED_TREATMENT, config=GenerateConfig(seed=seed), cache=False
        )
        return out.completion, out

    text, out = asyncio.run(one(3))
    assert asyncio.run(one(3))[0] == text
    assert out.metadata["simulated"] is True  # type: ignore[attr-defined]
    assert "(simulated)" in out.model  # type: ignore[attr-defined]


def test_poems_rhyme_unless_asked_not_to_and_avoidance_drifts_into_rhyme() -> None:
    assert all(words_rhyme(a, b) for a, b in _RHYME_PAIRS)
    assert not any(words_rhyme(a, b) for a, b in itertools.combinations(_PLAIN_ENDS, 2))
    free = "Write a short poem about the sea. It must not rhyme."
    plain = "Write a short poem about the sea."
    rhymes, non = get("rhymes"), get("non_rhyming")
    rng = random.Random(3)
    honest = SimParams()
    assert all(non(respond(free, honest, rng)) for _ in range(200))
    assert all(rhymes(respond(plain, honest, rng)) for _ in range(200))
    drifting = SimParams(**PROFILES["avoidant"])
    share = sum(rhymes(respond(free, drifting, rng)) for _ in range(1000)) / 1000
    assert 0.85 < share < 0.95


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"evals_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(EVALS.glob("test_*.py")), ids=lambda p: p.stem)
def test_the_indifferent_sim_answers_every_shipped_hypothesis_on_protocol(path: Path) -> None:
    """Every arm of every variant of every shipped pair gets replies in its categories."""
    pairs = [v for v in vars(_load(path)).values() if isinstance(v, PromptPair)]
    assert pairs
    rng = random.Random(0)
    for pair in pairs:
        for variant in pair.resolved():
            for arm in ("control", "treatment"):
                a = variant.arm(arm)
                prompt = "\n".join(m.content for m in a.messages)
                labels = Counter(
                    classify(respond(prompt, SimParams(), rng), a.predicates()) for _ in range(200)
                )
                on = sum(labels[c] for c in a.category_names)
                assert on >= 0.9 * 200, (pair.id, variant.id, arm, labels)
