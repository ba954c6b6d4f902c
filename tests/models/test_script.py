"""Scripted models: replies per arm from a JSON-lines file or model arguments."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import GenerateConfig, get_model

from harness import PromptPair
from harness.models import is_simulated
from harness.models.script import ScriptedReply, choose, load_script

CONTROL = "Script test control: guess 1 or 0, answer zero for 0."
TREATMENT = "Script test treatment: guess 1 or 0, answer random letters for 0."
PAIR = PromptPair(
    id="script-test",
    description="d",
    control={"prompt": CONTROL, "categories": ["one", "zero_word"]},
    treatment={"prompt": TREATMENT, "categories": ["one", "random_letters"]},
)


def _replies(model: str, prompt: str, n: int = 60, **args: Any) -> list[str]:
    api = get_model(model, **args)

    async def run() -> list[str]:
        outs = await asyncio.gather(
            *(api.generate(prompt, config=GenerateConfig(seed=s), cache=False) for s in range(n))
        )
        return [o.completion for o in outs]

    return asyncio.run(run())


def test_a_script_file_answers_per_arm_with_weights(tmp_path: Path) -> None:
    script = tmp_path / "replies.jsonl"
    rows = [
        {"arm": "control", "reply": "1", "weight": 3},
        {"arm": "control", "reply": "Zero."},
        {"arm": "treatment", "reply": "xqzvt"},
        {"arm": "*", "match": "poem", "reply": "Roses"},
    ]
    script.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    control = Counter(_replies(f"script/{script}", CONTROL, n=400))
    assert set(control) == {"1", "Zero."}
    assert 0.65 < control["1"] / 400 < 0.85  # weight 3 against 1
    assert set(_replies(f"script/{script}", TREATMENT)) == {"xqzvt"}
    assert set(_replies(f"script/{script}", "Write a poem, please.")) == {"Roses"}
    first = _replies(f"script/{script}", CONTROL, n=30)
    assert first == _replies(f"script/{script}", CONTROL, n=30)  # reproducible by seed


def test_inline_replies_and_scripted_outputs_are_marked() -> None:
    inline = json.dumps([{"reply": "banana"}])
    assert set(_replies("script/inline", "Anything at all?", n=5, replies=inline)) == {"banana"}
    api = get_model("script/marked", replies=[{"reply": "x"}])

    async def one() -> object:
        return await api.generate("hi", config=GenerateConfig(seed=1), cache=False)

    out = asyncio.run(one())
    assert out.metadata["scripted"] is True  # type: ignore[attr-defined]
    assert "(scripted)" in out.model  # type: ignore[attr-defined]
    assert is_simulated("script/marked")


def test_bad_scripts_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"reply": "1"}\n{"arm": "both", "reply": "x"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: arm"):
        load_script(bad)
    with pytest.raises(ValueError, match="no such file"):
        get_model(f"script/{tmp_path / 'missing.jsonl'}")
    with pytest.raises(ValueError, match="give a JSON-lines file"):
        get_model("script/nothing")
    with pytest.raises(ValueError, match="unknown model argument 'temperature'"):
        get_model("script/x", replies=[{"reply": "1"}], temperature=1)
    only_control = [ScriptedReply(arm="control", reply="1")]
    assert choose(only_control, "treatment", TREATMENT, 1) is None
    assert choose(only_control, None, "unknown prompt", 1) is None
    with pytest.raises(ValueError, match="no scripted reply for the treatment arm"):
        _replies("script/ctl", TREATMENT, n=1, replies=[{"arm": "control", "reply": "1"}])
