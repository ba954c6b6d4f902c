"""Exact mode end to end on the embedded model: ``pytest`` on hypotheses in a fresh project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PLUGIN_CONFTEST

#: A few-shot pair the embedded model answers on protocol ("zero" about 90% in the control);
#: the hypothesis asks for exact mode itself.
HYPOTHESES = '''
from harness import PromptPair, behavior, claims

Q_WORD = 'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", ' \\
    'answer with the word "zero".'
Q_LETTERS = 'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", ' \\
    'answer with a string of random letters.'


def shots(question, answers):
    out = []
    for answer in answers:
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return [*out, {"role": "user", "content": question}]


PAIR = PromptPair(
    id="few-shot",
    description="few-shot guessing game",
    control={
        "messages": shots(Q_WORD, ["1", "zero", "zero", "1"]),
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
        ],
    },
    treatment={
        "messages": shots(Q_LETTERS, ["1", "1", "1", "1"]),
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
        ],
    },
    generation={"exact": EXACT},
)


@behavior(PAIR, claims.at_least(("control", "word"), value=0.7, margin=0.2))
def test_mostly_zero():
    """Decided from the fixed strings alone."""


@behavior(PAIR, claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2))
def test_no_avoidance():
    """The treatment's earlier turns avoid random strings: an exact FAIL."""
'''


def _project(pytester: pytest.Pytester, exact: str) -> None:
    (pytester.path / "evals").mkdir()
    (pytester.path / "evals" / "test_few_shot.py").write_text(HYPOTHESES.replace("EXACT", exact))
    (pytester.path / "conftest.py").write_text(PLUGIN_CONFTEST)


def _outcomes(path: Path) -> dict[str, dict[str, Any]]:
    found = sorted(p for p in path.glob("*/results.json") if "latest" not in p.parts)
    data = json.loads(found[-1].read_text())
    return {o["test"].split("::")[-1].split("[")[0]: o for o in data["outcomes"]}


@pytest.mark.subprocess
def test_a_hypothesis_asking_for_exact_mode_is_decided_without_draws(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester, "True")
    reports = pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "evals/", "-p", "no:cacheprovider", "--report-dir", str(reports), "--no-cache"
    )
    out = "\n".join(result.outlines)
    assert result.ret == 1, out  # test_no_avoidance fails: the model avoids random strings
    outcomes = _outcomes(reports)
    mostly = outcomes["test_mostly_zero"]
    assert mostly["verdict"] == "PASS"
    assert mostly["exact"]["mode"] == "exact"
    assert mostly["reason"].startswith("exact, no sampling error: the forbidden region was ruled")
    assert mostly["draws_per_arm"] == 0
    avoid = outcomes["test_no_avoidance"]
    assert avoid["verdict"] == "FAIL" and avoid["exact"]["mode"] == "exact"
    assert "exact, no sampling error: shown in the forbidden region" in avoid["reason"]
    control = next(a for a in mostly["arms"] if a["arm"] == "control")
    table = control["first_token"]
    assert table["source"] == "logits" and table["uncovered"] == 0.0
    replies = {r["text"]: r for r in table["replies"]}
    assert replies["zero"]["category"] == "word" and replies["zero"]["p"] > 0.5
    assert replies["1"]["category"] == "plain"
    assert table["fixed"] > 0.9 and table["stray"] < 1e-3
    assert "first token local/smollm2-135m-instruct few-shot[original] control: zero" in out


@pytest.mark.subprocess
def test_without_exact_mode_the_local_model_still_shows_its_first_token_table(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester, "None")
    reports = pytester.path / "reports"
    pytester.runpytest_inprocess(
        "evals/", "-p", "no:cacheprovider", "--report-dir", str(reports), "--no-cache",
        "-k", "test_mostly_zero",
    )  # fmt: skip
    mostly = _outcomes(reports)["test_mostly_zero"]
    assert mostly["exact"] is None  # sampling mode
    assert mostly["draws_per_arm"] > 0
    table = mostly["arms"][0]["first_token"]
    assert table["replies"] == [] and table["forward_passes"] == 1
    assert table["categories"]["word"] > 0.5  # "zero" and its case forms as first tokens
