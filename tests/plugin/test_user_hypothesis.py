"""A new user's hypothesis file: its own classifier, a callable category, its own max_tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PLUGIN_CONFTEST

USER_FILE = '''
"""Asked for a poem that does not rhyme, does a model drift into rhyme anyway?"""

from harness import PromptPair, behavior, claims, classifier


@classifier("user_mentions_sea")
def mentions_sea(text: str) -> bool:
    return "sea" in text.lower()


def is_refusal_to_write(text: str) -> bool:
    return "cannot write" in text.lower()


PAIR = PromptPair(
    id="user-poem",
    description="A poem about the sea, with and without the request not to rhyme.",
    control={
        "prompt": "Write a short poem about the sea.",
        "categories": [
            {"name": "rhymes", "classifier": "rhymes"},
            {"name": "free", "classifier": "non_rhyming"},
            {"name": "declined", "classifier": is_refusal_to_write},
        ],
    },
    treatment={
        "prompt": "Write a short poem about the sea. It must not rhyme.",
        "categories": [
            {"name": "rhymes", "classifier": "rhymes"},
            {"name": "free", "classifier": "non_rhyming"},
            {"name": "declined", "classifier": is_refusal_to_write},
        ],
    },
    generation={"max_tokens": 120},
)


@behavior(PAIR, claims.at_most(("treatment", "rhymes"), value=0.1, margin=0.3))
def test_no_drift_into_rhyme() -> None:
    """At most 10% of the requested non-rhyming poems rhyme; 40% or more fails."""
'''

RHYMING = "The sea is wide and grey\nit carries me away\nthe gulls above it cry\nacross the sky"
FREE = (
    "The sea keeps its quiet river\nand something leans toward the window\n"
    "I carry salt like a folded table\nuntil the hours settle into orange"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    (pytester.path / "evals").mkdir()
    (pytester.path / "evals" / "test_user_poem.py").write_text(USER_FILE)
    (pytester.path / "conftest.py").write_text(PLUGIN_CONFTEST)
    rows = [
        {"arm": "control", "reply": RHYMING},
        {"arm": "treatment", "reply": FREE, "weight": 9},
        {"arm": "treatment", "reply": "I cannot write that."},
    ]
    (pytester.path / "replies.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return pytester.path


def _run(
    pytester: pytest.Pytester, project: Path, *models: str, extra: tuple[str, ...] = ()
) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    name = "-".join(m.replace("/", "-") for m in models)
    reports, draws = project / f"reports-{name}", project / f"draws-{name}"
    args = [a for m in models for a in ("--model", m)] + list(extra)
    result = pytester.runpytest_inprocess(
        "evals/", "-p", "no:cacheprovider", *args,
        "--report-dir", str(reports), "--cache-dir", str(draws),
    )  # fmt: skip
    found = sorted(p for p in reports.glob("*/results.json") if "latest" not in p.parts)
    assert found, "\n".join(result.outlines)
    outcomes = json.loads(found[-1].read_text())["outcomes"]
    headers = [p.read_text().splitlines()[0] for p in draws.glob("*.jsonl")]
    assert headers and all('"max_tokens": 120' in h for h in headers), headers
    return "\n".join(result.outlines), outcomes


def test_a_user_hypothesis_runs_on_a_scripted_model(
    pytester: pytest.Pytester, project: Path
) -> None:
    output, outcomes = _run(pytester, project, "script/replies.jsonl")
    assert [o["verdict"] for o in outcomes] == ["PASS"], output
    treatment = next(a for a in outcomes[0]["arms"] if a["arm"] == "treatment")
    assert set(treatment["counts"]) >= {"free", "declined"} and treatment["counts"]["free"] > 0
    assert outcomes[0]["simulated"] is True


def test_a_user_hypothesis_runs_on_simulated_models(
    pytester: pytest.Pytester, project: Path
) -> None:
    output, outcomes = _run(pytester, project, "sim/indifferent", "sim/avoidant")
    verdicts = {o["model"]: o["verdict"] for o in outcomes}
    assert verdicts == {"sim/indifferent": "PASS", "sim/avoidant": "FAIL"}, output


@pytest.mark.subprocess
def test_a_user_hypothesis_runs_on_the_embedded_model(
    pytester: pytest.Pytester, project: Path
) -> None:
    output, outcomes = _run(
        pytester, project, "local/smollm2-135m-instruct", extra=("--max-draws", "8")
    )
    assert len(outcomes) == 1, output
    treatment = next(a for a in outcomes[0]["arms"] if a["arm"] == "treatment")
    assert treatment["n"] == 8 and treatment["classifiers"]["declined"].endswith(
        "is_refusal_to_write"
    )
