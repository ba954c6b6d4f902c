"""End to end: ``pytest evals/`` against simulated models (in-process) and the embedded one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PLUGIN_CONFTEST, ROOT

CLAIM_A = "test_random_string_share_is_half"
CLAIM_B = "test_no_avoidance_of_random_strings"


def _by_test(verdicts: dict[tuple[str, str, str], str], test: str) -> set[str]:
    return {v for (t, _variant, _model), v in verdicts.items() if t == test}


ORIGINAL = ("-k", "original")  # the original prompts: one variant of each claim


def test_indifferent_model_passes(run_evals: Any) -> None:
    run = run_evals("--model", "sim/indifferent", *ORIGINAL)
    assert run.returncode == 0, run.output
    assert set(run.verdicts().values()) == {"PASS"}
    assert "sim/indifferent (simulated)" in run.output


def test_avoidant_model_fails_and_names_the_random_share(run_evals: Any) -> None:
    run = run_evals("--model", "sim/avoidant", *ORIGINAL)
    assert run.returncode == 1, run.output
    assert set(run.verdicts().values()) == {"FAIL"}
    assert "showed the forbidden behavior: FAIL" in run.output
    assert "treatment 'random' share" in run.output
    assert "random 0 (0%" in run.output or "random 1 (" in run.output
    assert "Traceback" not in run.output


def test_biased_model_passes_claim_b_and_fails_claim_a(run_evals: Any) -> None:
    run = run_evals("--model", "sim/biased", *ORIGINAL)
    assert run.returncode == 1, run.output
    verdicts = run.verdicts()
    assert _by_test(verdicts, CLAIM_A) == {"FAIL"}
    assert _by_test(verdicts, CLAIM_B) == {"PASS"}


def test_noncompliant_model_is_skipped_with_its_compliance(run_evals: Any) -> None:
    run = run_evals("--model", "sim/noncompliant", "-rs")
    assert run.returncode == 0, run.output
    verdicts = run.verdicts()
    assert set(verdicts.values()) == {"NONCOMPLIANT"}
    assert f"{len(verdicts)} skipped" in run.output
    assert "shown below the required 50% in control and treatment" in run.output
    assert "control compliance 0% (0/" in run.output


def test_same_seed_same_draws_other_seed_fresh_draws(run_evals: Any) -> None:
    first = run_evals("--model", "sim/indifferent", "-k", "original")
    again = run_evals("--model", "sim/indifferent", "-k", "original")
    other = run_evals("--model", "sim/indifferent", "-k", "original", "--seed", "7")

    def texts(run: Any) -> list[list[str]]:
        return [
            [d["text"] for d in arm["draws"]]
            for o in run.results()["outcomes"]
            for arm in o["arms"]
        ]

    assert texts(first) == texts(again)
    assert texts(first) != texts(other)


def test_inconclusive_outcome_is_configurable(run_evals: Any) -> None:
    args = ("--model", "sim/indifferent", "-k", "original and half", "--max-draws", "8")
    failed = run_evals(*args)
    skipped = run_evals(*args, "--inconclusive", "skip")
    passed = run_evals(*args, "--inconclusive", "pass")
    assert set(failed.verdicts().values()) == {"INCONCLUSIVE"}
    assert failed.returncode == 1 and "budget of 8 draws per arm reached" in failed.output
    assert skipped.returncode == 0 and "1 skipped" in skipped.output
    assert passed.returncode == 0 and "1 passed" in passed.output


@pytest.mark.subprocess
def test_embedded_model_end_to_end(run_evals: Any) -> None:
    """The embedded model runs in-process and offline beside a sim; it is found off-protocol."""
    run = run_evals(
        "-n",
        "2",
        "--model",
        "local/smollm2-135m-instruct",
        "--model",
        "sim/indifferent",
        subprocess=True,
    )
    assert run.returncode in (0, 1), run.output
    results = run.results()
    local = [o for o in results["outcomes"] if o["model"] == "local/smollm2-135m-instruct"]
    assert len(local) >= 12  # two claims x six variants, plus any pooled claims
    assert f"local/smollm2-135m-instruct: {len(local)} tests" in run.output
    assert "compliance" in run.output
    # every draw is real text from the model, with real token usage
    draws = [d for o in local for arm in o["arms"] for d in arm["draws"]]
    assert all(d["text"] and d["output_tokens"] > 0 for d in draws)
    # the local model was loaded once, on the one worker that ran its tests
    assert results["usage"]["local/smollm2-135m-instruct"]["loads"] == 1


BAD_HYPOTHESES = {
    "empty prompt": (
        'PAIR = PromptPair(id="bad", description="d", control={"prompt": "  ", "categories": '
        '["one"]}, treatment={"prompt": "t", "categories": ["one"]})',
        "hypothesis 'bad': control.messages.0.content: prompt text is empty",
    ),
    "missing category": (
        'PAIR = PromptPair(id="bad", description="d", control={"prompt": "c", "categories": '
        '["one"]}, treatment={"prompt": "t", "categories": ["one"]})\n'
        '@behavior(PAIR, claims.at_least("treatment", "random_letters", value=0.5, margin=0.2))\n'
        "def test_x() -> None: ...",
        "names category 'random_letters', but the treatment arm of variant 'original' has only one",
    ),
    "unknown classifier": (
        'PAIR = PromptPair(id="bad", description="d", control={"prompt": "c", "categories": '
        '[{"name": "x", "classifier": "nope"}]}, treatment={"prompt": "t", "categories": ["one"]})',
        "unknown classifier 'nope'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_HYPOTHESES))
def test_bad_hypothesis_stops_collection_with_one_line(
    case: str, pytester: pytest.Pytester
) -> None:
    body, expected = BAD_HYPOTHESES[case]
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyfile(test_bad=f"from harness import PromptPair, behavior, claims\n\n{body}\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--model", "sim/indifferent")
    out = "\n".join([*result.outlines, *result.errlines])
    assert result.ret == 2, out
    assert expected in out
    assert "Traceback" not in out
    error_lines = [line for line in out.splitlines() if "hypothesis 'bad'" in line]
    assert len(error_lines) == 1, out


def test_rootdir_conftest_enables_plugin() -> None:
    assert "harness.plugin" in (ROOT / "conftest.py").read_text()
